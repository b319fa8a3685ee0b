"""2-D convolution as CNN layers, OpenCV and textbooks compute it.

The numeric heart of ConvScope. ``conv2d`` slides a kernel over an image with
Keras' ``strides``, ``padding`` and ``dilation_rate`` and numpy's border
``mode``s; ``flip_kernel`` switches between cross-correlation (what CNN layers
compute) and true convolution (what textbooks and ``scipy.signal.convolve2d``
compute). The work is done by ``cv2.filter2D`` on the padded image, then
cropped and strided, so a megapixel photo takes milliseconds.

``ConvOptions`` holds the sliding options, normalised and checked once;
``core.ops.output_size`` gives the arithmetic, ``core.ops.pixel_explanation``
the step-by-step dot product behind one output value, and
``core.ops.transposed`` the transposed ("deconvolution") layer.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from core.base.checks import (
    PaddingPairs,
    Pair,
    as_choice,
    as_pair,
    as_real_array,
    check_all_finite,
    check_bool,
    check_real,
    received,
)
from core.ops.output_size import (
    BORDER_MODES,
    PADDING_NAMES,
    conv_padding,
    effective_kernel_size,
    normalize_explicit_padding,
)

# cv2.filter2D handles at most this many channels in one call.
_CV2_MAX_CHANNELS = 4


# Inputs whose precision float32 carries exactly are computed in float32: twice as fast.
_FLOAT32_EXACT_KINDS = {np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.float16)}


# ...and these cv2.filter2D reads directly, without a conversion copy.
_CV2_FLOAT32_SOURCES = {np.dtype(t) for t in (np.uint8, np.uint16, np.int16, np.float32)}


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
                f"A 3-D `kernel` must have one slice per image channel ({channels}). "
                f"{received('kernel', kernel)}"
            )
    return image, kernel


@dataclass(frozen=True)
class ConvOptions:
    """How ``conv2d`` slides its kernel: Keras' names, normalised and checked once.

    The fields are ``conv2d``'s keyword options with its defaults; ``explain_pixel`` takes
    the same ones. After construction ``strides`` and ``dilation_rate`` are pairs,
    ``padding`` a lower-case name or ``((top, bottom), (left, right))``, ``mode`` lower
    case and ``cval`` a float.

    Raises:
        TypeError: an option of the wrong type.
        ValueError: a stride or dilation below 1, an unknown name, a negative padding or
            a non-finite ``cval``.

    >>> options = ConvOptions(strides=2, padding="SAME")
    >>> options.strides, options.padding, options.dilation_rate
    ((2, 2), 'same', (1, 1))
    """

    strides: Pair | int = 1
    padding: str | int | tuple = "valid"
    mode: str = "constant"
    cval: float = 0.0
    dilation_rate: Pair | int = 1
    flip_kernel: bool = False

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "strides", as_pair(self.strides, "strides"))
        if isinstance(self.padding, str):
            set_(self, "padding", as_choice(self.padding, "padding", PADDING_NAMES))
        else:
            set_(self, "padding", normalize_explicit_padding(self.padding))
        set_(self, "mode", as_choice(self.mode, "mode", BORDER_MODES))
        set_(self, "cval", check_real(self.cval, "cval"))
        set_(self, "dilation_rate", as_pair(self.dilation_rate, "dilation_rate"))
        set_(self, "flip_kernel", check_bool(self.flip_kernel, "flip_kernel"))


def _prepare(image, kernel, options: ConvOptions, *, check_image_finite: bool = True):
    """Validate and pad: return (padded image, kernel as applied, dilated kernel, paddings).

    With ``check_image_finite=False`` the caller must check the padded image.
    """
    image, kernel = _validate_conv_inputs(image, kernel, check_image_finite=check_image_finite)
    applied = kernel[::-1, ::-1] if options.flip_kernel else kernel
    dilated = dilate_kernel(applied, options.dilation_rate)
    pads = conv_padding(
        image.shape[:2],
        kernel.shape[:2],
        strides=options.strides,
        padding=options.padding,
        dilation_rate=options.dilation_rate,
    )
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
    padded = _pad(image, pads, options.mode, options.cval)
    return padded, applied, dilated, pads


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
    options = ConvOptions(strides, padding, mode, cval, dilation_rate, flip_kernel)
    # The image's NaN/inf check happens band by band inside the correlation.
    padded, _, dilated, _ = _prepare(image, kernel, options, check_image_finite=False)
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
    rows, cols = options.strides
    if (rows, cols) != (1, 1):
        result = np.ascontiguousarray(result[::rows, ::cols])
    return result
