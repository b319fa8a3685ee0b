"""2-D convolution as CNN layers, OpenCV and textbooks compute it.

The numeric heart of ConvScope. ``conv2d`` slides a kernel over an image with
Keras' ``strides``, ``padding`` and ``dilation_rate`` and numpy's border
``mode``s; ``flip_kernel`` switches between cross-correlation (what CNN layers
compute) and true convolution (what textbooks and ``scipy.signal.convolve2d``
compute). The work is done by ``cv2.filter2D``, which reads the border itself
("valid", "same" and small paddings in every mode but "wrap" and a non-zero
``cval``; a padded copy for the rest), in bands of rows on every core, then
strided, so a megapixel photo takes milliseconds.

``ConvOptions`` holds the sliding options, normalised and checked once;
``core.ops.output_size`` gives the arithmetic, ``core.ops.pixel_explanation``
the step-by-step dot product behind one output value, and
``core.ops.transposed`` the transposed ("deconvolution") layer.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import threading
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


def _check_kernel_fits(kernel: np.ndarray, dilated: np.ndarray, image_shape, pads) -> None:
    padded_shape = (image_shape[0] + sum(pads[0]), image_shape[1] + sum(pads[1]))
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


def _kernels_and_padding(image, kernel, options: ConvOptions, *, check_image_finite: bool):
    """Validate: return (image, kernel as applied, dilated kernel, paddings)."""
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
    _check_kernel_fits(kernel, dilated, image.shape, pads)
    return image, applied, dilated, pads


def _pad(image: np.ndarray, pads: PaddingPairs, mode: str, cval: float) -> np.ndarray:
    if pads == ((0, 0), (0, 0)):
        return image
    widths = pads + ((0, 0),) * (image.ndim - 2)
    if mode == "constant":
        if image.dtype.kind in "iub" and cval != int(cval):
            image = image.astype(np.float64)
        return np.pad(image, widths, mode="constant", constant_values=cval)
    return np.pad(image, widths, mode=mode)


# numpy.pad's border modes that cv2.filter2D fills the same way itself, so no padded copy is
# made. Its BORDER_WRAP is refused by filter2D, and its constant border is always 0.
_CV2_BORDERS = {
    "constant": cv2.BORDER_CONSTANT,
    "edge": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT_101,
    "symmetric": cv2.BORDER_REFLECT,
}


def _cv2_border(image_shape, kernel_shape, pads: PaddingPairs, mode: str, cval: float):
    """OpenCV's border type that reads the values ``_pad`` would add, or None.

    cv2.filter2D pads k − 1 rows (columns) in all around its anchor, so any padding
    up to that ("valid", "same", small explicit ones) is an anchor and a crop away;
    mirrored borders must also be shorter than the image, which numpy would mirror
    again.

    >>> _cv2_border((5, 5), (3, 3), ((1, 1), (1, 1)), "edge", 0.0) == cv2.BORDER_REPLICATE
    True
    >>> _cv2_border((5, 5), (3, 3), ((2, 2), (2, 2)), "edge", 0.0) is None  # "full"
    True
    """
    border = _CV2_BORDERS.get(mode)
    if pads == ((0, 0), (0, 0)):
        return cv2.BORDER_CONSTANT
    if border is None or (mode == "constant" and cval != 0):
        return None
    for size, k, (before, after) in zip(image_shape[:2], kernel_shape[:2], pads, strict=True):
        if before + after > k - 1:
            return None
        if mode in ("reflect", "symmetric") and max(before, after) >= size:
            return None
    return border


def _as_filter_input(source: np.ndarray) -> tuple[np.ndarray, int]:
    """Pick the cheapest exact dtype for cv2.filter2D: float32 when it holds the input exactly."""
    if source.dtype in _CV2_FLOAT32_SOURCES:
        return source, cv2.CV_32F
    if source.dtype in _FLOAT32_EXACT_KINDS or source.dtype == bool:
        return source.astype(np.float32), cv2.CV_32F
    return source.astype(np.float64, copy=False), cv2.CV_64F


class _NotFinite(Exception):
    """A band of the image holds NaN or ±inf (``conv2d`` names the whole image)."""


@dataclass(frozen=True)
class _Filtering:
    """One cv2.filter2D pass: output pixel (r, c) reads source rows r − top … r − top + kh − 1."""

    source: np.ndarray
    kernel: np.ndarray
    ddepth: int
    anchor: tuple[int, int]  # OpenCV's (x, y) = (left, top) padding
    border: int
    check_finite: bool

    def rows_into(self, out: np.ndarray, first: int, last: int) -> None:
        """Fill ``out[first:last]``, filtering only the source rows those need.

        The band's source reaches at least kh rows (or the whole image), so a mirrored
        border at the image's edge reads the same rows as on the whole image; with
        ``check_finite`` the band is checked while in cache (bands cover every row).
        """
        kh = self.kernel.shape[0]
        top = self.anchor[1]
        height = self.source.shape[0]
        start = max(0, min(first - top, height - kh))
        stop = min(height, max(last + kh - 1 - top, kh))
        band = np.ascontiguousarray(self.source[start:stop])
        if self.check_finite and band.dtype.kind == "f" and not np.isfinite(band).all():
            raise _NotFinite
        band, _ = _as_filter_input(band)
        filtered = cv2.filter2D(
            band,
            self.ddepth,
            self.kernel,
            dst=_scratch(band.shape, np.float32 if self.ddepth == cv2.CV_32F else np.float64),
            anchor=self.anchor,
            borderType=self.border,
        )
        if filtered.ndim < out.ndim:  # cv2 drops a trailing channel axis of size 1
            filtered = filtered[..., None]
        out[first:last] = filtered[first - start : last - start, : out.shape[1]]


def _correlate(
    source: np.ndarray, kernel: np.ndarray, pads: PaddingPairs, border: int, check_finite: bool
) -> np.ndarray:
    """Cross-correlate every channel of ``source`` with a 2-D kernel.

    ``pads`` (at most k − 1 per axis in all) are read through OpenCV's ``border``.
    A float32 image gives float32, what cv2.filter2D writes: one call on the whole
    image (OpenCV spreads it over the cores), and no copy ("valid" is a cropped view).
    Other images give float64: filtered in bands of rows on every core, so each
    float32 band is widened to float64 while still in cache, and checked for NaN/inf
    there when ``check_finite``: both then cost little next to the filtering itself.
    """
    ddepth = _as_filter_input(source[:1, :1])[1]
    kernel = np.ascontiguousarray(kernel, dtype=np.float32 if ddepth == cv2.CV_32F else np.float64)
    if source.ndim == 3 and source.shape[2] > _CV2_MAX_CHANNELS:
        planes = [
            _correlate(source[:, :, c], kernel, pads, border, check_finite)
            for c in range(source.shape[2])
        ]
        return np.stack(planes, axis=-1)
    (top, bottom), (left, right) = pads
    kh, kw = kernel.shape
    rows = source.shape[0] + top + bottom - kh + 1
    cols = source.shape[1] + left + right - kw + 1
    if source.dtype == np.float32:
        source = np.ascontiguousarray(source)
        checked = _check_finite_beside(source) if check_finite else None
        full = cv2.filter2D(
            source,
            cv2.CV_32F,
            kernel,
            anchor=(left, top),
            borderType=border,
        )
        if checked is not None and not checked.result():
            raise _NotFinite
        if full.ndim < source.ndim:  # cv2 drops a trailing channel axis of size 1
            full = full[..., None]
        return full[:rows, :cols]
    out = np.empty((rows, cols) + source.shape[2:], dtype=np.float64)
    filtering = _Filtering(source, kernel, ddepth, (left, top), border, check_finite)
    band_rows = max(_MIN_BAND_ROWS, _BAND_BYTES // max(1, out[0].size * 4))
    if out.size < _BANDED_MIN_SIZE or out.shape[0] < 2 * band_rows:
        filtering.rows_into(out, 0, out.shape[0])
    else:
        _in_bands(filtering, out, band_rows)
    return out


def _all_finite(array: np.ndarray) -> bool:
    """Whether a contiguous float array holds no NaN or ±inf.

    x · x is NaN or infinite exactly when some x is, or when it overflows (then each
    value is checked): one pass of BLAS over the data, 2–3× cheaper than np.isfinite.
    ``np.vdot`` rather than ``np.dot``: its one thread leaves the cores to OpenCV (a
    threaded ``np.dot`` beside ``cv2.filter2D`` cost a 3×3 filter 20 % more).

    >>> _all_finite(np.array([1e30, -2.0], np.float32)), _all_finite(np.array([np.nan, 0.0]))
    (True, False)
    """
    flat = array.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        return math.isfinite(np.vdot(flat, flat)) or bool(np.isfinite(flat).all())


def _check_finite_beside(source: np.ndarray) -> concurrent.futures.Future:
    """Whether ``source`` is all finite, worked out on a helper thread for a large image.

    The check reads the image once more; beside OpenCV's filtering it costs little
    wall time.
    """
    pool = _band_pool()
    if pool is None or source.size < _BANDED_MIN_SIZE:
        done: concurrent.futures.Future = concurrent.futures.Future()
        done.set_result(_all_finite(source))
        return done
    return pool.submit(_all_finite, source)


def _in_bands(filtering: _Filtering, out: np.ndarray, band_rows: int) -> None:
    """Fill ``out`` band by band on this thread and the pool's, each taking the next band."""
    rows = out.shape[0]
    bands = iter(range(0, rows, band_rows))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                first = next(bands, None)
            if first is None:
                return
            filtering.rows_into(out, first, min(first + band_rows, rows))

    pool = _band_pool()
    helpers = [pool.submit(work) for _ in range(_BAND_HELPERS)] if pool else []
    try:
        work()
    finally:
        concurrent.futures.wait(helpers)
    for helper in helpers:
        helper.result()  # re-raise a helper's error (a band with NaN)


