"""core.ops.conv_backward: every gradient checked against tf.GradientTape on tf.nn.conv2d.

TensorFlow runs in this test process only (the server never imports it). Each random case
draws an input, a kernel, a bias and an output gradient (or an MSE target), computes the
layer in TensorFlow under a GradientTape and compares ∂L/∂W, ∂L/∂b and ∂L/∂X to 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.imaging.seed_examples import CONV_EXAMPLES
from core.ops.conv_backward import (
    ConvGradients,
    conv2d_backward,
    conv2d_backward_steps,
    conv2d_forward,
    descent_step,
    keras_transpose_arguments,
    linear_loss,
    mse_loss_and_gradient,
    sgd_step,
)
from core.ops.convolution import conv2d
from core.ops.output_size import conv_padding, effective_kernel_size

tf = pytest.importorskip("tensorflow")

TOLERANCE = dict(rtol=1e-5, atol=1e-5)
CASES_PER_SETTING = 25  # 2 paddings × 3 strides × 2 dilations × 25 = 300 random cases
MIXED_CASES = 80  # non-square strides and dilations, explicit padding
MSE_CASES = 40
TRANSPOSE_CASES = 60


def pair(value) -> tuple[int, int]:
    return tuple(int(v) for v in np.broadcast_to(value, 2))


def dilation_matrix(size: int, rate: int):
    """(k̂ × k) matrix with a 1 at (i·rate, i): multiplying by it spreads k taps apart."""
    matrix = np.zeros((effective_kernel_size(size, rate), size))
    matrix[np.arange(size) * rate, np.arange(size)] = 1.0
    return tf.constant(matrix)


def tf_layer(inputs, kernel, bias, *, strides, padding, dilation_rate, loss):
    """TensorFlow's output, loss and (∂L/∂W, ∂L/∂b, ∂L/∂X) for one single-channel layer.

    ``loss`` maps the output (H', W') tensor to a scalar; ``padding`` is "valid", "same"
    or ((top, bottom), (left, right)).
    """
    x = tf.Variable(np.asarray(inputs, np.float64)[None, :, :, None])
    w = tf.Variable(np.asarray(kernel, np.float64))
    b = tf.Variable(np.float64(bias))
    if isinstance(padding, str):
        tf_padding = padding.upper()
    else:
        tf_padding = [[0, 0], list(padding[0]), list(padding[1]), [0, 0]]
    rates = pair(dilation_rate)
    spread = [dilation_matrix(int(w.shape[axis]), rates[axis]) for axis in (0, 1)]
    with tf.GradientTape() as tape:
        # TensorFlow's CPU kernels have no gradient for dilations > 1, so the tape sees the
        # dilation as two matrix products that insert the zeros: Aᵣ W A꜀ᵀ.
        dilated = tf.matmul(tf.matmul(spread[0], w), spread[1], transpose_b=True)
        y = tf.nn.conv2d(x, dilated[:, :, None, None], strides=strides, padding=tf_padding) + b
        value = loss(y[0, :, :, 0])
    direct = tf.nn.conv2d(
        x, w[:, :, None, None], strides=strides, padding=tf_padding, dilations=dilation_rate
    )
    np.testing.assert_allclose(direct.numpy(), y.numpy() - bias, **TOLERANCE)  # the same layer
    grad_x, grad_w, grad_b = tape.gradient(value, [x, w, b])
    return (
        y.numpy()[0, :, :, 0],
        float(value.numpy()),
        (grad_w.numpy(), float(grad_b.numpy()), grad_x.numpy()[0, :, :, 0]),
    )


def random_case(rng, *, strides, padding, dilation_rate):
    """An input, kernel, bias and the numbers that fit them (sizes drawn so the kernel fits)."""
    strides = np.broadcast_to(strides, 2)
    dilation = np.broadcast_to(dilation_rate, 2)
    kernel_shape = tuple(int(rng.integers(1, 5)) for _ in range(2))
    shape = []
    for axis in (0, 1):
        k_eff = effective_kernel_size(kernel_shape[axis], int(dilation[axis]))
        smallest = 1 if padding == "same" else k_eff
        if not isinstance(padding, str):
            smallest = max(1, k_eff - sum(padding[axis]))
        shape.append(int(rng.integers(smallest, max(smallest, 9) + 1)))
    inputs = rng.normal(size=shape)
    kernel = rng.normal(size=kernel_shape)
    return inputs, kernel, float(rng.normal())


def check_against_tensorflow(inputs, kernel, bias, *, strides, padding, dilation_rate, seed):
    options = dict(strides=strides, padding=padding, dilation_rate=dilation_rate)
    output = conv2d_forward(inputs, kernel, bias, **options)
    gradient = np.random.default_rng(seed).normal(size=output.shape)
    tf_output, tf_loss, (tf_w, tf_b, tf_x) = tf_layer(
        inputs, kernel, bias, **options, loss=lambda y: tf.reduce_sum(y * gradient)
    )
    np.testing.assert_allclose(output, tf_output, **TOLERANCE)
    assert linear_loss(output, gradient) == pytest.approx(tf_loss, rel=1e-5, abs=1e-5)
    grads = conv2d_backward(inputs, kernel, gradient, **options)
    np.testing.assert_allclose(grads.kernel_gradient, tf_w, **TOLERANCE)
    assert grads.bias_gradient == pytest.approx(tf_b, rel=1e-5, abs=1e-5)
    np.testing.assert_allclose(grads.input_gradient, tf_x, **TOLERANCE)
    return grads


@pytest.mark.parametrize("dilation_rate", [1, 2])
@pytest.mark.parametrize("strides", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_gradients_equal_tensorflow_gradient_tape(padding, strides, dilation_rate):
    rng = np.random.default_rng(100 * strides + 10 * dilation_rate + (padding == "same"))
    for case in range(CASES_PER_SETTING):
        inputs, kernel, bias = random_case(
            rng, strides=strides, padding=padding, dilation_rate=dilation_rate
        )
        check_against_tensorflow(
            inputs,
            kernel,
            bias,
            strides=strides,
            padding=padding,
            dilation_rate=dilation_rate,
            seed=case,
        )


def test_mixed_strides_dilations_and_explicit_padding_equal_tensorflow():
    rng = np.random.default_rng(7)
    for case in range(MIXED_CASES):
        strides = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        dilation_rate = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        padding = ["valid", "same"][case % 2]
        if case % 4 == 3:
            padding = tuple(tuple(int(p) for p in rng.integers(0, 3, 2)) for _ in range(2))
        inputs, kernel, bias = random_case(
            rng, strides=strides, padding=padding, dilation_rate=dilation_rate
        )
        check_against_tensorflow(
            inputs,
            kernel,
            bias,
            strides=strides,
            padding=padding,
            dilation_rate=dilation_rate,
            seed=case,
        )


def test_mse_loss_and_its_gradient_equal_tensorflow():
    rng = np.random.default_rng(11)
    for case in range(MSE_CASES):
        options = dict(
            strides=int(rng.integers(1, 4)),
            padding=["valid", "same"][case % 2],
            dilation_rate=int(rng.integers(1, 3)),
        )
        inputs, kernel, bias = random_case(rng, **options)
        output = conv2d_forward(inputs, kernel, bias, **options)
        target = rng.normal(size=output.shape)
        _, tf_loss, (tf_w, tf_b, tf_x) = tf_layer(
            inputs,
            kernel,
            bias,
            **options,
            loss=lambda y, target=target: tf.reduce_mean(tf.square(y - target)),
        )
        loss, gradient = mse_loss_and_gradient(output, target)
        assert loss == pytest.approx(tf_loss, rel=1e-6)
        step = descent_step(inputs, kernel, bias, learning_rate=0.01, target=target, **options)
        assert step.loss_before == pytest.approx(tf_loss, rel=1e-6)
        np.testing.assert_allclose(step.output_gradient, gradient)
        np.testing.assert_allclose(step.gradients.kernel_gradient, tf_w, **TOLERANCE)
        assert step.gradients.bias_gradient == pytest.approx(tf_b, rel=1e-5, abs=1e-5)
        np.testing.assert_allclose(step.gradients.input_gradient, tf_x, **TOLERANCE)


def test_input_gradient_is_a_transposed_convolution_of_the_output_gradient():
    """∂L/∂X = conv2d_transpose(∂L/∂Y, W): core's, Keras' arguments, and TensorFlow's op."""
    rng = np.random.default_rng(5)
    checked_with_keras_arguments = 0
    for case in range(TRANSPOSE_CASES):
        strides = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        padding = ["valid", "same"][case % 2]
        inputs, kernel, _ = random_case(rng, strides=strides, padding=padding, dilation_rate=1)
        output = conv2d_forward(inputs, kernel, strides=strides, padding=padding)
        gradient = rng.normal(size=output.shape)
        steps = conv2d_backward_steps(inputs, kernel, gradient, strides=strides, padding=padding)
        tf_transpose = tf.nn.conv2d_transpose(
            gradient[None, :, :, None],
            kernel[:, :, None, None],
            output_shape=(1, *inputs.shape, 1),
            strides=strides,
            padding=padding.upper(),
        ).numpy()[0, :, :, 0]
        np.testing.assert_allclose(steps.gradients.input_gradient, tf_transpose, **TOLERANCE)
        if steps.keras_transpose is not None:
            np.testing.assert_allclose(steps.keras_transpose, steps.gradients.input_gradient)
            checked_with_keras_arguments += 1
    assert checked_with_keras_arguments > TRANSPOSE_CASES // 2


