"""ui.room.student: joining, the poll that follows the lecturer, the question card."""

from __future__ import annotations

import asyncio

import pytest
from streamlit.testing.v1 import AppTest

from core.jobs.rooms import Question
from ui.room import stale_runs, student, wake

WHERE = Question.choice("Where is the winner?", ["top left", "top right"], "top right")


def join_script(typed: str) -> None:
    import streamlit as st

    from ui.room import student

    if "problem" not in st.session_state:
        st.session_state["problem"] = student.join_room(typed)


def test_join_refuses_impossible_and_unknown_codes():
    app = AppTest.from_function(join_script, default_timeout=30, args=("K7-XQ0",)).run()
    assert app.session_state["problem"] == (
        "A room code is 6 letters and digits, without 0, O, 1 or I (e.g. K7XQ3M)."
    )
    app = AppTest.from_function(join_script, default_timeout=30, args=("K7XQ3M",)).run()
    assert app.session_state["problem"].startswith("There is no open room K7XQ3M.")
    assert "room.joined" not in app.session_state


def test_join_follows_from_the_start_and_counts_as_present(rooms):
    keys = rooms.create_room()
    app = AppTest.from_function(join_script, default_timeout=30, args=(keys.code.lower(),)).run()
    assert app.session_state["problem"] is None
    assert app.session_state["room.joined"] == keys.code
    assert app.session_state["room.following"] is True
    assert rooms.count_followers(keys.code) == (1, 0)


def card_script(code: str) -> None:
    import streamlit as st

    from ui.room import student
    from ui.room.state import room_store

    if "room.joined" not in st.session_state:
        student.join_room(code)
    fresh = room_store().read_room(code)
    if st.session_state.get("snapshot") is None or fresh.revealed:
        # A fragment rerun keeps the state it was drawn with; a full rerun (the poll's,
        # after a reveal) draws the card anew.
        st.session_state["snapshot"] = fresh
    student.question_card(st.session_state["snapshot"])


def open_card(code: str) -> AppTest:
    app = AppTest.from_function(card_script, default_timeout=30, args=(code,)).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def send(app: AppTest) -> None:
    [button] = [b for b in app.button if b.label == "Send my answer"]
    button.click().run()
    assert not app.exception, [e.message for e in app.exception]


def test_a_choice_is_sent_once_and_shown_back(rooms):
    keys = rooms.create_room()
    question_id = rooms.ask(keys.code, keys.token, WHERE)
    app = open_card(keys.code)
    assert [m.value for m in app.markdown][1] == WHERE.prompt
    send(app)  # nothing picked yet
    assert app.error[0].value == "Pick or type an answer first."
    app.radio(key=f"room.answer.{question_id}").set_value("top left")
    send(app)
    assert "Your answer **top left** is counted. Wait for the reveal." in [
        m.value for m in app.markdown
    ]
    assert not app.radio  # no second answer
    assert rooms.answer_counts(keys.code, question_id) == {"top left": 1}
    rooms.reveal(keys.code, keys.token)
    app.run()
    assert app.success[0].value.startswith("Right answer: **top right**.")
    assert "Your answer **top left** is :red[not right]." in [m.value for m in app.markdown]


def test_a_number_out_of_range_is_refused_in_plain_words(rooms):
    keys = rooms.create_room()
    size = Question.number("How many rows?", 3, minimum=0, maximum=100)
    question_id = rooms.ask(keys.code, keys.token, size)
    app = open_card(keys.code)
    app.text_input(key=f"room.answer.{question_id}").input("1e9")
    send(app)
    assert app.error[0].value == "Type a number from 0 to 100."
    app.text_input(key=f"room.answer.{question_id}").input(" 3 ")
    send(app)
    assert rooms.answer_counts(keys.code, question_id) == {"3": 1}


def test_a_question_closed_meanwhile_says_so(rooms):
    keys = rooms.create_room()
    question_id = rooms.ask(keys.code, keys.token, WHERE)
    app = open_card(keys.code)
    rooms.ask(keys.code, keys.token, WHERE)  # the lecturer moved on meanwhile
    app.radio(key=f"room.answer.{question_id}").set_value("top right")
    send(app)
    assert app.error[0].value == "This question is closed: the lecturer has moved on."
    assert rooms.answer_counts(keys.code, question_id) == {}


def tick_script(code: str) -> None:
    import streamlit as st

    from ui.room import student

    if "ticked" not in st.session_state:
        student.join_room(code)
    student.student_tick({})
    st.session_state["ticked"] = st.session_state.get("ticked", 0) + 1


def test_the_poll_reruns_when_a_question_opens_and_notices_the_end(rooms):
    keys = rooms.create_room()
    app = AppTest.from_function(tick_script, default_timeout=30, args=(keys.code,)).run()
    assert app.session_state["ticked"] == 1
    rooms.ask(keys.code, keys.token, WHERE)
    app.run()
    # The poll saw a new question, reran the app, and the next pass went through.
    assert app.session_state["room.question_seen"] == (
        rooms.read_room(keys.code).question_id,
        False,
    )
    rooms.close_room(keys.code, keys.token)
    app.run()
    assert "room.joined" not in app.session_state
    assert app.session_state["room.message"].startswith("The room has ended.")


