"""Max and average pooling, as Keras' ``MaxPooling2D`` and ``AveragePooling2D`` compute them.

Besides the pooled values the UI needs to know *which* input cell won each
max-pooling window (to highlight it, and because backpropagation sends the
whole gradient there) and how an output gradient spreads back over the input.
Padding cells from ``padding="same"`` never win a max and are not counted in
an average, exactly as in Keras.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from core.base.checks import PaddingPairs, Pair, as_choice, as_pair, as_real_array, received
from core.ops.output_size import PADDINGS, conv_padding

POOLING_METHODS = ("max", "average")


def _pool_window(input_shape, pool_size, strides, padding) -> tuple[Pair, Pair, str, PaddingPairs]:
    """Normalise the window arguments once: (pool_size, strides, padding, pads)."""
    pool_size = as_pair(pool_size, "pool_size")
    strides = pool_size if strides is None else as_pair(strides, "strides")
    padding = as_choice(padding, "padding", PADDINGS)
    pads = conv_padding(input_shape, pool_size, strides=strides, padding=padding)
    height, width = (size + sum(pad) for size, pad in zip(input_shape, pads, strict=True))
    if pool_size[0] > height or pool_size[1] > width:
        raise ValueError(
            f"The pooling window ({pool_size[0]}×{pool_size[1]}) is larger than the input "
            f"({input_shape[0]}×{input_shape[1]}). Use a smaller `pool_size` or padding='same'."
        )
    return pool_size, strides, padding, pads


def _normalize(x, pool_size, strides, padding, method=None):
    x = as_real_array(x, "x", ndims=(2, 3))
    pool_size, strides, padding, pads = _pool_window(x.shape[:2], pool_size, strides, padding)
    if method is not None:
        method = as_choice(method, "method", POOLING_METHODS)
    return x, pool_size, strides, padding, method, pads


def pool_output_shape(input_shape, *, pool_size=2, strides=None, padding="valid") -> tuple:
    """(rows, cols) of the pooled map: floor((n − p) / s) + 1, or ceil(n / s) for "same".

    >>> pool_output_shape((4, 4), pool_size=2, strides=1)
    (3, 3)
    """
    input_shape = as_pair(input_shape, "input_shape")
    pool_size, strides, _, pads = _pool_window(input_shape, pool_size, strides, padding)
    return tuple(
        (size + sum(pad) - window) // step + 1
        for size, pad, window, step in zip(input_shape, pads, pool_size, strides, strict=True)
    )


def _windows(x, pool_size, strides, pads, fill):
    """(out_rows, out_cols, [C,] ph, pw) view of every window; padding filled with ``fill``."""
    widths = pads + ((0, 0),) * (x.ndim - 2)
    padded = np.pad(x.astype(np.float64), widths, constant_values=fill)
    windows = sliding_window_view(padded, pool_size, axis=(0, 1))
    return windows[:: strides[0], :: strides[1]]


def _real_cells(x, pool_size, strides, pads) -> np.ndarray:
    """How many unpadded cells each window covers: what an average divides by."""
    counts = _windows(np.ones(x.shape[:2]), pool_size, strides, pads, 0.0).sum(axis=(-2, -1))
    return counts[:, :, None] if x.ndim == 3 else counts


def pool2d(x, *, pool_size=2, strides=None, padding="valid", method="max") -> np.ndarray:
    """Pool each channel of ``x`` over windows of ``pool_size``.

    Args:
        x: (H, W) or (H, W, C) real array.
        pool_size: int or (rows, cols) >= 1.
        strides: int or (rows, cols) >= 1; None means ``pool_size``.
        padding: "valid" or "same" (Keras: ceil(n / s) outputs; padded cells
            never win a max and are left out of an average).
        method: "max" or "average".

    Returns:
        float64 array (H', W') or (H', W', C).

    >>> pool2d([[10, 12, 3, 4], [6, 8, 4, 5], [22, 12, 10, 7], [0, 9, 32, 4]])
    array([[12.,  5.],
           [22., 32.]])
    """
    x, pool_size, strides, padding, method, pads = _normalize(
        x, pool_size, strides, padding, method
    )
    if method == "max":
        return _windows(x, pool_size, strides, pads, -np.inf).max(axis=(-2, -1))
    totals = _windows(x, pool_size, strides, pads, 0.0).sum(axis=(-2, -1))
    return totals / _real_cells(x, pool_size, strides, pads)


def max_pool_argmax(x, *, pool_size=2, strides=None, padding="valid") -> np.ndarray:
    """Input position (row, col) that wins each max-pooling window.

    Ties go to the first cell in reading order, as TensorFlow does.

    Returns:
        int array (H', W', 2) for a 2-D ``x`` or (H', W', C, 2) for a 3-D one,
        holding row and column in the unpadded input.

    >>> max_pool_argmax([[1, 5], [3, 2]], pool_size=2)[0, 0].tolist()
    [0, 1]
    """
    x, pool_size, strides, padding, _, pads = _normalize(x, pool_size, strides, padding)
    windows = _windows(x, pool_size, strides, pads, -np.inf)
    flat = windows.reshape(windows.shape[:-2] + (-1,))
    winner = flat.argmax(axis=-1)
    window_row, window_col = np.divmod(winner, pool_size[1])
    out_rows = np.arange(windows.shape[0]) * strides[0] - pads[0][0]
    out_cols = np.arange(windows.shape[1]) * strides[1] - pads[1][0]
    extra = (None,) * (x.ndim - 2)
    rows = window_row + out_rows[(slice(None), None) + extra]
    cols = window_col + out_cols[(None, slice(None)) + extra]
    return np.stack([rows, cols], axis=-1)


def pool2d_gradient(
    x, upstream, *, pool_size=2, strides=None, padding="valid", method="max"
) -> np.ndarray:
    """Gradient with respect to ``x`` given the gradient ``upstream`` of the pooled map.

    Max pooling routes each output's gradient to its window's winner only;
    average pooling shares it equally among the window's real (unpadded) cells.
    Overlapping windows add up.

    >>> pool2d_gradient([[1, 5], [3, 2]], [[1.0]]).tolist()
    [[0.0, 1.0], [0.0, 0.0]]
    """
    x, pool_size, strides, padding, method, pads = _normalize(
        x, pool_size, strides, padding, method
    )
    expected = pool2d(x, pool_size=pool_size, strides=strides, padding=padding).shape
    upstream = as_real_array(upstream, "upstream", ndims=(2, 3)).astype(np.float64)
    if upstream.shape != expected:
        raise ValueError(
            f"`upstream` must have the pooled shape {expected}. {received('upstream', upstream)}"
        )
    gradient = np.zeros(x.shape, dtype=np.float64)
    if method == "max":
        winners = max_pool_argmax(x, pool_size=pool_size, strides=strides, padding=padding)
        if x.ndim == 2:
            np.add.at(gradient, (winners[..., 0], winners[..., 1]), upstream)
        else:
            channels = np.broadcast_to(np.arange(x.shape[2]), upstream.shape)
            np.add.at(gradient, (winners[..., 0], winners[..., 1], channels), upstream)
        return gradient
    share = upstream / _real_cells(x, pool_size, strides, pads)
    padded = np.zeros((x.shape[0] + sum(pads[0]), x.shape[1] + sum(pads[1])) + x.shape[2:])
    span_rows = (share.shape[0] - 1) * strides[0] + 1
    span_cols = (share.shape[1] - 1) * strides[1] + 1
    for i in range(pool_size[0]):  # loop over the window's taps, never over pixels
        for j in range(pool_size[1]):
            padded[i : i + span_rows : strides[0], j : j + span_cols : strides[1]] += share
    return padded[pads[0][0] : pads[0][0] + x.shape[0], pads[1][0] : pads[1][0] + x.shape[1]]


def global_pool(x, *, method="average") -> np.ndarray:
    """Global average or max pooling: one number per channel.

    >>> global_pool(np.arange(4.0).reshape(2, 2), method="max")
    array(3.)
    """
    x = as_real_array(x, "x", ndims=(2, 3)).astype(np.float64)
    method = as_choice(method, "method", POOLING_METHODS)
    reduce = np.max if method == "max" else np.mean
    return np.asarray(reduce(x, axis=(0, 1)))
