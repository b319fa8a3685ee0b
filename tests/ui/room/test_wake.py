"""ui.room.wake: one watcher per server process wakes the students whose room changed."""

from __future__ import annotations

import asyncio
import threading
import time

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
    rooms several servers share) still reaches its page, from the server alone, and its
    poll asks for the slow interval."""
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
            last = session._run
            rooms.publish(keys.code, keys.token, page="convolution_arithmetic", params={})
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if "Convolution Arithmetic" in title_of(session._run):
                    break
                await asyncio.sleep(0.05)
            assert session._run is last  # the client asked for nothing
            return interval, title_of(session._run)
        finally:
            await session.close()

    with running_app(env) as server:
        interval, titles = asyncio.run(student_session(server.url))
    assert interval == student.PUSHED_POLL_SECONDS
    assert "Convolution Arithmetic" in titles
