"""ui.room.state: the room's session keys and the shared store."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.jobs.room_store import SqliteRoomStore
from ui.room import state


def test_the_store_is_the_sqlite_file_the_environment_names(rooms):
    store = state.room_store()
    assert isinstance(store, SqliteRoomStore)
    assert store.path == rooms.path
    assert state.room_store() is store  # one handle per server


def forget_script() -> None:
    import streamlit as st

    from ui.room import state

    if "step" not in st.session_state:
        st.session_state.update(
            {"room.joined": "K7XQ3M", "room.follower": "x", "room.following": True}
        )
        st.query_params["room"] = "K7XQ3M"
        st.query_params["s"] = "2"
        st.session_state["step"] = 1
    elif st.session_state["step"] == 1:
        state.forget_room("You left the room.")
        st.session_state["step"] = 2
    state.show_message()
    st.session_state["student"] = state.student_code()


def test_forgetting_the_room_clears_its_keys_and_its_link_parameter():
    app = AppTest.from_function(forget_script, default_timeout=30).run()
    assert app.session_state["student"] == "K7XQ3M"
    app.run()
    assert app.session_state["student"] is None
    assert "room.following" not in app.session_state
    assert app.query_params.get("room") is None
    assert app.query_params["s"] == "2"  # the page's own link stays
    assert app.info[0].value == "You left the room."
    app.run()
    assert not app.info  # said once
