"""Closed tabs that draw nothing, not even their controls, and still keep the controls' values.

Everything a tab draws costs the browser on a first visit, hidden or not
(bench/page_load.py). With ``st.tabs(..., on_change="rerun")`` a page knows which tab
is open and can leave the others out entirely. Streamlit, though, forgets the value of a
keyed widget after a run that did not draw it; ``keep`` writes such values back, so a
control set in a tab (or by a link) still holds its value when the tab opens again and
the page's link keeps it meanwhile.

Popovers go the same way (``folded_popover``): a closed one costs the browser nothing, and
its widgets are drawn only while it is open. Drawn always, they came back wrong: a popover
opened after a partial rerun showed its widgets' defaults, and a browser that had once
opened it sent their old values back with the next change, undoing a worked example
loaded since.
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


def folded_popover(container, label: str, *, key: str, keeps: Iterable[str], **options):
    """A popover whose widgets (keyed ``keeps``) are drawn only while it is open.

    Returns the popover to draw them in when it is open, else None; either way their values
    stay (``keep``), so the caller reads them from the session state while it is shut.
    Keeping the popover's own state too keeps it open as its label changes with them.
    ``options`` go to ``container.popover`` (icon, help, width, ...).
    """
    keep((*keeps, key))
    popover = container.popover(label, key=key, on_change="rerun", **options)
    return popover if popover.open else None
