"""core.ops.convolution against scipy references, the SEEDS worked examples and every error case."""

import tracemalloc

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ops import convolution
from core.ops.convolution import ConvOptions, conv2d, dilate_kernel

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
    assert result.dtype == (np.float32 if dtype == np.float32 else np.float64)
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_image_uses_banded_path_and_still_matches_scipy(dtype):
    rng = np.random.default_rng(2)
    image = rng.random((700, 600, 3)).astype(dtype)
    kernel = rng.normal(size=(3, 3))
    result = conv2d(image, kernel, padding="same")
    for c in range(3):
        expected = scipy.ndimage.correlate(image[:, :, c].astype(float), kernel, mode="constant")
        np.testing.assert_allclose(result[:, :, c], expected, rtol=1e-4, atol=1e-4)


def shift_and_add(padded, kernel):
    """Independent 'valid' correlation of a padded image: one shifted slice per kernel tap."""
    kh, kw = kernel.shape
    rows, cols = padded.shape[0] - kh + 1, padded.shape[1] - kw + 1
    out = np.zeros((rows, cols) + padded.shape[2:])
    for i in range(kh):
        for j in range(kw):
            out += kernel[i, j] * padded[i : i + rows, j : j + cols]
    return out


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize(
    ("kernel_shape", "padding"),
    [
        ((3, 3), "same"),
        ((4, 4), "same"),  # even: the extra row and column at the bottom and right
        ((5, 5), "valid"),
        ((5, 3), ((0, 4), (2, 0))),  # all the padding on one side of each axis
        ((9, 9), ((4, 1), (3, 3))),
        ((3, 3), "full"),  # more than OpenCV pads: a padded copy
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])  # one OpenCV call; bands of rows
def test_large_image_matches_numpy_padding_in_every_mode(dtype, mode, kernel_shape, padding):
    rng = np.random.default_rng(5)
    image = (rng.random((530, 520, 3)) * 255).astype(dtype)
    kernel = rng.normal(size=kernel_shape)
    result = conv2d(image, kernel, padding=padding, mode=mode)
    pads = padding
    if isinstance(padding, str):
        pads = {
            "same": tuple(((k - 1) // 2, k // 2) for k in kernel_shape),
            "valid": ((0, 0), (0, 0)),
            "full": tuple((k - 1, k - 1) for k in kernel_shape),
        }[padding]
    padded = np.pad(image.astype(np.float64), pads + ((0, 0),), mode=mode)
    assert result.dtype == (np.float32 if dtype == np.float32 else np.float64)
    np.testing.assert_allclose(result, shift_and_add(padded, kernel), rtol=1e-5, atol=1e-2)


@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric"])
def test_mirrored_borders_wider_than_a_small_image_match_numpy(mode):
    image = np.arange(12.0).reshape(2, 6)
    kernel = np.arange(25.0).reshape(5, 5)
    expected = shift_and_add(np.pad(image, ((2, 2), (2, 2)), mode=mode), kernel)
    np.testing.assert_allclose(conv2d(image, kernel, padding="same", mode=mode), expected)


@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric"])
@pytest.mark.parametrize("height", [33, 34, 40])  # a last band of 1, 2 and 8 rows
@pytest.mark.parametrize(
    ("kernel_shape", "pads"),
    [((5, 5), ((0, 4), (4, 0))), ((25, 3), ((24, 0), (1, 1)))],  # the second taller than a band
)
def test_any_band_height_gives_the_same_result(monkeypatch, mode, height, kernel_shape, pads):
    monkeypatch.setattr(convolution, "_BANDED_MIN_SIZE", 0)
    monkeypatch.setattr(convolution, "_BAND_BYTES", 1)  # bands of _MIN_BAND_ROWS rows
    rng = np.random.default_rng(height)
    image = rng.random((height, 7))
    kernel = rng.normal(size=kernel_shape)
    expected = shift_and_add(np.pad(image, pads, mode=mode), kernel)
    np.testing.assert_allclose(conv2d(image, kernel, padding=pads, mode=mode), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_opencv_borders_read_the_image_in_place_without_a_padded_copy(dtype):
    image = np.random.default_rng(6).random((600, 600, 3)).astype(dtype)
    conv2d(image, np.ones((9, 9)), padding="same", mode="reflect")  # warm the band buffers
    tracemalloc.start()
    try:
        result = conv2d(image, np.ones((9, 9)), padding="same", mode="reflect")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The result, plus less than the copy of the padded image np.pad would make.
    assert peak < result.nbytes + image.nbytes // 2


def test_same_padding_keeps_ceil_of_size_over_stride():
    for size in range(3, 12):
        for stride in (1, 2, 3):
            result = conv2d(np.ones((size, size)), np.ones((3, 3)), padding="same", strides=stride)
            assert result.shape == (-(-size // stride),) * 2


# --------------------------------------------------------------------------- helpers and options


def test_dilate_kernel_inserts_zeros():
    np.testing.assert_array_equal(
        dilate_kernel(np.array([[1, 2], [3, 4]]), (1, 2)), [[1, 0, 2], [3, 0, 4]]
    )


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(strides=0), r"`strides` must be >= 1. Received: strides=0"),
        (dict(strides=(1, -2)), r"`strides` must be >= 1"),
        (dict(dilation_rate=0), r"`dilation_rate` must be >= 1. Received: dilation_rate=0"),
        (dict(padding="half"), r"^`padding` must be one of 'valid', 'same', 'full'\. Received"),
        (dict(padding=-1), r"`padding` must be"),
        (dict(mode="mirror"), r"`mode` must be one of"),
        (dict(cval=float("nan")), r"^`cval` must be a finite number. Received: cval=nan\.$"),
        (dict(strides=(1, 2, 3)), r"`strides` must be an int or a pair of ints"),
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
        (np.ones((3, 3)), np.ones((1, 1, 1, 1)), ValueError, "`kernel` must have 2 or 3 dim"),
        ([[1, np.inf], [1, 1]], np.ones((1, 1)), ValueError, "`image` contains NaN or infinite"),
        (np.ones(5), np.ones((1, 1)), ValueError, "`image` must have 2 or 3 dimensions"),
        (np.array([["a"]]), np.ones((1, 1)), TypeError, "`image` must hold real numbers"),
        (np.ones((3, 3, 3)), np.ones((2, 2, 2)), ValueError, "one slice per image channel"),
    ],
)
def test_bad_arrays_are_refused(image, kernel, error, message):
    with pytest.raises(error, match=message):
        conv2d(image, kernel)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            dict(strides=1.5),
            r"^`strides` must be an int or a pair of ints\. Received: strides=1\.5\.$",
        ),
        (dict(padding=1.5), r"`padding` must be 'valid', 'same', 'full', an int"),
        (dict(padding=None), r"Received: padding=None\.$"),
        (dict(mode=3), r"^`mode` must be one of 'constant', 'edge'"),
        (dict(cval="0"), r"^`cval` must be a number\. Received: cval='0'\.$"),
        (dict(flip_kernel=1), r"^`flip_kernel` must be True or False\. Received: flip_kernel=1\.$"),
    ],
)
def test_bad_argument_types_raise_type_error(kwargs, message):
    with pytest.raises(TypeError, match=message):
        conv2d(np.ones((3, 3)), np.ones((1, 1)), **kwargs)


