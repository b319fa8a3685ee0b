"""ui.widgets.matrix_html: matrices as HTML tables, checked by parsing the HTML they produce."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import plotly.colors
import pytest

from ui.widgets.matrix_html import (
    GRID_LINE,
    LEGIBLE_FONT_PX,
    MAX_CELL_PX,
    MIN_FONT_PX,
    fit_cells,
    matrices_row,
    matrix_table,
    text_width_px,
)
from ui.widgets.matrix_view import HALO_COLOR, HIGHLIGHT_COLOR, WINNER_COLOR


class CellParser(HTMLParser):
    """Collects every <td> (its attributes, inline style and text) in document order."""

    def __init__(self):
        super().__init__()
        self.cells: list[dict] = []
        self.divs_text: list[str] = []
        self._in_cell = False
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        if tag == "td":
            attributes = dict(attrs)
            style = dict(
                part.split(":", 1) for part in attributes.get("style", "").split(";") if part
            )
            self.cells.append({"title": attributes.get("title"), "style": style, "text": ""})
            self._in_cell = True

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_cell = False
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            return
        if self._in_cell:
            self.cells[-1]["text"] += data
        else:
            self.divs_text.append(data)


def parse(html_text: str) -> CellParser:
    parser = CellParser()
    parser.feed(html_text)
    parser.close()
    return parser


def cells(html_text: str) -> list[dict]:
    return parse(html_text).cells


def rgb(cell: dict) -> tuple[int, int, int]:
    color = cell["style"]["background"].lstrip("#")
    return tuple(int(color[i : i + 2], 16) for i in (0, 2, 4))


def plotly_colors(scale: str, positions) -> list[tuple[int, int, int]]:
    """Independent reference: Plotly's own sampling of its named colour scale."""
    samples = plotly.colors.sample_colorscale(scale, list(positions))
    return [tuple(round(float(x)) for x in re.findall(r"[\d.]+", s)) for s in samples]


def luma(color: tuple[int, int, int]) -> float:
    return 0.2126 * color[0] + 0.7152 * color[1] + 0.0722 * color[2]


def test_every_value_is_printed_in_row_major_order_and_minus_zero_is_zero():
    texts = [cell["text"] for cell in cells(matrix_table([[1.5, -0.0], [-140, 255]]))]
    assert texts == ["1.5", "0", "-140", "255"]


def test_format_string_and_callable_are_respected():
    assert [c["text"] for c in cells(matrix_table([[1 / 3, 2]], fmt="{:.2f}"))] == ["0.33", "2.00"]
    assert [c["text"] for c in cells(matrix_table([[7]], fmt=lambda v: f"<{v:g}>"))] == ["<7>"]


def test_formatted_values_are_escaped():
    assert "&lt;7&gt;" in matrix_table([[7]], fmt=lambda v: f"<{v:g}>")
    assert "<7>" not in matrix_table([[7]], fmt=lambda v: f"<{v:g}>")


def test_hover_title_names_row_and_column_zero_based():
    titles = [cell["title"] for cell in cells(matrix_table([[1, 2], [3, 4]]))]
    assert titles == [
        "row 0, column 0: 1",
        "row 0, column 1: 2",
        "row 1, column 0: 3",
        "row 1, column 1: 4",
    ]


def test_diverging_zero_is_white_negative_blue_positive_red():
    zero, negative, positive = cells(matrix_table([[0.0, -2.0, 1.0]]))
    assert min(rgb(zero)) >= 240
    r, _, b = rgb(negative)
    assert b > r
    r, _, b = rgb(positive)
    assert r > b


def test_diverging_scale_is_symmetric_around_zero():
    # -x and +x sit at mirrored places of RdBu_r: the same number of stops from white.
    values = np.array([[-2.0, 2.0, -4.0, 4.0, -5.0, 5.0]])
    expected = plotly_colors("RdBu_r", 0.5 + values.ravel() / 10)
    assert [rgb(cell) for cell in cells(matrix_table(values))] == expected
    minus, plus = cells(matrix_table([[-3.0, 3.0]]))
    assert rgb(minus)[2] > rgb(minus)[0] and rgb(plus)[0] > rgb(plus)[2]


