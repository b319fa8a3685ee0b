"""core.ops.pixel_explanation: the dot product behind one output of conv2d."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from core.ops.convolution import conv2d
from core.ops.output_size import BORDER_MODES
from core.ops.pixel_explanation import explain_pixel

SOBEL_BOTTOM = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])


EXAMPLE_4 = np.array(
    [[10, 12, 3, 4, 3, 15], [6, 8, 4, 5, 12, 5], [22, 12, 10, 7, 16, 12], [0, 9, 32, 4, 34, 19]]
)


def test_seed_example_4_first_value_step_by_step():
    explanation = explain_pixel(EXAMPLE_4, SOBEL_BOTTOM, 0, 0)
    np.testing.assert_array_equal(explanation.patch, EXAMPLE_4[:3, :3])
    np.testing.assert_array_equal(explanation.products, [[-10, -24, -3], [0, 0, 0], [22, 24, 10]])
    assert explanation.total == 19


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
            assert explanation.total == pytest.approx(result[row, col], abs=1e-3)  # float32
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
    with pytest.raises(ValueError, match=r"^`row` must be between 0 and 1\. Received: row=2\.$"):
        explain_pixel(np.ones((4, 4)), np.ones((3, 3)), 2, 0)


def test_explain_pixel_follows_dilated_taps_by_hand():
    image = np.arange(49.0).reshape(7, 7)
    kernel = np.array([[1.0, 2.0], [3.0, 4.0]])
    explanation = explain_pixel(image, kernel, 1, 1, strides=2, dilation_rate=(2, 3))
    # output (1, 1) starts at row 2, column 2; taps 2 rows and 3 columns apart
    np.testing.assert_array_equal(explanation.rows, [[2, 2], [4, 4]])
    np.testing.assert_array_equal(explanation.cols, [[2, 5], [2, 5]])
    np.testing.assert_array_equal(explanation.patch, image[np.ix_([2, 4], [2, 5])])
    assert not explanation.is_padding.any()
    assert explanation.total == (kernel * image[np.ix_([2, 4], [2, 5])]).sum()


def test_explain_pixel_of_a_three_channel_filter_sums_every_channel():
    rng = np.random.default_rng(11)
    image = rng.normal(size=(4, 5, 3))
    kernel = rng.normal(size=(2, 2, 3))
    explanation = explain_pixel(image, kernel, 2, 3)
    assert explanation.products.shape == (2, 2, 3)
    expected = sum(
        scipy.signal.correlate2d(image[:, :, c], kernel[:, :, c], "valid")[2, 3] for c in range(3)
    )
    assert explanation.total == pytest.approx(expected)


def test_explain_pixel_pads_with_the_border_mode():
    explanation = explain_pixel([[1, 2], [3, 4]], np.ones((3, 3)), 0, 0, padding=1, mode="edge")
    np.testing.assert_array_equal(explanation.patch, [[1, 1, 2], [1, 1, 2], [3, 3, 4]])
    assert (
        explanation.total == conv2d([[1, 2], [3, 4]], np.ones((3, 3)), padding=1, mode="edge")[0, 0]
    )


@pytest.mark.parametrize(
    ("position", "error", "message"),
    [
        ((0.0, 0), TypeError, r"^`row` must be an integer\. Received: row=0\.0\.$"),
        ((0, -1), ValueError, r"^`col` must be between 0 and 1\. Received: col=-1\.$"),
        ((0, True), TypeError, r"`col` must be an int"),
    ],
)
def test_explain_pixel_checks_the_position(position, error, message):
    with pytest.raises(error, match=message):
        explain_pixel(np.ones((4, 4)), np.ones((3, 3)), *position)


def test_explain_pixel_checks_its_options_like_conv2d():
    with pytest.raises(ValueError, match="`strides` must be >= 1"):
        explain_pixel(np.ones((4, 4)), np.ones((3, 3)), 0, 0, strides=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'stride'"):
        explain_pixel(np.ones((4, 4)), np.ones((3, 3)), 0, 0, stride=1)


@pytest.mark.parametrize("mode", sorted(BORDER_MODES))
@pytest.mark.parametrize("padding", [((2, 1), (0, 3)), ((5, 4), (6, 2))])
def test_explain_pixel_reads_each_window_as_the_padded_image_holds_it(mode, padding):
    """Every window equals the same cells of numpy's padded image, pads wider than the
    image (mirrored again) and a constant fill included, and sums to conv2d's value."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, size=(4, 5)).astype(np.uint8)
    kernel = rng.normal(size=(3, 3))
    cval = 7.5 if mode == "constant" else 0.0
    options = dict(padding=padding, mode=mode, cval=cval, strides=(2, 1), dilation_rate=(1, 2))
    if mode == "constant":
        padded = np.pad(image.astype(np.float64), padding, mode="constant", constant_values=cval)
    else:
        padded = np.pad(image, padding, mode=mode)
    result = conv2d(image, kernel, **options)
    for row in range(result.shape[0]):
        for col in range(result.shape[1]):
            explanation = explain_pixel(image, kernel, row, col, **options)
            window = padded[np.ix_(row * 2 + np.arange(3), col + np.arange(3) * 2)]
            np.testing.assert_array_equal(explanation.patch, window)
            assert explanation.total == pytest.approx(result[row, col], abs=1e-3)  # float32
