"""core.ops.transposed: Keras' Conv2DTranspose sizes, the adjoint of conv2d, the matrix C."""

from __future__ import annotations

import numpy as np
import pytest

from core.ops.convolution import conv2d
from core.ops.output_size import (
    output_size,
)
from core.ops.transposed import (
    conv2d_transpose,
    convolution_matrix,
    stretch_input,
    transpose_output_size,
)


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


def test_stretch_input_inserts_stride_minus_one_zeros():
    np.testing.assert_array_equal(
        stretch_input([[1, 2], [3, 4]], (2, 3)),
        [[1, 0, 0, 2], [0, 0, 0, 0], [3, 0, 0, 4]],
    )
    np.testing.assert_array_equal(stretch_input([[5]], 4), [[5]])


def test_transpose_output_size_with_dilation_uses_the_dilated_kernel():
    # k̂ = 3 + 2·1 = 5: i·s + max(k̂ − s, 0) = 3·2 + 3
    assert transpose_output_size(3, 3, strides=2, dilation_rate=2) == 9
    assert transpose_output_size(3, 3, strides=2, output_padding=1, dilation_rate=2) == 10


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(strides=0), ValueError, r"^`strides` must be >= 1\. Received: strides=0\.$"),
        (dict(padding="full"), ValueError, r"^`padding` must be one of 'valid', 'same'\."),
        (dict(output_padding=-1), ValueError, r"`output_padding` must be >= 0"),
        (
            dict(output_padding=2),
            ValueError,
            r"smaller than `strides` \(2\)\. Received: output_padding=2\.$",
        ),
        (dict(output_padding=1.0), TypeError, r"`output_padding` must be an int"),
        (dict(padding=0), TypeError, r"`padding` must be one of"),
    ],
)
def test_transpose_output_size_errors(kwargs, error, message):
    arguments = dict(strides=2) | kwargs
    with pytest.raises(error, match=message):
        transpose_output_size(4, 3, **arguments)


def test_conv2d_transpose_of_an_impulse_is_the_kernel():
    kernel = np.arange(1.0, 7.0).reshape(2, 3)
    np.testing.assert_array_equal(conv2d_transpose([[1.0]], kernel), kernel)


def test_convolution_matrix_refuses_inputs_over_400_cells():
    with pytest.raises(
        ValueError, match=r"at most 400 cells\)\. Received: input_shape=\(21, 20\)\.$"
    ):
        convolution_matrix((21, 20), np.ones((3, 3)))