@pytest.mark.parametrize("scale, low", [("RdBu_r", -7.0), ("Blues", 0.0)])
def test_colours_match_plotly_colour_scales(scale, low):
    values = np.random.default_rng(1).uniform(low, 7.0, size=(4, 5))
    values[0, 0], values[0, 1] = low, 7.0  # pin the range to [low, 7]
    expected = plotly_colors(scale, (values.ravel() - low) / (7.0 - low))
    for cell, reference in zip(cells(matrix_table(values)), expected, strict=True):
        assert np.abs(np.subtract(rgb(cell), reference)).max() <= 1


def test_diverging_range_is_set_by_the_largest_magnitude():
    # With ±max|x| = 4, the value 1 sits closer to white than 4 does, on either side.
    c = cells(matrix_table([[-1.0, 4.0, 1.0]]))
    assert luma(rgb(c[2])) > luma(rgb(c[1]))
    assert luma(rgb(c[0])) > luma(rgb(c[1]))


def test_sequential_minimum_is_lighter_than_maximum():
    low, middle, high = cells(matrix_table([[2.0, 5.0, 9.0]]))
    assert luma(rgb(low)) > luma(rgb(middle)) > luma(rgb(high))
    assert rgb(high)[2] > rgb(high)[0]  # blue, not red: no diverging scale without negatives


def test_constant_matrix_is_one_light_colour():
    colors = {rgb(cell) for cell in cells(matrix_table(np.full((3, 3), 5.0)))}
    assert len(colors) == 1
    assert luma(colors.pop()) > 200


def test_text_is_white_on_the_darkest_cell_and_black_on_the_lightest():
    for values in ([[0.0, 1.0, 10.0]], [[-10.0, 0.0, 10.0]]):
        parsed = cells(matrix_table(values))
        darkest = min(parsed, key=lambda cell: luma(rgb(cell)))
        lightest = max(parsed, key=lambda cell: luma(rgb(cell)))
        assert darkest["style"]["color"] == "#fff"
        assert lightest["style"]["color"] == "#000"


def test_halo_cells_and_only_those_have_the_dotted_green_outline():
    halo = np.zeros((3, 3), dtype=bool)
    halo[0, :] = True
    halo[:, 0] = True
    parsed = cells(matrix_table(np.arange(9.0).reshape(3, 3), halo=halo))
    outlines = [cell["style"].get("outline", "") for cell in parsed]
    assert ["dotted" in outline for outline in outlines] == halo.ravel().tolist()
    assert all(HALO_COLOR in outline for outline in outlines if outline)


def test_halo_tints_the_cell_green():
    plain, tinted = cells(matrix_table([[0.0, 0.0]], halo=[[False, True]]))
    r, g, b = rgb(tinted)
    assert g > r and g > b
    assert rgb(plain) != rgb(tinted)


def test_nan_shows_hidden_text_on_a_blank_cell():
    parsed = cells(matrix_table([[1.0, np.nan]], hidden_text="??"))
    assert parsed[1]["text"] == "??"
    assert parsed[1]["title"] == "row 0, column 1: ??"
    blank = rgb(parsed[1])
    assert min(blank) >= 230
    assert max(blank) - min(blank) <= 3  # neutral grey, not the lightest blue of the scale


def test_nan_does_not_change_the_other_cells_colours():
    assert rgb(cells(matrix_table([[1.0, 4.0, np.nan]]))[0]) == rgb(
        cells(matrix_table([[1.0, 4.0]]))[0]
    )


def test_infinities_print_as_inf_and_take_the_extreme_colours():
    parsed = cells(matrix_table([[-np.inf, -1.0, 0.0, 1.0, np.inf]]))
    assert [cell["text"] for cell in parsed] == ["-inf", "-1", "0", "1", "inf"]
    assert rgb(parsed[0]) == rgb(parsed[1])  # -1 is already the end of the ±1 scale
    assert rgb(parsed[4]) == rgb(parsed[3])


def test_title_is_shown_and_escaped():
    output = matrix_table([[1]], title="<b>kernel</b> & co")
    assert "&lt;b&gt;kernel&lt;/b&gt; &amp; co" in output
    assert "<b>" not in output
    assert "<b>kernel</b> & co" in "".join(parse(output).divs_text)


