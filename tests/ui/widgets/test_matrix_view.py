"""ui.widgets.matrix_view: the annotated heatmaps shared by several pages."""

from __future__ import annotations

import numpy as np
import pytest

from ui.widgets.matrix_view import HALO_COLOR, WINNER_COLOR, format_value, matrix_figure


def rectangles(fig, color=None):
    return [
        s
        for s in fig.layout.shapes
        if color is None or s.line.color == color or s.fillcolor == color
    ]


def test_every_value_is_printed_and_minus_zero_is_zero():
    fig = matrix_figure([[1.5, -0.0], [-140, 255]])
    assert fig.data[0].text.tolist() == [["1.5", "0"], ["-140", "255"]]


def test_negative_values_get_a_diverging_scale_centred_on_zero():
    heatmap = matrix_figure([[-1, 2]]).data[0]
    assert heatmap.zmid == 0
    assert matrix_figure([[1, 2]]).data[0].zmid is None


def test_marks_draw_one_rectangle_per_cell_at_the_right_place():
    highlight = np.zeros((3, 4), bool)
    highlight[1, 2] = True
    winner = np.zeros((3, 4), bool)
    winner[0, 0] = True
    fig = matrix_figure(np.zeros((3, 4)), highlight=highlight, winner=winner, halo=winner)
    (window,) = [s for s in fig.layout.shapes if s.line.width == 3]
    assert (window.x0, window.x1, window.y0, window.y1) == (1.5, 2.5, 0.5, 1.5)
    assert len(rectangles(fig, WINNER_COLOR)) == 1
    assert len([s for s in rectangles(fig, HALO_COLOR) if s.line.dash == "dot"]) == 1
    (halo,) = [trace for trace in fig.data if trace.name == "halo"]
    assert [list(row) for row in halo.z] == [[1.0, None, None, None]] + [[None] * 4] * 2
    assert halo.colorscale[0][1] == HALO_COLOR


def test_thousands_of_padding_cells_cost_one_trace_not_thousands_of_shapes():
    halo = np.ones((64, 64), bool)
    halo[10:20, 10:20] = False
    fig = matrix_figure(np.zeros((64, 64)), halo=halo)
    assert len(fig.layout.shapes) == 0
    assert [trace.name for trace in fig.data[1:]] == ["halo"]


def test_hidden_cells_show_a_question_mark():
    fig = matrix_figure([[1, np.nan]])
    assert fig.data[0].text.tolist() == [["1", ""]]  # drawn once, as an annotation
    assert [a.text for a in fig.layout.annotations] == ["?"]


def test_custom_text_and_format():
    fig = matrix_figure([[1, 2]], text=[["a", ""]])
    assert fig.data[0].text.tolist() == [["a", ""]]
    assert format_value(1 / 3, "{:.2f}") == "0.33"
    assert format_value(2.0, lambda v: f"<{v:g}>") == "<2>"


def test_rows_run_downwards_and_cells_are_square():
    fig = matrix_figure(np.zeros((2, 5)))
    assert list(fig.layout.yaxis.range) == [1.5, -0.5]
    assert fig.layout.yaxis.scaleanchor == "x"


@pytest.mark.parametrize(
    ("values", "kwargs", "match"),
    [
        (np.zeros(3), {}, "2-D"),
        (np.zeros((2, 2)), {"highlight": np.zeros((3, 3), bool)}, "highlight"),
        (np.zeros((2, 2)), {"text": [["a"]]}, "text"),
    ],
)
def test_bad_shapes_are_refused(values, kwargs, match):
    with pytest.raises(ValueError, match=match):
        matrix_figure(values, **kwargs)


def test_corner_text_labels_only_the_given_cells():
    corner = np.full((2, 3), "", dtype=object)
    corner[1, 2] = "×(−1)"
    fig = matrix_figure(np.zeros((2, 3)), corner_text=corner)
    (label,) = fig.layout.annotations
    assert label.text == "×(−1)" and (label.x, label.y) == (2.46, 0.54)


def result_script():
    import numpy as np

    from ui.widgets.matrix_view import show_result

    show_result(np.array([[1 / 3, -2.0], [1e-17, 1234.5678]]))


def test_a_whole_result_is_one_html_table_with_every_value_and_no_data_grid():
    from streamlit.testing.v1 import AppTest

    from tests.apptest_helpers import result_tables

    at = AppTest.from_function(result_script).run()
    assert not at.exception and not at.dataframe
    (body,) = [h.proto.body for h in at.get("html")]
    for cell in ("row 0, column 0: 0.333333", "row 1, column 0: 0", "row 1, column 1: 1234.57"):
        assert cell in body  # 6 significant digits, float noise as 0
    assert ">−2<" in body or ">-2<" in body
    np.testing.assert_allclose(result_tables(at)[0], [[0.333333, -2.0], [0.0, 1234.57]], rtol=1e-6)
