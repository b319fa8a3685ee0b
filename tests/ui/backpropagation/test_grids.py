"""ui.backpropagation.grids: numbers rounded for people, marked tables, rows of tables."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ui.backpropagation.tables import read_tables
from ui.backpropagation.grids import (
    CURRENT,
    WINDOW,
    cell_size,
    factor,
    marked_table,
    people,
    people_format,
    plain_table,
    row_of,
    signed,
    value_colors,
    written_sum,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.3306690738754696e-16, "0"),
        (-0.0, "0"),
        (12.0, "12"),
        (-2.9999999999, "-3"),
        (1 / 3, "0.333"),
        (-2 / 9, "-0.222"),
        (0.0244444, "0.0244"),
        (66.666, "66.7"),
        (123.456, "123"),
        (1e-5, "0.00001"),
        (float("inf"), "inf"),
    ],
)
def test_numbers_are_rounded_for_people(value, text):
    assert people(value) == text


def test_float_noise_is_judged_against_the_matrix_scale():
    fmt = people_format([[1e6, 0.01]])
    assert fmt(0.01) == "0.01"  # noise is below 1e-9 of the largest value: 0.001 here
    assert fmt(1e-4) == "0"
    assert people_format([[1.0, 2e-12]])(2e-12) == "0"


def test_signs_and_factors_use_a_real_minus():
    assert signed(-1.5) == "−1.5"
    assert factor(-2) == "(−2)" and factor(0.5) == "0.5"
    assert written_sum([3, -1], [2, 4]) == "3·2 + (−1)·4"
    assert written_sum(range(14), range(14), shown=12).endswith("… (2 more)")


def test_cells_stay_between_28_and_40_pixels():
    assert cell_size((3, 3)) == 40
    assert cell_size((3, 12)) == 28
    assert cell_size((3, 200)) == 28


def test_a_marked_table_prints_every_value_with_its_marks():
    values = np.array([[1.0, -2.0], [0.5, 4.0]])
    window = np.array([[True, False], [False, False]])
    current = np.array([[False, False], [False, True]])
    corner = np.array([["×2", ""], ["", ""]], dtype=object)
    table = marked_table(
        values,
        title="Demo",
        marks=[(window, WINDOW), (current, CURRENT)],
        corner_text=corner,
        row_labels=[-1, 0],
    )
    assert read_tables(table)["Demo"].tolist() == values.tolist()
    assert 'title="row -1, column 0: 1"' in table
    assert f"inset 0 0 0 6px {WINDOW}" in table  # the first mark is the outer ring
    assert f"inset 0 0 0 3px {CURRENT}" in table
    assert ">×2</span>" in table


def test_blank_muted_and_halo_cells():
    values = np.array([[0.0, 1.0, 2.0]])
    table = marked_table(
        values,
        title="T",
        blank=[[False, False, True]],
        muted=[[True, False, False]],
        halo=[[False, True, False]],
    )
    shown = read_tables(table)["T"]
    assert shown[0, :2].tolist() == [0.0, 1.0] and np.isnan(shown[0, 2])
    assert "color:#9a9a9a" in table  # the inserted zero is grey
    assert "dotted" in table  # the padding cell keeps its dotted outline


def test_cells_grow_to_fit_long_numbers():
    narrow = marked_table([[1.0]], cell_px=28)
    wide = marked_table([[-0.0244]], cell_px=28)
    assert '<col style="width:28px">' in narrow
    assert '<col style="width:28px">' not in wide


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="2-D and non-empty"):
        marked_table([1, 2, 3])
    with pytest.raises(ValueError, match="`halo` must have the matrix's shape"):
        marked_table([[1, 2]], halo=[[True]])
    with pytest.raises(ValueError, match="`corner_text` must have"):
        marked_table([[1, 2]], corner_text=[["a"]])


def test_a_shared_scale_gives_equal_values_equal_colours():
    before, after = np.array([[0.0, 2.0]]), np.array([[-0.02, 1.9]])
    scale = np.concatenate([before.ravel(), after.ravel()])
    np.testing.assert_allclose(
        value_colors(before, scale)[0, 1], value_colors(np.array([[2.0]]), scale)[0, 0]
    )
    assert "Before" in read_tables(plain_table(before, title="Before", scale=scale))


def test_rows_wrap_and_scroll_and_check_their_operators():
    row = row_of(["<table></table>"] * 3, ["⋆", "="])
    assert row.count("overflow-x:auto") == 3 and "flex-wrap:wrap" in row
    assert ">⋆</div>" in row
    with pytest.raises(ValueError, match="one entry per gap"):
        row_of(["a", "b"], ["=", "="])
