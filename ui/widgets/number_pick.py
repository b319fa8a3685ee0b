"""Pick a whole number in a range: ◀ ▶ buttons, the value in words, and a "Go to" popover.

Used where a page steps through many items one at a time (Inspect's test images). Why not a
number input on the page: each kind of widget costs a first visit its code once
(``bench/widget_cost.py``: a number input about 0.2× a bare page), while buttons and a shut
popover cost about nothing. The number input is drawn only while "Go to" is open
(``folded_popover``); the value lives in the session state under ``key`` either way, so a
link or a test sets it there.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui.widgets.closed_tabs import folded_popover
from ui.widgets.page_link import row_key


def clamped(value, low: int, high: int) -> int:
    """``value`` as a whole number in ``[low, high]``; ``low`` when it is no number at all.

    >>> clamped(12, 0, 9), clamped(-3, 1, 5), clamped("4", 0, 9), clamped(None, 1, 5)
    (9, 1, 4, 1)
    """
    try:
        value = int(value)
    except (TypeError, ValueError):
        return low
    return min(max(value, low), high)


def _move(key: str, delta: int, low: int, high: int) -> None:
    st.session_state[key] = clamped(st.session_state.get(key, low) + delta, low, high)


def pick_number(
    label: str,
    key: str,
    low: int,
    high: int,
    *,
    help: str,  # noqa: A002 (Streamlit's own name for tooltips)
    describe: Callable[[int], str] | None = None,
) -> int:
    """Draw the row and return the number picked, in ``[low, high]``.

    Args:
        label: what is counted, e.g. "Test image"; the number input's label.
        key: the session key of the value (the popover is ``f"{key}_goto"``).
        low, high: the range, both included.
        help: the number input's tooltip.
        describe: the value in words, e.g. ``lambda i: f"Test image #{i}"``; by default
            "<label> <value> of <high>".
    """
    state = st.session_state
    value = clamped(state.get(key, low), low, high)
    state[key] = value  # a stale value (another test set, a link) comes back in range
    row = st.container(horizontal=True, gap="small", vertical_alignment="center", key=row_key(key))
    for name, icon, step, tip, at_end in (
        ("back", ":material/chevron_left:", -1, "The previous one", value <= low),
        ("next", ":material/chevron_right:", 1, "The next one", value >= high),
    ):
        row.button(
            "",
            icon=icon,
            key=f"{key}_{name}",
            help=f"{tip} ({value + step:,}).",
            on_click=_move,
            args=(key, step, low, high),
            disabled=at_end,
        )
    words = describe(value) if describe else f"{label} {value:,} of {high:,}"
    row.markdown(f"**{words}**", width="content")
    popover = folded_popover(
        row,
        "Go to…",
        key=f"{key}_goto",
        keeps=(key,),
        icon=":material/pin:",
        help=f"Type a number from {low:,} to {high:,}.",
    )
    if popover is not None:
        with popover:
            st.number_input(label, min_value=low, max_value=high, step=1, key=key, help=help)
    return int(state[key])
