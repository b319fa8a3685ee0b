"""Hand a script run's messages to the server's event loop in batches, not one by one.

Why: Streamlit 1.67 passes every event of a script run (each element drawn is one) from the
script's thread to the server's event loop as a callback of its own. Each one wakes the
loop, and the two threads pass the interpreter lock back and forth once per element. A
Kernel Playground run draws over a hundred elements, and in a lecture room the server runs
that page again for every following student, one after the other under the one lock.
Queued per session and handed over with one callback while none is pending, the same
events are handled in the same order with far fewer wake-ups: ``bench/rerun_cpu.py
--before DIR`` measured the server's CPU per run of the Kernel Playground 6 % lower.

An event is never handled later than Streamlit would handle it: one that arrives while a
batch waits or is being handled joins it. Each event is handled as before
(``_handle_scriptrunner_event_on_event_loop``); one that fails is logged and the rest of
the batch still runs, as separate callbacks would.

This replaces Streamlit's internal ``AppSession._on_scriptrunner_event``, from the version
the room's wake-ups were checked against (``ui.room.wake.CHECKED_STREAMLIT``). Where the
pieces it uses are missing nothing is changed, and ``CONVSCOPE_BATCH_EVENTS=0`` leaves
Streamlit's own way in place too.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections import deque
from collections.abc import Callable

_LOG = logging.getLogger(__name__)

BATCH_ENV = "CONVSCOPE_BATCH_EVENTS"  # "0": one callback per event, as Streamlit does

BATCH = "_convscope_event_batch"  # on a session: its ``EventBatch``

MARK = "_convscope_batches_events"  # on the replacement: installed once per process

# Streamlit's own handler, kept alive: a runner started before ``install`` holds it only
# through a weak reference, and would lose the rest of its run's events were it collected.
_REPLACED: list = []


class EventBatch:
    """Events from one thread, handled in order on another by as few callbacks as can be.

    ``add`` queues an event and schedules ``handle_all`` only when no call is pending
    already; ``handle_all`` handles everything queued until the queue is empty. The batch
    holds no handler: a session that holds its batch is not held by it in turn.

    >>> scheduled, handled = [], []
    >>> batch = EventBatch()
    >>> for event in "abc":
    ...     batch.add(event, scheduled.append, handled.append)
    >>> len(scheduled)  # one callback for the three
    1
    >>> scheduled.pop()(); handled
    ['a', 'b', 'c']
    >>> batch.add("d", scheduled.append, handled.append); len(scheduled)  # scheduled again
    1
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: deque = deque()
        self._pending = False

    def add(self, event, schedule: Callable[[Callable[[], None]], None], handle: Callable) -> None:
        with self._lock:
            self._events.append(event)
            if self._pending:
                return
            self._pending = True
        schedule(functools.partial(self.handle_all, handle))

    def handle_all(self, handle: Callable) -> None:
        while True:
            with self._lock:
                if not self._events:
                    self._pending = False
                    return
                events = list(self._events)
                self._events.clear()
            for event in events:
                try:
                    handle(event)
                except Exception:  # a callback of its own would only have been logged
                    _LOG.exception("A script run's event failed on the event loop")


def _handle_one(session, item) -> None:
    sender, event, details = item
    session._handle_scriptrunner_event_on_event_loop(sender, event, **details)


def _on_scriptrunner_event(self, sender, event, **details) -> None:
    """Queue a script runner's event for the session's event loop (see the module)."""
    batch = self.__dict__.get(BATCH)
    if batch is None:
        batch = self.__dict__.setdefault(BATCH, EventBatch())
    batch.add(
        (sender, event, details),
        self._call_soon_on_event_loop,
        functools.partial(_handle_one, self),
    )


def available() -> bool:
    """Whether this Streamlit has the internals ``install`` relies on."""
    try:
        from streamlit.runtime.app_session import AppSession
    except ImportError:
        return False
    needed = (
        "_on_scriptrunner_event",
        "_handle_scriptrunner_event_on_event_loop",
        "_call_soon_on_event_loop",
    )
    return all(callable(getattr(AppSession, name, None)) for name in needed)


def install() -> bool:
    """Batch every session's events from now on (once per process); True if in place."""
    if os.environ.get(BATCH_ENV, "1") == "0" or not available():
        return False
    from streamlit.runtime.app_session import AppSession

    if not getattr(AppSession._on_scriptrunner_event, MARK, False):
        _REPLACED.append(AppSession._on_scriptrunner_event)
        setattr(_on_scriptrunner_event, MARK, True)
        AppSession._on_scriptrunner_event = _on_scriptrunner_event
    return True
