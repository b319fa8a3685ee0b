"""core.ops.convolution, core.ops.pooling and core.ops.arithmetic against TensorFlow.

TensorFlow is only the reference here: it is imported inside this module
(``pytest.importorskip``), never by ``core``. Cases are small and few so the
module runs in seconds once TensorFlow is loaded.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.ops.arithmetic import conv_geometry
from core.ops.arithmetic_forms import transposed_breakdown
from core.ops.convolution import conv2d
from core.ops.pooling import pool2d, pool2d_gradient
from core.ops.transposed import conv2d_transpose, transpose_output_size

tf = pytest.importorskip("tensorflow")

RNG = np.random.default_rng(2016)


def nhwc(x: np.ndarray):
    return tf.constant(np.asarray(x, np.float64)[None, :, :, None])


def hwio(kernel: np.ndarray):
    return tf.constant(np.asarray(kernel, np.float64)[:, :, None, None])


def tf_conv(image, kernel, strides, padding, dilations=1) -> np.ndarray:
    out = tf.nn.conv2d(
        nhwc(image), hwio(kernel), strides=strides, padding=padding.upper(), dilations=dilations
    )
    return out.numpy()[0, :, :, 0]


@pytest.mark.parametrize(
    ("shape", "kernel_shape", "strides", "padding"),
    [
        (shape, kernel_shape, strides, padding)
        for shape, kernel_shape, strides, padding in itertools.product(
            [(5, 5), (4, 6), (7, 4)],
            [(3, 3), (2, 3)],
            [(1, 1), (2, 2), (1, 2), (3, 2)],
            ["valid", "same"],
        )
    ],
)
def test_conv2d_matches_tf_conv2d(shape, kernel_shape, strides, padding):
    image = RNG.integers(-9, 10, shape).astype(float)
    kernel = RNG.integers(-3, 4, kernel_shape).astype(float)
    expected = tf_conv(image, kernel, strides, padding)
    np.testing.assert_allclose(conv2d(image, kernel, strides=strides, padding=padding), expected)
    geometry = conv_geometry(shape, kernel_shape, strides=strides, padding=padding)
    assert geometry.output_shape == expected.shape


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("dilation", [2, 3])
def test_dilated_conv2d_matches_tf(padding, dilation):
    image = RNG.integers(-9, 10, (9, 8)).astype(float)
    kernel = RNG.integers(-3, 4, (3, 2)).astype(float)
    expected = tf_conv(image, kernel, 1, padding, dilations=dilation)
    result = conv2d(image, kernel, padding=padding, dilation_rate=dilation)
    np.testing.assert_allclose(result, expected)
    assert conv_geometry((9, 8), (3, 2), padding=padding, dilation_rate=dilation).output_shape == (
        expected.shape
    )


def keras_transpose(image, kernel, strides, padding, output_padding) -> np.ndarray:
    layer = tf.keras.layers.Conv2DTranspose(
        1,
        kernel.shape,
        strides=strides,
        padding=padding,
        output_padding=output_padding,
        use_bias=False,
        dtype="float64",
    )
    layer.build((1, *image.shape, 1))
    layer.set_weights([np.asarray(kernel, np.float64)[:, :, None, None]])
    return layer(nhwc(image)).numpy()[0, :, :, 0]


@pytest.mark.parametrize(
    ("shape", "kernel_shape", "strides", "padding", "output_padding"),
    [
        ((2, 2), (3, 3), (2, 2), "valid", None),
        ((3, 2), (3, 3), (2, 2), "same", None),
        ((2, 3), (2, 2), (2, 2), "same", None),
        ((2, 2), (1, 1), (3, 3), "valid", None),  # kernel smaller than stride
        ((3, 3), (3, 3), (2, 2), "valid", (1, 1)),
        ((3, 3), (3, 3), (2, 2), "same", (1, 0)),
        ((2, 4), (4, 3), (3, 2), "same", (2, 1)),
        ((4, 3), (2, 3), (1, 1), "same", None),
    ],
)
def test_conv2d_transpose_matches_keras_layer(
    shape, kernel_shape, strides, padding, output_padding
):
    image = RNG.integers(-5, 6, shape).astype(float)
    kernel = RNG.integers(-3, 4, kernel_shape).astype(float)
    expected = keras_transpose(image, kernel, strides, padding, output_padding)
    result = conv2d_transpose(
        image, kernel, strides=strides, padding=padding, output_padding=output_padding
    )
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected)
    for axis in (0, 1):
        assert expected.shape[axis] == transpose_output_size(
            shape[axis],
            kernel_shape[axis],
            strides=strides[axis],
            padding=padding,
            output_padding=None if output_padding is None else output_padding[axis],
        )
    breakdown = transposed_breakdown(
        image, kernel, strides=strides, padding=padding, output_padding=output_padding
    )
    np.testing.assert_allclose(breakdown.output, expected)
    assert tuple(r.result for r in breakdown.relationships) == expected.shape


@pytest.mark.parametrize(
    ("shape", "kernel_shape", "strides", "output_padding"),
    [((4, 5), (4, 2), (1, 1), (0, 0)), ((1, 3), (2, 4), (3, 1), (2, 0))],
)
def test_same_with_output_padding_that_keras_refuses_is_refused(
    shape, kernel_shape, strides, output_padding
):
    image = np.ones(shape)
    kernel = np.ones(kernel_shape)
    with pytest.raises(Exception):  # noqa: B017 (TensorFlow raises its own error types)
        keras_transpose(image, kernel, strides, "same", output_padding)
    with pytest.raises(ValueError, match="not the transpose of any convolution"):
        transposed_breakdown(
            image, kernel, strides=strides, padding="same", output_padding=output_padding
        )


def test_conv2d_transpose_matches_tf_nn_conv2d_transpose():
    image = RNG.integers(-5, 6, (3, 4)).astype(float)
    kernel = RNG.integers(-3, 4, (3, 3)).astype(float)
    for padding, output_shape in (("VALID", (7, 9)), ("SAME", (6, 8)), ("VALID", (8, 10))):
        expected = tf.nn.conv2d_transpose(
            nhwc(image),
            hwio(kernel),
            output_shape=(1, *output_shape, 1),
            strides=2,
            padding=padding,
        ).numpy()[0, :, :, 0]
        output_padding = None if output_shape != (8, 10) else 1
        result = conv2d_transpose(
            image, kernel, strides=2, padding=padding.lower(), output_padding=output_padding
        )
        np.testing.assert_allclose(result, expected)


@pytest.mark.parametrize(
    ("shape", "pool_size", "strides", "padding"),
    [
        ((4, 4), 2, 2, "valid"),
        ((4, 4), 2, 1, "valid"),
        ((5, 7), 2, 2, "same"),
        ((5, 7), 3, 2, "same"),
        ((6, 5), (3, 2), (2, 1), "same"),
        ((6, 5), 3, 3, "valid"),
    ],
)
@pytest.mark.parametrize("method", ["max", "average"])
def test_pool2d_and_gradient_match_tf(shape, pool_size, strides, padding, method):
    image = RNG.permutation(np.prod(shape)).reshape(shape).astype(float)  # no ties
    x = tf.Variable(nhwc(image))
    pool = tf.nn.max_pool2d if method == "max" else tf.nn.avg_pool2d
    with tf.GradientTape() as tape:
        pooled = pool(x, ksize=pool_size, strides=strides, padding=padding.upper())
        upstream = np.arange(1.0, pooled.shape[1] * pooled.shape[2] + 1).reshape(pooled.shape)
        loss = tf.reduce_sum(pooled * upstream)
    expected_gradient = tape.gradient(loss, x).numpy()[0, :, :, 0]
    expected = pooled.numpy()[0, :, :, 0]
    result = pool2d(image, pool_size=pool_size, strides=strides, padding=padding, method=method)
    np.testing.assert_allclose(result, expected)
    gradient = pool2d_gradient(
        image,
        upstream[0, :, :, 0],
        pool_size=pool_size,
        strides=strides,
        padding=padding,
        method=method,
    )
    np.testing.assert_allclose(gradient, expected_gradient)
    assert conv_geometry(shape, pool_size, strides=strides, padding=padding).output_shape == (
        expected.shape
    )
