"""Closed tabs that draw nothing, not even their controls, and still keep the controls' values.

Everything a tab draws costs the browser on a first visit, hidden or not
(bench/page_load.py). With ``st.tabs(..., on_change="rerun")`` a page knows which tab
is open and can leave the others out entirely. Streamlit, though, forgets the value of a
keyed widget after a run that did not draw it; ``keep`` writes such values back, so a
control set in a tab (or by a link) still holds its value when the tab opens again and
the page's link keeps it meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st


def is_open(tab) -> bool:
    """Whether ``tab`` is open; a tab that does not track its state counts as open."""
    return tab.open is not False


def keep(keys: Iterable[str]) -> None:
    """Keep the values of the widgets under ``keys`` through a run that does not draw them."""
    state = st.session_state
    for key in keys:
        if key in state:
            state[key] = state[key]
