"""2-D convolution as CNN layers, OpenCV and textbooks compute it.

The numeric heart of ConvScope. ``conv2d`` slides a kernel over an image with
Keras' ``strides``, ``padding`` and ``dilation_rate`` and numpy's border
``mode``s; ``flip_kernel`` switches between cross-correlation (what CNN layers
compute) and true convolution (what textbooks and ``scipy.signal.convolve2d``
compute). The work is done by ``cv2.filter2D`` on the padded image, then
cropped and strided, so a megapixel photo takes milliseconds.

``output_size`` and ``describe_output_size`` give the arithmetic,
``explain_pixel`` the step-by-step dot product behind one output value, and
``conv2d_transpose`` the transposed ("deconvolution") layer.
"""

from __future__ import annotations

import math
import numbers
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from core._validation import PaddingPairs, as_choice, as_pair, as_real_array, check_all_finite

PADDING_NAMES = ("valid", "same", "full")
BORDER_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")
# cv2.filter2D handles at most this many channels in one call.
_CV2_MAX_CHANNELS = 4
# Inputs whose precision float32 carries exactly are computed in float32: twice as fast.
_FLOAT32_EXACT_KINDS = {np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.float16)}
# ...and these cv2.filter2D reads directly, without a conversion copy.
_CV2_FLOAT32_SOURCES = {np.dtype(t) for t in (np.uint8, np.uint16, np.int16, np.float32)}


# --------------------------------------------------------------------------- arithmetic


def effective_kernel_size(kernel_size: int, dilation_rate: int = 1) -> int:
    """Size of a kernel after dilation: k̂ = k + (k − 1)(d − 1).

    >>> effective_kernel_size(3, 2)
    5
    """
    return kernel_size + (kernel_size - 1) * (dilation_rate - 1)


def _check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int. Received: {name}={value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}. Received: {name}={value!r}")
    return int(value)


