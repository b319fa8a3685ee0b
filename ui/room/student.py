"""The student's side of a room: join, follow the lecturer's page, answer, see the reveal.

While in a room, a tiny fragment above the page polls the room's version (nothing
drawn). On a real server the process's room watcher (``ui.room.wake``) reruns that
fragment as soon as the room changes, so it polls only every ``PUSHED_POLL_SECONDS``
(presence, and the races below) and a whole room's polls share the watcher's reads;
elsewhere it polls every ``STUDENT_POLL_SECONDS``. When the lecturer's page or link
changed (a new version) and the student
follows, it puts the lecturer's link into the address, asks the page to restore itself
from it (``request_restore``) and switches to that page, which reruns the whole app
only then. When a question opens or is revealed, it reruns the page so the question
card shows. The student's own clicks only ever change their own page: the store takes
nothing from a student but "I am here" and a checked answer.

A follow counts as done once a full run of the lecturer's page has finished (``settle``),
and it records what that run left on screen. A browser's poll sent before the new page
reached it carries the old page's widget values and page: Streamlit applies them after
the follow, which quietly undoes it on the server. The poll notices (``drifted``) and
follows again, so a change is never lost. Such a poll also names the page before: run,
the browser would empty its page below the follow bar. The server drops it
(``stale_runs``); where Streamlit's internals for that are missing, the poll draws the
page again at once (``wiped``). A full run of the page before, in place of the switch,
switches again (``due``).
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import streamlit as st

from core.jobs.rooms import RoomNotFoundError, RoomState, normalize_code
from ui.room import wake
from ui.room.state import (
    ANSWERS,
    APPLIED,
    APPLYING,
    DRAWN,
    DRIFTS,
    FOLLOWER,
    FOLLOWING,
    LAST_BEAT,
    QUESTION_SEEN,
    ROOM_PARAM,
    SHOWN,
    STUDENT_CODE,
    current_page,
    following,
    forget_room,
    page_hash,
    page_link_params,
    room_store,
    session_id,
    student_code,
)
from ui.widgets.page_link import in_fragment_run, request_restore

STUDENT_POLL_SECONDS = 0.25


# The poll where the room watcher wakes the page on a change: presence, and a wake that
# was lost. Rare, for a poll the browser sends while a follow switches its page names
# the page before and costs a second full run (``wiped``).
PUSHED_POLL_SECONDS = 2.0


HEARTBEAT_SECONDS = 2.0


RETRY_SECONDS = 2.0  # a switch to the lecturer's page not finished by then is made again


DRIFT_SECONDS = 5.0  # a page drifted from the last follow this long follows again


MAX_TRIES = 3  # follows of one version before the page keeps what it can show


# Follow runs of this process's students at once. Woken together, 30 students' runs
# would share one interpreter lock and all finish last; one at a time (measured against 2
# and 4: README, "A follow in one run"), most finish sooner and the last no later.
# ``$CONVSCOPE_FOLLOW_RUNS`` sets another number (0: no limit), to compare.
FOLLOW_RUNS_AT_ONCE = 1


FOLLOW_RUNS_ENV = "CONVSCOPE_FOLLOW_RUNS"


FOLLOW_WAIT_SECONDS = 5.0  # a follow run waits at most this long for its turn


def follow_runs_at_once() -> int:
    """How many follow runs go at once (0: no limit); a bad value is the default.

    >>> follow_runs_at_once() >= 0
    True
    """
    text = os.environ.get(FOLLOW_RUNS_ENV, "").strip()
    return int(text) if text.isdigit() else FOLLOW_RUNS_AT_ONCE


_FOLLOW_TURNS = threading.BoundedSemaphore(max(1, follow_runs_at_once()))


ROOM_GONE = "The room has ended. Your page stays as it is; join another room with its code."


def join_room(text: str) -> str | None:
    """Join the room with code ``text`` as a student; returns what went wrong, or None."""
    try:
        code = normalize_code(text)
    except (TypeError, ValueError) as error:
        return str(error).split(" Received:")[0]
    store = room_store()
    state = store.read_room(code)
    if state is None:
        return (
            f"There is no open room {code}. Check the code with your lecturer: a room "
            "closes 4 hours after the lecturer's last change."
        )
    forget_room()
    session = st.session_state
    session[STUDENT_CODE], session[FOLLOWER] = code, store.join(code)
    session[FOLLOWING], session[APPLIED] = True, None
    session[QUESTION_SEEN], session[ANSWERS] = (state.question_id, state.revealed), {}
    session[LAST_BEAT] = time.monotonic()
    return None


def leave_room() -> None:
    """Leave the room (a button callback); the page stays as it is."""
    code, follower = student_code(), st.session_state.get(FOLLOWER)
    if code and follower:
        with contextlib.suppress(RoomNotFoundError, ValueError):
            room_store().leave(code, follower)
    forget_room("You left the room.")


def start_follow(state: RoomState) -> dict[str, str]:
    """Note the switch to ``state`` and put its link into the address; returns the link.

    The page's next full run restores itself from that link (``request_restore``).
    """
    params = {**state.params, ROOM_PARAM: state.code}
    applying = st.session_state.get(APPLYING)
    tries = applying[4] + 1 if applying is not None and applying[0] == state.version else 1
    st.session_state.pop(APPLIED, None)
    st.session_state[APPLYING] = (
        state.version,
        state.page,
        dict(state.params),
        time.monotonic(),
        tries,
    )
    st.query_params.from_dict(params)
    request_restore()
    return params


def follow(state: RoomState, pages: dict) -> None:
    """Show the lecturer's page and link now (stops this run).

    Always a switch, even to the page on screen: a plain rerun would run the page the
    browser's last poll named, which may be the one before a switch.
    """
    params = start_follow(state)
    if state.page in pages:
        st.switch_page(pages[state.page], query_params=params)
    st.rerun()


def follow_target(pages: dict) -> wake.FollowTarget:
    """How the room watcher starts a follow itself: the page's script hash and link.

    >>> from core.jobs.rooms import RoomState
    >>> page = type("Page", (), {"_script_hash": "h1"})()
    >>> follow_target({"pooling": page})(RoomState("K7XQ3M", "pooling", {"k": "2"}, 4))
    ('h1', 'k=2&room=K7XQ3M')
    >>> follow_target({})(RoomState("K7XQ3M", "pooling", {}, 4)) is None
    True
    """

    def target(state: RoomState) -> tuple[str, str] | None:
        page_hash = getattr(pages.get(state.page), "_script_hash", None)
        if not page_hash:
            return None
        return page_hash, urlencode({**state.params, ROOM_PARAM: state.code}, doseq=True)

    return target


def take_push() -> None:
    """A full run the room watcher started to follow the lecturer: make it the follow.

    Called before the page runs. A run that shows something else (a request of the
    browser took the pushed run's place) leaves the follow to the next poll.
    """
    watcher = wake.watcher(room_store()) if student_code() else None
    state = watcher.take_push(session_id()) if watcher is not None else None
    if state is None or not following() or state.code != student_code():
        return
    link = dict(st.query_params.to_dict())
    link.pop(ROOM_PARAM, None)
    if state.page == current_page() and link == state.params:
        start_follow(state)


@contextlib.contextmanager
def follow_turn() -> Iterator[None]:
    """Wrap a full run: a student's switch to the lecturer's page waits for its turn.

    Other runs (the lecturer's, a student's own, a poll) never wait.
    """
    applying = st.session_state.get(APPLYING)
    if (
        not student_code()
        or in_fragment_run()
        or applying is None
        or applying[1] != current_page()
        or not follow_runs_at_once()
    ):
        yield
        return
    turn = _FOLLOW_TURNS.acquire(timeout=FOLLOW_WAIT_SECONDS)
    try:
        yield
    finally:
        if turn:
            _FOLLOW_TURNS.release()


def settle(page: str) -> None:
    """A full run of ``page`` has finished: note what it shows; a follow to it is done.

    Done means the page shows the lecturer's link. A run that shows something else (a
    request the browser sent before the follow reached it ran over it) is followed again
    at the next poll; after ``MAX_TRIES`` the page keeps what it can show (a link value
    this student's page cannot take).
    """
    if not student_code():
        return
    shown = (page, page_hash(), page_link_params())
    st.session_state[SHOWN] = shown
    watcher = wake.watcher(room_store()) if following() else None
    if watcher is not None:  # the watcher pushes no follow of what this page shows
        watcher.shown(session_id(), page, shown[2])
    applying = st.session_state.get(APPLYING)
    if applying is None or applying[1] != page:
        return
    version, _, wanted, _, tries = applying
    if shown[2] == wanted or tries >= MAX_TRIES:
        st.session_state[APPLIED] = (version, *shown)
        del st.session_state[APPLYING]
    else:
        st.session_state[APPLYING] = (version, page, wanted, -math.inf, tries)


def due(version: int) -> bool:
    """Whether this student's page should switch to ``version`` now.

    A full run of another page than the switch's is a request of the browser that took
    the switch's place (it names the page the browser still showed): switch again at once.
    """
    applied = st.session_state.get(APPLIED)
    if applied is not None and applied[0] == version:
        return False
    applying = st.session_state.get(APPLYING)
    return (
        applying is None
        or applying[0] != version
        or time.monotonic() - applying[3] > RETRY_SECONDS
        or (not in_fragment_run() and applying[1] != current_page())
    )


def settling(version: int) -> bool:
    """Whether this full run is the switch to ``version`` itself: let it finish.

    A run that takes longer than ``RETRY_SECONDS`` (a loaded server, a browser's request
    that restarted it) must not switch again, or it would never finish; a poll (a
    fragment's run comes only once no full run is going) retries a lost switch.
    """
    applying = st.session_state.get(APPLYING)
    return (
        not in_fragment_run()
        and applying is not None
        and applying[0] == version
        and applying[1] == current_page()
        and applying[3] != -math.inf
    )


def drifted() -> bool:
    """Whether the page no longer is what the last follow left on screen.

    A late poll of the browser can put back the widget values or the page it had before.
    """
    applied = st.session_state.get(APPLIED)
    if applied is None:
        return False
    _, _, shown_hash, params = applied
    return page_hash() != shown_hash or page_link_params() != params


def already_shown(state: RoomState) -> bool:
    """Whether the page already shows ``state`` (then it counts as followed, no run).

    The lecturer's change often comes as two versions: the values the lecturer's browser
    sent, then the link the lecturer's page wrote after its run. The follow of the first
    makes this page write the same link, so the second needs no run of its own.
    """
    applied = st.session_state.get(APPLIED)
    if applied is None or drifted():
        return False
    _, page, shown_hash, params = applied
    if page != state.page or params != state.params:
        return False
    st.session_state[APPLIED] = (state.version, page, shown_hash, params)
    return True


def watch_drift(version: int) -> None:
    """Follow ``version`` again when the page has drifted from it for ``DRIFT_SECONDS``.

    A poll the browser sent before the follow's page reached it carries the values of
    before; the next polls carry what the browser shows and put them right. A drift that
    lasts is followed again, once: a page that drifts again after that is left as it is
    (something on it, a page's own reaction to a late value, keeps it so; following
    again would only loop).
    """
    applied = st.session_state.get(APPLIED)
    if applied is None or applied[0] != version:
        return
    drift_version, since, refollowed = st.session_state.get(DRIFTS) or (version, None, False)
    if drift_version != version:
        since, refollowed = None, False
    if not drifted():
        since = None
    elif since is None:
        since = time.monotonic()
    elif time.monotonic() - since >= DRIFT_SECONDS and not refollowed:
        del st.session_state[APPLIED]
        since, refollowed = None, True
    st.session_state[DRIFTS] = (version, since, refollowed)


def redraw(pages: dict) -> None:
    """Rerun the page this student last saw in full (stops this run)."""
    shown = st.session_state.get(SHOWN)
    if shown is not None and shown[1] != page_hash() and shown[0] in pages:
        params = dict(shown[2])
        if student_code():
            params[ROOM_PARAM] = student_code()
        st.query_params.from_dict(params)
        request_restore()
        st.switch_page(pages[shown[0]], query_params=params)
    st.rerun()


def wiped() -> bool:
    """Whether this poll runs under another page than the one the last full run drew.

    The browser empties its page (all but what ``navigation.py`` draws: the follow bar) whenever
    a run names another page than the one it shows. A poll the browser sent before a
    follow's new page reached it names the page before; it runs once the follow's run
    is over, and would leave the student's page blank until the next change. (The server
    drops such a poll, ``stale_runs``: this is the fallback where it cannot.)
    """
    drawn = st.session_state.get(DRAWN)
    return in_fragment_run() and drawn is not None and page_hash() != drawn


def heartbeat(code: str, *, force: bool = False) -> None:
    """Tell the store this page is open (every ``HEARTBEAT_SECONDS``, or now)."""
    session = st.session_state
    now = time.monotonic()
    if force or now - session.get(LAST_BEAT, 0.0) >= HEARTBEAT_SECONDS:
        session[LAST_BEAT] = now
        room_store().heartbeat(code, session[FOLLOWER], following=following())


def room_pulse(code: str, pages: dict):
    """The room's version for this poll; a following page asks the watcher to wake it.

    Returns None when the room is gone.
    """
    watcher = wake.watcher(room_store())
    if watcher is None:
        return room_store().room_version(code)
    fragment_id = wake.current_fragment_id()
    if following() and fragment_id:
        watcher.follow_with(follow_target(pages))
        watcher.watch(code, session_id(), fragment_id)
    else:
        watcher.forget(session_id())
    return watcher.pulse(code)


def student_tick(pages: dict) -> None:
    """One poll: report presence, follow a new version, redraw for a question change."""
    code = student_code()
    if not code:
        return
    if wiped():  # the browser has emptied the page: draw it again, now
        state = room_store().read_room(code) if following() else None
        if state is not None:
            follow(state, pages)
        redraw(pages)
    pulse = room_pulse(code, pages)
    if pulse is None:
        forget_room(ROOM_GONE)
        redraw(pages)
    try:
        heartbeat(code)
    except RoomNotFoundError:
        forget_room(ROOM_GONE)
        redraw(pages)
    if following() and pulse.version:
        watch_drift(pulse.version)
        if due(pulse.version) and not settling(pulse.version):
            state = room_store().read_room(code)
            if state is not None and not already_shown(state):
                follow(state, pages)
    seen = (pulse.question_id, pulse.revealed)
    if seen != st.session_state.get(QUESTION_SEEN):
        st.session_state[QUESTION_SEEN] = seen
        redraw(pages)


def set_following(value: bool) -> None:
    st.session_state[FOLLOWING] = value
    watcher = wake.watcher(room_store())
    if watcher is not None and not value:  # exploring: no more wakes
        watcher.forget(session_id())
    if value:  # the next poll snaps back to the lecturer's page
        st.session_state[APPLIED] = st.session_state[APPLYING] = None
    heartbeat(student_code(), force=True)


@st.fragment(run_every=STUDENT_POLL_SECONDS)
def student_watch(pages: dict) -> None:
    """The poll: draws nothing, reruns the page only when the room changed."""
    student_tick(pages)


@st.fragment(run_every=PUSHED_POLL_SECONDS)
def student_watch_woken(pages: dict) -> None:
    """The poll where the room watcher wakes it on a change: the same, less often."""
    student_tick(pages)


def student_bar(state: RoomState, pages: dict) -> None:
    """The one-line bar above the page: following or exploring, and the switch between."""
    if wake.available():
        student_watch_woken(pages)
    else:
        student_watch(pages)
    bar = st.container(horizontal=True, vertical_alignment="center", key="room-bar")
    if following():
        bar.markdown(
            f":material/cast_for_education: Following the lecturer · room **{state.code}**"
        )
        bar.button(
            "Explore on my own",
            key="room.detach",
            on_click=set_following,
            args=(False,),
            help="Stop following: your page stays, and you can change anything on it.",
        )
    else:
        bar.markdown(f":material/explore: Exploring on your own · room **{state.code}**")
        if bar.button(
            "Follow again",
            key="room.follow",
            type="primary",
            help="Go back to the lecturer's page as it is now.",
        ):
            set_following(True)
            follow(state, pages)


def _answer_text(answer: str, correct: bool | None) -> str:
    if correct is None:
        return f"Your answer **{answer}** is counted. Wait for the reveal."
    verdict = ":green[right]" if correct else ":red[not right]"
    return f"Your answer **{answer}** is {verdict}."


def send_answer(question_id: int, question) -> None:
    """Check and count the answer in the form (the form's callback)."""
    session = st.session_state
    raw = session.get(f"room.answer.{question_id}")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        session["room.answer_error"] = "Pick or type an answer first."
        return
    try:
        counted = room_store().submit_answer(student_code(), question_id, session[FOLLOWER], raw)
    except (ValueError, RoomNotFoundError) as error:
        session["room.answer_error"] = str(error)
        return
    answers = session.setdefault(ANSWERS, {})
    if counted or question_id not in answers:
        answers[question_id] = question.canonical(raw)


@st.fragment
def question_card(state: RoomState) -> None:
    """The open question: an answer box until the student answers, the answer at the reveal."""
    question, question_id = state.question, state.question_id
    mine = st.session_state.get(ANSWERS, {}).get(question_id)
    error = st.session_state.pop("room.answer_error", None)
    with st.container(border=True, key="room-question"):
        st.markdown("**Question from the lecturer**")
        for line in question.prompt.splitlines():
            st.markdown(line)
        if state.revealed:
            st.success(f"Right answer: **{question.answer}**. {question.explanation}")
            if mine is not None:
                st.markdown(_answer_text(mine, question.is_correct(mine)))
            return
        if mine is not None:
            st.markdown(_answer_text(mine, None))
            return
        with st.form(key=f"room.form.{question_id}", border=False):
            if question.kind == "choice":
                st.radio(
                    "Your answer", question.choices, index=None, key=f"room.answer.{question_id}"
                )
            else:
                st.text_input(
                    "Your answer",
                    key=f"room.answer.{question_id}",
                    placeholder="a number",
                    max_chars=40,
                )
            st.form_submit_button(
                "Send my answer",
                type="primary",
                on_click=send_answer,
                args=(question_id, question),
            )
        if error:
            st.error(error)
