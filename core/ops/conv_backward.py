"""Backpropagation through a 2-D convolution layer, in numpy, with every step exposed.

A convolution layer computes ``Y = X ⋆ W + b`` (cross-correlation, as CNN layers do). Given
the gradient of a loss with respect to its output, ``G = ∂L/∂Y``, the chain rule gives:

- ``∂L/∂W``: each weight multiplied one input cell per output, so its gradient adds up those
  input cells times the output gradients: the cross-correlation of the (padded) input with
  ``G``, whose taps are ``strides`` cells apart (``G`` with s − 1 zeros stuffed in between);
- ``∂L/∂b``: the bias was added to every output, so its gradient is the sum of ``G``;
- ``∂L/∂X``: each output sends ``G[i, j] × W`` back through the window it came from; the sum
  of these stamps is a full convolution of the zero-stuffed ``G`` with the kernel rotated by
  180°, which is exactly a transposed convolution (why the layer exists at all).

``conv2d_backward`` returns the three gradients; ``conv2d_backward_steps`` returns what a
lesson shows on the way (the padded input, the zero-stuffed gradient, each weight's input
cells, each output's stamp). ``mse_loss_and_gradient``, ``linear_loss`` and ``sgd_step``
close the loop with one step of gradient descent. Single-channel, zero padding, as the
Convolution Arithmetic page; the tests check every number against ``tf.GradientTape``.

>>> grads = conv2d_backward([[1, 2, 0], [0, 1, 3]], [[1, -1]], [[1, 0], [0, 2]])
>>> grads.kernel_gradient.tolist(), grads.bias_gradient, grads.input_gradient.tolist()
([[3.0, 8.0]], 3.0, [[1.0, -1.0, 0.0], [0.0, 2.0, -2.0]])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.base.checks import as_choice, as_pair, as_real_array, check_real, received
from core.ops.arithmetic import ConvGeometry, conv_geometry
from core.ops.convolution import conv2d, dilate_kernel
from core.ops.output_size import PADDING_NAMES, PADDINGS, conv_padding, normalize_explicit_padding
from core.ops.transposed import conv2d_transpose, stretch_input


@dataclass(frozen=True)
class ConvGradients:
    """The gradients of a loss with respect to a convolution layer's kernel, bias and input.

    ``kernel_gradient`` has the kernel's shape, ``input_gradient`` the input's; the bias
    gradient is one number (one filter, one bias).
    """

    kernel_gradient: np.ndarray
    bias_gradient: float
    input_gradient: np.ndarray


def _checked(inputs, kernel, output_gradient, strides, padding, dilation_rate):
    """Normalise and check the arguments once; return them with the window geometry."""
    inputs = as_real_array(inputs, "inputs", ndims=(2,)).astype(np.float64)
    kernel = as_real_array(kernel, "kernel", ndims=(2,)).astype(np.float64)
    strides = as_pair(strides, "strides")
    dilation_rate = as_pair(dilation_rate, "dilation_rate")
    if isinstance(padding, str):
        padding = as_choice(padding, "padding", PADDING_NAMES)
    else:
        padding = normalize_explicit_padding(padding)
    geometry = conv_geometry(
        inputs.shape, kernel.shape, strides=strides, padding=padding, dilation_rate=dilation_rate
    )
    gradient = None
    if output_gradient is not None:
        gradient = as_real_array(output_gradient, "output_gradient", ndims=(2,))
        if gradient.shape != geometry.output_shape:
            raise ValueError(
                f"`output_gradient` must have the output's shape {geometry.output_shape}. "
                f"{received('output_gradient', gradient)}"
            )
        gradient = gradient.astype(np.float64)
    return inputs, kernel, gradient, geometry


def _kernel_gradient(padded: np.ndarray, gradient: np.ndarray, geometry: ConvGeometry):
    """``padded ⋆ G`` with G's taps ``strides`` apart, moving ``dilation_rate`` per weight.

    The roles swap: the layer's stride spaces the gradient's taps (conv2d's dilation), and
    the layer's dilation is how far apart the input cells of neighbouring weights lie
    (conv2d's stride). Rows that no window reached make the result longer: cut it.
    """
    full = conv2d(padded, gradient, dilation_rate=geometry.strides, strides=geometry.dilation_rate)
    return full[: geometry.kernel_size[0], : geometry.kernel_size[1]]


def _padded_input_gradient(kernel: np.ndarray, gradient: np.ndarray, geometry: ConvGeometry):
    """∂L/∂(padded input): the zero-stuffed G, fully convolved with the dilated kernel.

    Trailing rows and columns that no window reached get a zero gradient.
    """
    stuffed = stretch_input(gradient, geometry.strides)
    dilated = dilate_kernel(kernel, geometry.dilation_rate)
    full = conv2d(stuffed, dilated, padding="full", flip_kernel=True)
    result = np.zeros(geometry.padded_shape)
    result[: full.shape[0], : full.shape[1]] = full
    return result


def conv2d_backward(
    inputs, kernel, output_gradient, *, strides=1, padding="valid", dilation_rate=1
) -> ConvGradients:
    """The gradients of a convolution layer ``Y = inputs ⋆ kernel + b`` from ``G = ∂L/∂Y``.

    Args:
        inputs: (H, W) input of the layer (one channel).
        kernel: (kh, kw) weights, used as in CNN layers (no flip).
        output_gradient: ∂L/∂Y, with the output's shape.
        strides, dilation_rate: int or (rows, cols), each >= 1 (Keras' names).
        padding: "valid", "same" (TensorFlow's rule), "full", an int, (pad_rows, pad_cols)
            or ((top, bottom), (left, right)); padding cells are zeros.

    Returns:
        ``ConvGradients``: ∂L/∂W (kh, kw), ∂L/∂b (a float) and ∂L/∂X (H, W), float64.

    Raises:
        TypeError: an argument of the wrong type (e.g. strings in a matrix).
        ValueError: not 2-D, NaN/inf values, a stride or dilation below 1, an unknown
            padding, a kernel larger than the padded input, or ``output_gradient`` not of
            the output's shape.

    >>> g = conv2d_backward(np.arange(9).reshape(3, 3), np.ones((2, 2)), np.ones((2, 2)))
    >>> g.kernel_gradient.tolist(), g.bias_gradient
    ([[8.0, 12.0], [20.0, 24.0]], 4.0)
    >>> g.input_gradient.tolist()
    [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    inputs, kernel, gradient, geometry = _checked(
        inputs, kernel, output_gradient, strides, padding, dilation_rate
    )
    padded = np.pad(inputs, geometry.pads)
    return ConvGradients(
        kernel_gradient=_kernel_gradient(padded, gradient, geometry),
        bias_gradient=float(gradient.sum()),
        input_gradient=_padded_input_gradient(kernel, gradient, geometry)[geometry.input_slice()],
    )


@dataclass(frozen=True)
class BackwardSteps:
    """Everything a step-by-step lesson of the backward pass shows, computed once.

    Coordinates on the *padded* grid (row 0 is the first padding row), as
    ``core.ops.arithmetic.ConvGeometry`` gives them.

    Fields:
        inputs, kernel, output_gradient: the arguments, as float64.
        geometry: where each window sits (pads, output shape, taps).
        padded_input: the input with its zero padding.
        gradients: ``ConvGradients``, as ``conv2d_backward`` returns them.
        padded_input_gradient: ∂L/∂X before the padding is cut away (the gradient that
            lands on padding cells is dropped: they are not inputs).
        stuffed_gradient: G with s − 1 zeros between neighbouring values.
        dilated_kernel_gradient: the gradient of every cell of the dilated kernel (k̂h, k̂w),
            gaps included; the weights are every d-th cell (``gradients.kernel_gradient``).
        transposed_input: ``stuffed_gradient`` padded with k̂ − 1 zeros on every side (and
            zeros for rows no window reached): what the flipped kernel slides over.
        flipped_kernel: the dilated kernel rotated by 180°.
        keras_transpose: ``core.conv2d_transpose`` of G (Keras' ``Conv2DTranspose``) with
            ``keras_arguments``, or None when Keras' arguments cannot express this layer.
        keras_arguments: ``{"padding": ..., "output_padding": ...}`` used for it, or None.
    """

    inputs: np.ndarray
    kernel: np.ndarray
    output_gradient: np.ndarray
    geometry: ConvGeometry
    padded_input: np.ndarray
    gradients: ConvGradients
    padded_input_gradient: np.ndarray
    stuffed_gradient: np.ndarray
    dilated_kernel_gradient: np.ndarray
    transposed_input: np.ndarray
    flipped_kernel: np.ndarray
    keras_transpose: np.ndarray | None
    keras_arguments: dict | None

    def weight_taps(self, row: int, col: int) -> tuple[np.ndarray, np.ndarray]:
        """Padded-grid rows and columns of the input cells that weight (row, col) multiplied.

        Output (i, j) put this weight over cell (i·s + row·d, j·s + col·d); its gradient
        sums those cells times G[i, j].
        """
        (sr, sc), (dr, dc) = self.geometry.strides, self.geometry.dilation_rate
        oh, ow = self.geometry.output_shape
        return row * dr + np.arange(oh) * sr, col * dc + np.arange(ow) * sc

    def weight_cells(self, row: int, col: int) -> np.ndarray:
        """The input cells weight (row, col) multiplied, one per output: (oh, ow)."""
        return self.padded_input[np.ix_(*self.weight_taps(row, col))]

    def weight_products(self, row: int, col: int) -> np.ndarray:
        """Those input cells times the output gradient; they sum to ∂L/∂W[row, col]."""
        return self.weight_cells(row, col) * self.output_gradient

    def contribution(self, row: int, col: int) -> np.ndarray:
        """What output (row, col) sends back: G[row, col] × W at its window (padded grid)."""
        stamp = np.zeros(self.geometry.padded_shape)
        stamp[np.ix_(*self.geometry.taps(row, col))] = self.output_gradient[row, col] * self.kernel
        return stamp

    def input_gradient_after(self, step: int) -> np.ndarray:
        """The padded-grid ∂L/∂X once outputs 0 … ``step`` (reading order) are sent back."""
        total = np.zeros(self.geometry.padded_shape)
        for index in range(step + 1):
            total += self.contribution(*self.geometry.position(index))
        return total

    def inserted_zeros(self) -> np.ndarray:
        """Bool mask on ``transposed_input``: zeros stuffed between gradients (not padding)."""
        mask = np.zeros(self.transposed_input.shape, dtype=bool)
        rows, cols = self.stuffed_gradient.shape
        before = [k - 1 for k in self.geometry.effective_kernel_size]
        mask[before[0] : before[0] + rows, before[1] : before[1] + cols] = True
        oh, ow = self.geometry.output_shape
        (sr, sc) = self.geometry.strides
        mask[np.ix_(before[0] + np.arange(oh) * sr, before[1] + np.arange(ow) * sc)] = False
        return mask

    def transposed_padding(self) -> np.ndarray:
        """Bool mask on ``transposed_input``: the k̂ − 1 zeros around the stuffed gradient."""
        mask = np.ones(self.transposed_input.shape, dtype=bool)
        rows, cols = self.stuffed_gradient.shape
        before = [k - 1 for k in self.geometry.effective_kernel_size]
        mask[before[0] : before[0] + rows, before[1] : before[1] + cols] = False
        return mask


def keras_transpose_arguments(geometry: ConvGeometry) -> dict | None:
    """``padding`` and ``output_padding`` of the Keras ``Conv2DTranspose`` that undoes this layer.

    Keras' layer knows "valid" and "same" only, so the layer's padding must be one of
    them, without dilation, and the ``output_padding`` that restores the input size
    must be smaller than the stride. Returns None otherwise.

    >>> keras_transpose_arguments(conv_geometry((5, 5), (3, 3), strides=2))
    {'padding': 'valid', 'output_padding': (0, 0)}
    >>> keras_transpose_arguments(conv_geometry((5, 5), (3, 3), dilation_rate=2)) is None
    True
    """
    if geometry.dilation_rate != (1, 1):
        return None
    for name in PADDINGS:
        padding_pairs = conv_padding(
            geometry.input_shape, geometry.kernel_size, strides=geometry.strides, padding=name
        )
        if padding_pairs == geometry.pads:
            break
    else:
        return None
    output_padding = []
    for axis in (0, 1):
        size, k, s = geometry.output_shape[axis], geometry.kernel_size[axis], geometry.strides[axis]
        keras_pad = k // 2 if name == "same" else 0
        extra = geometry.input_shape[axis] - ((size - 1) * s + k - 2 * keras_pad)
        if not 0 <= extra < s:
            return None
        output_padding.append(extra)
    return {"padding": name, "output_padding": (output_padding[0], output_padding[1])}


def conv2d_backward_steps(
    inputs, kernel, output_gradient, *, strides=1, padding="valid", dilation_rate=1
) -> BackwardSteps:
    """``conv2d_backward`` with the intermediate results a lesson shows (``BackwardSteps``).

    Arguments and errors as ``conv2d_backward``.

    >>> steps = conv2d_backward_steps(np.ones((3, 3)), np.ones((2, 2)), [[1]], strides=2)
    >>> steps.stuffed_gradient.tolist(), steps.weight_taps(1, 0)
    ([[1.0]], (array([1]), array([0])))
    >>> steps.contribution(0, 0).tolist()
    [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    inputs, kernel, gradient, geometry = _checked(
        inputs, kernel, output_gradient, strides, padding, dilation_rate
    )
    padded = np.pad(inputs, geometry.pads)
    padded_input_gradient = _padded_input_gradient(kernel, gradient, geometry)
    stuffed = stretch_input(gradient, geometry.strides)
    halo = [k - 1 for k in geometry.effective_kernel_size]
    unreached = [
        geometry.padded_shape[axis] - (stuffed.shape[axis] + halo[axis]) for axis in (0, 1)
    ]
    transposed_input = np.pad(
        stuffed, ((halo[0], halo[0] + unreached[0]), (halo[1], halo[1] + unreached[1]))
    )
    keras_arguments = keras_transpose_arguments(geometry)
    keras_transpose = None
    if keras_arguments is not None:
        keras_transpose = conv2d_transpose(
            gradient, kernel, strides=geometry.strides, **keras_arguments
        )
    return BackwardSteps(
        inputs=inputs,
        kernel=kernel,
        output_gradient=gradient,
        geometry=geometry,
        padded_input=padded,
        gradients=ConvGradients(
            kernel_gradient=_kernel_gradient(padded, gradient, geometry),
            bias_gradient=float(gradient.sum()),
            input_gradient=padded_input_gradient[geometry.input_slice()],
        ),
        padded_input_gradient=padded_input_gradient,
        stuffed_gradient=stuffed,
        dilated_kernel_gradient=conv2d(padded, gradient, dilation_rate=geometry.strides)[
            : geometry.effective_kernel_size[0], : geometry.effective_kernel_size[1]
        ],
        transposed_input=transposed_input,
        flipped_kernel=dilate_kernel(kernel, geometry.dilation_rate)[::-1, ::-1].copy(),
        keras_transpose=keras_transpose,
        keras_arguments=keras_arguments,
    )


def conv2d_forward(inputs, kernel, bias=0.0, *, strides=1, padding="valid", dilation_rate=1):
    """The layer's output ``inputs ⋆ kernel + bias`` (zero padding, no flip), float64.

    >>> conv2d_forward([[1, 2, 3]], [[1, 1]], 0.5).tolist()
    [[3.5, 5.5]]
    """
    inputs, kernel, _, geometry = _checked(inputs, kernel, None, strides, padding, dilation_rate)
    bias = check_real(bias, "bias")
    output = conv2d(
        inputs,
        kernel,
        strides=geometry.strides,
        padding=geometry.pads,
        dilation_rate=geometry.dilation_rate,
    )
    return output + bias


def _same_shape(output, other, name: str) -> tuple[np.ndarray, np.ndarray]:
    output = as_real_array(output, "output", ndims=(2,)).astype(np.float64)
    other = as_real_array(other, name, ndims=(2,)).astype(np.float64)
    if other.shape != output.shape:
        raise ValueError(
            f"`{name}` must have the output's shape {output.shape}. {received(name, other)}"
        )
    return output, other


def mse_loss_and_gradient(output, target) -> tuple[float, np.ndarray]:
    """Mean squared error (Keras' ``MeanSquaredError``) and its gradient ``2 (y − t) / n``.

    Each of the n outputs contributes (y − t)² / n, so its own gradient is 2 (y − t) / n:
    an output above its target gets a positive gradient (lowering it lowers the loss).

    Raises:
        TypeError / ValueError: not real 2-D matrices, NaN/inf, or different shapes.

    >>> loss, gradient = mse_loss_and_gradient([[3.0, 1.0]], [[1.0, 1.0]])
    >>> loss, gradient.tolist()
    (2.0, [[2.0, 0.0]])
    """
    output, target = _same_shape(output, target, "target")
    error = output - target
    return float(np.mean(error**2)), 2.0 * error / error.size


def linear_loss(output, output_gradient) -> float:
    """``L = Σ G ⊙ Y``: the loss whose gradient with respect to the output is exactly ``G``.

    A hand-typed output gradient stands for this loss, so an optimiser step can still say
    how the loss changed.

    >>> linear_loss([[1.0, 2.0]], [[3.0, -1.0]])
    1.0
    """
    output, gradient = _same_shape(output, output_gradient, "output_gradient")
    return float(np.sum(output * gradient))


def sgd_step(kernel, bias, gradients: ConvGradients, learning_rate) -> tuple[np.ndarray, float]:
    """One step of plain gradient descent: ``W − η ∂L/∂W`` and ``b − η ∂L/∂b``.

    Moving against the gradient lowers the loss for a small enough learning rate η; a
    large one can overshoot and raise it.

    Raises:
        TypeError: ``gradients`` is not ``ConvGradients``, or a value of the wrong type.
        ValueError: ``learning_rate`` <= 0, or a kernel gradient of another shape.

    >>> grads = ConvGradients(np.array([[2.0, -4.0]]), 1.0, np.zeros((1, 3)))
    >>> kernel, bias = sgd_step([[1.0, 1.0]], 0.0, grads, 0.5)
    >>> kernel.tolist(), bias
    ([[0.0, 3.0]], -0.5)
    """
    kernel = as_real_array(kernel, "kernel", ndims=(2,)).astype(np.float64)
    bias = check_real(bias, "bias")
    if not isinstance(gradients, ConvGradients):
        raise TypeError(f"`gradients` must be ConvGradients. {received('gradients', gradients)}")
    learning_rate = check_real(learning_rate, "learning_rate", minimum=0, open_min=True)
    if gradients.kernel_gradient.shape != kernel.shape:
        raise ValueError(
            f"`gradients.kernel_gradient` must have the kernel's shape {kernel.shape}. "
            f"{received('gradients.kernel_gradient', gradients.kernel_gradient)}"
        )
    return kernel - learning_rate * gradients.kernel_gradient, bias - (
        learning_rate * gradients.bias_gradient
    )


@dataclass(frozen=True)
class DescentStep:
    """One gradient-descent step of the layer on one loss: before and after.

    ``loss_name`` is "mse" (against a target) or "linear" (``Σ G ⊙ Y`` for a typed G).
    """

    loss_name: str
    kernel_before: np.ndarray
    bias_before: float
    output_before: np.ndarray
    loss_before: float
    gradients: ConvGradients
    output_gradient: np.ndarray
    kernel_after: np.ndarray
    bias_after: float
    output_after: np.ndarray
    loss_after: float


def descent_step(
    inputs,
    kernel,
    bias,
    *,
    learning_rate,
    target=None,
    output_gradient=None,
    strides=1,
    padding="valid",
    dilation_rate=1,
) -> DescentStep:
    """Forward, loss, backward, one SGD step and forward again: the whole training loop once.

    Give exactly one of ``target`` (MSE against it) or ``output_gradient`` (the loss
    ``Σ G ⊙ Y``, which falls by exactly η (‖∂L/∂W‖² + (∂L/∂b)²)).

    Raises:
        ValueError: both or neither of ``target`` and ``output_gradient``, or as the
            functions it calls.

    >>> step = descent_step([[1.0, 2.0]], [[1.0]], 0.0, learning_rate=0.1, target=[[0.0, 0.0]])
    >>> round(step.loss_before, 6), round(step.loss_after, 6), step.kernel_after.tolist()
    (2.5, 0.265, [[0.5]])
    """
    if (target is None) == (output_gradient is None):
        raise ValueError(
            "Give exactly one of `target` and `output_gradient`. "
            f"Received: target={'None' if target is None else 'a matrix'}, "
            f"output_gradient={'None' if output_gradient is None else 'a matrix'}."
        )
    options = dict(strides=strides, padding=padding, dilation_rate=dilation_rate)
    kernel = as_real_array(kernel, "kernel", ndims=(2,)).astype(np.float64)
    bias = check_real(bias, "bias")
    before = conv2d_forward(inputs, kernel, bias, **options)
    if target is not None:
        loss_before, gradient = mse_loss_and_gradient(before, target)
    else:
        gradient = _same_shape(before, output_gradient, "output_gradient")[1]
        loss_before = linear_loss(before, gradient)
    gradients = conv2d_backward(inputs, kernel, gradient, **options)
    new_kernel, new_bias = sgd_step(kernel, bias, gradients, learning_rate)
    after = conv2d_forward(inputs, new_kernel, new_bias, **options)
    if target is not None:
        loss_after = mse_loss_and_gradient(after, target)[0]
    else:
        loss_after = linear_loss(after, gradient)
    return DescentStep(
        loss_name="mse" if target is not None else "linear",
        kernel_before=kernel,
        bias_before=bias,
        output_before=before,
        loss_before=loss_before,
        gradients=gradients,
        output_gradient=gradient,
        kernel_after=new_kernel,
        bias_after=new_bias,
        output_after=after,
        loss_after=loss_after,
    )
