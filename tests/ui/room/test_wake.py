"""ui.room.wake: one watcher per server process wakes the students whose room changed."""

from __future__ import annotations

import asyncio
import threading
import time
from urllib.parse import parse_qs

import pytest
import streamlit

from tests.redis_helpers import redis_server_url  # noqa: F401 (a fixture)
from ui.room import student, wake


def test_the_internals_used_are_those_checked():
    """Waking a session uses Streamlit's internal API: a new Streamlit must be checked
    again (then raise ``CHECKED_STREAMLIT``); until then students poll, as ``available``
    says where a piece is missing."""
    assert streamlit.__version__ == wake.CHECKED_STREAMLIT
    from streamlit.runtime import Runtime
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState
    from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

    for name in ("request_rerun", "has_fragment"):
        assert callable(getattr(AppSession, name))
    assert callable(WebsocketSessionManager.get_active_session_info)
    assert callable(Runtime.exists)
    assert callable(ThreadState.get)
    assert wake.current_fragment_id() is None  # outside a run


def test_without_a_server_nothing_is_woken_and_students_poll_fast():
    assert not wake.available()  # no runtime here (as under AppTest)
    assert student.STUDENT_POLL_SECONDS < student.PUSHED_POLL_SECONDS


class CountingStore:
    """A real store that counts the version reads made by each thread."""

    def __init__(self, store):
        self.store, self.reads = store, {}

    def room_version(self, code):
        name = threading.current_thread().name
        self.reads[name] = self.reads.get(name, 0) + 1
        return self.store.room_version(code)


def test_the_watcher_shares_one_read_per_room_among_its_students(rooms):
    keys = rooms.create_room()
    store = CountingStore(rooms)
    watcher = wake.Watcher(store)
    watcher.watch(keys.code, "session-a", "fragment-a")
    watcher.watch(keys.code, "session-b", "fragment-b")
    deadline = time.monotonic() + 10
    while not store.reads.get("room-watcher") and time.monotonic() < deadline:
        time.sleep(0.02)
    polls = [watcher.pulse(keys.code) for _ in range(30)]  # 30 students' polls
    assert polls == [rooms.room_version(keys.code)] * 30
    assert store.reads.get(threading.current_thread().name, 0) <= 1  # not 30 reads
    assert watcher.watched(keys.code) == {"session-a": "fragment-a", "session-b": "fragment-b"}
    watcher.watch("OTHER2", "session-a", "fragment-a")  # a session is in one room at a time
    assert watcher.watched(keys.code) == {"session-b": "fragment-b"}
    watcher.forget("session-b")
    assert watcher.watched(keys.code) == {}


def test_a_stale_pulse_is_read_from_the_store(rooms):
    keys = rooms.create_room()
    watcher = wake.Watcher(rooms)  # watching nothing: no fresh read of its own
    assert watcher.pulse(keys.code).version == rooms.room_version(keys.code).version
    rooms.publish(keys.code, keys.token, page="pooling", params={})
    assert watcher.pulse(keys.code).version == rooms.room_version(keys.code).version


def test_a_room_switch_off_makes_students_poll(monkeypatch):
    monkeypatch.setenv(wake.PUSH_ENV, "0")
    assert not wake.available()


def title_of(run) -> list[str]:
    return [
        proto.body for _, kind, proto in run.elements if kind == "heading" and proto.tag == "h1"
    ]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_real_server_wakes_a_student_that_sends_nothing(kind, rooms, request):
    """A websocket student joins, then sends nothing more: the lecturer's page change
    (written to the store, as a lecturer's page on another server does: with Redis, the
    rooms several servers share) still reaches its page, from the server alone, in one
    run of the new page (no poll's run first), and its poll asks for the slow interval."""
    from bench.follow_latency import PollingSession
    from tests.browser_helpers import running_app

    env = {}
    if kind == "redis":
        from core.jobs.redis_rooms import RedisRoomStore
        from tests.redis_helpers import flushed

        url = flushed(request.getfixturevalue("redis_server_url"))
        rooms, env = RedisRoomStore(url), {"CONVSCOPE_REDIS_URL": url}
    keys = rooms.create_room()
    rooms.publish(keys.code, keys.token, page="kernel_playground", params={})

    async def student_session(url: str) -> tuple[float, list[str]]:
        session = PollingSession(url, fetch_media=False, timeout=120)
        try:
            joined = await session.open("", f"room={keys.code}")
            while "Kernel Playground" not in title_of(joined):  # the join link's follow
                joined = await session._rerun(fragment_id=next(iter(session.polls)))
            interval = next(iter(session.polls.values()))
            await asyncio.sleep(1.5)  # the watcher has read the room since
            asked, runs = session.requests, (session.full_runs, session.runs_ended)
            rooms.publish(keys.code, keys.token, page="convolution_arithmetic", params={})
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                shown = "Convolution Arithmetic" in title_of(session._run)
                if shown and session.full_runs > runs[0]:
                    break
                await asyncio.sleep(0.05)
            assert session.requests == asked  # the client asked for nothing
            # The watcher started the follow's full run itself: no poll's run came first,
            # and the browser was told the lecturer's address.
            assert (session.full_runs - runs[0], session.runs_ended - runs[1]) == (1, 1)
            assert session.page_hash == session.pages["convolution_arithmetic"]
            assert parse_qs(session.query_string)["room"] == [keys.code]
            return interval, title_of(session._run)
        finally:
            await session.close()

    with running_app(env) as server:
        interval, titles = asyncio.run(student_session(server.url))
    assert interval == student.PUSHED_POLL_SECONDS
    assert "Convolution Arithmetic" in titles


