"""core.ops.arithmetic_forms: transposed convolution step by step, convolution as a matrix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from core.ops.arithmetic_forms import matrix_form, transposed_breakdown
from core.ops.convolution import conv2d
from core.ops.transposed import (
    conv2d_transpose,
)


def scatter_transpose(image, kernel, strides):
    """Each input value stamps value × kernel at stride steps (the 'full' result)."""
    kh, kw = kernel.shape
    out = np.zeros(((image.shape[0] - 1) * strides[0] + kh, (image.shape[1] - 1) * strides[1] + kw))
    for r in range(image.shape[0]):
        for c in range(image.shape[1]):
            out[r * strides[0] : r * strides[0] + kh, c * strides[1] : c * strides[1] + kw] += (
                image[r, c] * kernel
            )
    return out


def test_breakdown_steps_for_paper_figure_4_5():
    image = np.array([[1.0, 2.0], [3.0, 4.0]])
    kernel = np.arange(9.0).reshape(3, 3)
    breakdown = transposed_breakdown(image, kernel, strides=2)
    assert breakdown.stretched.tolist() == [[1, 0, 2], [0, 0, 0], [3, 0, 4]]
    assert breakdown.pads == ((2, 2), (2, 2))  # k - p - 1 = 3 - 0 - 1
    np.testing.assert_array_equal(breakdown.flipped_kernel, kernel[::-1, ::-1])
    np.testing.assert_array_equal(breakdown.output, scatter_transpose(image, kernel, (2, 2)))
    np.testing.assert_array_equal(breakdown.output, breakdown.reference)
    assert breakdown.inserted_zeros.sum() == 7 * 7 - 4


@given(
    rows=st.integers(1, 4),
    cols=st.integers(1, 4),
    kernel_rows=st.integers(1, 4),
    kernel_cols=st.integers(1, 4),
    strides=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.sampled_from(["valid", "same"]),
    use_output_padding=st.booleans(),
    seed=st.integers(0, 1000),
)
@settings(max_examples=150, deadline=None)
def test_breakdown_equals_conv2d_transpose(
    rows, cols, kernel_rows, kernel_cols, strides, padding, use_output_padding, seed
):
    rng = np.random.default_rng(seed)
    image = rng.integers(-4, 5, (rows, cols)).astype(float)
    kernel = rng.integers(-3, 4, (kernel_rows, kernel_cols)).astype(float)
    output_padding = (strides[0] - 1, strides[1] - 1) if use_output_padding else None
    try:
        breakdown = transposed_breakdown(
            image, kernel, strides=strides, padding=padding, output_padding=output_padding
        )
    except ValueError:
        return  # empty output: conv2d_transpose refuses it too
    np.testing.assert_allclose(breakdown.output, breakdown.reference)
    for axis in (0, 1):
        assert breakdown.relationships[axis].result == breakdown.reference.shape[axis]
        assert breakdown.keras_rules[axis][2] == breakdown.reference.shape[axis]


def test_matrix_columns_are_impulse_responses_from_scipy():
    kernel = np.array([[1.0, 2.0], [3.0, 4.0]])
    form = matrix_form(np.zeros((3, 3)), kernel)
    for index in range(9):
        impulse = np.zeros(9)
        impulse[index] = 1
        expected = signal.correlate2d(impulse.reshape(3, 3), kernel, mode="valid").ravel()
        np.testing.assert_array_equal(form.matrix[:, index], expected)


@pytest.mark.parametrize(
    ("strides", "padding", "dilation"),
    [(1, "valid", 1), (2, "valid", 1), (2, "same", 1), (1, "full", 1), ((1, 2), 1, 1), (1, 0, 2)],
)
def test_transposed_is_c_transpose_and_matches_direct_and_keras(strides, padding, dilation):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 9, (5, 6)).astype(float)
    kernel = rng.integers(-2, 3, (3, 2)).astype(float)
    form = matrix_form(image, kernel, strides=strides, padding=padding, dilation_rate=dilation)
    np.testing.assert_array_equal(
        form.output, conv2d(image, kernel, strides=strides, padding=padding, dilation_rate=dilation)
    )
    # adjoint identity <conv(probe), y> == <probe, Cᵀ y>, with conv2d as the only reference
    probe = rng.normal(size=image.shape)
    probe_out = conv2d(probe, kernel, strides=strides, padding=padding, dilation_rate=dilation)
    assert np.isclose((probe_out * form.output).sum(), (probe * form.transposed).sum())
    np.testing.assert_allclose(form.direct_transposed, form.transposed)
    if form.keras_padding is not None:
        keras_like = conv2d_transpose(
            form.output,
            kernel,
            strides=strides,
            padding=form.keras_padding,
            output_padding=form.keras_output_padding,
        )
        np.testing.assert_allclose(keras_like, form.transposed)


def test_matrix_refuses_large_inputs():
    with pytest.raises(ValueError, match="at most 36 cells"):
        matrix_form(np.zeros((7, 6)), np.ones((3, 3)))


def test_breakdown_geometry_is_a_unit_stride_valid_convolution_of_the_padded_input():
    breakdown = transposed_breakdown(np.ones((2, 3)), np.ones((2, 2)), strides=2, padding="same")
    geometry = breakdown.geometry()
    assert geometry.strides == (1, 1) and geometry.pads == ((0, 0), (0, 0))
    assert geometry.output_shape == breakdown.output.shape == (4, 6)
    assert breakdown.forward_pads == ((0, 0), (0, 0))


def test_breakdown_refuses_what_keras_refuses():
    with pytest.raises(ValueError, match="not the transpose of any convolution"):
        transposed_breakdown(np.ones((4, 5)), np.ones((4, 2)), padding="same", output_padding=0)


def test_matrix_form_names_the_keras_transpose_that_undoes_the_shape():
    image = np.arange(25.0).reshape(5, 5)
    valid = matrix_form(image, np.ones((3, 3)), strides=2)
    assert (valid.keras_padding, valid.keras_output_padding) == ("valid", (0, 0))
    same = matrix_form(image, np.ones((3, 3)), padding=1)
    assert (same.keras_padding, same.keras_output_padding) == ("same", (0, 0))
    dilated = matrix_form(image, np.ones((2, 2)), dilation_rate=2)
    assert (dilated.keras_padding, dilated.keras_output_padding) == (None, None)


def test_matrix_form_with_a_flipped_kernel_is_true_convolution():
    image = np.arange(16.0).reshape(4, 4)
    kernel = np.array([[1.0, 2.0], [3.0, 5.0]])
    form = matrix_form(image, kernel, flip_kernel=True)
    np.testing.assert_array_equal(form.output, signal.convolve2d(image, kernel, mode="valid"))
