"""The dot product behind one output pixel.

The input patch, the kernel, their products and the sum, with padding cells marked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.base.checks import check_int
from core.ops.convolution import ConvOptions, _kernels_and_padding


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


def padded_source(size: int, pads: tuple[int, int], mode: str) -> np.ndarray:
    """For each position of an axis padded by ``pads`` in ``mode``, the image index it
    copies (-1 for a constant cell).

    The same ``numpy.pad`` as ``conv2d``'s, applied to the indices instead of the pixels:
    one window needs a few cells, not a padded copy of the whole image.

    >>> padded_source(3, (2, 1), "reflect").tolist(), padded_source(3, (1, 1), "constant").tolist()
    ([2, 1, 0, 1, 2, 1], [-1, 0, 1, 2, -1])
    """
    indices = np.arange(size)
    if mode == "constant":
        return np.pad(indices, pads, mode="constant", constant_values=-1)
    return np.pad(indices, pads, mode=mode)


def explain_pixel(image, kernel, row: int, col: int, **options) -> PixelExplanation:
    """The step-by-step dot product behind ``conv2d(image, kernel, **options)[row, col]``.

    Args:
        image, kernel: as for ``conv2d``.
        row, col: the output cell, inside ``conv2d``'s output.
        **options: ``conv2d``'s keyword options (``strides``, ``padding``, ``mode``,
            ``cval``, ``dilation_rate``, ``flip_kernel``; see ``ConvOptions``).

    Raises:
        TypeError / ValueError: as ``conv2d``, and for a ``row`` or ``col`` outside the output.

    >>> e = explain_pixel([[1, 2], [3, 4]], [[1, 0], [0, 1]], 0, 0)
    >>> e.products.tolist(), float(e.total)
    ([[1.0, 0.0], [0.0, 4.0]], 5.0)
    """
    options = ConvOptions(**options)
    image, applied, dilated, pads = _kernels_and_padding(
        image, kernel, options, check_image_finite=True
    )
    strides, dilation_rate = options.strides, options.dilation_rate
    out_rows = (image.shape[0] + sum(pads[0]) - dilated.shape[0]) // strides[0] + 1
    out_cols = (image.shape[1] + sum(pads[1]) - dilated.shape[1]) // strides[1] + 1
    row = check_int(row, "row", minimum=0, maximum=out_rows - 1)
    col = check_int(col, "col", minimum=0, maximum=out_cols - 1)
    kh, kw = applied.shape[:2]
    tap_rows = row * strides[0] + np.arange(kh) * dilation_rate[0]
    tap_cols = col * strides[1] + np.arange(kw) * dilation_rate[1]
    source_rows = padded_source(image.shape[0], pads[0], options.mode)[tap_rows]
    source_cols = padded_source(image.shape[1], pads[1], options.mode)[tap_cols]
    patch = image[np.ix_(np.maximum(source_rows, 0), np.maximum(source_cols, 0))]
    patch = patch.astype(np.float64)
    patch[(source_rows < 0)[:, None] | (source_cols < 0)[None, :]] = options.cval
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
        row=row,
        col=col,
        patch=patch,
        kernel=applied,
        products=products,
        total=total,
        rows=grid_rows,
        cols=grid_cols,
        image_shape=(height, width),
    )
