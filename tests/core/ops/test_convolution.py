"""core.ops.convolution against scipy references, the SEEDS worked examples and every error case."""

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ops.convolution import conv2d, dilate_kernel
from core.ops.output_size import conv_padding, describe_output_size, output_size
from core.ops.pixel_explanation import explain_pixel
from core.ops.transposed import (
    conv2d_transpose,
    convolution_matrix,
    stretch_input,
    transpose_output_size,
)

SOBEL_BOTTOM = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
EXAMPLE_4 = np.array(
    [[10, 12, 3, 4, 3, 15], [6, 8, 4, 5, 12, 5], [22, 12, 10, 7, 16, 12], [0, 9, 32, 4, 34, 19]]
)


def naive_conv2d(image, kernel, strides, pads, dilation, mode, cval=0.0):
    """Independent reference: pad with numpy, then a plain loop over output positions."""
    widths = pads + ((0, 0),) * (image.ndim - 2)
    if mode == "constant":
        padded = np.pad(image.astype(float), widths, mode="constant", constant_values=cval)
    else:
        padded = np.pad(image.astype(float), widths, mode=mode)
    kh, kw = kernel.shape[:2]
    eh, ew = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    rows = (padded.shape[0] - eh) // strides[0] + 1
    cols = (padded.shape[1] - ew) // strides[1] + 1
    out = np.zeros((rows, cols) + image.shape[2:])
    for r in range(rows):
        for c in range(cols):
            window = padded[
                r * strides[0] : r * strides[0] + eh : dilation[0],
                c * strides[1] : c * strides[1] + ew : dilation[1],
            ]
            if image.ndim == 3:
                out[r, c] = np.einsum("ijc,ij->c", window, kernel)
            else:
                out[r, c] = np.sum(window * kernel)
    return out


# --------------------------------------------------------------------------- SEEDS worked examples