def _axis_padding(
    padding, input_size: int, kernel_size: int, stride: int, axis: int
) -> tuple[int, int]:
    """(before, after) padding along one axis for any accepted ``padding`` form.

    ``axis`` picks the entry of a per-axis padding (0 = rows, 1 = columns).
    """
    if isinstance(padding, str):
        name = as_choice(padding, "padding", PADDING_NAMES)
        if name == "valid":
            return (0, 0)
        if name == "full":
            return (kernel_size - 1, kernel_size - 1)
        # TensorFlow "SAME": keep ceil(n / s) outputs, extra row/column at the bottom/right.
        out = math.ceil(input_size / stride)
        total = max((out - 1) * stride + kernel_size - input_size, 0)
        return (total // 2, total - total // 2)
    return normalize_explicit_padding(padding)[axis]


def normalize_explicit_padding(padding) -> PaddingPairs:
    """Turn an int, ``(rows, cols)`` or ``((top, bottom), (left, right))`` into pairs.

    >>> normalize_explicit_padding(1)
    ((1, 1), (1, 1))
    >>> normalize_explicit_padding((1, 2))
    ((1, 1), (2, 2))
    """
    message = (
        "`padding` must be 'valid', 'same', 'full', an int, (pad_rows, pad_cols) or "
        f"((top, bottom), (left, right)), all >= 0. Received: padding={padding!r}"
    )

    def is_int(v) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    if is_int(padding):
        pairs = ((padding, padding), (padding, padding))
    else:
        try:
            items = tuple(padding)
        except TypeError:
            raise ValueError(message) from None
        if len(items) != 2:
            raise ValueError(message)
        if all(is_int(v) for v in items):
            pairs = ((items[0], items[0]), (items[1], items[1]))
        else:
            try:
                pairs = tuple(tuple(p) for p in items)
            except TypeError:
                raise ValueError(message) from None
            if not all(len(p) == 2 and all(is_int(v) for v in p) for p in pairs):
                raise ValueError(message)
    if min(min(p) for p in pairs) < 0:
        raise ValueError(message)
    return tuple((int(a), int(b)) for a, b in pairs)  # type: ignore[return-value]


def _one_axis_padding(padding) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit padding for a single axis: an int or (before, after), as both-axis pairs."""
    items = (padding, padding) if isinstance(padding, numbers.Integral) else padding
    try:
        before, after = items
        valid = all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0
            for v in (before, after)
        )
    except (TypeError, ValueError):
        valid = False
    if isinstance(padding, bool) or not valid:
        raise ValueError(
            "`padding` for one axis must be 'valid', 'same', 'full', an int >= 0 or "
            f"(before, after). Received: padding={padding!r}"
        )
    return ((int(before), int(after)), (int(before), int(after)))


@dataclass(frozen=True)
class OutputSizeInfo:
    """The output-size arithmetic along one axis, with every term spelled out.

    ``size = floor(numerator / stride) + 1`` where
    ``numerator = input_size + pad_before + pad_after − effective_kernel_size``.
    ``exact`` is False when the stride does not fit: the last
    ``input_size + padding − covered`` rows or columns are never reached.
    """

    input_size: int
    kernel_size: int
    effective_kernel_size: int
    stride: int
    dilation_rate: int
    pad_before: int
    pad_after: int
    numerator: int
    size: int
    exact: bool
    unreached: int

    @property
    def fractional_size(self) -> float:
        """The size before flooring, e.g. 4.5 for i=10, k=3, s=2."""
        return self.numerator / self.stride + 1


def describe_output_size(
    input_size: int,
    kernel_size: int,
    *,
    strides: int = 1,
    padding="valid",
    dilation_rate: int = 1,
) -> OutputSizeInfo:
    """Output size along one axis, with the terms a teacher writes on the board.

    Raises:
        ValueError: when the (dilated) kernel is larger than the padded input.

    >>> info = describe_output_size(10, 3, strides=2)
    >>> info.size, info.exact, info.fractional_size
    (4, False, 4.5)
    """
    input_size = _check_positive_int(input_size, "input_size")
    kernel_size = _check_positive_int(kernel_size, "kernel_size")
    strides = _check_positive_int(strides, "strides")
    dilation_rate = _check_positive_int(dilation_rate, "dilation_rate")
    k_eff = effective_kernel_size(kernel_size, dilation_rate)
    if not isinstance(padding, str):
        padding = _one_axis_padding(padding)
    before, after = _axis_padding(padding, input_size, k_eff, strides, 0)
    numerator = input_size + before + after - k_eff
    if numerator < 0:
        raise ValueError(
            f"The kernel ({kernel_size}, dilated to {k_eff}) is larger than the padded input "
            f"({input_size} + {before + after} padding = {input_size + before + after}). "
            "Use a smaller kernel or dilation, or more padding."
        )
    size = numerator // strides + 1
    covered = (size - 1) * strides + k_eff
    unreached = input_size + before + after - covered
    return OutputSizeInfo(
        input_size=input_size,
        kernel_size=kernel_size,
        effective_kernel_size=k_eff,
        stride=strides,
        dilation_rate=dilation_rate,
        pad_before=before,
        pad_after=after,
        numerator=numerator,
        size=size,
        exact=numerator % strides == 0,
        unreached=unreached,
    )


def output_size(
    input_size: int,
    kernel_size: int,
    *,
    strides: int = 1,
    padding="valid",
    dilation_rate: int = 1,
) -> int:
    """Number of outputs along one axis: floor((i + 2p − k̂) / s) + 1.

    ``padding`` is "valid", "same" (TensorFlow: ceil(i / s)), "full" (k̂ − 1 on
    each side), an int, or ``(before, after)``.

    >>> output_size(12, 3, strides=2)
    5
    >>> output_size(7, 3, padding="same", strides=2)
    4
    """
    return describe_output_size(
        input_size, kernel_size, strides=strides, padding=padding, dilation_rate=dilation_rate
    ).size


def conv_padding(
    image_shape: tuple[int, int],
    kernel_shape: tuple[int, int],
    *,
    strides=1,
    padding="valid",
    dilation_rate=1,
) -> PaddingPairs:
    """``((top, bottom), (left, right))`` that ``conv2d`` adds for these settings.

    >>> conv_padding((4, 4), (3, 3), padding="same", strides=2)
    ((0, 1), (0, 1))
    """
    strides = as_pair(strides, "strides")
    dilation_rate = as_pair(dilation_rate, "dilation_rate")
    pairs = []
    for axis in (0, 1):
        k_eff = effective_kernel_size(kernel_shape[axis], dilation_rate[axis])
        pairs.append(_axis_padding(padding, image_shape[axis], k_eff, strides[axis], axis))
    return tuple(pairs)  # type: ignore[return-value]


# --------------------------------------------------------------------------- conv2d


def dilate_kernel(kernel: np.ndarray, dilation_rate) -> np.ndarray:
    """Spread a kernel's taps apart by inserting ``d − 1`` zeros between them.

    >>> dilate_kernel(np.ones((2, 2)), 2)
    array([[1., 0., 1.],
           [0., 0., 0.],
           [1., 0., 1.]])
    """
    rows, cols = as_pair(dilation_rate, "dilation_rate")
    if rows == cols == 1:
        return kernel
    kh, kw = kernel.shape[:2]
    dilated = np.zeros(
        (effective_kernel_size(kh, rows), effective_kernel_size(kw, cols)) + kernel.shape[2:],
        dtype=kernel.dtype,
    )
    dilated[::rows, ::cols] = kernel
    return dilated


def _validate_conv_inputs(
    image, kernel, *, check_image_finite: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    image = as_real_array(image, "image", ndims=(2, 3), check_finite=check_image_finite)
    kernel = as_real_array(kernel, "kernel", ndims=(2, 3))
    if kernel.ndim == 3:
        channels = 1 if image.ndim == 2 else image.shape[2]
        if kernel.shape[2] != channels:
            raise ValueError(
                "A 3-D `kernel` must have one slice per image channel. Received: kernel with "
                f"shape {kernel.shape} for an image with {channels} channel(s)."
            )
    return image, kernel


def _prepare(
    image, kernel, strides, padding, mode, cval, dilation_rate, flip_kernel,
    *, check_image_finite=True,
):  # fmt: skip
    """Validate and pad: return (padded image, kernel as applied, strides, paddings).

    With ``check_image_finite=False`` the caller must check the padded image.
    """
    image, kernel = _validate_conv_inputs(image, kernel, check_image_finite=check_image_finite)
    strides = as_pair(strides, "strides")
    dilation_rate = as_pair(dilation_rate, "dilation_rate")
    mode = as_choice(mode, "mode", BORDER_MODES)
    if isinstance(cval, bool) or not isinstance(cval, numbers.Real) or not math.isfinite(cval):
        raise ValueError(f"`cval` must be a finite number. Received: cval={cval!r}")
    applied = kernel[::-1, ::-1] if flip_kernel else kernel
    dilated = dilate_kernel(applied, dilation_rate)
    pads = conv_padding(
        image.shape[:2], kernel.shape[:2], strides=strides, padding=padding,
        dilation_rate=dilation_rate,
    )  # fmt: skip
    padded_shape = (image.shape[0] + sum(pads[0]), image.shape[1] + sum(pads[1]))
    if dilated.shape[0] > padded_shape[0] or dilated.shape[1] > padded_shape[1]:
        raise ValueError(
            f"The kernel ({kernel.shape[0]}×{kernel.shape[1]}"
            + (
                f", dilated to {dilated.shape[0]}×{dilated.shape[1]}"
                if dilated.shape[:2] != kernel.shape[:2]
                else ""
            )
            + f") is larger than the padded image ({padded_shape[0]}×{padded_shape[1]}). "
            "Use a smaller kernel or dilation, or more padding."
        )
    padded = _pad(image, pads, mode, cval)
    return padded, applied, dilated, strides, pads


def _pad(image: np.ndarray, pads: PaddingPairs, mode: str, cval: float) -> np.ndarray:
    if pads == ((0, 0), (0, 0)):
        return image
    widths = pads + ((0, 0),) * (image.ndim - 2)
    if mode == "constant":
        if image.dtype.kind in "iub" and cval != int(cval):
            image = image.astype(np.float64)
        return np.pad(image, widths, mode="constant", constant_values=cval)
    return np.pad(image, widths, mode=mode)


def _as_filter_input(padded: np.ndarray) -> tuple[np.ndarray, int]:
    """Pick the cheapest exact dtype for cv2.filter2D: float32 when it holds the input exactly."""
    if padded.dtype in _CV2_FLOAT32_SOURCES:
        return padded, cv2.CV_32F
    if padded.dtype in _FLOAT32_EXACT_KINDS or padded.dtype == bool:
        return padded.astype(np.float32), cv2.CV_32F
    return padded.astype(np.float64, copy=False), cv2.CV_64F


def _filter_rows(padded, kernel, ddepth, out, first_row, last_row, check_finite=False) -> None:
    """Fill ``out[first_row:last_row]`` with the 'valid' correlation of those output rows.

    With ``check_finite`` the band's source rows are checked first (bands overlap by
    kh − 1 rows and together cover every row of ``padded``).
    """
    kh, kw = kernel.shape
    source = padded[first_row : last_row + kh - 1]
    if check_finite:
        check_all_finite(source, "image")
    full = cv2.filter2D(source, ddepth, kernel, borderType=cv2.BORDER_CONSTANT)
    if full.ndim < out.ndim:  # cv2 drops a trailing channel axis of size 1
        full = full[..., None]
    anchor_row, anchor_col = kh // 2, kw // 2
    out[first_row:last_row] = full[
        anchor_row : anchor_row + last_row - first_row, anchor_col : anchor_col + out.shape[1]
    ]


def _correlate_valid(
    padded: np.ndarray, kernel: np.ndarray, *, check_finite: bool = False
) -> np.ndarray:
    """Cross-correlate every channel of ``padded`` with a 2-D kernel: float64, 'valid' region.

    Large images are filtered in bands of rows on two threads, so each float32
    band is widened to float64 while still in cache, and checked for NaN/inf
    there when ``check_finite``: both then cost little next to the filtering
    itself (see bench/conv.py).
    """
    padded, ddepth = _as_filter_input(np.ascontiguousarray(padded))
    kernel = np.ascontiguousarray(kernel, dtype=np.float32 if ddepth == cv2.CV_32F else np.float64)
    if padded.ndim == 3 and padded.shape[2] > _CV2_MAX_CHANNELS:
        planes = [
            _correlate_valid(padded[:, :, c], kernel, check_finite=check_finite)
            for c in range(padded.shape[2])
        ]
        return np.stack(planes, axis=-1)
    kh, kw = kernel.shape
    out = np.empty(
        (padded.shape[0] - kh + 1, padded.shape[1] - kw + 1) + padded.shape[2:], dtype=np.float64
    )
    rows = out.shape[0]
    if out.size < _BANDED_MIN_SIZE:
        _filter_rows(padded, kernel, ddepth, out, 0, rows, check_finite)
        return out
    bands = range(0, rows, _BAND_ROWS)
    list(
        _band_pool().map(
            lambda first: _filter_rows(
                padded, kernel, ddepth, out, first, min(first + _BAND_ROWS, rows), check_finite
            ),
            bands,
        )
    )
    return out


_BAND_ROWS = 256
_BANDED_MIN_SIZE = 512 * 512
_POOL: ThreadPoolExecutor | None = None


def _band_pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="conv2d-band")
    return _POOL


def conv2d(
    image,
    kernel,
    *,
    strides=1,
    padding="valid",
    mode: str = "constant",
    cval: float = 0.0,
    dilation_rate=1,
    flip_kernel: bool = False,
) -> np.ndarray:
    """Slide ``kernel`` over ``image``: multiply element-wise and sum at each stop.

    By default this is cross-correlation, what CNN layers, ``cv2.filter2D`` and
    most kernel demos compute. ``flip_kernel=True`` rotates the kernel by 180°
    first, which is the textbook convolution of ``scipy.signal.convolve2d``.

    Args:
        image: (H, W) or (H, W, C) array of any real dtype.
        kernel: (kh, kw), applied to each channel separately; or (kh, kw, C),
            one CNN filter whose per-channel responses are summed.
        strides: step of the window, int or (rows, cols), each >= 1.
        padding: "valid" (none), "same" (TensorFlow: ceil(n / s) outputs, the
            odd extra row/column at the bottom/right), "full" (k̂ − 1 on each
            side), an int, (pad_rows, pad_cols) or ((top, bottom), (left, right)).
        mode: border fill, numpy.pad's names: "constant" (with ``cval``),
            "edge", "reflect", "symmetric", "wrap".
        cval: fill value for ``mode="constant"``.
        dilation_rate: gaps between kernel taps, int or (rows, cols), each >= 1.
        flip_kernel: rotate the kernel by 180° (true convolution).

    Returns:
        float64 array (H', W') or (H', W', C) for a 2-D kernel; (H', W') for a
        3-D kernel. float32, 8- and 16-bit inputs are computed in float32.

    Raises:
        ValueError: bad shapes, non-finite values, strides or dilation < 1,
            unknown padding or mode, or a kernel larger than the padded image.
        TypeError: non-numeric arrays or arguments of the wrong type.

    >>> conv2d(np.arange(16).reshape(4, 4), np.ones((3, 3)))
    array([[45., 54.],
           [81., 90.]])
    """
    # The image's NaN/inf check happens band by band inside the correlation.
    padded, _, dilated, strides, _ = _prepare(
        image, kernel, strides, padding, mode, cval, dilation_rate, flip_kernel,
        check_image_finite=False,
    )  # fmt: skip
    if dilated.ndim == 3:
        if padded.ndim == 2:
            padded = padded[:, :, None]
        planes = [
            _correlate_valid(padded[:, :, c], dilated[:, :, c], check_finite=True)
            for c in range(dilated.shape[2])
        ]
        result = np.sum(planes, axis=0, dtype=np.float64)
    else:
        result = _correlate_valid(padded, dilated, check_finite=True)
    if strides != (1, 1):
        result = np.ascontiguousarray(result[:: strides[0], :: strides[1]])
    return result


# --------------------------------------------------------------------------- explain one pixel


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


# --------------------------------------------------------------------------- transposed


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
    input_size = _check_positive_int(input_size, "input_size")
    kernel_size = _check_positive_int(kernel_size, "kernel_size")
    strides = _check_positive_int(strides, "strides")
    dilation_rate = _check_positive_int(dilation_rate, "dilation_rate")
    padding = as_choice(padding, "padding", ("valid", "same"))
    k_eff = effective_kernel_size(kernel_size, dilation_rate)
    if output_padding is None:
        if padding == "valid":
            return input_size * strides + max(k_eff - strides, 0)
        return input_size * strides
    output_padding = _check_positive_int(output_padding, "output_padding", minimum=0)
    if output_padding >= strides:
        raise ValueError(
            "`output_padding` must be smaller than `strides`. "
            f"Received: output_padding={output_padding}, strides={strides}"
        )
    pad = k_eff // 2 if padding == "same" else 0
    size = (input_size - 1) * strides + k_eff - 2 * pad + output_padding
    if size < 1:
        raise ValueError(
            f"These settings give an empty output ({size}). Use a larger kernel or less padding."
        )
    return size


def _check_transpose_is_keras_expressible(
    input_size: int, size: int, strides: int, padding: str, axis: int
) -> None:
    """TensorFlow checks that a 'same' convolution of the output gives back the input."""
    rebuilt = math.ceil(size / strides)
    if padding == "same" and rebuilt != input_size:
        raise ValueError(
            f"Along the {('rows', 'columns')[axis]}, a 'same' convolution of the {size}-cell "
            f"output would give {rebuilt} values, not the {input_size} input values, so this is "
            "not the transpose of any convolution (Keras and TensorFlow refuse it as well). "
            "Change the output padding, the kernel size or the stride."
        )


def _transpose_crop_start(output_length: int, kernel_size: int, stride: int, padding: str) -> int:
    """Rows cut from the top of the full scatter result, as TensorFlow's gradient op does."""
    return _axis_padding(padding, output_length, kernel_size, stride, 0)[0]


def conv2d_transpose(
    image,
    kernel,
    *,
    strides=1,
    padding: str = "valid",
    output_padding=None,
) -> np.ndarray:
    """Transposed convolution of one channel, sized like Keras' ``Conv2DTranspose``.

    Each input value stamps ``value × kernel`` onto the output at ``stride``
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
    padding = as_choice(padding, "padding", ("valid", "same"))
    if output_padding is None:
        output_padding = (None, None)
    else:
        output_padding = as_pair(output_padding, "output_padding", minimum=0)
    sizes = [
        transpose_output_size(
            image.shape[axis], kernel.shape[axis], strides=strides[axis], padding=padding,
            output_padding=output_padding[axis],
        )
        for axis in (0, 1)
    ]  # fmt: skip
    for axis in (0, 1):
        _check_transpose_is_keras_expressible(
            image.shape[axis], sizes[axis], strides[axis], padding, axis
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
    start = [
        _transpose_crop_start(sizes[axis], kernel.shape[axis], strides[axis], padding)
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
    rows, cols = input_shape
    if rows * cols > 400:
        raise ValueError(
            "`input_shape` is too large for an explicit matrix (at most 400 cells). "
            f"Received: input_shape={input_shape!r}"
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
