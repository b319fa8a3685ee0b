"""ui.widgets.axes: axes that hold exactly their data, checked on real Plotly figures."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from ui.widgets.axes import integer_axis, integer_ticks, probability_axis


@pytest.mark.parametrize("count", [1, 2, 5, 7, 12, 28, 64, 512])
def test_integer_axis_has_only_real_whole_ticks_and_never_cuts_a_cell(count):
    axis = integer_axis(count)
    ticks = axis["tickvals"]
    assert ticks[0] == 0 and ticks[-1] <= count - 1  # no phantom −1 or count
    assert all(isinstance(t, int) for t in ticks) and len(ticks) <= 8
    assert axis["range"] == [-0.5, count - 0.5]  # half a cell of room at both ends


def test_the_seven_row_output_of_the_issue_has_no_row_minus_1_or_7():
    figure = go.Figure(go.Heatmap(z=[[0] * 7] * 7))
    figure.update_yaxes(**integer_axis(7, reversed_=True))
    figure.update_xaxes(**integer_axis(7))
    assert list(figure.layout.yaxis.tickvals) == [0, 1, 2, 3, 4, 5, 6]
    assert list(figure.layout.yaxis.range) == [6.5, -0.5]  # row 0 on top
    assert figure.layout.xaxis.autorange is False


def test_integer_ticks_start_on_a_multiple_of_the_step():
    assert integer_ticks(-2, 30) == [0, 5, 10, 15, 20, 25, 30]
    assert integer_ticks(3, 3) == [3]


def test_probability_axis_spans_0_to_100_percent_with_the_end_labelled():
    figure = go.Figure(go.Bar(x=[0.99, 0.01], y=["a", "b"], orientation="h"))
    figure.update_xaxes(**probability_axis())
    axis = figure.layout.xaxis
    assert list(axis.range) == [0, 1] and axis.tickvals[-1] == 1
    assert axis.ticktext[-1] == "100%" and axis.title.text == "probability"
