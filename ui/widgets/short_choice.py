"""One choice among options: a row of radio buttons for a few, ◀ ▶ and a list for many.

Why: each kind of widget costs a page's first visit its code once, and the select box is the
dearest kind (``bench/widget_cost.py``: about 0.25× a bare page; a radio about 0.05×, nothing
on a page that has one already; buttons and a shut popover about nothing). A handful of
options also reads better laid out in a row than folded in a list. A longer list is stepped
through with ◀ ▶, which suits a lecture (the next network, the next kernel), and the whole
list is a column of radio buttons in a popover, drawn only while it is open. Either way the
value lives under the same ``key``, so links and tests set it the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from ui.widgets.closed_tabs import folded_popover
from ui.widgets.page_link import row_key
from ui.widgets.plain_text import markdown_literal

RADIO_AT_MOST = 4  # options shown as a row of radio buttons; more are stepped through


def current_index(value, options: Sequence) -> int:
    """Where ``value`` sits in ``options``; 0 (the default) when it is not one of them.

    >>> current_index("b", ["a", "b"]), current_index("stale", ["a", "b"])
    (1, 0)
    """
    values = list(options)
    return values.index(value) if value in values else 0


def _step(key: str, options: Sequence, delta: int, on_change, args) -> None:
    index = current_index(st.session_state.get(key), options) + delta
    st.session_state[key] = options[min(max(index, 0), len(options) - 1)]
    if on_change is not None:
        on_change(*args)


def choose_one(
    label: str,
    options: Sequence,
    *,
    key: str,
    help: str,  # noqa: A002 (Streamlit's own name for tooltips)
    format_func: Callable = str,
    default=None,
    disabled: bool = False,
    on_change: Callable | None = None,
    args: tuple = (),
):
    """Draw the choice and return the value picked (``default``, else the first option, while
    ``key`` holds none of them).

    Up to ``RADIO_AT_MOST`` options: a row of radio buttons. More: the label, then
    "◀ ▶ [value]", where the value is a popover (key ``f"{key}_all"``) holding the whole list
    as radio buttons; the buttons are keyed ``f"{key}_back"`` and ``f"{key}_next"``, and all
    of it sits in a container keyed ``row_key(key)``. ``on_change(*args)`` runs after any
    change.
    """
    common = {
        "key": key,
        "format_func": format_func,
        "help": help,
        "disabled": disabled,
        "on_change": on_change,
        "args": args,
    }
    options = list(options)
    state = st.session_state
    if state.get(key) not in options:  # none yet, or a stale value (another list, a link)
        state[key] = options[current_index(default, options)]
    if len(options) <= RADIO_AT_MOST:
        return st.radio(label, options, horizontal=True, **common)
    index = current_index(state[key], options)
    block = st.container(gap=None, key=row_key(key))
    block.markdown(f":small[{markdown_literal(label)}]", help=help)
    row = block.container(horizontal=True, gap="small", vertical_alignment="center")
    for name, icon, step, tip, end in (
        ("back", ":material/chevron_left:", -1, "Previous", "first"),
        ("next", ":material/chevron_right:", 1, "Next", "last"),
    ):
        at_end = not 0 <= index + step < len(options)
        neighbour = None if at_end else format_func(options[index + step])
        row.button(
            "",
            icon=icon,
            key=f"{key}_{name}",
            help=f"This is the {end}." if at_end else f"{tip}: {neighbour}.",
            on_click=_step,
            args=(key, options, step, on_change, args),
            disabled=disabled or at_end,
        )
    popover = folded_popover(
        row,
        markdown_literal(format_func(options[index])),
        key=f"{key}_all",
        keeps=(key,),
        help=f"{label}: the whole list of {len(options)}, to pick any of them.",
        disabled=disabled,
    )
    if popover is not None:
        with popover:
            st.radio(label, options, **common)
    return state[key]
