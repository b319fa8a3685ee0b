"""A script run's events reach the event loop in batches: all of them, in order, on a real server.

``EventBatch`` is driven by a real thread and a real asyncio loop; the page's messages are
compared between two real servers, one with Streamlit's own one-callback-per-event.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref

import pytest
from streamlit.runtime.app_session import AppSession
from streamlit.testing.v1 import AppTest

from bench.streamlit_client import StreamlitSession
from tests.conftest import ROOT
from ui import batched_events
from ui.batched_events import EventBatch


def produce_on_a_thread(batch: EventBatch, events: list, loop, handle) -> list:
    """Add ``events`` from a thread of its own, as a script thread does; the callbacks
    it schedules (what the loop was asked to run)."""
    scheduled = []

    def schedule(callback) -> None:
        scheduled.append(callback)
        loop.call_soon_threadsafe(callback)

    def produce() -> None:
        for event in events:
            batch.add(event, schedule, handle)

    thread = threading.Thread(target=produce)
    thread.start()
    thread.join()
    return scheduled


def test_every_event_is_handled_once_in_order_with_fewer_callbacks():
    handled = []

    async def main() -> list:
        loop = asyncio.get_running_loop()
        batch = EventBatch()
        producing = loop.run_in_executor(
            None, produce_on_a_thread, batch, list(range(20_000)), loop, handled.append
        )
        while not producing.done():  # the loop handles batches while the thread adds
            await asyncio.sleep(0)
        scheduled = await producing
        for _ in range(100):  # the last batch, scheduled just before the thread ended
            await asyncio.sleep(0)
        return scheduled

    scheduled = asyncio.run(main())
    assert handled == list(range(20_000))
    assert 1 <= len(scheduled) < 20_000


def test_a_failing_event_is_logged_and_the_rest_still_handled(caplog):
    handled = []

    def handle(event) -> None:
        if event == "bad":
            raise ValueError("broken")
        handled.append(event)

    batch, scheduled = EventBatch(), []
    for event in ("a", "bad", "c"):
        batch.add(event, scheduled.append, handle)
    with caplog.at_level(logging.ERROR, logger=batched_events.__name__):
        scheduled.pop()()
    assert handled == ["a", "c"]
    assert "failed" in caplog.text
    batch.add("d", scheduled.append, handle)  # not stuck: the next event is scheduled again
    scheduled.pop()()
    assert handled == ["a", "c", "d"]


def test_install_replaces_streamlits_handler_once(monkeypatch):
    assert batched_events.available()
    assert batched_events.install()
    replaced = AppSession._on_scriptrunner_event
    assert getattr(replaced, batched_events.MARK, False)
    assert batched_events.install()
    assert AppSession._on_scriptrunner_event is replaced
    monkeypatch.setenv(batched_events.BATCH_ENV, "0")
    assert not batched_events.install()


def test_a_session_is_not_held_by_its_batch():
    class Session:
        def _call_soon_on_event_loop(self, callback) -> None:
            callback()

        def _handle_scriptrunner_event_on_event_loop(self, sender, event, **details) -> None:
            self.seen = (sender, event, details)

    session = Session()
    batched_events._on_scriptrunner_event(session, "runner", "started", page_script_hash="p")
    assert session.seen == ("runner", "started", {"page_script_hash": "p"})
    alive = weakref.ref(session)
    del session
    assert alive() is None  # freed at once, without waiting for the cycle collector


def test_the_app_installs_it(monkeypatch):
    def plain(self, sender, event, **details):  # as if never installed in this process
        raise AssertionError("not called here")

    monkeypatch.setattr(AppSession, "_on_scriptrunner_event", plain)
    app = AppTest.from_file(str(ROOT / "navigation.py"), default_timeout=90)
    app.run()
    assert not app.exception
    assert getattr(AppSession._on_scriptrunner_event, batched_events.MARK, False)


class Transcript(StreamlitSession):
    """Every message of a run, as (delta path, what it draws), in the order it came."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[tuple] = []

    def _handle(self, msg, now: float) -> None:
        kind = msg.WhichOneof("type")
        if kind == "delta":
            change = msg.delta.WhichOneof("type")
            what = ""
            if change in ("new_element", "add_block"):
                what = getattr(msg.delta, change).WhichOneof("type")
            self.seen.append((tuple(msg.metadata.delta_path), change, what))
        elif kind in ("new_session", "script_finished", "page_info_changed"):
            self.seen.append((kind,))
        super()._handle(msg, now)


def as_drawn(seen: list[tuple]) -> list[tuple]:
    """``seen`` less a message that the next one replaces at the same place.

    Streamlit merges two such deltas only while the first still waits in the session's
    queue, so whether both are sent depends on timing, with or without batches.

    >>> as_drawn([((0, 2), "new_element", "empty"), ((0, 2), "new_element", "empty"), ("x",)])
    [((0, 2), 'new_element', 'empty'), ('x',)]
    """
    drawn: list[tuple] = []
    for item in seen:
        if drawn and len(item) == 3 and drawn[-1][0] == item[0]:
            drawn[-1] = item
        else:
            drawn.append(item)
    return drawn


async def transcript(url: str) -> list[tuple]:
    session = Transcript(url, fetch_media=False, timeout=120)
    try:
        await session.open("kernel_playground", "s=2")
        await session.open("kernel_playground", "s=1")
        return as_drawn(session.seen)
    finally:
        await session.close()


@pytest.mark.slow
def test_a_page_arrives_the_same_with_and_without_batches():
    from tests.browser_helpers import running_app

    seen = {}
    for setting in ("1", "0"):
        with running_app({batched_events.BATCH_ENV: setting}) as server:
            seen[setting] = asyncio.run(transcript(server.url))
    assert len(seen["1"]) > 100  # two full runs of the page
    assert seen["1"].count(("script_finished",)) == 2
    assert seen["1"] == seen["0"]
