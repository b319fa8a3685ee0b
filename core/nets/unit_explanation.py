"""One unit of a convolution layer, taken apart as CNN Explainer does: the input patch its
filter sees, the weights, the products per input channel and their sums, the bias, the
activation, and where a following pooling layer sends the result.

Everything is computed in float64 from the layer's real input (the output of the layer
before it) and its weights, so the numbers can be checked against the model's own output.
Keras conventions: kernels ``(kh, kw, in_channels, filters)``, ``padding`` "valid" or "same"
(TensorFlow's: the extra row or column of padding goes at the bottom or right),
``strides``, ``dilation_rate``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.base.checks import as_choice, as_pair, as_real_array, check_int, received
from core.ops.output_size import PADDINGS, conv_padding, effective_kernel_size
from core.ops.pooling import POOLING_METHODS, max_pool_argmax, pool2d

LEAKY_RELU_SLOPE = 0.2  # Keras' default `negative_slope` of the "leaky_relu" activation


ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: max(x, 0.0),
    "relu6": lambda x: min(max(x, 0.0), 6.0),
    "leaky_relu": lambda x: x if x >= 0 else LEAKY_RELU_SLOPE * x,
    "sigmoid": lambda x: 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0,
    "tanh": math.tanh,
    "elu": lambda x: x if x > 0 else math.expm1(x),
    "softplus": lambda x: math.log1p(math.exp(-abs(x))) + max(x, 0.0),
    "softsign": lambda x: x / (1.0 + abs(x)),
    "silu": lambda x: x / (1.0 + math.exp(-x)) if x > -700 else 0.0,
    "swish": lambda x: x / (1.0 + math.exp(-x)) if x > -700 else 0.0,
}


@dataclass(frozen=True)
class UnitExplanation:
    """How one output value of a convolution is made.

    Attributes:
        row, col, filter_index: the unit: its place in the output map and its filter.
        input_rows, input_cols: int `(kh,)`, `(kw,)`: the input row and column each kernel tap
            reads (outside `0 … size−1` where it falls on the zero padding).
        inside: bool `(kh, kw)`: whether the tap reads the input (False: padding, value 0).
        patch: float64 `(kh, kw, in_channels)`: the input values under the taps.
        weights: float64 `(kh, kw, in_channels)`: the filter.
        products: `patch * weights`.
        channel_sums: float64 `(in_channels,)`: the products summed per input channel.
        total: the sum over every channel (before the bias).
        bias: the filter's bias (0 without one).
        pre_activation: `total + bias`.
        activation: the layer's activation, by its Keras name.
        value: the activation applied to `pre_activation` (None for an activation this
            module does not know).
    """

    row: int
    col: int
    filter_index: int
    input_rows: np.ndarray
    input_cols: np.ndarray
    inside: np.ndarray
    patch: np.ndarray
    weights: np.ndarray
    products: np.ndarray
    channel_sums: np.ndarray
    total: float
    bias: float
    pre_activation: float
    activation: str
    value: float | None


def conv_output_shape(
    input_shape, kernel_size, *, strides=1, padding="valid", dilation_rate=1
) -> tuple[int, int]:
    """`(rows, cols)` of a Keras convolution's output for an input of `(rows, cols)`.

    >>> conv_output_shape((28, 28), (3, 3), padding="same", strides=2)
    (14, 14)
    >>> conv_output_shape((9, 9), (3, 3), dilation_rate=2)
    (5, 5)
    """
    input_shape = as_pair(input_shape, "input_shape")
    kernel_size = as_pair(kernel_size, "kernel_size")
    strides = as_pair(strides, "strides")
    dilation_rate = as_pair(dilation_rate, "dilation_rate")
    padding = as_choice(padding, "padding", PADDINGS)
    sizes = []
    for axis in (0, 1):
        span = effective_kernel_size(kernel_size[axis], dilation_rate[axis])
        if padding == "same":
            sizes.append(math.ceil(input_shape[axis] / strides[axis]))
        else:
            sizes.append(max(0, (input_shape[axis] - span) // strides[axis] + 1))
    return (sizes[0], sizes[1])


def explain_unit(
    layer_input,
    kernels,
    bias=None,
    *,
    row: int,
    col: int,
    filter_index: int,
    strides=1,
    padding="valid",
    dilation_rate=1,
    activation: str | None = "linear",
) -> UnitExplanation:
    """Take apart output `(row, col)` of filter `filter_index` of a `Conv2D` layer.

    Args:
        layer_input: `(H, W, in_channels)`: what the layer receives for one image.
        kernels: `(kh, kw, in_channels, filters)`: the layer's kernel.
        bias: `(filters,)` or None.
        row, col, filter_index: the unit, in the layer's output.
        strides, padding, dilation_rate: as the layer has them ("valid" or "same").
        activation: the layer's Keras activation name (None means "linear").

    Returns:
        A `UnitExplanation`.

    Raises:
        TypeError: arrays that are not numbers, or a position that is not an int.
        ValueError: shapes that do not fit together, or a unit outside the output.

    >>> image = np.arange(16.0).reshape(4, 4, 1)
    >>> kernel = np.ones((3, 3, 1, 1))
    >>> unit = explain_unit(image, kernel, np.array([0.5]), row=0, col=0, filter_index=0,
    ...                     padding="same", activation="relu")
    >>> unit.patch[:, :, 0].tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 4.0, 5.0]]
    >>> unit.total, unit.pre_activation, unit.value
    (10.0, 10.5, 10.5)
    """
    layer_input = as_real_array(layer_input, "layer_input", ndims=(3,)).astype(np.float64)
    kernels = as_real_array(kernels, "kernels", ndims=(4,)).astype(np.float64)
    height, width, channels = layer_input.shape
    kh, kw, kernel_channels, filters = kernels.shape
    if kernel_channels != channels:
        raise ValueError(
            f"`kernels` must have {channels} input channels, as `layer_input` has. "
            f"{received('kernels', kernels)}"
        )
    filter_index = check_int(filter_index, "filter_index", minimum=0, maximum=filters - 1)
    strides = as_pair(strides, "strides")
    dilation_rate = as_pair(dilation_rate, "dilation_rate")
    padding = as_choice(padding, "padding", PADDINGS)
    out_rows, out_cols = conv_output_shape(
        (height, width), (kh, kw), strides=strides, padding=padding, dilation_rate=dilation_rate
    )
    if out_rows == 0 or out_cols == 0:
        raise ValueError(
            f"The dilated kernel is larger than the input ({height}×{width}): this layer has "
            "no output with padding='valid'."
        )
    row = check_int(row, "row", minimum=0, maximum=out_rows - 1)
    col = check_int(col, "col", minimum=0, maximum=out_cols - 1)
    (top, _), (left, _) = conv_padding(
        (height, width), (kh, kw), strides=strides, padding=padding, dilation_rate=dilation_rate
    )
    input_rows = row * strides[0] - top + np.arange(kh) * dilation_rate[0]
    input_cols = col * strides[1] - left + np.arange(kw) * dilation_rate[1]
    rows_in = (input_rows >= 0) & (input_rows < height)
    cols_in = (input_cols >= 0) & (input_cols < width)
    inside = rows_in[:, None] & cols_in[None, :]
    patch = np.zeros((kh, kw, channels))
    tap_rows, tap_cols = np.meshgrid(input_rows, input_cols, indexing="ij")
    patch[inside] = layer_input[tap_rows[inside], tap_cols[inside]]
    weights = kernels[:, :, :, filter_index]
    products = patch * weights
    channel_sums = products.sum(axis=(0, 1))
    total = float(channel_sums.sum())
    offset = 0.0
    if bias is not None:
        bias = as_real_array(bias, "bias", ndims=(1,)).astype(np.float64)
        if bias.shape != (filters,):
            raise ValueError(f"`bias` must hold {filters} values. {received('bias', bias)}")
        offset = float(bias[filter_index])
    pre_activation = total + offset
    name = "linear" if activation is None else str(activation)
    function = ACTIVATIONS.get(name)
    value = None if function is None else float(function(pre_activation))
    return UnitExplanation(
        row,
        col,
        filter_index,
        input_rows,
        input_cols,
        inside,
        patch,
        weights,
        products,
        channel_sums,
        total,
        offset,
        pre_activation,
        name,
        value,
    )


@dataclass(frozen=True)
class PoolDestination:
    """One output of a pooling layer whose window holds the unit.

    Attributes:
        row, col: the pooled unit.
        window: float64 `(ph, pw)`: the window's values (NaN where it overhangs the map).
        value: the pooled value.
        wins: max pooling: whether the unit is the window's winner (ties: the first in
            reading order, as TensorFlow); average pooling: always True (every cell counts).
    """

    row: int
    col: int
    window: np.ndarray
    value: float
    wins: bool


def pooling_destinations(
    plane, row: int, col: int, *, pool_size=2, strides=None, padding="valid", method="max"
) -> list[PoolDestination]:
    """The outputs of a pooling layer whose window holds map cell `(row, col)`.

    `plane` is the pooling layer's input map `(H, W)` (one channel). With the usual 2×2
    windows and stride 2 a cell lands in exactly one window; overlapping windows (stride 1)
    hold it several times, and "valid" pooling may drop the last row or column (no window).

    >>> plane = np.array([[1.0, 5.0], [3.0, 2.0]])
    >>> [(d.row, d.col, d.value, d.wins) for d in pooling_destinations(plane, 0, 1)]
    [(0, 0, 5.0, True)]
    >>> [d.wins for d in pooling_destinations(plane, 1, 0)]
    [False]
    """
    plane = as_real_array(plane, "plane", ndims=(2,)).astype(np.float64)
    method = as_choice(method, "method", POOLING_METHODS)
    pool_size = as_pair(pool_size, "pool_size")
    strides = pool_size if strides is None else as_pair(strides, "strides")
    row = check_int(row, "row", minimum=0, maximum=plane.shape[0] - 1)
    col = check_int(col, "col", minimum=0, maximum=plane.shape[1] - 1)
    options = {"pool_size": pool_size, "strides": strides, "padding": padding}
    pooled = pool2d(plane, method=method, **options)
    winners = max_pool_argmax(plane, **options) if method == "max" else None
    (top, _), (left, _) = conv_padding(plane.shape, pool_size, strides=strides, padding=padding)
    found = []
    for out_row in range(pooled.shape[0]):
        first_row = out_row * strides[0] - top
        if not first_row <= row < first_row + pool_size[0]:
            continue
        for out_col in range(pooled.shape[1]):
            first_col = out_col * strides[1] - left
            if not first_col <= col < first_col + pool_size[1]:
                continue
            window = np.full(pool_size, np.nan)
            for i in range(pool_size[0]):
                for j in range(pool_size[1]):
                    r, c = first_row + i, first_col + j
                    if 0 <= r < plane.shape[0] and 0 <= c < plane.shape[1]:
                        window[i, j] = plane[r, c]
            wins = True if winners is None else tuple(winners[out_row, out_col]) == (row, col)
            found.append(
                PoolDestination(out_row, out_col, window, float(pooled[out_row, out_col]), wins)
            )
    return found
