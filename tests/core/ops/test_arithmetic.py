"""core.ops.arithmetic: window geometry, size relationships, transposed breakdown, matrix form.

References are independent: plain loops over window positions, scipy's
correlate2d, and the paper's relationships evaluated by hand.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ops.arithmetic import (
    conv_geometry,
    conv_relationship,
    keras_transpose_rule,
    pad_input,
    pool_relationship,
    transposed_relationship,
)
from core.ops.convolution import conv2d
from core.ops.output_size import describe_output_size

# --------------------------------------------------------------------------- geometry


def test_window_positions_with_dilation_spread_out():
    geometry = conv_geometry((7, 7), (3, 3), dilation_rate=2)
    assert geometry.output_shape == (3, 3)
    mask = geometry.window_mask(0, 1)
    rows, cols = np.nonzero(mask)
    assert sorted(set(rows.tolist())) == [0, 2, 4]
    assert sorted(set(cols.tolist())) == [1, 3, 5]


def test_window_mask_sums_reproduce_conv2d():
    """Summing image * kernel over each window mask is the convolution itself."""
    rng = np.random.default_rng(1)
    image = rng.integers(-5, 6, (6, 7)).astype(float)
    kernel = rng.integers(-2, 3, (2, 3)).astype(float)
    geometry = conv_geometry(image.shape, kernel.shape, strides=(2, 1), padding=1, dilation_rate=2)
    padded = pad_input(image, geometry.pads)
    expected = conv2d(image, kernel, strides=(2, 1), padding=1, dilation_rate=2)
    for step in range(geometry.num_steps):
        row, col = geometry.position(step)
        tap_rows, tap_cols = geometry.taps(row, col)
        value = (padded[np.ix_(tap_rows, tap_cols)] * kernel).sum()
        assert value == expected[row, col]


def test_position_is_reading_order_and_bounds_checked():
    geometry = conv_geometry((4, 6), (3, 3))
    assert [geometry.position(s) for s in range(geometry.num_steps)] == [
        (r, c) for r in range(2) for c in range(4)
    ]
    with pytest.raises(ValueError, match="step"):
        geometry.position(8)


def test_halo_marks_padding_cells_only():
    geometry = conv_geometry((3, 4), (3, 3), padding="same", strides=2)
    assert geometry.pads == ((1, 1), (0, 1))
    halo = geometry.halo_mask()
    assert halo.shape == (5, 5)
    assert halo.sum() == 5 * 5 - 3 * 4
    assert not halo[geometry.input_slice()].any()


def test_unreached_rows_when_stride_does_not_fit():
    geometry = conv_geometry((10, 10), (3, 3), strides=2)
    assert geometry.output_shape == (4, 4)
    unreached = geometry.unreached_mask()
    assert unreached[9, :].all() and unreached[:, 9].all()
    assert not unreached[:9, :9].any()


def test_dilation_gaps_that_no_window_touches_are_unreached():
    # taps at rows 0, 2 then 2, 4 ...: odd rows are skipped by every window
    geometry = conv_geometry((5, 5), (2, 2), strides=2, dilation_rate=2)
    rows, _ = geometry.reached_lines()
    assert rows.tolist() == [True, False, True, False, True]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"kernel_size": (5, 3)}, "along the rows: kernel 5 > input 4"),
        (
            {"kernel_size": (3, 3), "dilation_rate": 3},
            r"rows: kernel 3, dilated to 7 > input 4 \+ padding 0 = 4\.",
        ),
    ],
)
def test_kernel_larger_than_padded_input_names_the_numbers(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        conv_geometry((4, 6), **kwargs)


def test_stride_zero_is_refused():
    with pytest.raises(ValueError, match="strides"):
        conv_geometry((5, 5), (3, 3), strides=0)


@pytest.mark.parametrize(
    ("mode", "expected_row"),
    [
        ("constant", [7, 7, 1, 2, 3, 7, 7]),
        ("edge", [1, 1, 1, 2, 3, 3, 3]),
        ("reflect", [3, 2, 1, 2, 3, 2, 1]),
        ("symmetric", [2, 1, 1, 2, 3, 3, 2]),
        ("wrap", [2, 3, 1, 2, 3, 1, 2]),
    ],
)
def test_pad_input_fill_for_each_border_mode(mode, expected_row):
    padded = pad_input([[1, 2, 3]], ((0, 0), (2, 2)), mode=mode, cval=7)
    assert padded[0].tolist() == expected_row


@given(
    size=st.integers(1, 12),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same", "full", 0, 1, 2, 3]),
)
@settings(max_examples=200, deadline=None)
def test_geometry_shape_agrees_with_conv2d(size, kernel, stride, dilation, padding):
    image = np.arange(size * 3, dtype=float).reshape(size, 3)
    try:
        geometry = conv_geometry(
            (size, 3), (kernel, 1), strides=stride, padding=padding, dilation_rate=dilation
        )
    except ValueError:
        with pytest.raises(ValueError):
            conv2d(
                image, np.ones((kernel, 1)), strides=stride, padding=padding, dilation_rate=dilation
            )
        return
    result = conv2d(
        image, np.ones((kernel, 1)), strides=stride, padding=padding, dilation_rate=dilation
    )
    assert geometry.output_shape == result.shape
    # the floor: o = floor((i + p_total - k̂) / s) + 1, written out independently
    k_eff = kernel + (kernel - 1) * (dilation - 1)
    pad_total = sum(geometry.pads[0])
    assert geometry.output_shape[0] == (size + pad_total - k_eff) // stride + 1
    relationship = conv_relationship(geometry.axes[0], padding_name=None)
    assert relationship.result == result.shape[0]
    assert relationship.substituted.endswith(f"= {result.shape[0]}")


# --------------------------------------------------------------------------- relationships


@pytest.mark.parametrize(
    ("i", "k", "s", "padding", "d", "number", "size"),
    [
        (5, 3, 1, "valid", 1, 1, 3),  # paper fig. 2.1
        (5, 4, 1, 2, 1, 2, 6),  # fig. 2.2
        (5, 3, 1, "same", 1, 3, 5),  # fig. 2.3
        (5, 3, 1, "full", 1, 4, 7),  # fig. 2.4
        (5, 3, 2, "valid", 1, 5, 2),  # fig. 2.5
        (5, 3, 2, 1, 1, 6, 3),  # fig. 2.6
        (6, 3, 2, 1, 1, 6, 3),  # fig. 2.7: the last row is never reached
        (7, 3, 1, "valid", 2, 15, 3),  # fig. 5.1 (dilated)
    ],
)
def test_conv_relationship_matches_paper(i, k, s, padding, d, number, size):
    info = describe_output_size(i, k, strides=s, padding=padding, dilation_rate=d)
    relationship = conv_relationship(info)
    assert (relationship.number, relationship.result) == (number, size)
    assert relationship.substituted.endswith(f"= {size}")


def test_relationship_explains_the_floor():
    relationship = conv_relationship(describe_output_size(10, 3, strides=2))
    assert r"\lfloor 3.5 \rfloor" in relationship.substituted
    assert any("4.5" in note and "rounded down" in note for note in relationship.notes)


def test_same_padding_note_shows_keras_uneven_split():
    info = describe_output_size(4, 3, strides=2, padding="same")
    relationship = conv_relationship(info, padding_name="same")
    assert (info.pad_before, info.pad_after) == (0, 1)
    assert relationship.number == 6
    assert "(0 + 1)" in relationship.substituted
    assert any("0 before and 1 after" in note for note in relationship.notes)


def test_pool_relationship_7_and_same():
    assert pool_relationship(describe_output_size(4, 2, strides=1)).number == 7
    same = describe_output_size(5, 2, strides=2, padding="same")
    rule = pool_relationship(same, padding_name="same")
    assert rule.number is None and rule.result == 3


@pytest.mark.parametrize(
    ("i", "k", "s", "before", "after", "size", "number"),
    [
        (3, 3, 1, 0, 0, 5, 8),  # paper fig. 4.1
        (6, 4, 1, 2, 2, 5, 9),  # fig. 4.2
        (5, 3, 1, 1, 1, 5, 10),  # fig. 4.3
        (7, 3, 1, 2, 2, 5, 11),  # fig. 4.4
        (2, 3, 2, 0, 0, 5, 12),  # fig. 4.5
        (3, 3, 2, 1, 1, 5, 13),  # fig. 4.6
        (3, 3, 2, 1, 1, 6, 14),  # fig. 4.7: a = 1
    ],
)
def test_transposed_relationship_numbers(i, k, s, before, after, size, number):
    relationship = transposed_relationship(i, k, s, before, after, size)
    assert relationship.number == number
    assert relationship.substituted.endswith(f"= {size}")


def test_output_padding_is_explained_only_where_there_is_some():
    with_a = transposed_relationship(3, 3, 2, 1, 1, 6)  # fig. 4.7: a = 1
    assert with_a.notes[0].startswith("a = 1 extra line at the bottom/right")
    uneven = transposed_relationship(4, 3, 2, 0, 1, 8)  # 'same' forward padding, a = 0
    assert uneven.number == 14
    assert not any(note.startswith("a = ") for note in uneven.notes)
    assert uneven.notes == (
        "The forward padding is uneven (0 before, 1 after), so 2p becomes 0 + 1.",
    )


def test_keras_transpose_rule_agrees_with_transpose_output_size():
    from core.ops.transposed import transpose_output_size

    for padding in ("valid", "same"):
        for output_padding in (None, 0, 1):
            for k in (1, 2, 3, 4):
                *_, size = keras_transpose_rule(3, k, 2, padding, output_padding)
                assert size == transpose_output_size(
                    3, k, strides=2, padding=padding, output_padding=output_padding
                )


# --------------------------------------------------------------------------- layering


def test_core_arithmetic_imports_neither_streamlit_nor_tensorflow():
    code = (
        "import sys, core.ops.arithmetic, core.imaging.seed_examples; "
        "print('streamlit' in sys.modules, 'tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False False"
