"""One watcher per server process: wakes the students whose room changed, at once.

Without it every student's page polls the room several times a second (a fragment run
each: 30 idle students cost the server about 0.4 s of CPU per second, and a follow
waits for the next poll). The watcher is one thread that reads each watched room's
version every ``WATCH_SECONDS`` (one read per room, whatever the number of students,
from the same store as everything else: SQLite, or the Redis that several servers
share, so a lecturer on another server wakes these students too) and, on a change,
asks each following student's session to rerun its poll fragment now. Students then
poll only every ``student.PUSHED_POLL_SECONDS``, for presence and the late-poll races.

A change of the lecturer's page or link skips the poll: the watcher reads the room once
and starts each following student's full run of the lecturer's page and link itself
(``push``), as ``st.switch_page`` would, and the run takes it as the follow
(``take_push``): one run per student and change instead of two, a poll's run and then
the switch (README, "A follow in one run"). A page that already shows the change
(``shown``, the lecturer's second version of one change) is not woken at all; a question
opened or revealed still wakes the poll, which redraws the page.

Asking a session to rerun from another thread is Streamlit's internal API (the
runtime's session manager and ``AppSession.request_rerun``, as its own "rerun on
save" does). It was checked against ``CHECKED_STREAMLIT``; where any piece is missing
``available()`` is False and the students poll as before (``CONVSCOPE_ROOM_PUSH=0``
turns it off too).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

import streamlit as st
from streamlit.proto.ClientState_pb2 import ClientState

from core.jobs.rooms import RoomPulse, RoomState, RoomStore

CHECKED_STREAMLIT = "1.67.0"  # the version whose internals ``_wake`` uses


PUSH_ENV = "CONVSCOPE_ROOM_PUSH"  # "0": students poll, nothing is woken


WATCH_SECONDS = 0.1  # how often the watcher reads each watched room's version


FRESH_SECONDS = 0.3  # a pulse the watcher read this recently answers a student's poll


PUSH_SECONDS = 5.0  # a pushed follow no run has taken by then is dropped


class Push(NamedTuple):
    """A follow the watcher started: the room state it shows, and when."""

    state: RoomState
    at: float


# The lecturer's room state → (script hash of its page, the query string of its link), or
# None where the page is not one of the app's: how a pushed run shows it.
FollowTarget = Callable[[RoomState], "tuple[str, str] | None"]

_LOG = logging.getLogger(__name__)


def _session_manager():
    """The runtime's session manager, or None (no server: AppTest, bare mode)."""
    try:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return None
        manager = Runtime.instance()._session_mgr
    except (ImportError, AttributeError, RuntimeError):
        return None
    return manager if hasattr(manager, "get_active_session_info") else None


def available() -> bool:
    """Whether sessions can be woken here (a real server with the internals checked)."""
    if os.environ.get(PUSH_ENV, "1").strip() == "0":
        return False
    manager = _session_manager()
    if manager is None:
        return False
    from streamlit.runtime.app_session import AppSession

    return all(hasattr(AppSession, name) for name in ("request_rerun", "has_fragment"))


def _on_session_loop(manager, session_id: str, ask: Callable) -> bool:
    """Run ``ask(session)`` on session ``session_id``'s event loop, where Streamlit handles
    every request; False: the session is gone."""
    info = manager.get_active_session_info(session_id)
    if info is None:
        return False
    session = info.session
    try:
        session._event_loop.call_soon_threadsafe(ask, session)
    except RuntimeError:  # the session's loop has closed
        return False
    return True


def _last_client_state(session) -> ClientState:
    """A copy of what the session's browser last sent (its page, link, widget values)."""
    state = ClientState()
    state.CopyFrom(session._client_state)
    return state


def _wake(manager, session_id: str, fragment_id: str) -> bool:
    """Ask session ``session_id`` to rerun fragment ``fragment_id``; False: it is gone.

    The rerun carries the widget values of the session's last run (what its page shows),
    as a rerun on save does, and runs on the session's event loop, where Streamlit
    handles every request.
    """

    def rerun(session) -> None:
        if not session.has_fragment(fragment_id):
            return  # the next poll (or full run) registers the fragment again
        state = _last_client_state(session)
        state.fragment_id, state.is_auto_rerun = fragment_id, True
        session.request_rerun(state)

    return _on_session_loop(manager, session_id, rerun)


def _push(manager, session_id: str, page_hash: str, query: str) -> bool:
    """Start session ``session_id``'s full run of page ``page_hash`` with link ``query``.

    What ``st.switch_page`` asks for, from outside the session's run: no widget values
    (the page takes its state from the link, and a click the browser sent last is not
    clicked again). False: the session is gone.
    """

    def rerun(session) -> None:
        state = _last_client_state(session)
        state.ClearField("widget_states")
        state.fragment_id, state.is_auto_rerun, state.page_name = "", False, ""
        state.is_history_navigation = False  # a switch, not the browser's back button
        state.page_script_hash, state.query_string = page_hash, query
        session.request_rerun(state)

    return _on_session_loop(manager, session_id, rerun)