def test_the_slides_example_2_gradients_by_hand():
    example = CONV_EXAMPLES["ex2"]
    gradient = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    grads = conv2d_backward(example.image, example.kernel, gradient)
    # A gradient of 1 on output (0, 0) only: ∂L/∂W is that output's window, ∂L/∂X the kernel.
    np.testing.assert_array_equal(grads.kernel_gradient, example.image[:3, :3])
    expected_input = np.zeros((5, 5))
    expected_input[:3, :3] = example.kernel
    np.testing.assert_array_equal(grads.input_gradient, expected_input)
    assert grads.bias_gradient == 1.0


def test_weight_gradient_is_the_input_correlated_with_the_output_gradient():
    rng = np.random.default_rng(3)
    inputs, kernel = rng.normal(size=(6, 7)), rng.normal(size=(3, 2))
    gradient = rng.normal(size=(4, 6))
    grads = conv2d_backward(inputs, kernel, gradient)
    np.testing.assert_allclose(grads.kernel_gradient, conv2d(inputs, gradient))


def test_steps_add_up_to_the_gradients():
    rng = np.random.default_rng(4)
    inputs, kernel = rng.normal(size=(7, 6)), rng.normal(size=(3, 2))
    options = dict(strides=(2, 3), padding="same", dilation_rate=(2, 1))
    output = conv2d_forward(inputs, kernel, **options)
    gradient = rng.normal(size=output.shape)
    steps = conv2d_backward_steps(inputs, kernel, gradient, **options)
    expected = conv2d_backward(inputs, kernel, gradient, **options)
    np.testing.assert_allclose(steps.gradients.kernel_gradient, expected.kernel_gradient)
    np.testing.assert_allclose(steps.gradients.input_gradient, expected.input_gradient)
    for row in range(2):
        for col in range(2):
            assert steps.weight_products(row, col).sum() == pytest.approx(
                expected.kernel_gradient[row, col]
            )
    np.testing.assert_allclose(
        steps.dilated_kernel_gradient[::2, ::1], steps.gradients.kernel_gradient
    )
    assert steps.dilated_kernel_gradient.shape == (5, 2)
    last = steps.geometry.num_steps - 1
    np.testing.assert_allclose(steps.input_gradient_after(last), steps.padded_input_gradient)
    # the transposed construction: stuffed, padded by k̂ − 1, correlated with the flipped kernel
    np.testing.assert_allclose(
        conv2d(steps.transposed_input, steps.flipped_kernel), steps.padded_input_gradient
    )


