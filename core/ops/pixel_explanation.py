"""The dot product behind one output pixel.

The input patch, the kernel, their products and the sum, with padding cells marked.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from core.base.checks import as_pair
from core.ops.convolution import _prepare
from core.ops.output_size import effective_kernel_size


@dataclass(frozen=True)
class PixelExplanation:
    """Everything behind one output value of ``conv2d``.

    ``patch`` holds the input cells the kernel taps touch (padding cells
    included, dilation gaps skipped), ``kernel`` the kernel as applied (flipped
    when ``flip_kernel``), ``products = patch * kernel`` and ``total`` their sum
    (per channel for a 2-D kernel on a colour image). ``rows``/``cols`` give each
    tap's position in the unpadded image; positions outside it are padding.
    """

    row: int
    col: int
    patch: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    total: float | np.ndarray
    rows: np.ndarray
    cols: np.ndarray

    image_shape: tuple[int, int]

    @property
    def is_padding(self) -> np.ndarray:
        """(kh, kw) bool mask of taps that fall on padding cells."""
        height, width = self.image_shape
        return (self.rows < 0) | (self.rows >= height) | (self.cols < 0) | (self.cols >= width)


def explain_pixel(
    image,
    kernel,
    row: int,
    col: int,
    *,
    strides=1,
    padding="valid",
    mode: str = "constant",
    cval: float = 0.0,
    dilation_rate=1,
    flip_kernel: bool = False,
) -> PixelExplanation:
    """The step-by-step dot product behind ``conv2d(...)[row, col]``.

    Takes the same options as ``conv2d``.

    >>> e = explain_pixel([[1, 2], [3, 4]], [[1, 0], [0, 1]], 0, 0)
    >>> e.products.tolist(), float(e.total)
    ([[1.0, 0.0], [0.0, 4.0]], 5.0)
    """
    padded, applied, _, strides, pads = _prepare(
        image, kernel, strides, padding, mode, cval, dilation_rate, flip_kernel
    )
    dilation = as_pair(dilation_rate, "dilation_rate")
    kh, kw = applied.shape[:2]
    out_rows = (padded.shape[0] - effective_kernel_size(kh, dilation[0])) // strides[0] + 1
    out_cols = (padded.shape[1] - effective_kernel_size(kw, dilation[1])) // strides[1] + 1
    for name, value, limit in (("row", row, out_rows), ("col", col, out_cols)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"`{name}` must be an int. Received: {name}={value!r}")
        if not 0 <= value < limit:
            raise ValueError(
                f"`{name}` must be in [0, {limit - 1}] for this {out_rows}×{out_cols} output. "
                f"Received: {name}={value!r}"
            )
    top = row * strides[0]
    left = col * strides[1]
    tap_rows = top + np.arange(kh) * dilation[0]
    tap_cols = left + np.arange(kw) * dilation[1]
    patch = padded[np.ix_(tap_rows, tap_cols)].astype(np.float64)
    applied = applied.astype(np.float64)
    if applied.ndim == 3:
        if patch.ndim == 2:
            patch = patch[:, :, None]
        products = patch * applied
        total = float(products.sum())
    else:
        products = patch * (applied[:, :, None] if patch.ndim == 3 else applied)
        total = products.sum(axis=(0, 1)) if patch.ndim == 3 else float(products.sum())
    grid_rows, grid_cols = np.meshgrid(tap_rows - pads[0][0], tap_cols - pads[1][0], indexing="ij")
    height, width = np.asarray(image).shape[:2]
    return PixelExplanation(
        row=int(row),
        col=int(col),
        patch=patch,
        kernel=applied,
        products=products,
        total=total,
        rows=grid_rows,
        cols=grid_cols,
        image_shape=(height, width),
    )
