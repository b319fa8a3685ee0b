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

LEVELS = 256


COLOR_METHODS = ("luminance", "per_channel")


LUMINANCE_SPACES = ("ycrcb", "lab")


CHANNEL_NAMES = ("Red", "Green", "Blue")


def _as_levels(image) -> np.ndarray:
    """Round and clip to integer levels 0–255 (uint8)."""
    array = np.asarray(image)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"`image` must hold numbers. Received: dtype {array.dtype}")
    if array.size == 0:
        raise ValueError(f"`image` must not be empty. Received: shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    return np.clip(np.round(np.nan_to_num(array.astype(np.float64))), 0, 255).astype(np.uint8)


def _check_gray(image) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 2:
        raise ValueError(
            "`image` must be a 2-D grayscale array (H, W). "
            f"Received: image with shape {array.shape}"
        )
    return array


def _check_rgb(image) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(
            f"`image` must be an RGB array (H, W, 3). Received: image with shape {array.shape}"
        )
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
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0 or counts.min() < 0 or counts.sum() <= 0:
        raise ValueError(
            "`counts` must be a 1-D array of non-negative counts with a positive total. "
            f"Received: counts with shape {counts.shape}"
        )
    return np.cumsum(counts) / counts.sum()


def equalization_lookup(counts) -> np.ndarray:
    """The lookup table of equalisation: level v → floor(255 · cdf(v)), as float64 (256,)."""
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
    if method not in COLOR_METHODS:
        raise ValueError(
            f"`method` must be one of {', '.join(COLOR_METHODS)}. Received: method={method!r}"
        )
    if method == "per_channel":
        return np.stack([equalize(rgb[:, :, c]) for c in range(3)], axis=-1)
    if space not in LUMINANCE_SPACES:
        raise ValueError(
            f"`space` must be one of {', '.join(LUMINANCE_SPACES)}. Received: space={space!r}"
        )
    forward, backward = (
        (cv2.COLOR_RGB2YCrCb, cv2.COLOR_YCrCb2RGB)
        if space == "ycrcb"
        else (cv2.COLOR_RGB2LAB, cv2.COLOR_LAB2RGB)
    )
    converted = cv2.cvtColor(np.ascontiguousarray(rgb), forward)
    converted[:, :, 0] = equalize(converted[:, :, 0]).astype(np.uint8)
    return cv2.cvtColor(converted, backward).astype(np.float32)


def luminance(image) -> np.ndarray:
    """The brightness channel used by ``equalize_color``: Y of YCrCb (0–255), float32."""
    rgb = _as_levels(_check_rgb(image))
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YCrCb)[:, :, 0].astype(np.float32)


def _to_hsv(image) -> np.ndarray:
    rgb = np.ascontiguousarray(_as_levels(_check_rgb(image)))
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL)


def mean_hue_shift(before, after) -> float:
    """Average change of hue in degrees between two RGB images, weighted by saturation.

    Grey pixels have no hue, so they count little. About 0° means the colours
    kept their tint; tens of degrees means visibly different colours.

    >>> mean_hue_shift(np.full((1, 1, 3), 90.0), np.full((1, 1, 3), 200.0))
    0.0
    """
    hsv_before = cv2.cvtColor(
        np.ascontiguousarray(_as_levels(_check_rgb(before))), cv2.COLOR_RGB2HSV_FULL
    )
    hsv_after = cv2.cvtColor(
        np.ascontiguousarray(_as_levels(_check_rgb(after))), cv2.COLOR_RGB2HSV_FULL
    )
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
    if channel not in (0, 1, 2):
        raise ValueError(f"`channel` must be 0, 1 or 2. Received: channel={channel!r}")
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
        raise ValueError(f"`image` must be (H, W) or (H, W, C). Received: shape {array.shape}")
    if size < 1:
        raise ValueError(f"`size` must be >= 1. Received: size={size!r}")
    height, width = array.shape[:2]
    rows, cols = min(size, height), min(size, width)
    top = int(np.clip(center[0] - rows // 2, 0, height - rows))
    left = int(np.clip(center[1] - cols // 2, 0, width - cols))
    return array[top : top + rows, left : left + cols], top, left
