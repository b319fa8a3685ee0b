"""Transposed convolution, the size rule Keras uses for it, and convolution as a matrix.

`conv2d_transpose` spreads each input value over a kernel-sized patch of the output; it is
the adjoint of `core.ops.convolution.conv2d`, which `convolution_matrix` makes visible."""

from __future__ import annotations

import numpy as np

from core.base.checks import as_choice, as_pair, as_real_array, check_int, received
from core.ops.convolution import conv2d
from core.ops.output_size import AXIS_NAMES, PADDINGS, axis_padding, effective_kernel_size

LARGEST_MATRIX_INPUT = 400  # cells: an explicit convolution matrix for inputs up to 20×20


def transpose_output_size(
    input_size: int,
    kernel_size: int,
    *,
    strides: int = 1,
    padding: str = "valid",
    output_padding: int | None = None,
    dilation_rate: int = 1,
) -> int:
    """Output length of Keras' ``Conv2DTranspose`` along one axis.

    Without ``output_padding``: i·s + max(k̂ − s, 0) for "valid", i·s for "same".
    With it: (i − 1)·s + k̂ − 2p + output_padding, p = 0 ("valid") or k̂ // 2 ("same").

    >>> transpose_output_size(2, 3, strides=2)
    5
    >>> transpose_output_size(2, 3, strides=2, padding="same")
    4
    """
    input_size = check_int(input_size, "input_size", minimum=1)
    kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
    strides = check_int(strides, "strides", minimum=1)
    dilation_rate = check_int(dilation_rate, "dilation_rate", minimum=1)
    padding = as_choice(padding, "padding", PADDINGS)
    k_eff = effective_kernel_size(kernel_size, dilation_rate)
    if output_padding is None:
        if padding == "valid":
            return input_size * strides + max(k_eff - strides, 0)
        return input_size * strides
    output_padding = check_int(output_padding, "output_padding", minimum=0)
    if output_padding >= strides:
        raise ValueError(
            f"`output_padding` must be smaller than `strides` ({strides}). "
            f"{received('output_padding', output_padding)}"
        )
    pad = k_eff // 2 if padding == "same" else 0
    size = (input_size - 1) * strides + k_eff - 2 * pad + output_padding
    if size < 1:
        raise ValueError(
            f"These settings give an empty output ({size}). Use a larger kernel or less padding."
        )
    return size


