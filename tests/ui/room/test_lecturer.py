"""ui.room.lecturer: publishing the page, asking, the question panel, ending the room."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.jobs.rooms import Question
from ui.room import lecturer


def test_followers_in_words():
    assert lecturer.followers_text(2, 0) == "**2** students follow."
    assert lecturer.followers_text(1, 1) == "**1** student follows, 1 explores on their own."


def publish_script(page: str, params: dict, code: str, token: str) -> None:
    import streamlit as st

    from ui.room import lecturer

    st.session_state["room.code"], st.session_state["room.token"] = code, token
    st.session_state["room.page"] = page
    st.query_params.from_dict(params)
    lecturer.publish_now()
    st.session_state["in_fragment"] = lecturer.in_fragment_run()


def run_publish(page, params, code, token, app=None) -> AppTest:
    app = app or AppTest.from_function(
        publish_script, default_timeout=30, args=(page, params, code, token)
    )
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_publish_sends_the_page_and_its_link_once(rooms):
    keys = rooms.create_room()
    app = run_publish("pooling", {"pool": "3", "room": "ABCDEF"}, keys.code, keys.token)
    state = rooms.read_room(keys.code)
    assert (state.page, state.params, state.version) == ("pooling", {"pool": "3"}, 1)
    run_publish(None, None, None, None, app)  # the same page and link again
    assert rooms.read_room(keys.code).version == 1
    assert app.session_state["in_fragment"] is False


def test_publish_with_a_wrong_token_forgets_the_room(rooms):
    keys = rooms.create_room()
    app = run_publish("pooling", {}, keys.code, "not the token")
    assert rooms.read_room(keys.code).version == 0
    assert "room.code" not in app.session_state
    assert "Your room has ended" in app.session_state["room.message"]


def panel_script(code: str, token: str) -> None:
    import streamlit as st

    from ui.room import lecturer
    from ui.room.state import room_store

    st.session_state["room.code"], st.session_state["room.token"] = code, token
    lecturer.lecturer_question_panel(room_store().read_room(code))


def test_question_panel_shows_the_live_chart_and_reveals(rooms):
    keys = rooms.create_room()
    question = Question.choice("Where is the winner?", ["top left", "top right"], "top left")
    question_id = rooms.ask(keys.code, keys.token, question)
    for answer in ("top left", "top right", "top left"):
        rooms.submit_answer(keys.code, question_id, rooms.join(keys.code), answer)
    app = AppTest.from_function(
        panel_script, default_timeout=30, args=(keys.code, keys.token)
    ).run()
    assert not app.exception, [e.message for e in app.exception]
    assert [m.value for m in app.markdown][:2] == ["**Question for the room**", question.prompt]
    figure = app.get("plotly_chart")[0].proto.spec
    assert '"x":[2,1]' in figure.replace(" ", "") and "#4c78a8" in figure  # one colour
    assert not app.success  # the answer is not on the projector yet
    app.button(key="room.reveal").click().run()
    assert rooms.read_room(keys.code).revealed
    assert app.success[0].value.startswith("Right answer: **top left**.")
    assert "#2ca02c" in app.get("plotly_chart")[0].proto.spec  # right answers in green
    app.button(key="room.close_question").click().run()
    assert rooms.read_room(keys.code).question is None


def ask_script(code: str, token: str) -> None:
    import streamlit as st

    from ui.room import lecturer

    st.session_state["room.code"], st.session_state["room.token"] = code, token

    def broken():
        raise ValueError("`strides` must be >= 1. Received: strides=(0, 1).")

    lecturer.ask(broken)


def test_a_question_that_cannot_be_built_says_why(rooms):
    keys = rooms.create_room()
    app = AppTest.from_function(ask_script, default_timeout=30, args=(keys.code, keys.token)).run()
    assert app.session_state["room.ask_error"] == (
        "This question cannot be asked now: strides must be >= 1."
    )
    assert rooms.read_room(keys.code).question is None


def test_ending_the_room_closes_it_in_the_store(rooms):
    def script(code: str, token: str) -> None:
        import streamlit as st

        from ui.room import lecturer

        if "started" not in st.session_state:  # the first run opens the lecturer's room
            st.session_state["room.code"], st.session_state["room.token"] = code, token
            st.session_state["started"] = True
        st.button("End", on_click=lecturer.end_room)

    keys = rooms.create_room()
    app = AppTest.from_function(script, default_timeout=30, args=(keys.code, keys.token)).run()
    app.button[0].click().run()
    assert rooms.read_room(keys.code) is None
    assert "room.token" not in app.session_state