def test_no_title_means_no_heading():
    assert parse(matrix_table([[1]])).divs_text == []


def table_font_px(table: str) -> int:
    return int(re.search(r"font:(\d+)px", table).group(1))


def column_widths(table: str) -> list[int]:
    return [int(w) for w in re.findall(r'<col style="width:(\d+)px">', table)]


def test_long_texts_widen_the_cells_at_a_legible_font():
    table = matrix_table([[1.0, 123456.789]], fmt="{:.3f}", cell_px=40)
    assert table_font_px(table) >= LEGIBLE_FONT_PX
    (width,) = set(column_widths(table))
    assert width >= text_width_px("123456.789", table_font_px(table))


@pytest.mark.parametrize("size", range(3, 10))
@pytest.mark.parametrize("digits", range(1, 5))
@pytest.mark.parametrize("cell_px", [22, 26, 34, 42])
def test_every_size_up_to_9x9_prints_1_to_4_digit_numbers_whole_and_legibly(size, digits, cell_px):
    """The widest text of the matrix fits its cell at a font of at least 12 px."""
    rng = np.random.default_rng(size * 10 + digits)
    values = rng.integers(10 ** (digits - 1), 10**digits, (size, size)) * rng.choice(
        [-1, 1], (size, size)
    )
    table = matrix_table(values, cell_px=cell_px, indices=True)
    font = table_font_px(table)
    widths = column_widths(table)[1:]  # the first column holds the row numbers
    longest = max(len(c["text"]) for c in cells(table))
    assert longest == digits + 1  # the minus sign too: nothing was shortened
    assert font >= LEGIBLE_FONT_PX
    assert len(widths) == size and set(widths) == {widths[0]}
    assert widths[0] >= text_width_px("8" * longest, font) + 4  # room on both sides
    assert widths[0] <= MAX_CELL_PX
    rows = [int(h) for h in re.findall(r'<tr style="height:(\d+)px">', table)]
    assert len(rows) == size and min(rows) >= font + 4


def test_real_valued_7x7_kernel_is_readable():
    """A 7×7 Gaussian (values like 0.0144) prints 3 significant digits at a legible font."""
    from core.ops.kernels import gaussian_kernel

    table = matrix_table(gaussian_kernel(7, 1.5), cell_px=34, indices=True)
    texts = [c["text"] for c in cells(table)]
    assert all(len(t.lstrip("-0.")) <= 3 for t in texts)
    assert table_font_px(table) >= LEGIBLE_FONT_PX
    width = column_widths(table)[1]
    assert width >= text_width_px(max(texts, key=len), table_font_px(table))


def test_very_long_texts_shrink_the_font_but_are_never_clipped():
    table = matrix_table([[1.0]], text=[["-123456.789012"]], cell_px=30)
    font = table_font_px(table)
    assert MIN_FONT_PX <= font < LEGIBLE_FONT_PX
    assert column_widths(table)[0] >= text_width_px("-123456.789012", font)


def test_fit_cells_grows_cells_before_shrinking_the_font():
    assert fit_cells(["7"], 40) == (40, 40, 13)
    width, _, font = fit_cells(["-0.0244"], 26)
    assert font == LEGIBLE_FONT_PX and width == text_width_px("-0.0244", font) + 8


def test_float_noise_prints_as_zero_by_default():
    texts = [c["text"] for c in cells(matrix_table([[3.3306690738754696e-16, 0.5, 1 / 3]]))]
    assert texts == ["0", "0.5", "0.333"]


def test_every_cell_is_framed_by_a_grid_line():
    table = matrix_table([[0.0, 0.0]])  # white cells on a white page
    assert f"box-shadow:0 0 0 1px {GRID_LINE}" in table  # the shared cell rule
    marked = cells(matrix_table([[1, 2]], highlight=[[True, False]], winner=[[False, True]]))
    assert HIGHLIGHT_COLOR in marked[0]["style"]["box-shadow"]
    assert WINNER_COLOR in marked[1]["style"]["box-shadow"]
    assert all(GRID_LINE in cell["style"]["box-shadow"] for cell in marked)