def _check_transpose_is_keras_expressible(
    input_size: int, size: int, kernel_size: int, strides: int, padding: str, axis: int
) -> None:
    """TensorFlow checks that the forward convolution of the output gives back the input."""
    before, after = axis_padding(padding, size, kernel_size, strides, axis)
    rebuilt = max((size + before + after - kernel_size) // strides + 1, 0)
    if rebuilt != input_size:
        raise ValueError(
            f"Along the {AXIS_NAMES[axis]}, a '{padding}' convolution of the {size}-cell "
            f"output would give {rebuilt} values, not the {input_size} input values, so this is "
            "not the transpose of any convolution (Keras and TensorFlow refuse it as well). "
            "Change the output padding, the kernel size or the stride."
        )


def conv2d_transpose(
    image,
    kernel,
    *,
    strides=1,
    padding: str = "valid",
    output_padding=None,
) -> np.ndarray:
    """Transposed convolution of one channel, sized like Keras' ``Conv2DTranspose``.

    Each input value stamps ``value × kernel`` onto the output at ``strides``
    steps, and overlapping stamps add up. That equals inserting s − 1 zeros
    between input cells, padding by k − p − 1 and convolving with the kernel
    rotated by 180°.

    Args:
        image: (H, W) array.
        kernel: (kh, kw) array.
        strides: int or (rows, cols), >= 1.
        padding: "valid" or "same".
        output_padding: None (Keras' default) or int / (rows, cols), < strides.

    Returns:
        float64 array with ``transpose_output_size`` rows and columns.

    >>> conv2d_transpose([[1, 2]], [[1, 1]], strides=(1, 2))
    array([[1., 1., 2., 2.]])
    """
    image = as_real_array(image, "image", ndims=(2,))
    kernel = as_real_array(kernel, "kernel", ndims=(2,))
    strides = as_pair(strides, "strides")
    padding = as_choice(padding, "padding", PADDINGS)
    if output_padding is None:
        output_padding = (None, None)
    else:
        output_padding = as_pair(output_padding, "output_padding", minimum=0)
    sizes = [
        transpose_output_size(
            image.shape[axis],
            kernel.shape[axis],
            strides=strides[axis],
            padding=padding,
            output_padding=output_padding[axis],
        )
        for axis in (0, 1)
    ]
    for axis in (0, 1):
        _check_transpose_is_keras_expressible(
            image.shape[axis], sizes[axis], kernel.shape[axis], strides[axis], padding, axis
        )
    kh, kw = kernel.shape
    full = np.zeros(
        ((image.shape[0] - 1) * strides[0] + kh, (image.shape[1] - 1) * strides[1] + kw)
    )
    image = image.astype(np.float64)
    kernel = kernel.astype(np.float64)
    # Loop over kernel taps (at most a few dozen), never over pixels.
    for i in range(kh):
        for j in range(kw):
            full[
                i : i + (image.shape[0] - 1) * strides[0] + 1 : strides[0],
                j : j + (image.shape[1] - 1) * strides[1] + 1 : strides[1],
            ] += kernel[i, j] * image
    # Cut from the top/left of the full scatter result, as TensorFlow's gradient op does.
    start = [
        axis_padding(padding, sizes[axis], kernel.shape[axis], strides[axis], axis)[0]
        for axis in (0, 1)
    ]
    result = np.zeros(sizes)
    window = full[start[0] : start[0] + sizes[0], start[1] : start[1] + sizes[1]]
    result[: window.shape[0], : window.shape[1]] = window
    return result


def stretch_input(image, strides) -> np.ndarray:
    """Insert ``s − 1`` zeros between input cells: the first step of a transposed convolution.

    >>> stretch_input([[1, 2]], (1, 2))
    array([[1., 0., 2.]])
    """
    image = as_real_array(image, "image", ndims=(2,))
    strides = as_pair(strides, "strides")
    rows = (image.shape[0] - 1) * strides[0] + 1
    cols = (image.shape[1] - 1) * strides[1] + 1
    stretched = np.zeros((rows, cols))
    stretched[:: strides[0], :: strides[1]] = image
    return stretched


def convolution_matrix(
    input_shape: tuple[int, int], kernel, *, strides=1, padding="valid", dilation_rate=1
) -> np.ndarray:
    """The matrix C with ``conv2d(x, kernel, ...).ravel() == C @ x.ravel()`` (zero padding).

    Built by convolving each unit impulse, so it agrees with ``conv2d`` by
    construction; meant for the small inputs a lecture shows (up to ~12×12).
    Its transpose maps output gradients back onto the input: the transposed
    convolution.

    >>> convolution_matrix((3, 3), np.ones((2, 2))).shape
    (4, 9)
    """
    rows, cols = as_pair(input_shape, "input_shape")
    if rows * cols > LARGEST_MATRIX_INPUT:
        raise ValueError(
            f"`input_shape` is too large for an explicit matrix (at most {LARGEST_MATRIX_INPUT} "
            f"cells). {received('input_shape', input_shape)}"
        )
    columns = []
    for index in range(rows * cols):
        impulse = np.zeros(rows * cols)
        impulse[index] = 1.0
        response = conv2d(
            impulse.reshape(rows, cols),
            kernel,
            strides=strides,
            padding=padding,
            dilation_rate=dilation_rate,
        )
        columns.append(response.ravel())
    return np.stack(columns, axis=1)