class Watcher:
    """The process's watcher: rooms → sessions to wake (session id → poll fragment id)."""

    def __init__(self, store: RoomStore):
        self.store = store
        self._lock = threading.Lock()
        self._rooms: dict[str, dict[str, str]] = {}
        self._pulses: dict[str, tuple[RoomPulse | None, float]] = {}
        self._thread: threading.Thread | None = None
        self._target: FollowTarget | None = None
        self._shown: dict[str, tuple[str, dict[str, str]]] = {}  # session → (page, link)
        self._pushes: dict[str, Push] = {}
        self.wakes = 0  # sessions asked to rerun so far (for tests and benchmarks)
        self.pushes = 0  # of which full runs of the lecturer's page (``push``)

    def watch(self, code: str, session_id: str, fragment_id: str) -> None:
        """Wake ``session_id``'s fragment when room ``code`` changes (until ``forget``)."""
        with self._lock:
            for other, sessions in self._rooms.items():
                if other != code:
                    sessions.pop(session_id, None)
            self._rooms.setdefault(code, {})[session_id] = fragment_id
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="room-watcher", daemon=True)
                self._thread.start()

    def follow_with(self, target: FollowTarget) -> None:
        """Push a follow of the lecturer's page and link to ``target(state)``."""
        self._target = target

    def forget(self, session_id: str) -> None:
        """Stop waking ``session_id`` (it left, or explores on its own)."""
        with self._lock:
            for sessions in self._rooms.values():
                sessions.pop(session_id, None)
            self._shown.pop(session_id, None)
            self._pushes.pop(session_id, None)

    def shown(self, session_id: str, page: str, params: dict[str, str]) -> None:
        """Session ``session_id``'s page has run and shows ``page`` with link ``params``."""
        with self._lock:
            self._shown[session_id] = (page, dict(params))

    def take_push(self, session_id: str) -> RoomState | None:
        """The room state this session's run was pushed to show, if any (once)."""
        with self._lock:
            push = self._pushes.pop(session_id, None)
        if push is None or time.monotonic() - push.at > PUSH_SECONDS:
            return None
        return push.state

    def watched(self, code: str) -> dict[str, str]:
        with self._lock:
            return dict(self._rooms.get(code, {}))

    def pulse(self, code: str) -> RoomPulse | None:
        """Room ``code``'s version as the watcher last read it, or a fresh read.

        Every student's poll asks this: while the watcher reads the room anyway, the
        polls of a whole room share its reads instead of one store read each.
        """
        with self._lock:
            pulse, at = self._pulses.get(code, (None, -1.0))
        if time.monotonic() - at <= FRESH_SECONDS:
            return pulse
        return self.store.room_version(code)

    def _run(self) -> None:
        while True:
            with self._lock:
                rooms = {code: dict(s) for code, s in self._rooms.items() if s}
                for code in set(self._pulses) - set(rooms):
                    del self._pulses[code]
            try:
                self._tick(rooms)
            except Exception:  # noqa: BLE001 - a store hiccup: the polls still follow
                _LOG.warning("The room watcher could not read the rooms", exc_info=True)
            time.sleep(WATCH_SECONDS)

    def _tick(self, rooms: dict[str, dict[str, str]]) -> None:
        manager = _session_manager()
        for code, sessions in rooms.items():
            pulse = self.store.room_version(code)
            with self._lock:
                before = self._pulses.get(code)
                self._pulses[code] = (pulse, time.monotonic())
            if before is None or before[0] == pulse or manager is None:
                continue
            state = self._pushable(code, before[0])
            for session_id, fragment_id in sessions.items():
                woken = self._follow(manager, session_id, state)
                if woken is None:
                    woken = _wake(manager, session_id, fragment_id)
                if woken is False:
                    self.forget(session_id)
                elif woken is True:
                    self.wakes += 1

    def _pushable(self, code: str, before: RoomPulse | None) -> RoomState | None:
        """The room's state, when this change can be pushed: no question opened or revealed."""
        if self._target is None or before is None:
            return None
        state = self.store.read_room(code)
        if state is None or (state.question_id, state.revealed) != before[1:]:
            return None
        with self._lock:  # a newer version than the pulse: the students' polls see it too
            pulse = RoomPulse(state.version, state.question_id, state.revealed)
            self._pulses[code] = (pulse, time.monotonic())
        return state

    def _follow(self, manager, session_id: str, state: RoomState | None) -> bool | str | None:
        """Push ``state`` to the session: True, or False where it is gone.

        "shown" where its page shows that already (its next poll notes the version), None
        where only its poll can follow (a question, a page the app does not know).
        """
        target = self._target(state) if state is not None and self._target else None
        if target is None:
            return None
        with self._lock:
            if self._shown.pop(session_id, None) == (state.page, state.params):
                self._shown[session_id] = (state.page, state.params)
                return "shown"
            self._pushes[session_id] = Push(state, time.monotonic())
        if not _push(manager, session_id, *target):
            return False
        self.pushes += 1
        return True


@st.cache_resource(show_spinner=False)
def _watcher(_store: RoomStore) -> Watcher:
    return Watcher(_store)


def watcher(store: RoomStore) -> Watcher | None:
    """The process's watcher over ``store``, or None where sessions cannot be woken."""
    return _watcher(store) if available() else None


def current_fragment_id() -> str | None:
    """The id of the fragment this code runs in (None outside one)."""
    with contextlib.suppress(ImportError, AttributeError, RuntimeError):
        from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

        return ThreadState.get().fragment_id
    return None
