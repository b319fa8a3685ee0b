"""The worked examples of SEEDS.md, checked against core and against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from core.imaging.seed_examples import CONV_EXAMPLES, POOL_EXAMPLES
from core.ops.arithmetic import conv_geometry
from core.ops.convolution import conv2d
from core.ops.pooling import pool2d


def naive_correlate(image, kernel, strides=(1, 1), pad=0):
    """A plain double loop: the definition, written out (independent of core)."""
    image = np.pad(np.asarray(image, float), pad)
    kh, kw = kernel.shape
    rows = (image.shape[0] - kh) // strides[0] + 1
    cols = (image.shape[1] - kw) // strides[1] + 1
    out = np.zeros((rows, cols))
    for r in range(rows):
        for c in range(cols):
            window = image[
                r * strides[0] : r * strides[0] + kh, c * strides[1] : c * strides[1] + kw
            ]
            out[r, c] = sum(window[i, j] * kernel[i, j] for i in range(kh) for j in range(kw))
    return out


def run_example(example):
    return conv2d(
        example.image,
        example.kernel,
        strides=example.strides,
        padding=example.padding,
        flip_kernel=example.flip_kernel,
        dilation_rate=example.dilation_rate,
    )


@pytest.mark.parametrize("key", sorted(CONV_EXAMPLES))
def test_conv2d_reproduces_example(key):
    example = CONV_EXAMPLES[key]
    result = run_example(example)
    assert result.shape == example.expected_shape
    if example.expected is not None:
        np.testing.assert_array_equal(result, example.expected)
    if example.expected_relu is not None:
        np.testing.assert_array_equal(np.maximum(result, 0), example.expected_relu)


@pytest.mark.parametrize("key", sorted(CONV_EXAMPLES))
def test_geometry_predicts_example_shape(key):
    example = CONV_EXAMPLES[key]
    geometry = conv_geometry(
        example.image.shape,
        example.kernel.shape,
        strides=example.strides,
        padding=example.padding,
    )
    assert geometry.output_shape == example.expected_shape


def test_example_1_matches_naive_loop():
    example = CONV_EXAMPLES["ex1"]
    np.testing.assert_array_equal(naive_correlate(example.image, example.kernel), example.expected)


def test_example_3_is_scipy_true_convolution_and_matches_slides_rows():
    example = CONV_EXAMPLES["ex3"]
    reference = signal.convolve2d(example.image, example.kernel, mode="same")
    np.testing.assert_array_equal(example.expected, reference)
    assert example.expected[0].tolist() == [-2, -8, -7, -6, -5, -4, 28]
    assert example.expected[-1].tolist() == [-29, 13, 13, 13, 13, 13, 27]


def test_example_4_first_value_by_hand():
    example = CONV_EXAMPLES["ex4"]
    by_hand = (-1 * 10) + (-2 * 12) + (-1 * 3) + 0 + 0 + 0 + (1 * 22) + (2 * 12) + (1 * 10)
    assert by_hand == 19 == example.expected[0, 0]


@pytest.mark.parametrize(
    ("key", "strides", "pad"),
    [("ex4", (1, 1), 0), ("ex4_strides", (1, 2), 0), ("ex4_padded", (1, 1), 1)],
)
def test_example_4_variants_match_naive_loop(key, strides, pad):
    example = CONV_EXAMPLES[key]
    expected = naive_correlate(example.image, example.kernel, strides, pad)
    np.testing.assert_array_equal(example.expected, expected)


def test_example_4_relu_zeroes_only_negatives():
    example = CONV_EXAMPLES["ex4_padded"]
    assert (example.expected_relu >= 0).all()
    kept = example.expected > 0
    np.testing.assert_array_equal(example.expected_relu[kept], example.expected[kept])
    assert (example.expected_relu[example.expected < 0] == 0).all()


@pytest.mark.parametrize(("key", "strides"), [("ex5_stride1", 1), ("ex5_stride2", 2)])
def test_example_5_values_match_naive_loop(key, strides):
    example = CONV_EXAMPLES[key]
    np.testing.assert_array_equal(
        run_example(example), naive_correlate(example.image, example.kernel, (strides, strides))
    )


@pytest.mark.parametrize("key", sorted(POOL_EXAMPLES))
def test_pool2d_reproduces_example(key):
    example = POOL_EXAMPLES[key]
    result = pool2d(
        example.image,
        pool_size=example.pool_size,
        strides=example.strides,
        padding=example.padding,
        method=example.method,
    )
    np.testing.assert_array_equal(result, example.expected)


@pytest.mark.parametrize("key", sorted(POOL_EXAMPLES))
def test_pool_example_matches_naive_max(key):
    example = POOL_EXAMPLES[key]
    (ph, pw), (sh, sw) = example.pool_size, example.strides
    rows = (example.image.shape[0] - ph) // sh + 1
    cols = (example.image.shape[1] - pw) // sw + 1
    naive = [
        [example.image[r * sh : r * sh + ph, c * sw : c * sw + pw].max() for c in range(cols)]
        for r in range(rows)
    ]
    np.testing.assert_array_equal(naive, example.expected)


def test_example_arrays_are_read_only():
    with pytest.raises(ValueError):
        CONV_EXAMPLES["ex1"].image[0, 0] = 5


def test_examples_reuse_the_worked_example_images_and_preset_kernels():
    from core.imaging.synthetic_images import WORKED_EXAMPLES
    from core.ops.kernels import PRESETS

    np.testing.assert_array_equal(CONV_EXAMPLES["ex1"].image, WORKED_EXAMPLES["example1"])
    np.testing.assert_array_equal(CONV_EXAMPLES["ex3"].image, np.arange(1, 50).reshape(7, 7))
    np.testing.assert_array_equal(CONV_EXAMPLES["ex4"].kernel, PRESETS["sobel_bottom"].values)
    assert all(example.image.dtype == np.float64 for example in CONV_EXAMPLES.values())