def test_weight_taps_follow_stride_and_dilation():
    steps = conv2d_backward_steps(np.zeros((7, 7)), np.ones((3, 3)), np.ones((3, 3)), strides=2)
    rows, cols = steps.weight_taps(1, 2)
    assert rows.tolist() == [1, 3, 5] and cols.tolist() == [2, 4, 6]
    steps = conv2d_backward_steps(
        np.zeros((7, 7)), np.ones((3, 3)), np.ones((3, 3)), dilation_rate=2
    )
    rows, cols = steps.weight_taps(1, 2)
    assert rows.tolist() == [2, 3, 4] and cols.tolist() == [4, 5, 6]


def test_stride_2_stuffs_zeros_between_the_output_gradients():
    gradient = np.array([[1.0, 2.0], [3.0, 4.0]])
    steps = conv2d_backward_steps(np.zeros((5, 5)), np.ones((3, 3)), gradient, strides=2)
    np.testing.assert_array_equal(steps.stuffed_gradient, [[1, 0, 2], [0, 0, 0], [3, 0, 4]])
    assert steps.transposed_input.shape == (7, 7)  # 3 + 2·(3 − 1)
    zeros = steps.inserted_zeros()
    assert zeros.sum() == 5 and not zeros[2, 2] and zeros[2, 3]
    assert steps.transposed_padding().sum() == 49 - 9
    assert (steps.transposed_input[zeros | steps.transposed_padding()] == 0).all()