def test_seed_example_1_binary_image():
    image = [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]
    kernel = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
    np.testing.assert_array_equal(conv2d(image, kernel), [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


def test_seed_example_2_no_flip():
    image = [[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]]
    kernel = [[0, 1, 2], [2, 2, 0], [0, 1, 2]]
    np.testing.assert_array_equal(conv2d(image, kernel), [[12, 12, 17], [10, 17, 19], [9, 6, 14]])


def test_seed_example_3_true_convolution_same_padding():
    image = np.arange(1, 50).reshape(7, 7)
    kernel = np.array([[-1, 1, -1], [-2, 3, 1], [2, -4, 0]])
    result = conv2d(image, kernel, padding="same", flip_kernel=True)
    np.testing.assert_array_equal(result[0], [-2, -8, -7, -6, -5, -4, 28])
    np.testing.assert_array_equal(result[-1], [-29, 13, 13, 13, 13, 13, 27])
    np.testing.assert_array_equal(result, scipy.signal.convolve2d(image, kernel, mode="same"))


def test_seed_example_4_bottom_sobel_no_padding():
    np.testing.assert_array_equal(
        conv2d(EXAMPLE_4, SOBEL_BOTTOM), [[19, 17, 26, 26], [24, 56, 48, 57]]
    )


def test_seed_example_4_strides_1_2():
    np.testing.assert_array_equal(
        conv2d(EXAMPLE_4, SOBEL_BOTTOM, strides=(1, 2)), [[19, 26], [24, 48]]
    )


def test_seed_example_4_zero_padding_1_and_relu():
    expected = [
        [20, 26, 21, 26, 34, 22],
        [24, 19, 17, 26, 26, 7],
        [-11, 24, 56, 48, 57, 50],
        [-56, -56, -39, -40, -51, -40],
    ]
    result = conv2d(EXAMPLE_4, SOBEL_BOTTOM, padding=1)
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(np.maximum(result, 0), np.maximum(expected, 0))


def test_seed_example_4_first_value_step_by_step():
    explanation = explain_pixel(EXAMPLE_4, SOBEL_BOTTOM, 0, 0)
    np.testing.assert_array_equal(explanation.patch, EXAMPLE_4[:3, :3])
    np.testing.assert_array_equal(explanation.products, [[-10, -24, -3], [0, 0, 0], [22, 24, 10]])
    assert explanation.total == 19


def test_seed_example_5_output_sizes():
    assert conv2d(np.zeros((10, 10)), np.ones((3, 3))).shape == (8, 8)
    assert conv2d(np.zeros((10, 10)), np.ones((3, 3)), strides=2).shape == (4, 4)


# --------------------------------------------------------------------------- references


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 12),
    width=st.integers(1, 12),
    kh=st.integers(1, 5),
    kw=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_matches_scipy_correlate_and_convolve_in_every_scipy_mode(height, width, kh, kw, seed):
    rng = np.random.default_rng(seed)
    image = rng.normal(size=(height, width))
    kernel = rng.normal(size=(kh, kw))
    np.testing.assert_allclose(
        conv2d(image, kernel, padding="full"), scipy.signal.correlate2d(image, kernel, "full")
    )
    np.testing.assert_allclose(
        conv2d(image, kernel, padding="full", flip_kernel=True),
        scipy.signal.convolve2d(image, kernel, "full"),
    )
    if kh <= height and kw <= width:
        np.testing.assert_allclose(
            conv2d(image, kernel), scipy.signal.correlate2d(image, kernel, "valid")
        )


@pytest.mark.parametrize(
    ("mode", "ndimage_mode"),
    [
        ("constant", "constant"),
        ("edge", "nearest"),
        ("symmetric", "reflect"),
        ("reflect", "mirror"),
        ("wrap", "wrap"),
    ],
)
def test_same_padding_border_modes_match_scipy_ndimage(mode, ndimage_mode):
    rng = np.random.default_rng(3)
    image = rng.normal(size=(9, 11))
    kernel = rng.normal(size=(3, 3))
    expected = scipy.ndimage.correlate(image, kernel, mode=ndimage_mode, cval=2.5)
    result = conv2d(image, kernel, padding="same", mode=mode, cval=2.5)
    np.testing.assert_allclose(result, expected)


@settings(max_examples=80, deadline=None)
@given(
    shape=st.tuples(st.integers(2, 10), st.integers(2, 10)),
    channels=st.sampled_from([None, 1, 3, 5]),
    kernel_shape=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    strides=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pads=st.tuples(
        st.tuples(st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.integers(0, 3), st.integers(0, 3)),
    ),
    mode=st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]),
    dtype=st.sampled_from([np.float64, np.float32, np.uint8, np.int16, np.int64]),
    seed=st.integers(0, 2**16),
)
def test_matches_naive_reference_over_strides_dilations_paddings_modes_dtypes(
    shape, channels, kernel_shape, strides, dilation, pads, mode, dtype, seed
):
    rng = np.random.default_rng(seed)
    full_shape = shape if channels is None else shape + (channels,)
    image = (rng.random(full_shape) * 200).astype(dtype)
    kernel = rng.normal(size=kernel_shape)
    eff = [(k - 1) * d + 1 for k, d in zip(kernel_shape, dilation, strict=True)]
    padded = [s + sum(p) for s, p in zip(shape, pads, strict=True)]
    if eff[0] > padded[0] or eff[1] > padded[1]:
        with pytest.raises(ValueError, match="larger than the padded image"):
            conv2d(image, kernel, strides=strides, padding=pads, dilation_rate=dilation, mode=mode)
        return
    result = conv2d(
        image, kernel, strides=strides, padding=pads, dilation_rate=dilation, mode=mode, cval=1.5
    )
    expected = naive_conv2d(image, kernel, strides, pads, dilation, mode, cval=1.5)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-3)


def test_three_channel_kernel_sums_channels_into_one_map():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(6, 7, 3))
    kernel = rng.normal(size=(3, 3, 3))
    expected = sum(
        scipy.signal.correlate2d(image[:, :, c], kernel[:, :, c], "valid") for c in range(3)
    )
    result = conv2d(image, kernel)
    assert result.shape == (4, 5)
    np.testing.assert_allclose(result, expected)


def test_two_d_kernel_keeps_channels_of_a_colour_image():
    image = np.random.default_rng(1).normal(size=(8, 8, 3))
    result = conv2d(image, np.ones((3, 3)), padding="same")
    assert result.shape == (8, 8, 3)
    np.testing.assert_allclose(result[:, :, 1], conv2d(image[:, :, 1], np.ones((3, 3)), padding=1))


def test_uint8_is_not_computed_in_uint8():
    image = np.array([[0, 200, 0], [255, 255, 0]], dtype=np.uint8)
    result = conv2d(image, [[1, -1]])  # a difference that goes negative, and one above 255
    np.testing.assert_array_equal(result, [[-200, 200], [0, 255]])
    np.testing.assert_array_equal(conv2d(image, [[1, 1]]), [[200, 200], [510, 255]])


