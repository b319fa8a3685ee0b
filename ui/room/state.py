"""The lecture room's session state: who this browser is in a room, and the shared store.

A session is at most one of: the lecturer of a room (it holds the room's token), or a
student in a room (it holds an anonymous follower id, and whether it follows the
lecturer or explores alone). Every key lives under ``room.``.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.jobs.rooms import RoomStore
from core.jobs.stores import open_room_store
from ui.room import wake
from ui.widgets.page_link import active_link, current_link

# The link parameter of a join link: ``/?room=K7XQ3M``.
ROOM_PARAM = "room"


LECTURER_CODE = "room.code"


LECTURER_TOKEN = "room.token"


PUBLISHED = "room.published"  # (page, params as JSON) last sent to the store


STUDENT_CODE = "room.joined"


FOLLOWER = "room.follower"


FOLLOWING = "room.following"


APPLIED = "room.applied"  # (version, page, page hash, link) the last follow left on screen


# (version, page, link, when, tries) of the switch this student's page is making
APPLYING = "room.applying"


QUESTION_SEEN = "room.question_seen"  # (question id, revealed) this page was drawn with


ANSWERS = "room.answers"  # question id → this student's counted answer


LAST_BEAT = "room.last_beat"


PAGE = "room.page"  # url path of the page this session shows


DRAWN = "room.drawn"  # script hash of the page the last full run drew (the browser's page)


# (version, since when the page has drifted from it, followed again since)
DRIFTS = "room.drifts"


SHOWN = "room.shown"  # (page, page hash, link) at the end of this session's last full run


STALE_LINK = "room.stale_link"  # the link of the page before a page change


MESSAGE = "room.message"  # a note to show once (the room ended, a bad join link)


@st.cache_resource(show_spinner=False)
def room_store() -> RoomStore:
    """The server's room store (a handle: every room lives in the store's file or Redis)."""
    return open_room_store()


def lecturer_code() -> str | None:
    """The code of the room this session presents, if any."""
    return st.session_state.get(LECTURER_CODE)


def lecturer_token() -> str:
    return st.session_state.get(LECTURER_TOKEN, "")


def student_code() -> str | None:
    """The code of the room this session has joined as a student, if any."""
    return st.session_state.get(STUDENT_CODE)


def following() -> bool:
    """Whether this student's page follows the lecturer's (not exploring alone)."""
    return bool(st.session_state.get(FOLLOWING, False))


def current_page() -> str:
    """The url path of the page this session shows ("" for the home page)."""
    return st.session_state.get(PAGE, "")


def page_hash() -> str:
    """The script hash of the page this run belongs to ("" outside a run).

    A rerun the server starts (``st.rerun``) runs the page of this hash; a browser's
    late poll can leave it pointing at the page shown before a switch.
    """
    ctx = get_script_run_ctx()
    return ctx.page_script_hash if ctx is not None else ""


def page_link_params() -> dict[str, str]:
    """The current page's link, without the room's own parameter.

    A page that keeps nothing in its link leaves the previous page's link active; its
    address is used then.
    """
    link = active_link()
    if link is not None and link is st.session_state.get(STALE_LINK):
        params = dict(st.query_params.to_dict())
    else:
        params = current_link()
    params.pop(ROOM_PARAM, None)
    return params


def session_id() -> str:
    """This browser session's id ("" outside a run)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def forget_room(message: str | None = None) -> None:
    """Drop every room key of this session (lecturer or student), keeping ``message``."""
    watcher = wake.watcher(room_store())
    if watcher is not None:  # no more wakes for this page
        watcher.forget(session_id())
    for key in (
        LECTURER_CODE,
        LECTURER_TOKEN,
        PUBLISHED,
        STUDENT_CODE,
        FOLLOWER,
        FOLLOWING,
        APPLIED,
        APPLYING,
        SHOWN,
        DRIFTS,
        QUESTION_SEEN,
        ANSWERS,
        LAST_BEAT,
    ):
        st.session_state.pop(key, None)
    if message:
        st.session_state[MESSAGE] = message
    if ROOM_PARAM in st.query_params:
        del st.query_params[ROOM_PARAM]


def show_message() -> None:
    """Show (once) the note ``forget_room`` left."""
    message = st.session_state.pop(MESSAGE, None)
    if message:
        st.info(message, icon=":material/info:")
