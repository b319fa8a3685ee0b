"""Drop a request to rerun a fragment of a page the browser has already left.

Why: a popover inside a page's fragment that reruns when it opens or shuts
(``folded_popover``) is shut by a click anywhere, a click on another page's link too. The
browser then asks for the new page and, a moment later, for a run of the popover's
fragment under the page before. Streamlit 1.67 still holds that fragment (the new page's
run has only just started) and runs it: the run's first message names the page before,
and the browser empties the new page it shows. A lecturer projecting to a room saw a
blank page. A fragment belongs to the page that drew it, so such a request is stale: it is
dropped before it reaches the script runner.

This wraps Streamlit's internal ``AppSession.request_rerun``, from the version the room's
wake-ups were checked against (``wake.CHECKED_STREAMLIT``); where it is missing, nothing
is changed, and ``CONVSCOPE_DROP_STALE_RUNS=0`` leaves it unchanged too (should a
Streamlit upgrade make the wrap misbehave). The student's page then redraws itself when
such a run reaches it (``student.wiped``); a lecturer's page stays blank until the next
click.

The same wrap keeps a finished run's page from being lost. A script runner whose run has
just ended refuses new requests, and Streamlit starts a new runner at once; the events
the old runner queued for the server's event loop (the messages of its whole page, when
the loop is busy) are then ignored as coming from a runner no longer current, and the
browser never gets the page. A student's page that the room had just switched to the
lecturer's (its poll came in that instant) kept the page before while the server counted
it as followed. So a request that comes while the session's runner has ended but not yet
shut down waits on the loop, behind those events, until it has (``Deferred``); requests
keep their order.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque

_LOG = logging.getLogger(__name__)

ASKED = "_convscope_asked_page"  # (page, page running then, when) of a session's last full-run ask

MARK = "_convscope_drops_stale_fragment_runs"  # on the wrapper: installed once per process

DROP_ENV = "CONVSCOPE_DROP_STALE_RUNS"  # "0": run stale requests as Streamlit does

PENDING_SECONDS = 1.0  # how long an asked-for page that has not started yet decides

DEFERRED = "_convscope_deferred_reruns"  # on a session: its requests waiting (``Deferred``)

MAX_WAITS = 200  # loop turns a request waits for an ended runner to shut down, at most


def runner_has_ended(session) -> bool:
    """Whether the session's script runner has ended its run but is not yet shut down.

    Its events may still wait on the loop: a new runner now would drop them.
    """
    runner = getattr(session, "_scriptrunner", None)
    requests = getattr(runner, "_requests", None)
    return getattr(getattr(requests, "_state", None), "name", "") == "STOP"


class Deferred:
    """A session's rerun requests that wait for its ended runner to shut down, in order.

    ``submit`` runs a request at once when nothing waits and the runner can take it;
    otherwise it queues it, and the queue is run on the session's event loop once the
    runner has shut down (or after ``MAX_WAITS`` turns of the loop).

    >>> class Loop:  # runs what is scheduled, one turn at a time
    ...     def __init__(self):
    ...         self.ready = []
    ...     def call_soon_threadsafe(self, callback):
    ...         self.ready.append(callback)
    ...     def turn(self):
    ...         ready, self.ready = self.ready, []
    ...         for callback in ready:
    ...             callback()
    >>> ended, ran, loop = [True], [], Loop()
    >>> deferred = Deferred(loop, lambda: ended[0], ran.append)
    >>> deferred.submit("a"); deferred.submit("b"); loop.turn(); ran  # the runner has ended
    []
    >>> ended[0] = False; loop.turn(); ran  # it has shut down: both, in order
    ['a', 'b']
    >>> deferred.submit("c"); ran  # nothing waits: at once
    ['a', 'b', 'c']
    >>> failing = Deferred(loop, lambda: ended[0], lambda r: ran.append(r) if r else 1 / 0)
    >>> ended[0] = True; failing.submit(None); failing.submit("d"); ended[0] = False
    >>> loop.turn(); ran  # one that fails is logged; the next still runs
    ['a', 'b', 'c', 'd']
    >>> failing.submit("e"); ran  # and nothing is left waiting
    ['a', 'b', 'c', 'd', 'e']
    """

    def __init__(self, loop, ended, run):
        self._loop, self._ended, self._run = loop, ended, run
        self._waiting: deque = deque()
        self._turns = 0

    def submit(self, request) -> None:
        if not self._waiting and not self._ended():
            self._run(request)
            return
        self._waiting.append(request)
        if len(self._waiting) == 1:
            self._turns = 0
            self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        self._turns += 1
        if self._ended() and self._turns < MAX_WAITS:
            self._loop.call_soon_threadsafe(self._drain)
            return
        while self._waiting:
            request = self._waiting.popleft()
            try:
                self._run(request)
            except Exception:  # noqa: BLE001 - as the loop logs a failed callback; the rest run
                _LOG.exception("A deferred rerun request failed")


def expected_page(asked: tuple[str, str, float] | None, running: str, now: float) -> str:
    """The page a fragment's run may name ("" when not known).

    ``asked`` is the session's last request for a full run: (its page, the page running
    when it came, when). Until a run has moved off the page running then, the page asked
    for decides, for ``PENDING_SECONDS`` at most; after that, the page running does (a
    run can change its page itself: a student's page that follows the lecturer).

    >>> expected_page(("new", "old", 10.0), "old", 10.2)  # the new page has not started yet
    'new'
    >>> expected_page(("new", "old", 10.0), "new", 10.2), expected_page(None, "old", 3.0)
    ('new', 'old')
    >>> expected_page(("new", "old", 10.0), "third", 10.2)  # that run moved on by itself
    'third'
    >>> expected_page(("new", "old", 10.0), "old", 12.0)  # never started: the running page
    'old'
    >>> expected_page(("", "old", 10.0), "old", 10.2)  # asked by name only: not known
    'old'
    """
    if asked is not None:
        page, running_then, at = asked
        if page and running == running_then and now - at <= PENDING_SECONDS:
            return page
    return running


def is_stale(fragment_id: str, page: str, expected: str) -> bool:
    """Whether a request to rerun ``fragment_id`` under ``page`` names a page left behind.

    >>> is_stale("f1", "old", "new"), is_stale("f1", "new", "new")
    (True, False)
    >>> is_stale("", "old", "new"), is_stale("f1", "", "new"), is_stale("f1", "old", "")
    (False, False, False)
    """
    return bool(fragment_id and page and expected and page != expected)


def install() -> bool:
    """Wrap ``AppSession.request_rerun`` once per process; False where it is missing or
    turned off (``DROP_ENV``)."""
    if os.environ.get(DROP_ENV, "1").strip() == "0":
        return False
    try:
        from streamlit.runtime.app_session import AppSession
    except ImportError:
        return False
    original = getattr(AppSession, "request_rerun", None)
    if original is None or not hasattr(AppSession, "page_script_hash"):
        return False
    if getattr(original, MARK, False):
        return True

    def request_rerun(self, client_state=None):
        if client_state is not None:
            running, now = self.page_script_hash, time.monotonic()
            page = client_state.page_script_hash
            expected = expected_page(getattr(self, ASKED, None), running, now)
            if is_stale(client_state.fragment_id, page, expected):
                _LOG.info("Dropped a rerun of a fragment of a page the browser has left")
                return None
            if not client_state.fragment_id:
                setattr(self, ASKED, (page, running, now))
        deferred = getattr(self, DEFERRED, None)
        if deferred is None:
            deferred = Deferred(
                self._event_loop,
                lambda: runner_has_ended(self),
                lambda state: original(self, state),
            )
            setattr(self, DEFERRED, deferred)
        deferred.submit(client_state)

    setattr(request_rerun, MARK, True)
    AppSession.request_rerun = request_rerun
    return True