class RecordingSession:
    """Stands in for Streamlit's session in the watcher's calls: records the reruns asked."""

    def __init__(self, fragment_id: str):
        from streamlit.proto.ClientState_pb2 import ClientState

        self.fragment_id, self.reruns = fragment_id, []
        self._client_state = ClientState(page_script_hash="hash-before", query_string="a=1")
        self._client_state.widget_states.widgets.add(id="clicked", trigger_value=True)
        self._client_state.is_history_navigation = True  # the last request: the back button
        self._event_loop = self

    def call_soon_threadsafe(self, callback, *args):
        callback(*args)

    def has_fragment(self, fragment_id: str) -> bool:
        return fragment_id == self.fragment_id

    def request_rerun(self, client_state):
        self.reruns.append(client_state)


class RecordingManager:
    def __init__(self, sessions: dict):
        self.sessions = sessions

    def get_active_session_info(self, session_id):
        session = self.sessions.get(session_id)
        return None if session is None else type("Info", (), {"session": session})()


PAGE_HASHES = {"pooling": "hash-pooling", "kernel_playground": "hash-kernel"}


def follow_target(state):
    page_hash = PAGE_HASHES.get(state.page)
    return None if page_hash is None else (page_hash, f"k={state.params.get('k', '')}")


@pytest.fixture
def watched_room(rooms, monkeypatch):
    """A room with one watched student's session (its ticks driven by the test)."""
    keys = rooms.create_room()
    session = RecordingSession("poll-fragment")
    monkeypatch.setattr(wake, "_session_manager", lambda: RecordingManager({"s1": session}))
    watcher = wake.Watcher(rooms)
    watcher.follow_with(follow_target)
    watched = {keys.code: {"s1": "poll-fragment"}}
    watcher._tick(watched)  # the first read: nothing to wake for
    return keys, session, watcher, lambda: watcher._tick(watched)


def test_a_page_change_starts_the_students_full_run_of_the_lecturers_page(rooms, watched_room):
    """No poll in between: the run is what ``st.switch_page`` asks for, with no widget
    values (a click the browser sent last is not clicked again)."""
    keys, session, watcher, tick = watched_room
    version = rooms.publish(keys.code, keys.token, page="pooling", params={"k": "3"})
    tick()
    [rerun] = session.reruns
    assert (rerun.page_script_hash, rerun.query_string) == ("hash-pooling", "k=3")
    assert rerun.fragment_id == "" and not rerun.is_auto_rerun and not rerun.is_history_navigation
    assert len(rerun.widget_states.widgets) == 0
    pushed = watcher.take_push("s1")
    assert (pushed.page, pushed.params, pushed.version) == ("pooling", {"k": "3"}, version)
    assert watcher.take_push("s1") is None  # taken once
    assert (watcher.pushes, watcher.wakes) == (1, 1)
    tick()  # no change since
    assert len(session.reruns) == 1


def test_a_page_that_shows_the_change_already_is_not_woken(rooms, watched_room):
    keys, session, watcher, tick = watched_room
    watcher.shown("s1", "pooling", {"k": "3"})
    rooms.publish(keys.code, keys.token, page="pooling", params={"k": "3"})
    tick()
    assert session.reruns == [] and watcher.take_push("s1") is None
    rooms.publish(keys.code, keys.token, page="pooling", params={"k": "4"})
    tick()
    assert [r.query_string for r in session.reruns] == ["k=4"]


def test_a_question_or_an_unknown_page_wakes_the_poll(rooms, watched_room):
    """The poll redraws the page for a question card, and follows a page it knows."""
    from core.jobs.rooms import Question

    keys, session, watcher, tick = watched_room
    rooms.ask(keys.code, keys.token, Question.number("How many?", 4))
    tick()
    rooms.publish(keys.code, keys.token, page="no_such_page", params={})
    tick()
    assert [r.fragment_id for r in session.reruns] == ["poll-fragment"] * 2
    assert all(r.is_auto_rerun for r in session.reruns)
    assert (watcher.pushes, watcher.take_push("s1")) == (0, None)


def test_a_push_no_run_took_in_time_or_of_a_student_gone_is_dropped(
    rooms, watched_room, monkeypatch
):
    keys, session, watcher, tick = watched_room
    rooms.publish(keys.code, keys.token, page="pooling", params={"k": "3"})
    tick()
    monkeypatch.setattr(wake, "PUSH_SECONDS", 0.0)
    time.sleep(0.01)
    assert watcher.take_push("s1") is None
    monkeypatch.setattr(wake, "PUSH_SECONDS", 5.0)
    rooms.publish(keys.code, keys.token, page="pooling", params={"k": "4"})
    tick()
    watcher.forget("s1")  # the student explores on its own
    assert watcher.take_push("s1") is None