def test_unreached_rows_get_zero_gradient():
    # 6 rows, kernel 3, stride 2: windows at rows 0–2 and 2–4; row 5 is never reached.
    steps = conv2d_backward_steps(np.ones((6, 6)), np.ones((3, 3)), np.ones((2, 2)), strides=2)
    assert (steps.gradients.input_gradient[5] == 0).all()
    assert steps.transposed_input.shape == (6 + 2, 6 + 2)
    assert steps.keras_transpose is not None  # output_padding 1 restores the sixth row


def test_keras_transpose_arguments():
    from core.ops.arithmetic import conv_geometry

    assert keras_transpose_arguments(conv_geometry((6, 6), (3, 3), strides=2)) == {
        "padding": "valid",
        "output_padding": (1, 1),
    }
    assert keras_transpose_arguments(conv_geometry((5, 5), (3, 3), padding="same")) == {
        "padding": "same",
        "output_padding": (0, 0),
    }
    assert keras_transpose_arguments(conv_geometry((5, 5), (3, 3), padding=2)) is None
    assert conv_padding((5, 5), (3, 3), padding=1) == ((1, 1), (1, 1))
    # explicit padding 1 around a 3×3 kernel is "same"
    assert keras_transpose_arguments(conv_geometry((5, 5), (3, 3), padding=1)) is not None


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 8),
    cols=st.integers(1, 8),
    kernel_rows=st.integers(1, 4),
    kernel_cols=st.integers(1, 4),
    strides=st.integers(1, 3),
    dilation=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_shapes_and_the_adjoint_identity(
    rows, cols, kernel_rows, kernel_cols, strides, dilation, seed
):
    """For a linear loss L = Σ G ⊙ (X ⋆ W): <X, ∂L/∂X> = <W, ∂L/∂W> = L (bias 0)."""
    rng = np.random.default_rng(seed)
    inputs, kernel = rng.normal(size=(rows, cols)), rng.normal(size=(kernel_rows, kernel_cols))
    options = dict(strides=strides, padding="same", dilation_rate=dilation)
    output = conv2d_forward(inputs, kernel, **options)
    gradient = rng.normal(size=output.shape)
    grads = conv2d_backward(inputs, kernel, gradient, **options)
    assert grads.kernel_gradient.shape == kernel.shape
    assert grads.input_gradient.shape == inputs.shape
    loss = linear_loss(output, gradient)
    assert np.sum(inputs * grads.input_gradient) == pytest.approx(loss, rel=1e-9, abs=1e-9)
    assert np.sum(kernel * grads.kernel_gradient) == pytest.approx(loss, rel=1e-9, abs=1e-9)


def test_a_small_sgd_step_lowers_the_mse_loss():
    rng = np.random.default_rng(21)
    for case in range(30):
        options = dict(strides=1 + case % 3, padding=["valid", "same"][case % 2])
        inputs, kernel, bias = random_case(rng, dilation_rate=1, **options)
        output = conv2d_forward(inputs, kernel, bias, **options)
        target = rng.normal(size=output.shape)
        step = descent_step(inputs, kernel, bias, learning_rate=1e-3, target=target, **options)
        assert step.loss_after < step.loss_before
        np.testing.assert_allclose(
            step.kernel_after, kernel - 1e-3 * step.gradients.kernel_gradient
        )