def test_large_image_uses_banded_path_and_still_matches_scipy():
    rng = np.random.default_rng(2)
    image = rng.random((700, 600, 3), dtype=np.float32)
    kernel = rng.normal(size=(3, 3))
    result = conv2d(image, kernel, padding="same")
    for c in range(3):
        expected = scipy.ndimage.correlate(image[:, :, c].astype(float), kernel, mode="constant")
        np.testing.assert_allclose(result[:, :, c], expected, rtol=1e-4, atol=1e-4)


def test_same_padding_puts_the_odd_extra_row_bottom_right():
    assert conv_padding((4, 4), (2, 2), padding="same") == ((0, 1), (0, 1))
    assert conv_padding((7, 7), (3, 3), padding="same", strides=2) == ((1, 1), (1, 1))
    assert conv_padding((6, 6), (3, 3), padding="same", strides=2) == ((0, 1), (0, 1))


def test_same_padding_keeps_ceil_of_size_over_stride():
    for size in range(3, 12):
        for stride in (1, 2, 3):
            result = conv2d(np.ones((size, size)), np.ones((3, 3)), padding="same", strides=stride)
            assert result.shape == (-(-size // stride),) * 2


# --------------------------------------------------------------------------- arithmetic


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


def test_dilate_kernel_inserts_zeros():
    np.testing.assert_array_equal(
        dilate_kernel(np.array([[1, 2], [3, 4]]), (1, 2)), [[1, 0, 2], [3, 0, 4]]
    )


# --------------------------------------------------------------------------- explain_pixel


def test_explain_pixel_total_equals_conv2d_everywhere_with_options():
    rng = np.random.default_rng(5)
    image = rng.normal(size=(7, 6))
    kernel = rng.normal(size=(3, 2))
    options = dict(
        strides=(2, 1), padding="same", mode="reflect", dilation_rate=(1, 2), flip_kernel=True
    )
    result = conv2d(image, kernel, **options)
    for row in range(result.shape[0]):
        for col in range(result.shape[1]):
            explanation = explain_pixel(image, kernel, row, col, **options)
            assert explanation.total == pytest.approx(result[row, col])
            np.testing.assert_array_equal(explanation.kernel, kernel[::-1, ::-1])


def test_explain_pixel_marks_padding_cells():
    explanation = explain_pixel(np.ones((3, 3)), np.ones((3, 3)), 0, 0, padding=1)
    expected = np.array([[True, True, True], [True, False, False], [True, False, False]])
    np.testing.assert_array_equal(explanation.is_padding, expected)
    assert explanation.total == 4


def test_explain_pixel_per_channel_totals_for_colour_image():
    image = np.arange(2 * 2 * 3).reshape(2, 2, 3)
    explanation = explain_pixel(image, np.ones((2, 2)), 0, 0)
    np.testing.assert_array_equal(explanation.total, image.sum(axis=(0, 1)))


def test_explain_pixel_rejects_positions_outside_the_output():
    with pytest.raises(ValueError, match=r"`row` must be in \[0, 1\]"):
        explain_pixel(np.ones((4, 4)), np.ones((3, 3)), 2, 0)


# --------------------------------------------------------------------------- transposed


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4])
def test_transpose_is_the_adjoint_of_conv2d(stride, kernel_size):
    """<conv(x), y> == <x, conv_transpose(y)>: the defining property, with C and Cᵀ."""
    rng = np.random.default_rng(stride * 10 + kernel_size)
    kernel = rng.normal(size=(kernel_size, kernel_size))
    size = 7
    matrix = convolution_matrix((size, size), kernel, strides=stride)
    out_size = output_size(size, kernel_size, strides=stride)
    y = rng.normal(size=(out_size, out_size))
    # When the stride does not fit, output_padding restores the rows no window reached.
    unreached = (size - kernel_size) % stride
    transposed = conv2d_transpose(y, kernel, strides=stride, output_padding=unreached)
    assert transposed.shape == (size, size)
    np.testing.assert_allclose(transposed.ravel(), matrix.T @ y.ravel())


def test_transpose_equals_stretch_pad_and_flipped_convolution():
    rng = np.random.default_rng(9)
    image = rng.normal(size=(3, 4))
    kernel = rng.normal(size=(3, 3))
    stretched = stretch_input(image, 2)
    expected = conv2d(stretched, kernel, padding=2, flip_kernel=True)  # k − p − 1 = 2
    np.testing.assert_allclose(
        conv2d_transpose(image, kernel, strides=2, output_padding=0), expected
    )


