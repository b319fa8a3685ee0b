"""Noise and the filters that fight it, plus unsharp masking.

Gaussian noise (every pixel nudged by a random amount) is averaged away well
by a mean or Gaussian filter. Salt-and-pepper noise (a few pixels set to pure
black or white) is not: an average smears each outlier over its neighbours.
The median filter sorts the neighbourhood and keeps the middle value, so
outliers vanish — but it is not a convolution: no kernel, and the result of a
sum of images is not the sum of the results.

Unsharp masking subtracts a blurred copy to keep only the fine detail
(high frequencies) and adds a multiple of it back: original + amount ·
(original − blurred).

Images are (H, W) or (H, W, 3) on the 0–255 scale; results are float32.
Borders are filled by mirroring (``mode="symmetric"``, scipy.ndimage's
"reflect"). Random functions take a ``seed`` so a demo repeats exactly.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.ndimage

from core.base.checks import as_real_array, check_int, check_real, received
from core.ops.convolution import conv2d
from core.ops.kernels import box_kernel, gaussian_kernel

MAX_FILTER_SIZE = 31


def _check_image(image) -> np.ndarray:
    """(H, W) or (H, W, 3) real values as float32 (NaN is left alone)."""
    array = as_real_array(image, "image", ndims=(2, 3), check_finite=False)
    if array.ndim == 3 and array.shape[2] != 3:
        raise ValueError(f"`image` must be (H, W) or (H, W, 3). {received('image', array)}")
    return array.astype(np.float32, copy=False)


def _check_filter_size(kernel_size) -> int:
    kernel_size = check_int(kernel_size, "kernel_size", minimum=1, maximum=MAX_FILTER_SIZE)
    if kernel_size % 2 == 0:
        raise ValueError(
            "`kernel_size` must be odd, so the window has a centre pixel. "
            f"{received('kernel_size', kernel_size)}"
        )
    return kernel_size


def add_gaussian_noise(image, variance: float, *, seed: int = 0, clip: bool = True) -> np.ndarray:
    """Add zero-mean Gaussian noise of the given ``variance`` (standard deviation √variance).

    Args:
        image: (H, W) or (H, W, 3), 0–255.
        variance: noise variance in grey levels squared, 0–10,000 (the lecture uses 100).
        seed: random seed, so the same noise comes back.
        clip: keep the result within 0–255, as a saved photo would.

    >>> add_gaussian_noise(np.zeros((2, 2)), 0.0).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """
    pixels = _check_image(image)
    variance = check_real(variance, "variance", minimum=0.0, maximum=10_000.0)
    rng = np.random.default_rng(seed)
    noisy = pixels + rng.normal(0.0, math.sqrt(variance), size=pixels.shape).astype(np.float32)
    return np.clip(noisy, 0, 255) if clip else noisy


def add_salt_and_pepper(image, fraction: float, *, seed: int = 0) -> np.ndarray:
    """Set a ``fraction`` of the pixels to 0 or 255 (half each, all channels of a pixel).

    >>> noisy = add_salt_and_pepper(np.full((100, 100), 128.0), 0.1, seed=1)
    >>> int((noisy != 128).sum())
    1000
    """
    pixels = _check_image(image)
    fraction = check_real(fraction, "fraction", minimum=0.0, maximum=1.0)
    height, width = pixels.shape[:2]
    rng = np.random.default_rng(seed)
    count = round(fraction * height * width)
    chosen = rng.choice(height * width, size=count, replace=False)
    noisy = pixels.copy()
    flat = noisy.reshape(height * width, -1)
    half = count // 2
    flat[chosen[:half]] = 0.0
    flat[chosen[half:]] = 255.0
    return noisy


def mean_filter(image, kernel_size: int = 3) -> np.ndarray:
    """Replace each pixel by the mean of its ``kernel_size``² neighbourhood (odd size).

    >>> mean_filter(np.array([[0.0, 9.0, 0.0]]), 3).tolist()
    [[3.0, 3.0, 3.0]]
    """
    pixels = _check_image(image)
    kernel = box_kernel(_check_filter_size(kernel_size))
    return conv2d(pixels, kernel, padding="same", mode="symmetric").astype(np.float32)


def gaussian_filter(image, kernel_size: int = 5, sigma: float = 1.0) -> np.ndarray:
    """Weighted mean under a ``kernel_size``² Gaussian of standard deviation ``sigma``.

    Noise is averaged away as by ``mean_filter``, but near pixels count more, so edges
    blur less.

    >>> gaussian_filter(np.full((4, 4), 7.0), 3).round(4).tolist()[0]
    [7.0, 7.0, 7.0, 7.0]
    """
    pixels = _check_image(image)
    kernel = gaussian_kernel(_check_filter_size(kernel_size), sigma)
    return conv2d(pixels, kernel, padding="same", mode="symmetric").astype(np.float32)


def median_filter(image, kernel_size: int = 3) -> np.ndarray:
    """Replace each pixel by the median of its ``kernel_size``² neighbourhood.

    Not a convolution: the median is not a weighted sum, so no kernel can
    express it. Each colour channel is filtered on its own.

    >>> median_filter(np.array([[0.0, 255.0, 0.0]]), 3).tolist()
    [[0.0, 0.0, 0.0]]
    """
    pixels = _check_image(image)
    kernel_size = _check_filter_size(kernel_size)
    footprint = (kernel_size, kernel_size) + ((1,) if pixels.ndim == 3 else ())
    return scipy.ndimage.median_filter(pixels, size=footprint, mode="reflect").astype(np.float32)


def unsharp_mask(
    image, *, amount: float = 1.0, kernel_size: int = 9, sigma: float = 2.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sharpen by adding back the detail a blur removes.

    Returns ``(blurred, detail, sharpened)`` where ``detail = image − blurred``
    (the high-frequency part, signed) and ``sharpened = image + amount · detail``
    (not clipped; values may leave 0–255).

    >>> image = np.array([[0.0, 0.0, 90.0, 90.0]])
    >>> blurred, detail, sharp = unsharp_mask(image, kernel_size=3)
    >>> [round(float(value), 1) for value in detail[0]]
    [0.0, -28.7, 28.7, 0.0]
    """
    pixels = _check_image(image)
    amount = check_real(amount, "amount", minimum=0.0, maximum=100.0)
    blurred = gaussian_filter(pixels, kernel_size, sigma)
    detail = pixels - blurred
    return blurred, detail, pixels + amount * detail


def mean_squared_error(image, reference) -> float:
    """Mean of the squared differences: how far a filtered image is from the clean one.

    >>> mean_squared_error([[1.0, 3.0]], [[1.0, 1.0]])
    2.0
    """
    a = as_real_array(image, "image", ndims=(2, 3), check_finite=False).astype(np.float64)
    b = as_real_array(reference, "reference", ndims=(2, 3), check_finite=False)
    if a.shape != b.shape:
        raise ValueError(
            f"`reference` must have the shape of `image`, {a.shape}. {received('reference', b)}"
        )
    return float(np.mean((a - b) ** 2))