def test_with_a_typed_gradient_the_linear_loss_falls_by_eta_times_the_squared_norms():
    rng = np.random.default_rng(8)
    inputs, kernel = rng.normal(size=(5, 5)), rng.normal(size=(3, 3))
    gradient = rng.normal(size=(3, 3))
    step = descent_step(inputs, kernel, 0.5, learning_rate=0.1, output_gradient=gradient)
    grads = step.gradients
    drop = 0.1 * (np.sum(grads.kernel_gradient**2) + grads.bias_gradient**2)
    assert step.loss_name == "linear"
    assert step.loss_before - step.loss_after == pytest.approx(drop)


def test_a_large_learning_rate_can_overshoot():
    inputs = np.arange(25.0).reshape(5, 5)
    target = np.zeros((3, 3))
    step = descent_step(inputs, np.ones((3, 3)), 0.0, learning_rate=1.0, target=target)
    assert step.loss_after > step.loss_before


def test_sgd_step_moves_against_the_gradient():
    grads = ConvGradients(np.array([[1.0, -2.0]]), 0.5, np.zeros((1, 2)))
    kernel, bias = sgd_step(np.array([[0.0, 0.0]]), 1.0, grads, 0.1)
    np.testing.assert_allclose(kernel, [[-0.1, 0.2]])
    assert bias == pytest.approx(0.95)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: conv2d_backward("abc", np.ones((2, 2)), np.ones((1, 1))), TypeError, "inputs"),
        (
            lambda: conv2d_backward(np.ones((3, 3)), np.ones((2, 2)), np.ones((2, 2)), strides=0),
            ValueError,
            "Received: strides=0.",
        ),
        (
            lambda: conv2d_backward(np.ones((3, 3)), np.ones((2, 2)), np.ones((2, 2)), strides=1.5),
            TypeError,
            "Received: strides=1.5.",
        ),
        (
            lambda: conv2d_backward(
                np.ones((3, 3)), np.ones((2, 2)), np.ones((2, 2)), padding="half"
            ),
            ValueError,
            "Received: padding='half'.",
        ),
        (
            lambda: conv2d_backward(
                np.ones((3, 3)), np.ones((2, 2)), np.ones((2, 2)), dilation_rate=(1, 0)
            ),
            ValueError,
            "Received: dilation_rate=(1, 0).",
        ),
        (
            lambda: conv2d_backward(np.ones((3, 3)), np.ones((2, 2)), np.ones((3, 3))),
            ValueError,
            "must have the output's shape (2, 2). Received: output_gradient=",
        ),
        (
            lambda: conv2d_backward(np.ones((2, 2)), np.ones((3, 3)), np.ones((1, 1))),
            ValueError,
            "kernel is larger than the padded input",
        ),
        (
            lambda: conv2d_backward(np.ones((3, 3)), [[np.nan]], np.ones((3, 3))),
            ValueError,
            "Received: kernel=",
        ),
        (lambda: mse_loss_and_gradient(np.ones((2, 2)), np.ones((2, 3))), ValueError, "target"),
        (
            lambda: sgd_step(np.ones((1, 1)), 0.0, ConvGradients(np.ones((1, 1)), 1.0, None), 0),
            ValueError,
            "Received: learning_rate=0.",
        ),
        (lambda: sgd_step(np.ones((1, 1)), 0.0, {"w": 1}, 0.1), TypeError, "gradients"),
        (
            lambda: descent_step(np.ones((3, 3)), np.ones((2, 2)), 0.0, learning_rate=0.1),
            ValueError,
            "exactly one of `target` and `output_gradient`",
        ),
        (
            lambda: conv2d_forward(np.ones((3, 3)), np.ones((2, 2)), "1"),
            TypeError,
            "Received: bias='1'.",
        ),
    ],
)
def test_bad_arguments_raise_keras_style_errors(call, error, message):
    with pytest.raises(error) as raised:
        call()
    assert message in str(raised.value)
