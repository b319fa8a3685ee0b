"""Histograms, histogram equalisation and channel splitting.

A histogram counts how many pixels have each of the 256 grey levels. Its
running total, divided by the number of pixels, is the cumulative
distribution (CDF): the fraction of pixels at or below each level.
Equalisation sends every level ``v`` to ``floor(255 · cdf(v))``, which spreads
crowded levels apart so a washed-out photo uses the whole range.

For a colour photo, equalising R, G and B separately stretches each by a
different amount and so changes the colours; equalising only the brightness
(Y of YCrCb, or L of LAB) and keeping the colour components leaves hues alone.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.base.checks import as_choice, as_pair, as_real_array, check_int, received

LEVELS = 256


COLOR_METHODS = ("luminance", "per_channel")


LUMINANCE_SPACES = ("ycrcb", "lab")


CHANNEL_NAMES = ("Red", "Green", "Blue")


def _as_levels(array: np.ndarray) -> np.ndarray:
    """Round and clip to integer levels 0–255 (uint8); NaN becomes 0."""
    if array.dtype == np.uint8:
        return array
    return np.clip(np.round(np.nan_to_num(array.astype(np.float64))), 0, 255).astype(np.uint8)


def _check_gray(image, name: str = "image") -> np.ndarray:
    """A 2-D grayscale array (H, W) of real numbers."""
    return as_real_array(image, name, ndims=(2,), check_finite=False)


def _check_rgb(image, name: str = "image") -> np.ndarray:
    """An RGB array (H, W, 3) of real numbers."""
    array = as_real_array(image, name, ndims=(3,), check_finite=False)
    if array.shape[2] != 3:
        raise ValueError(f"`{name}` must be an RGB array (H, W, 3). {received(name, array)}")
    return array


def histogram(image) -> np.ndarray:
    """Counts of the 256 grey levels (values are rounded and clipped to 0–255).

    Args:
        image: (H, W) array, any real dtype.

    Returns:
        int64 array of shape (256,) summing to H·W.

    >>> histogram(np.array([[0, 0, 255]])).tolist()[:2], int(histogram([[0, 0, 255]])[255])
    ([2, 0], 1)
    """
    levels = _as_levels(_check_gray(image))
    return np.bincount(levels.ravel(), minlength=LEVELS).astype(np.int64)


def cumulative_distribution(counts) -> np.ndarray:
    """Fraction of pixels at or below each level: cumsum(counts) / total, ends at 1.

    >>> cumulative_distribution([1, 1, 2]).tolist()
    [0.25, 0.5, 1.0]
    """
    counts = as_real_array(counts, "counts", ndims=(1,)).astype(np.float64)
    if counts.min() < 0 or counts.sum() <= 0:
        raise ValueError(
            "`counts` must be non-negative counts with a positive total. "
            f"{received('counts', counts)}"
        )
    return np.cumsum(counts) / counts.sum()


def equalization_lookup(counts) -> np.ndarray:
    """The lookup table of equalisation: level v → floor(255 · cdf(v)), as float64 (256,).

    >>> equalization_lookup([2, 0, 2])[:3].tolist()
    [127.0, 127.0, 255.0]
    """
    return np.floor((LEVELS - 1) * cumulative_distribution(counts) + 1e-9)


def equalize(image) -> np.ndarray:
    """Histogram-equalise a grayscale image: new = floor(255 · cdf(old)).

    Args:
        image: (H, W) array on the 0–255 scale.

    Returns:
        float32 (H, W) with integer values 0–255.

    >>> equalize(np.array([[0, 0, 100, 200]])).tolist()
    [[127.0, 127.0, 191.0, 255.0]]
    """
    levels = _as_levels(_check_gray(image))
    lookup = equalization_lookup(np.bincount(levels.ravel(), minlength=LEVELS))
    return lookup[levels].astype(np.float32)


def equalize_color(image, *, method: str = "luminance", space: str = "ycrcb") -> np.ndarray:
    """Equalise a colour photo, either its brightness only or each channel on its own.

    Args:
        image: (H, W, 3) RGB on the 0–255 scale.
        method: "luminance" (equalise Y of YCrCb or L of LAB, keep the colour
            components; hues stay) or "per_channel" (equalise R, G, B
            independently; hues shift).
        space: "ycrcb" or "lab", for ``method="luminance"``.

    Returns:
        float32 (H, W, 3) RGB, 0–255.

    >>> equalize_color(np.full((2, 2, 3), 80.0), method="per_channel")[0, 0].tolist()
    [255.0, 255.0, 255.0]
    """
    rgb = _as_levels(_check_rgb(image))
    method = as_choice(method, "method", COLOR_METHODS)
    space = as_choice(space, "space", LUMINANCE_SPACES)
    if method == "per_channel":
        return np.stack([equalize(rgb[:, :, c]) for c in range(3)], axis=-1)
    forward, backward = (
        (cv2.COLOR_RGB2YCrCb, cv2.COLOR_YCrCb2RGB)
        if space == "ycrcb"
        else (cv2.COLOR_RGB2LAB, cv2.COLOR_LAB2RGB)
    )
    converted = cv2.cvtColor(np.ascontiguousarray(rgb), forward)
    converted[:, :, 0] = equalize(converted[:, :, 0]).astype(np.uint8)
    return cv2.cvtColor(converted, backward).astype(np.float32)


def luminance(image) -> np.ndarray:
    """The brightness channel used by ``equalize_color``: Y of YCrCb (0–255), float32.

    >>> luminance(np.full((1, 1, 3), 100.0)).tolist()
    [[100.0]]
    """
    rgb = _as_levels(_check_rgb(image))
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YCrCb)[:, :, 0].astype(np.float32)


def _to_hsv(image, name: str) -> np.ndarray:
    rgb = np.ascontiguousarray(_as_levels(_check_rgb(image, name)))
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL)


def mean_hue_shift(before, after) -> float:
    """Average change of hue in degrees between two RGB images, weighted by saturation.

    Grey pixels have no hue, so they count little. About 0° means the colours
    kept their tint; tens of degrees means visibly different colours.

    >>> mean_hue_shift(np.full((1, 1, 3), 90.0), np.full((1, 1, 3), 200.0))
    0.0
    """
    hsv_before = _to_hsv(before, "before")
    hsv_after = _to_hsv(after, "after")
    hue_before = hsv_before[:, :, 0].astype(np.float64) * 360.0 / 256.0
    hue_after = hsv_after[:, :, 0].astype(np.float64) * 360.0 / 256.0
    difference = np.abs(hue_before - hue_after)
    difference = np.minimum(difference, 360.0 - difference)
    weight = np.minimum(hsv_before[:, :, 1], hsv_after[:, :, 1]).astype(np.float64)
    if weight.sum() == 0:
        return 0.0
    return float((difference * weight).sum() / weight.sum())


def split_channels(image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The R, G and B planes of an RGB image, each (H, W) float32.

    >>> [c[0, 0] for c in split_channels(np.array([[[1.0, 2.0, 3.0]]]))]
    [np.float32(1.0), np.float32(2.0), np.float32(3.0)]
    """
    rgb = _check_rgb(image).astype(np.float32)
    return rgb[:, :, 0].copy(), rgb[:, :, 1].copy(), rgb[:, :, 2].copy()