def test_text_override_shade_and_corner_text():
    table = matrix_table(
        [[1, 2]],
        text=[["", "?"]],
        shade=[[True, False]],
        corner_text=[["×2", ""]],
        col_labels=[-1, 0],
    )
    first, second = cells(table)
    assert first["text"].startswith("") and "×2" in first["text"] and second["text"] == "?"
    assert rgb(first) != rgb(cells(matrix_table([[1, 2]]))[0])  # veiled
    assert re.findall(r"<th[^>]*>(-?\d*)</th>", table)[:3] == ["", "-1", "0"]


def test_greys_map_zmin_to_black_and_zmax_to_white():
    dark, light = cells(matrix_table([[0, 255]], colors="greys", zmin=0, zmax=255))
    assert rgb(dark) == (0, 0, 0) and rgb(light) == (255, 255, 255)
    assert dark["style"]["color"] == "#fff" and light["style"]["color"] == "#000"


def test_cells_are_square_of_cell_px():
    output = matrix_table(np.ones((2, 3)), cell_px=30)
    assert output.count('<col style="width:30px">') == 3
    assert output.count('<tr style="height:30px">') == 2


@pytest.mark.parametrize("shape", [(3,), (2, 2, 2), (0, 3), ()])
def test_values_that_are_not_a_non_empty_matrix_are_rejected(shape):
    with pytest.raises(ValueError, match=re.escape(f"values with shape {shape}")):
        matrix_table(np.ones(shape))


def test_halo_of_another_shape_is_rejected_naming_both_shapes():
    with pytest.raises(ValueError, match=re.escape("(2, 2). Received: halo with shape (2, 3)")):
        matrix_table(np.ones((2, 2)), halo=np.zeros((2, 3), dtype=bool))


def test_tiny_cell_px_is_rejected():
    with pytest.raises(ValueError, match="cell_px=2"):
        matrix_table([[1]], cell_px=2)


def test_fifteen_by_fifteen_stays_small():
    values = np.random.default_rng(0).normal(scale=100, size=(15, 15))
    halo = np.zeros((15, 15), dtype=bool)
    halo[[0, -1], :] = True
    output = matrix_table(values, title="products", fmt="{:.2f}", halo=halo)
    assert len(cells(output)) == 225
    assert len(output.encode()) < 40_000


def test_one_by_one_works():
    (cell,) = cells(matrix_table([[-0.0]]))
    assert cell["text"] == "0"


def test_matrices_row_keeps_tables_in_order_with_operators_between():
    tables = [matrix_table([[value]], title=name) for value, name in ((1, "A"), (2, "B"), (3, "C"))]
    row = matrices_row(tables, operators=["×", "="])
    positions = [row.index(table) for table in tables]
    assert positions == sorted(positions)
    times, equals = row.index("×</div>"), row.index("=</div>")
    assert positions[0] < times < positions[1] < equals < positions[2]
    assert "display:flex" in row and "flex-wrap:wrap" in row and "align-items:center" in row


def test_matrices_row_without_operators_has_only_tables():
    row = matrices_row(["<table>a</table>", "<table>b</table>"])
    assert re.sub(r"<[^>]+>", "", row) == "ab"


def test_matrices_row_escapes_operators():
    row = matrices_row(["<table></table>", "<table></table>"], operators=["<"])
    assert "&lt;</div>" in row


def test_matrices_row_rejects_a_wrong_number_of_operators():
    with pytest.raises(ValueError, match="Received: 2 operators for 2 tables"):
        matrices_row(["<table></table>", "<table></table>"], operators=["×", "="])


def test_indices_number_rows_and_columns_from_zero():
    table = matrix_table(np.arange(6.0).reshape(2, 3), indices=True)
    labels = re.findall(r"<th[^>]*>(\d*)</th>", table)
    assert labels == ["", "0", "1", "2", "0", "1"]  # corner, column numbers, row numbers
    assert "<th" not in matrix_table(np.arange(6.0).reshape(2, 3))
    # The values themselves are unchanged by the labels.
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", table)
    assert cells == ["0", "1", "2", "3", "4", "5"]
