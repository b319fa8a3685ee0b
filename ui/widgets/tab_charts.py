"""Plotly charts that a closed tab leaves out.

The content of every tab still runs, so the widgets in a closed tab keep their values and
the page's numbers stay on it. But a Plotly chart in a closed tab makes the browser load
and draw Plotly on a first visit for a chart nobody sees (bench/page_load.py measures it).
With ``st.tabs(..., on_change="rerun")`` a tab knows whether it is open: draw its content
``with in_tab(tab):`` and its charts through ``plotly_chart``; opening the tab reruns the
page, and the charts appear. Every chart drawn here downloads as PNG and SVG with a caption
and a link back (``ui.widgets.figure_export``).
"""

from __future__ import annotations

import contextlib
import contextvars

import streamlit as st

from ui.widgets.figure_export import chart_export

_OPEN: contextvars.ContextVar[bool] = contextvars.ContextVar("tab_charts_open", default=True)


@contextlib.contextmanager
def in_tab(tab):
    """Draw into ``tab``; ``plotly_chart`` leaves its charts out while it is closed.

    A tab that does not track its state (``tab.open`` is None) counts as open.
    """
    token = _OPEN.set(tab.open is not False)
    try:
        with tab:
            yield tab
    finally:
        _OPEN.reset(token)


def charts_shown() -> bool:
    """Whether charts drawn now are seen: outside tabs, or in the open tab.

    >>> charts_shown()
    True
    """
    return _OPEN.get()


def plotly_chart(figure, *, container=None, export_title: str | None = None, **kwargs):
    """``st.plotly_chart`` (in ``container``, default the current one) unless its tab is closed.

    The chart downloads as PNG and SVG with its caption and the page's link
    (``ui.widgets.figure_export.chart_export``); ``export_title`` names it in that caption
    (default: its title). Returns what ``st.plotly_chart`` returns (the selection with
    ``on_select``), or None when left out.
    """
    if not charts_shown():
        return None
    figure, kwargs["config"] = chart_export(figure, kwargs.get("config"), export_title)
    return (container or st).plotly_chart(figure, **kwargs)
