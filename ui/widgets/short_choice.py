"""One choice among a few options as a row of radio buttons; among many, as a select box.

Why: each kind of widget costs a page's first visit its code once, and the select box is the
dearest kind (``bench/widget_cost.py``: about 0.25× a bare page; a radio about 0.05×, nothing
on a page that has one already). A handful of options also reads better laid out in a row
than folded in a list. Both keep their value under the same ``key``, so links and tests set
it the same way whichever is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

RADIO_AT_MOST = 4  # options shown as a row of radio buttons; more go in a select box


def choose_one(
    label: str,
    options: Sequence,
    *,
    key: str,
    help: str,  # noqa: A002 (Streamlit's own name for tooltips)
    format_func: Callable = str,
):
    """Draw the choice (a radio row up to ``RADIO_AT_MOST`` options) and return the value."""
    widget = st.radio if len(options) <= RADIO_AT_MOST else st.selectbox
    extra = {"horizontal": True} if widget is st.radio else {}
    return widget(label, options, key=key, format_func=format_func, help=help, **extra)
