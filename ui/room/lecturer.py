"""The lecturer's side of a room: open it, show the code, publish the page, ask, reveal.

While presenting, a fragment in the sidebar runs every ``LECTURER_POLL_SECONDS``: it
sends the page and its link to the store when they changed (a control inside a page's
own fragment changes the link without rerunning the app), counts the students, and
offers the current page's question. A question's live answer chart sits above the page.
"""

from __future__ import annotations

import contextlib
import html
import json

import streamlit as st

from core.jobs.rooms import NotLecturerError, RoomNotFoundError, RoomState
from ui.room.chart import answer_figure, answers_caption
from ui.room.offers import page_offer
from ui.room.qr import join_link, qr_png
from ui.room.state import (
    LECTURER_CODE,
    LECTURER_TOKEN,
    PUBLISHED,
    current_page,
    forget_room,
    lecturer_code,
    lecturer_token,
    page_link_params,
    room_store,
)
from ui.widgets.page_link import in_fragment_run
from ui.widgets.presentation import room_slot
from ui.widgets.tab_charts import plotly_chart

LECTURER_POLL_SECONDS = 0.25


ANSWERS_POLL_SECONDS = 1.0


ROOM_ENDED = (
    "Your room has ended: rooms close 4 hours after the lecturer's last change. "
    "Present to a new room to go on."
)


def start_room() -> None:
    """Open a room and keep its token in this session (a button callback)."""
    keys = room_store().create_room()
    st.session_state[LECTURER_CODE], st.session_state[LECTURER_TOKEN] = keys.code, keys.token
    st.session_state.pop(PUBLISHED, None)
    st.session_state["room.show_code"] = True


def end_room() -> None:
    """Close the room for everyone (a button callback)."""
    with contextlib.suppress(RoomNotFoundError, NotLecturerError):
        room_store().close_room(lecturer_code(), lecturer_token())
    forget_room("The room is closed. Your students' pages stay where they are.")


def publish_now() -> None:
    """Send this page and its link to the room when they changed since the last time."""
    code = lecturer_code()
    if not code:
        return
    params = page_link_params()
    key = (current_page(), json.dumps(params, sort_keys=True))
    if st.session_state.get(PUBLISHED) == key:
        return
    try:
        room_store().publish(code, lecturer_token(), page=key[0], params=params)
    except (RoomNotFoundError, NotLecturerError):
        forget_room(ROOM_ENDED)
        return
    st.session_state[PUBLISHED] = key


def followers_text(following: int, exploring: int) -> str:
    """The students count in words.

    >>> followers_text(0, 0), followers_text(1, 0), followers_text(3, 2)
    ('No students yet.', '**1** student follows.', '**3** students follow, 2 explore on their own.')
    """
    if following + exploring == 0:
        return "No students yet."
    text = f"**{following}** student{' follows' if following == 1 else 's follow'}"
    if exploring:
        text += f", {exploring} explore{'s' if exploring == 1 else ''} on their own"
    return text + "."


def ask(build) -> None:
    """Ask the room the page's question; a page state that cannot be asked about says why."""
    try:
        question = build()
    except (TypeError, ValueError, KeyError) as error:
        reason = str(error).split(" Received:")[0].replace("`", "")
        st.session_state["room.ask_error"] = f"This question cannot be asked now: {reason}"
        return
    try:
        room_store().ask(lecturer_code(), lecturer_token(), question)
    except (RoomNotFoundError, NotLecturerError):
        forget_room(ROOM_ENDED)


@st.fragment(run_every=LECTURER_POLL_SECONDS)
def lecturer_status() -> None:
    """Publish changes and count the students (reruns by itself)."""
    if in_fragment_run():  # a full run publishes once the page has run
        publish_now()
    code = lecturer_code()
    if not code:
        st.rerun()
    try:
        followers = room_store().count_followers(code)
    except RoomNotFoundError:
        forget_room(ROOM_ENDED)
        st.rerun()
    st.markdown(followers_text(*followers))


def ask_current_page() -> None:
    """Ask the question the current page offers now (the Ask button's callback)."""
    offer = page_offer(current_page())
    if offer is not None and offer.build is not None:
        ask(offer.build)