def test_leaving_the_room(rooms):
    def script(code: str) -> None:
        import streamlit as st

        from ui.room import student

        if "room.joined" not in st.session_state and "room.message" not in st.session_state:
            student.join_room(code)
        st.button("Leave", on_click=student.leave_room)

    keys = rooms.create_room()
    app = AppTest.from_function(script, default_timeout=30, args=(keys.code,)).run()
    assert rooms.count_followers(keys.code) == (1, 0)
    app.button[0].click().run()
    assert rooms.count_followers(keys.code) == (0, 0)
    assert "room.joined" not in app.session_state


def retry_script() -> None:
    import time

    import streamlit as st

    from ui.room import student

    state = st.session_state
    state["room.joined"] = "K7XQ3M"
    state["room.page"] = "pooling"
    state["room.applying"] = (4, "pooling", {}, time.monotonic(), 1)
    state["fresh"] = student.due(4)  # the switch is under way: not again
    state["room.page"] = "kernel_playground"  # a late request of the browser took its place
    state["taken over"] = student.due(4)  # switch again at once
    state["room.applying"] = (4, "pooling", {}, time.monotonic() - student.RETRY_SECONDS - 1, 1)
    state["lost"] = student.due(4)  # nothing finished: switch again
    state["room.page"] = "pooling"  # ... unless this full run is that switch, still going
    state["settling"] = student.settling(4), student.settling(5)
    state["room.page"] = "kernel_playground"
    state["settling elsewhere"] = student.settling(4)
    student.settle("kernel_playground")  # a run of another page finished
    state["other page"] = state.get("room.applied")
    state["room.applying"] = (4, "pooling", {"pool": "3"}, time.monotonic(), 1)
    student.settle("pooling")  # the page shows another link: follow again at once
    state["overrun"] = state.get("room.applied"), student.due(4)
    state["room.applying"] = (4, "pooling", {}, time.monotonic(), 2)
    student.settle("pooling")
    state["settled"] = state.get("room.applied")[0], student.due(4), student.due(5)
    state["drifted"] = student.drifted()


def test_a_lost_switch_is_made_again_and_a_finished_run_settles_it():
    app = AppTest.from_function(retry_script, default_timeout=30).run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.session_state["fresh"] is False
    assert app.session_state["taken over"] is True
    assert app.session_state["lost"] is True
    assert app.session_state["settling"] == (True, False)
    assert app.session_state["settling elsewhere"] is False
    assert app.session_state["other page"] is None
    assert app.session_state["overrun"] == (None, True)
    assert app.session_state["settled"] == (4, False, True)
    assert app.session_state["drifted"] is False


def title_of(run) -> list[str]:
    return [
        proto.body for _, kind, proto in run.elements if kind == "heading" and proto.tag == "h1"
    ]


def shown_script() -> None:
    import streamlit as st

    from core.jobs.rooms import RoomState
    from ui.room import student
    from ui.room.state import page_hash, page_link_params

    state = st.session_state
    state["room.joined"] = "K7XQ3M"
    shown = page_link_params()
    state["room.applied"] = (4, "pooling", page_hash(), shown)
    # The lecturer's page wrote the link this page shows after following version 4.
    state["same"] = student.already_shown(RoomState("K7XQ3M", "pooling", dict(shown), 5))
    state["applied"] = state["room.applied"][0]
    other = {**shown, "pool": "3"}
    state["other link"] = student.already_shown(RoomState("K7XQ3M", "pooling", other, 6))
    state["other page"] = student.already_shown(RoomState("K7XQ3M", "padding", shown, 6))
    state["after"] = state["room.applied"][0], student.due(6)
    state["room.applied"] = (4, "pooling", "another page's hash", shown)  # drifted
    state["drifted"] = student.already_shown(RoomState("K7XQ3M", "pooling", shown, 7))


def test_a_version_the_page_already_shows_needs_no_run():
    app = AppTest.from_function(shown_script, default_timeout=30).run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.session_state["same"] is True
    assert app.session_state["applied"] == 5  # counted as followed
    assert app.session_state["other link"] is False
    assert app.session_state["other page"] is False
    assert app.session_state["after"] == (5, True)  # the other link is still to follow
    assert app.session_state["drifted"] is False


def turn_script() -> None:
    import time

    import streamlit as st

    from ui.room import student

    state = st.session_state
    free = student._FOLLOW_TURNS._value
    state["room.joined"] = "K7XQ3M"
    state["room.page"] = "pooling"
    with student.follow_turn():  # a student's own run: no turn taken
        state["own run"] = free - student._FOLLOW_TURNS._value
    state["room.applying"] = (4, "pooling", {}, time.monotonic(), 1)
    with student.follow_turn():  # the switch to the lecturer's page: takes a turn
        state["follow run"] = free - student._FOLLOW_TURNS._value
    state["after"] = free - student._FOLLOW_TURNS._value  # given back
    try:
        with student.follow_turn():
            raise RuntimeError("a page that fails")
    except RuntimeError:
        state["after a failure"] = free - student._FOLLOW_TURNS._value
    del state["room.joined"]  # the lecturer (or nobody in a room) never waits
    with student.follow_turn():
        state["not a student"] = free - student._FOLLOW_TURNS._value