def test_transpose_output_sizes_follow_keras():
    assert transpose_output_size(4, 3, strides=2) == 9
    assert transpose_output_size(4, 1, strides=3) == 12  # k < s: i·s
    assert transpose_output_size(4, 3, strides=2, padding="same") == 8
    assert transpose_output_size(4, 3, strides=2, padding="same", output_padding=1) == 8
    assert transpose_output_size(4, 3, strides=2, output_padding=1) == 10
    with pytest.raises(ValueError, match="output_padding"):
        transpose_output_size(4, 3, strides=2, output_padding=2)


def test_transpose_refuses_same_padding_sizes_keras_refuses():
    # Output 3 for input 4: a 'same' convolution of 3 cells cannot give 4 back.
    with pytest.raises(ValueError, match="not the transpose of any convolution"):
        conv2d_transpose(
            np.ones((4, 5)), np.ones((4, 2)), strides=1, padding="same", output_padding=0
        )


def test_convolution_matrix_reproduces_conv2d():
    rng = np.random.default_rng(4)
    image = rng.normal(size=(5, 4))
    kernel = rng.normal(size=(2, 3))
    matrix = convolution_matrix((5, 4), kernel, strides=(2, 1), padding=1)
    np.testing.assert_allclose(
        matrix @ image.ravel(), conv2d(image, kernel, strides=(2, 1), padding=1).ravel()
    )


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(strides=0), r"`strides` must be >= 1. Received: strides=0"),
        (dict(strides=(1, -2)), r"`strides` must be >= 1"),
        (dict(dilation_rate=0), r"`dilation_rate` must be >= 1. Received: dilation_rate=0"),
        (dict(padding="half"), r"`padding` must be one of 'valid', 'same', 'full'"),
        (dict(padding=-1), r"`padding` must be"),
        (dict(mode="mirror"), r"`mode` must be one of"),
        (dict(cval=float("nan")), r"`cval` must be a finite number"),
    ],
)
def test_bad_options_raise_value_error_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        conv2d(np.ones((5, 5)), np.ones((3, 3)), **kwargs)


def test_kernel_larger_than_padded_image_is_refused():
    with pytest.raises(ValueError, match="larger than the padded image"):
        conv2d(np.ones((3, 3)), np.ones((5, 5)))
    with pytest.raises(ValueError, match="dilated to 5×5"):
        conv2d(np.ones((4, 4)), np.ones((3, 3)), dilation_rate=2)


@pytest.mark.parametrize(
    ("image", "kernel", "error", "message"),
    [
        (np.ones((3, 3)), np.ones((0, 3)), ValueError, "`kernel` must not be empty"),
        (np.ones((3, 3)), [[1, np.nan]], ValueError, "`kernel` contains NaN"),
        ([[1, np.inf], [1, 1]], np.ones((1, 1)), ValueError, "`image` contains NaN or infinite"),
        (np.ones(5), np.ones((1, 1)), ValueError, "`image` must have 2 or 3 dimensions"),
        (np.array([["a"]]), np.ones((1, 1)), TypeError, "`image` must hold real numbers"),
        (np.ones((3, 3, 3)), np.ones((2, 2, 2)), ValueError, "one slice per image channel"),
    ],
)
def test_bad_arrays_are_refused(image, kernel, error, message):
    with pytest.raises(error, match=message):
        conv2d(image, kernel)


def test_bad_argument_types_raise_type_error():
    with pytest.raises(TypeError, match="`strides` must be an int or a pair"):
        conv2d(np.ones((3, 3)), np.ones((1, 1)), strides=1.5)
    with pytest.raises(TypeError, match="`input_size` must be an int"):
        output_size(3.0, 3)


@pytest.mark.parametrize(
    ("shape", "kernel_shape", "where"),
    [
        ((700, 600, 3), (3, 3), (699, 599, 2)),  # banded path, last row
        ((700, 600, 3), (3, 3), (0, 0, 0)),
        ((20, 20, 6), (3, 3), (10, 10, 5)),  # more channels than one OpenCV call takes
        ((600, 600, 3), (3, 3, 3), (300, 300, 1)),  # one CNN filter over three channels
    ],
)
def test_nan_anywhere_in_a_large_image_is_refused(shape, kernel_shape, where):
    image = np.ones(shape, dtype=np.float32)
    image[where] = np.nan
    with pytest.raises(ValueError, match="`image` contains NaN or infinite values"):
        conv2d(image, np.ones(kernel_shape))
    image[where] = -np.inf
    with pytest.raises(ValueError, match="`image` contains NaN or infinite values"):
        conv2d(image, np.ones(kernel_shape), strides=5, padding="same")
