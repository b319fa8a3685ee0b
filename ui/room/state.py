"""The lecture room's session state: who this browser is in a room, and the shared store.

A session is at most one of: the lecturer of a room (it holds the room's token), or a
student in a room (it holds an anonymous follower id, and whether it follows the
lecturer or explores alone). Every key lives under ``room.``.
"""

from __future__ import annotations

import streamlit as st

from core.jobs.room_store import open_room_store
from core.jobs.rooms import RoomStore

# The link parameter of a join link: ``/?room=K7XQ3M``.
ROOM_PARAM = "room"


LECTURER_CODE = "room.code"


LECTURER_TOKEN = "room.token"


PUBLISHED = "room.published"  # (page, params as JSON) last sent to the store


STUDENT_CODE = "room.joined"


FOLLOWER = "room.follower"


FOLLOWING = "room.following"


APPLIED = "room.applied"  # the room version this student's page shows


APPLYING = "room.applying"  # (version, page, when) of the switch this student's page is making


QUESTION_SEEN = "room.question_seen"  # (question id, revealed) this page was drawn with


ANSWERS = "room.answers"  # question id → this student's counted answer


LAST_BEAT = "room.last_beat"


PAGE = "room.page"  # url path of the page this session shows


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


def forget_room(message: str | None = None) -> None:
    """Drop every room key of this session (lecturer or student), keeping ``message``."""
    for key in (
        LECTURER_CODE,
        LECTURER_TOKEN,
        PUBLISHED,
        STUDENT_CODE,
        FOLLOWER,
        FOLLOWING,
        APPLIED,
        APPLYING,
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
