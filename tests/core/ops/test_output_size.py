"""core.ops.output_size: the size rule, Keras' "valid"/"same", explicit padding, dilation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ops.convolution import conv2d
from core.ops.output_size import (
    BORDER_MODES,
    PADDING_CHOICES,
    PADDING_NAMES,
    PADDINGS,
    axis_padding,
    conv_padding,
    describe_output_size,
    effective_kernel_size,
    normalize_explicit_padding,
    one_axis_padding,
    output_size,
)


def test_same_padding_puts_the_odd_extra_row_bottom_right():
    assert conv_padding((4, 4), (2, 2), padding="same") == ((0, 1), (0, 1))
    assert conv_padding((7, 7), (3, 3), padding="same", strides=2) == ((1, 1), (1, 1))
    assert conv_padding((6, 6), (3, 3), padding="same", strides=2) == ((0, 1), (0, 1))


@settings(max_examples=100, deadline=None)
@given(
    size=st.integers(1, 20),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
    padding=st.one_of(st.sampled_from(["valid", "same", "full"]), st.integers(0, 3)),
)
def test_output_size_agrees_with_conv2d(size, kernel, stride, dilation, padding):
    args = dict(strides=stride, padding=padding, dilation_rate=dilation)
    try:
        expected = conv2d(np.zeros((size, 1)), np.ones((kernel, 1)), **args).shape[0]
    except ValueError:
        with pytest.raises(ValueError):
            output_size(size, kernel, **args)
        return
    assert output_size(size, kernel, **args) == expected


def test_describe_output_size_reports_a_stride_that_does_not_fit():
    info = describe_output_size(12, 3, strides=2)
    assert (info.numerator, info.size, info.exact, info.fractional_size) == (9, 5, False, 5.5)
    assert info.unreached == 1
    info = describe_output_size(10, 3, strides=2)
    assert (info.size, info.fractional_size, info.exact) == (4, 4.5, False)
    assert describe_output_size(7, 3, strides=2).exact


def test_describe_output_size_same_padding_numbers():
    info = describe_output_size(6, 3, strides=2, padding="same")
    assert (info.pad_before, info.pad_after, info.size) == (0, 1, 3)


# --------------------------------------------------------------------------- worked examples


def test_seeds_example_5_ten_by_ten_with_a_3x3_kernel():
    assert output_size(10, 3) == 8
    assert output_size(10, 3, strides=2) == 4
    assert describe_output_size(10, 3, strides=2).unreached == 1


@pytest.mark.parametrize(
    ("i", "k", "s", "padding", "d", "expected"),
    [
        (5, 3, 1, "valid", 1, 3),  # Dumoulin & Visin fig. 2.1
        (5, 4, 1, 2, 1, 6),  # fig. 2.2
        (5, 3, 1, "same", 1, 5),  # fig. 2.3
        (5, 3, 1, "full", 1, 7),  # fig. 2.4
        (5, 3, 2, "valid", 1, 2),  # fig. 2.5
        (5, 3, 2, 1, 1, 3),  # fig. 2.6
        (7, 3, 1, "valid", 2, 3),  # fig. 5.1
    ],
)
def test_output_size_of_the_papers_figures(i, k, s, padding, d, expected):
    assert output_size(i, k, strides=s, padding=padding, dilation_rate=d) == expected


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 60), kernel=st.integers(1, 9), stride=st.integers(1, 6))
def test_same_padding_keeps_ceil_of_size_over_stride_like_tensorflow(size, kernel, stride):
    info = describe_output_size(size, kernel, strides=stride, padding="same")
    assert info.size == -(-size // stride)
    # TensorFlow's split: the smaller half before, the odd cell after
    assert info.pad_after - info.pad_before in (0, 1)


def test_effective_kernel_size_spreads_the_taps():
    assert [effective_kernel_size(3, d) for d in (1, 2, 3)] == [3, 5, 7]
    assert effective_kernel_size(1, 5) == 1


def test_axis_padding_for_every_name():
    assert axis_padding("valid", 5, 3, 1, 0) == (0, 0)
    assert axis_padding("full", 5, 3, 1, 0) == (2, 2)
    assert axis_padding("SAME", 5, 4, 1, 0) == (1, 2)
    assert axis_padding(((1, 2), (3, 4)), 5, 3, 1, 1) == (3, 4)


@pytest.mark.parametrize(
    ("padding", "expected"),
    [
        (0, ((0, 0), (0, 0))),
        (2, ((2, 2), (2, 2))),
        ((1, 3), ((1, 1), (3, 3))),
        (((0, 1), (2, 3)), ((0, 1), (2, 3))),
        ([[0, 1], [2, 3]], ((0, 1), (2, 3))),
        (np.int64(1), ((1, 1), (1, 1))),
    ],
)
def test_normalize_explicit_padding_forms(padding, expected):
    assert normalize_explicit_padding(padding) == expected


@pytest.mark.parametrize("padding", [1.5, None, True, ((1, 2), 3), ((1.0, 2), (3, 4))])
def test_normalize_explicit_padding_wrong_types(padding):
    with pytest.raises(TypeError, match=r"`padding` must be 'valid', 'same', 'full', an int"):
        normalize_explicit_padding(padding)


@pytest.mark.parametrize("padding", [-1, (1, -1), (1, 2, 3), ((1, 2, 3), (1, 2))])
def test_normalize_explicit_padding_bad_values(padding):
    with pytest.raises(ValueError, match=r"all >= 0\. Received: padding="):
        normalize_explicit_padding(padding)


def test_one_axis_padding():
    assert one_axis_padding(2) == ((2, 2), (2, 2))
    assert one_axis_padding((0, 1)) == ((0, 1), (0, 1))
    with pytest.raises(ValueError, match="for one axis"):
        one_axis_padding((1, 2, 3))
    with pytest.raises(ValueError, match="for one axis"):
        one_axis_padding(-1)
    with pytest.raises(TypeError, match=r"for one axis.*Received: padding=1\.5\.$"):
        one_axis_padding(1.5)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            dict(input_size=3.0),
            TypeError,
            r"^`input_size` must be an integer\. Received: input_size=3\.0\.$",
        ),
        (
            dict(kernel_size=0),
            ValueError,
            r"^`kernel_size` must be >= 1\. Received: kernel_size=0\.$",
        ),
        (dict(strides=0), ValueError, r"^`strides` must be >= 1\. Received: strides=0\.$"),
        (dict(dilation_rate=True), TypeError, r"^`dilation_rate` must be an integer\."),
        (dict(padding="half"), ValueError, r"^`padding` must be one of 'valid', 'same', 'full'\."),
    ],
)
def test_describe_output_size_argument_errors(kwargs, error, message):
    arguments = dict(input_size=5, kernel_size=3) | kwargs
    input_size, kernel_size = arguments.pop("input_size"), arguments.pop("kernel_size")
    with pytest.raises(error, match=message):
        describe_output_size(input_size, kernel_size, **arguments)


def test_a_kernel_larger_than_the_padded_input_names_the_numbers_and_the_axis():
    with pytest.raises(
        ValueError, match=r"input: kernel 3, dilated to 5 > input 4 \+ padding 0 = 4"
    ):
        describe_output_size(4, 3, dilation_rate=2)
    with pytest.raises(ValueError, match=r"along the columns: kernel 6 > input 4 \+ padding 1 = 5"):
        describe_output_size(4, 6, padding=(0, 1), axis=1)


def test_conv_padding_with_dilation_and_explicit_pairs():
    assert conv_padding((5, 5), (3, 3), padding="full", dilation_rate=2) == ((4, 4), (4, 4))
    assert conv_padding((5, 5), (3, 3), padding=((1, 0), (0, 2))) == ((1, 0), (0, 2))


def test_padding_names_build_on_keras_names():
    assert PADDINGS == ("valid", "same")
    assert PADDING_NAMES[:2] == PADDINGS and PADDING_CHOICES[:3] == PADDING_NAMES
    assert set(BORDER_MODES) == {"constant", "edge", "reflect", "symmetric", "wrap"}
    for mode in BORDER_MODES:  # every name is one numpy.pad understands
        np.pad(np.ones((2, 2)), 1, mode=mode)
