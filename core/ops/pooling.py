"""Max and average pooling, as Keras' ``MaxPooling2D`` and ``AveragePooling2D`` compute them.

Besides the pooled values the UI needs to know *which* input cell won each
max-pooling window (to highlight it, and because backpropagation sends the
whole gradient there) and how an output gradient spreads back over the input.
Padding cells from ``padding="same"`` never win a max and are not counted in
an average, exactly as in Keras.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from core.base.checks import PaddingPairs, as_choice, as_pair, as_real_array

POOLING_METHODS = ("max", "average")


POOLING_PADDINGS = ("valid", "same")


def _pool_padding(input_shape, pool_size, strides, padding) -> PaddingPairs:
    if padding == "valid":
        return ((0, 0), (0, 0))
    pairs = []
    for size, window, step in zip(input_shape, pool_size, strides, strict=True):
        out = math.ceil(size / step)
        total = max((out - 1) * step + window - size, 0)
        pairs.append((total // 2, total - total // 2))
    return tuple(pairs)  # type: ignore[return-value]


def _normalize(x, pool_size, strides, padding, method=None):
    x = as_real_array(x, "x", ndims=(2, 3))
    pool_size = as_pair(pool_size, "pool_size")
    strides = pool_size if strides is None else as_pair(strides, "strides")
    padding = as_choice(padding, "padding", POOLING_PADDINGS)
    if method is not None:
        method = as_choice(method, "method", POOLING_METHODS)
    pads = _pool_padding(x.shape[:2], pool_size, strides, padding)
    padded_shape = (x.shape[0] + sum(pads[0]), x.shape[1] + sum(pads[1]))
    if pool_size[0] > padded_shape[0] or pool_size[1] > padded_shape[1]:
        raise ValueError(
            f"The pooling window ({pool_size[0]}×{pool_size[1]}) is larger than the input "
            f"({x.shape[0]}×{x.shape[1]}). Use a smaller `pool_size` or padding='same'."
        )
    return x, pool_size, strides, padding, method, pads


def pool_output_shape(input_shape, *, pool_size=2, strides=None, padding="valid") -> tuple:
    """(rows, cols) of the pooled map: floor((n − p) / s) + 1, or ceil(n / s) for "same".

    >>> pool_output_shape((4, 4), pool_size=2, strides=1)
    (3, 3)
    """
    pool_size = as_pair(pool_size, "pool_size")
    strides = pool_size if strides is None else as_pair(strides, "strides")
    padding = as_choice(padding, "padding", POOLING_PADDINGS)
    if padding == "same":
        return tuple(math.ceil(n / s) for n, s in zip(input_shape, strides, strict=True))
    shape = []
    for n, p, s in zip(input_shape, pool_size, strides, strict=True):
        if p > n:
            raise ValueError(
                f"The pooling window ({p}) is larger than the input ({n}). "
                "Use a smaller `pool_size` or padding='same'."
            )
        shape.append((n - p) // s + 1)
    return tuple(shape)


def _windows(x, pool_size, strides, pads, fill):
    """(out_rows, out_cols, [C,] ph, pw) view of every window; padding filled with ``fill``."""
    widths = pads + ((0, 0),) * (x.ndim - 2)
    padded = np.pad(x.astype(np.float64), widths, constant_values=fill)
    windows = sliding_window_view(padded, pool_size, axis=(0, 1))
    return windows[:: strides[0], :: strides[1]]


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
    counts = _windows(np.ones(x.shape[:2]), pool_size, strides, pads, 0.0).sum(axis=(-2, -1))
    if x.ndim == 3:
        counts = counts[:, :, None]
    return totals / counts


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
            f"`upstream` must have the pooled shape {expected}. "
            f"Received: upstream with shape {upstream.shape}"
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
    counts = _windows(np.ones(x.shape[:2]), pool_size, strides, pads, 0.0).sum(axis=(-2, -1))
    if x.ndim == 3:
        counts = counts[:, :, None]
    share = upstream / counts
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
