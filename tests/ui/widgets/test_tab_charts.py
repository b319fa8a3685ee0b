"""ui.widgets.tab_charts: a closed tab's Plotly charts are left out, its widgets are not."""

from __future__ import annotations

import contextlib

import plotly.graph_objects as go
from streamlit.testing.v1 import AppTest

from ui.widgets.tab_charts import charts_shown, in_tab, plotly_chart


def tabs_script():
    import plotly.graph_objects as go
    import streamlit as st

    from ui.widgets.tab_charts import in_tab, plotly_chart

    first, second = st.tabs(["A", "B"], key="demo.tab", on_change="rerun")
    for name, tab in (("a", first), ("b", second)):
        with in_tab(tab):
            st.slider(f"Value {name}", 0, 9, 3, key=f"demo.{name}")
            plotly_chart(go.Figure(go.Bar(y=[1, 2])), key=f"demo.chart_{name}")
    plotly_chart(go.Figure(), key="demo.outside")  # not in a tab: always drawn


def test_only_the_open_tab_draws_its_charts_and_every_widget_stays():
    at = AppTest.from_function(tabs_script).run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 2  # tab A's and the one outside the tabs
    assert [s.key for s in at.slider] == ["demo.a", "demo.b"]
    at.slider(key="demo.b").set_value(7).run()
    at.session_state["demo.tab"] = "B"
    at.run()
    assert len(at.get("plotly_chart")) == 2  # now tab B's, and the one outside
    assert at.slider(key="demo.b").value == 7  # kept while its tab was closed


class ClosedTab(contextlib.nullcontext):
    """What ``st.tabs(..., on_change="rerun")`` gives for a tab that is not open."""

    open = False


def test_a_closed_tab_draws_nothing_until_it_is_left():
    with in_tab(ClosedTab()):
        assert not charts_shown()
        assert plotly_chart(go.Figure()) is None
    assert charts_shown()
