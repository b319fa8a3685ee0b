"""ui.room.lecturer: publishing the page, asking, the question panel, ending the room."""

from __future__ import annotations

import pytest
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


@pytest.mark.slow
def test_a_change_inside_a_fragment_reaches_the_room_from_that_run(rooms):
    """A lecturer changes the Kernel Playground's row stride, a control inside the page's
    fragment: the room holds the new link once that fragment's run is over. The lecturer
    here is a websocket session that never runs its polling fragment, which would
    otherwise publish it a quarter of a second later."""
    import asyncio
    import re

    from streamlit.proto.WidgetStates_pb2 import WidgetState

    from bench.streamlit_client import StreamlitSession
    from tests.browser_helpers import running_app

    class Lecturer(StreamlitSession):
        """Also notes the sidebar's "Lecture room" section, a block the client skips."""

        section_id = ""

        def _handle(self, msg, now: float) -> None:
            if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "add_block":
                block = msg.delta.add_block
                if block.WhichOneof("type") == "expandable" and block.expandable.label == (
                    "Lecture room"
                ):
                    self.section_id = block.expandable.id
            super()._handle(msg, now)

    def room_code(run) -> str:
        for _, kind, proto in run.elements:
            body = getattr(proto, "body", "")
            if kind == "html" and "room-code" in body:
                return re.search(r">([A-Z0-9]{6})<", body).group(1)
        raise AssertionError("no room code on the lecturer's page")

    async def lecture(url: str):
        session = Lecturer(url, fetch_media=False, timeout=120)
        try:
            await session.open("kernel_playground")
            assert session.section_id, "the sidebar has no Lecture room section"
            session.states[session.section_id] = WidgetState(id=session.section_id, bool_value=True)
            await session._rerun()  # the section opens
            (start,) = session.find("room.start")
            code = room_code(await session.click(start))
            before = rooms.read_room(code)
            (next_kernel,) = session.find(r"kernel\.preset_choice\.\d+_next")
            run = await session.click(next_kernel)
            assert run.fragment_id  # the page's fragment alone
            return before, rooms.read_room(code)
        finally:
            await session.close()

    with running_app({}) as server:
        before, after = asyncio.run(lecture(server.url))
    assert before.page == after.page == "kernel_playground"
    assert "preset" not in before.params  # the default kernel
    assert after.params["preset"] != before.params.get("preset")
    assert after.version > before.version