def channel_in_color(image, channel: int) -> np.ndarray:
    """An RGB image with only ``channel`` (0 = R, 1 = G, 2 = B) kept and the others zero.

    >>> channel_in_color(np.ones((1, 1, 3)), 1)[0, 0].tolist()
    [0.0, 1.0, 0.0]
    """
    rgb = _check_rgb(image)
    channel = check_int(channel, "channel", minimum=0, maximum=2)
    tinted = np.zeros(rgb.shape, dtype=np.float32)
    tinted[:, :, channel] = rgb[:, :, channel]
    return tinted


def region(image, center: tuple[int, int], size: int = 16) -> tuple[np.ndarray, int, int]:
    """A ``size``×``size`` window around ``center`` (row, col), shifted to stay inside.

    Returns the window and the row and column of its top-left corner. Images
    smaller than ``size`` are returned whole.

    >>> window, top, left = region(np.arange(100).reshape(10, 10), (0, 9), 4)
    >>> window.shape, top, left
    ((4, 4), 0, 6)
    """
    array = np.asarray(image)
    if array.ndim not in (2, 3):
        raise ValueError(f"`image` must be (H, W) or (H, W, C). {received('image', array)}")
    size = check_int(size, "size", minimum=1)
    row, col = as_pair(center, "center", minimum=None)
    height, width = array.shape[:2]
    rows, cols = min(size, height), min(size, width)
    top = int(np.clip(row - rows // 2, 0, height - rows))
    left = int(np.clip(col - cols // 2, 0, width - cols))
    return array[top : top + rows, left : left + cols], top, left
