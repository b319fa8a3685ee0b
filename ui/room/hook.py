"""The lecture room on every page: ``navigation.py`` runs each page inside ``lecture_room``.

Before the page: a join link (``?room=CODE``) is taken, the sidebar shows the room
controls, and above the page a student sees the follow bar and the open question, a
lecturer the open question with its live answer chart. A lecturer's change, a page change
too, goes to the room as the lecturer's run starts, before the page runs; after the page
has run, the link it wrote goes to the room if it differs (a change inside a page's
fragment goes to the room as the fragment writes the address, ``on_fragment_sync``, and
the lecturer's polling fragment catches anything else), and the sidebar offers
the question the page has just handed over. The hook notes which page each full run drew:
a student's poll that runs under another page redraws it (``student.wiped``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from ui.room import lecturer, stale_runs, student
from ui.room.state import (
    DRAWN,
    PAGE,
    ROOM_PARAM,
    STALE_LINK,
    forget_room,
    lecturer_code,
    page_hash,
    room_store,
    show_message,
    student_code,
)
from ui.widgets.page_link import active_link, on_fragment_sync, reserve_params

# Pages keep the room's parameter in their address and never call it unknown.
reserve_params(ROOM_PARAM)

# A click on another page's link that shuts a popover in a page's fragment must not run that
# fragment under the page left behind: the browser would empty the new page.
stale_runs.install()


# A lecturer's change inside a page's fragment goes to the room as that fragment writes
# the address, not at the next run of the lecturer's polling fragment (up to 0.25 s on).
on_fragment_sync(lecturer.publish_now)

ROOM_OPEN = "room.open"  # whether the sidebar's "Lecture room" section is open
ROOM_WANTED = "room.open_wanted"  # whether the visitor last opened it (kept across pages)
JOIN_PROBLEM = "room.join_problem"  # why a typed code or a join link joined no room


def take_join_link(pages: dict) -> None:
    """``?room=CODE`` in the address: join that room as a student (once)."""
    typed = st.query_params.get(ROOM_PARAM)
    if not typed or typed == student_code() or lecturer_code():
        return
    problem = student.join_room(typed)
    if problem:
        st.session_state[JOIN_PROBLEM] = problem
        del st.query_params[ROOM_PARAM]


def join_form() -> None:
    """Present to a new room, or join one with its code."""
    st.button(
        "Present to a room",
        key="room.start",
        icon=":material/co_present:",
        on_click=lecturer.start_room,
        help="Students who join see your page and follow every change you make. You can ask "
        "them questions about the page and show their answers as a chart.",
    )
    with st.form("room.join_form", border=False):
        st.text_input(
            "Room code",
            key="room.code_typed",
            max_chars=12,
            placeholder="e.g. K7XQ3M",
            help="The 6 letters and digits your lecturer shows.",
        )
        joined = st.form_submit_button("Join a room", icon=":material/login:")
    if joined:
        problem = student.join_room(st.session_state.get("room.code_typed") or "")
        if problem:
            st.session_state[JOIN_PROBLEM] = problem
        else:
            st.rerun()
    show_join_problem()


def show_join_problem() -> None:
    """Show (once) why the typed code or the join link joined no room."""
    problem = st.session_state.pop(JOIN_PROBLEM, None)
    if problem:
        st.error(problem)


def _remember_open() -> None:
    """The visitor opened or folded the section: a page change keeps it that way."""
    st.session_state[ROOM_WANTED] = bool(st.session_state.get(ROOM_OPEN))


def room_sidebar():
    """The "Lecture room" section of the sidebar, whatever the session's role.

    Its contents are built only while it is open or the session is in a room: folded, as
    for almost every visitor, it costs the browser nothing but its label. A note that
    waits (the room ended, a join link that joined nothing) shows under it even folded.
    Returns the lecturer's slot for the page's question (None for anyone else).
    """
    in_room = bool(lecturer_code() or student_code())
    # A page change forgets the section's state: it opens again as the visitor last left it
    # (``expanded`` is part of its identity, so the new default takes over at once).
    room = st.sidebar.expander(
        "Lecture room",
        icon=":material/groups:",
        expanded=in_room or st.session_state.get(ROOM_WANTED, False),
        key=ROOM_OPEN,
        on_change=_remember_open,
    )
    if not (in_room or room.open):
        with st.sidebar:
            show_message()
            show_join_problem()
        return None
    with room:
        show_message()
        if lecturer_code():  # always built for a lecturer: "Ask the room" keeps its place
            return lecturer.lecturer_sidebar()
        if student_code():
            st.markdown(f"In room **{student_code()}**")
            st.button("Leave the room", key="room.leave", on_click=student.leave_room)
        else:
            join_form()
    return None


def above_the_page(pages: dict) -> None:
    """The student's follow bar and question card, or the lecturer's question panel."""
    if student_code():
        state = room_store().read_room(student_code())
        if state is None:
            forget_room(student.ROOM_GONE)
            show_message()
            return
        student.student_bar(state, pages)
        if state.question is not None:
            student.question_card(state)
    elif lecturer_code():
        state = room_store().read_room(lecturer_code())
        if state is not None and state.question is not None:
            lecturer.lecturer_question_panel(state)


@contextlib.contextmanager
def lecture_room(navigation, pages: Sequence) -> Iterator[None]:
    """Run the page inside the room: ``with lecture_room(nav, pages): nav.run()``.

    Args:
        navigation: the page ``st.navigation`` picked.
        pages: every ``st.Page`` of the navigation (a student may be sent to any).
    """
    by_path = {page.url_path: page for page in pages}
    if st.session_state.get(PAGE) != navigation.url_path:
        # Until the new page starts its own link, the active one is the old page's.
        st.session_state[STALE_LINK] = active_link()
    st.session_state[PAGE] = navigation.url_path
    # The browser's new values, or the new page and its address, are in the session
    # already: the students' pages start following before the lecturer's has run (a
    # page that then writes another link goes to the room after it has run).
    lecturer.publish_now()
    st.session_state[DRAWN] = page_hash()  # the page the browser now shows (student.wiped)
    student.take_push()  # a run the room watcher started to follow the lecturer
    with student.follow_turn():  # the follow runs of many students: in turns
        take_join_link(by_path)
        ask_slot = room_sidebar()
        above_the_page(by_path)
        try:
            yield
        except StopException:  # a page that stops early (st.stop) has still run
            after_the_page(navigation.url_path, ask_slot)
            raise
        after_the_page(navigation.url_path, ask_slot)


def after_the_page(page: str, ask_slot) -> None:
    """The page has run: publish the lecturer's page, settle the student's follow."""
    lecturer.publish_now()
    student.settle(page)
    if ask_slot is not None and lecturer_code():
        with ask_slot.container():
            lecturer.ask_button()