def ask_button() -> None:
    """The current page's question, drawn once the page has run (and offered it)."""
    offer = page_offer(current_page())
    if offer is None:
        st.caption("This page has no question to ask the room.")
    elif offer.build is None:
        st.caption(f"Ask {offer.label}: {offer.reason}")
    else:
        st.button(
            f"Ask the room: {offer.label}",
            key="room.ask",
            icon=":material/quiz:",
            on_click=ask_current_page,
            help="Every student sees the question and answers on their screen; you see a "
            "live chart of the answers, and Reveal shows the right one to everyone.",
        )
    error = st.session_state.pop("room.ask_error", None)
    if error:
        st.error(error)


@st.dialog("Join the room", width="large")
def code_dialog(code: str, link: str) -> None:
    """The code in large letters, the QR code and the join link, for the projector."""
    left, right = st.columns([3, 2], vertical_alignment="center")
    with left:
        st.markdown("Go to this address, or scan the code, or type the room code:")
        st.code(link, language=None)
        st.html(
            '<div class="room-code" style="font: 700 5.5rem/1.1 monospace; '
            f'letter-spacing: 0.15em; text-align: center">{html.escape(code)}</div>'
        )
    with right:
        st.image(qr_png(link), caption="Scan to join", width=260)


def lecturer_sidebar():
    """The sidebar while presenting: the code, the students, the end of the room.

    Returns the empty slot where ``ask_button`` goes once the page has run.
    """
    code = lecturer_code()
    st.markdown(f"Presenting to room **{code}**")
    link = join_link(getattr(st.context, "url", None) or "", current_page(), code)
    clicked = st.button(
        "Show the code and QR",
        key="room.show",
        icon=":material/qr_code_2:",
        help="Large enough for the back row: the room code, its QR code and the join link.",
    )
    if st.session_state.pop("room.show_code", False) or clicked:
        code_dialog(code, link)
    lecturer_status()
    ask_slot = room_slot() or st.empty()  # presenting closes the sidebar: ask from the bar
    st.button(
        "End the room",
        key="room.end",
        on_click=end_room,
        help="Students stop following; their pages stay where they are.",
    )
    return ask_slot


def reveal() -> None:
    try:
        room_store().reveal(lecturer_code(), lecturer_token())
    except (RoomNotFoundError, NotLecturerError, ValueError):
        forget_room(ROOM_ENDED)


def close_question() -> None:
    try:
        room_store().close_question(lecturer_code(), lecturer_token())
    except (RoomNotFoundError, NotLecturerError):
        forget_room(ROOM_ENDED)


@st.fragment(run_every=ANSWERS_POLL_SECONDS)
def live_answers(code: str, question_id: int) -> None:
    """The anonymous answer chart, redrawn while answers come in."""
    state = room_store().read_room(code)
    if state is None or state.question_id != question_id:
        return
    try:
        counts = room_store().answer_counts(code, question_id)
    except RoomNotFoundError:
        return
    plotly_chart(  # a static chart; the export buttons still come with it
        answer_figure(state.question, counts, revealed=state.revealed),
        key="room.chart",
        config={"displayModeBar": False, "staticPlot": True},
        export_title="The room's answers",
    )
    st.caption(answers_caption(counts))


def lecturer_question_panel(state: RoomState) -> None:
    """The open question above the page: prompt, live chart, Reveal / Close."""
    question = state.question
    with st.container(border=True, key="room-question"):
        st.markdown("**Question for the room**")
        for line in question.prompt.splitlines():
            st.markdown(line)
        live_answers(state.code, state.question_id)
        if state.revealed:
            st.success(f"Right answer: **{question.answer}**. {question.explanation}")
        buttons = st.container(horizontal=True)
        if not state.revealed:
            buttons.button(
                "Reveal the answer",
                key="room.reveal",
                type="primary",
                on_click=reveal,
                help="Shows the right answer on every student's screen; no more answers count.",
            )
        buttons.button("Close the question", key="room.close_question", on_click=close_question)