@pytest.mark.parametrize(
    ("shape", "kernel_shape", "where"),
    [
        ((700, 600, 3), (3, 3), (699, 599, 2)),  # banded path, last row
        ((700, 600, 3), (3, 3), (0, 0, 0)),
        ((20, 20, 6), (3, 3), (10, 10, 5)),  # more channels than one OpenCV call takes
        ((600, 600, 3), (3, 3, 3), (300, 300, 1)),  # one CNN filter over three channels
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])  # one OpenCV call; bands of rows
def test_nan_anywhere_in_a_large_image_is_refused(dtype, shape, kernel_shape, where):
    image = np.ones(shape, dtype=dtype)
    image[where] = np.nan
    with pytest.raises(ValueError, match="`image` contains NaN or infinite values"):
        conv2d(image, np.ones(kernel_shape))
    image[where] = -np.inf
    with pytest.raises(ValueError, match="`image` contains NaN or infinite values"):
        conv2d(image, np.ones(kernel_shape), strides=5, padding="same")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_finite_values_are_not_taken_for_infinite_ones(dtype):
    image = np.full((600, 600, 3), np.finfo(dtype).max / 16, dtype=dtype)  # squares overflow
    image[::2] *= -1
    result = conv2d(image, np.ones((3, 3)) / 9, padding="same", mode="edge")
    assert np.isfinite(result).all()


def test_conv_options_are_normalised_once():
    options = ConvOptions(strides=(2, 1), padding="FULL", mode="Edge", cval=1, dilation_rate=2)
    assert options.strides == (2, 1) and options.dilation_rate == (2, 2)
    assert (options.padding, options.mode, options.cval) == ("full", "edge", 1.0)
    assert ConvOptions(padding=(1, 2)).padding == ((1, 1), (2, 2))
    assert ConvOptions(flip_kernel=np.True_).flip_kernel is True