def test_only_a_follow_run_takes_a_turn_and_gives_it_back():
    app = AppTest.from_function(turn_script, default_timeout=30).run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.session_state["own run"] == 0
    assert app.session_state["follow run"] == 1
    assert app.session_state["after"] == 0
    assert app.session_state["after a failure"] == 0
    assert app.session_state["not a student"] == 0


def test_the_number_of_turns_can_be_set_to_compare(monkeypatch):
    monkeypatch.setenv(student.FOLLOW_RUNS_ENV, "0")
    assert student.follow_runs_at_once() == 0  # no limit
    monkeypatch.setenv(student.FOLLOW_RUNS_ENV, "many")
    assert student.follow_runs_at_once() == student.FOLLOW_RUNS_AT_ONCE


@pytest.mark.slow
def test_a_late_poll_naming_the_page_before_is_dropped(rooms):
    """The blank student page: a poll the browser sent before a follow's new page reached
    it names the page before. Run, it told the browser of a run of another page than the
    one it shows, and the browser emptied its page. Such a request is now dropped
    (``ui/room/stale_runs.py``): no run answers it, the session stays on the followed page,
    and the next poll draws nothing."""
    from bench.follow_latency import PollingSession
    from tests.browser_helpers import running_app

    keys = rooms.create_room()
    rooms.publish(keys.code, keys.token, page="kernel_playground", params={})

    async def student(url: str) -> tuple[list[str], bool, bool, list[str]]:
        session = PollingSession(url, fetch_media=False, timeout=120)
        try:
            joined = await session.open("", f"room={keys.code}")
            while "Kernel Playground" not in title_of(joined):  # the join link's follow
                joined = await session._rerun(fragment_id=next(iter(session.polls)))
            before = session.page_hash
            rooms.publish(keys.code, keys.token, page="convolution_arithmetic", params={})
            poll = next(iter(session.polls))
            followed = await session._rerun(fragment_id=poll)
            after = session.page_hash
            assert after != before
            # The late poll: sent while the browser still showed the Kernel Playground.
            session.timeout, answered = 5, True
            try:
                await session._rerun(fragment_id=next(iter(session.polls)), page_hash=before)
            except TimeoutError:
                answered = False
            session.timeout = 120
            stayed = session.page_hash == after  # no message named the page before
            calm = await session._rerun(fragment_id=next(iter(session.polls)))
            return title_of(followed), answered, stayed, title_of(calm)
        finally:
            await session.close()

    # The student's own polls only (a woken run would race the polls this test orders).
    with running_app({wake.PUSH_ENV: "0"}) as server:
        followed, answered, stayed, calm = asyncio.run(student(server.url))
    assert followed == ["Convolution Arithmetic"]
    assert not answered  # dropped: no run of the page before
    assert stayed
    assert calm == []  # a poll naming the page on screen draws nothing


@pytest.mark.slow
def test_where_stale_runs_are_not_dropped_a_late_poll_draws_the_followed_page_again(rooms):
    """The fallback of the test above, where the server cannot drop the late poll (a
    Streamlit without the internals ``stale_runs`` wraps; ``CONVSCOPE_DROP_STALE_RUNS=0``
    here): the poll runs under the page before, and ``student.wiped`` sees it and draws the
    followed page again in the same answer, so the student's page is not left blank."""
    from bench.follow_latency import PollingSession
    from tests.browser_helpers import running_app

    keys = rooms.create_room()
    rooms.publish(keys.code, keys.token, page="kernel_playground", params={})

    async def student(url: str) -> tuple[str, str, list[str], str]:
        session = PollingSession(url, fetch_media=False, timeout=120)
        try:
            joined = await session.open("", f"room={keys.code}")
            while "Kernel Playground" not in title_of(joined):
                joined = await session._rerun(fragment_id=next(iter(session.polls)))
            before = session.page_hash
            rooms.publish(keys.code, keys.token, page="convolution_arithmetic", params={})
            await session._rerun(fragment_id=next(iter(session.polls)))
            after = session.page_hash
            late = await session._rerun(fragment_id=next(iter(session.polls)), page_hash=before)
            return before, after, title_of(late), session.page_hash
        finally:
            await session.close()

    with running_app({wake.PUSH_ENV: "0", stale_runs.DROP_ENV: "0"}) as server:
        before, after, redrawn, ended_on = asyncio.run(student(server.url))
    assert before != after
    assert redrawn == ["Convolution Arithmetic"]  # answered, and the followed page drawn again
    assert ended_on == after