_THREAD_LOCAL = threading.local()


def _scratch(shape: tuple[int, ...], dtype) -> np.ndarray:
    """This thread's reusable buffer for one band's filtered rows (it stays in cache), or None."""
    size = math.prod(shape)
    if size * np.dtype(dtype).itemsize > _MAX_SCRATCH_BYTES:
        return None  # a one-off large band: not kept for the thread's lifetime
    buffer = getattr(_THREAD_LOCAL, "buffer", None)
    if buffer is None or buffer.dtype != dtype or buffer.size < size:
        buffer = _THREAD_LOCAL.buffer = np.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)


# A band's float32 rows fit in a core's cache with room for their float64 copy.
_BAND_BYTES = 1 << 19


_MIN_BAND_ROWS = 16


_MAX_SCRATCH_BYTES = 1 << 22


_BANDED_MIN_SIZE = 512 * 512


# Threads that filter bands beside the calling one: one per further usable core.
_BAND_HELPERS = min(len(os.sched_getaffinity(0)), 8) - 1


_POOL: ThreadPoolExecutor | None = None


def _band_pool() -> ThreadPoolExecutor | None:
    global _POOL
    if _POOL is None and _BAND_HELPERS > 0:
        _POOL = ThreadPoolExecutor(max_workers=_BAND_HELPERS, thread_name_prefix="conv2d-band")
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
        (H', W') or (H', W', C) for a 2-D kernel; (H', W') for a 3-D kernel.
        float32 for a float32 image (as ``cv2.filter2D`` returns it), else
        float64; 8- and 16-bit inputs are computed in float32 too, exactly.

    Raises:
        ValueError: bad shapes, non-finite values, strides or dilation < 1,
            unknown padding or mode, or a kernel larger than the padded image.
        TypeError: non-numeric arrays or arguments of the wrong type.

    >>> conv2d(np.arange(16).reshape(4, 4), np.ones((3, 3)))
    array([[45., 54.],
           [81., 90.]])
    """
    options = ConvOptions(strides, padding, mode, cval, dilation_rate, flip_kernel)
    # The image's NaN/inf check happens inside the correlation (band by band for float64).
    image, _, dilated, pads = _kernels_and_padding(image, kernel, options, check_image_finite=False)
    border = _cv2_border(image.shape, dilated.shape, pads, options.mode, options.cval)
    source = image
    if border is None:  # a border OpenCV cannot read itself: pad a copy
        source, pads, border = _pad(image, pads, options.mode, options.cval), _NO_PADS, 0
    try:
        if dilated.ndim == 3:
            if source.ndim == 2:
                source = source[:, :, None]
            result = _correlate(source[:, :, 0], dilated[:, :, 0], pads, border, True)
            for c in range(1, dilated.shape[2]):
                result += _correlate(source[:, :, c], dilated[:, :, c], pads, border, True)
        else:
            result = _correlate(source, dilated, pads, border, True)
    except _NotFinite:
        check_all_finite(image, "image")
        raise
    rows, cols = options.strides
    if (rows, cols) != (1, 1):
        result = np.ascontiguousarray(result[::rows, ::cols])
    return result


_NO_PADS: PaddingPairs = ((0, 0), (0, 0))
