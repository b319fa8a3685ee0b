"""The computations behind the Pooling page's image lessons.

``pool_repeatedly`` pools a map once, twice, three times; ``feature_map`` makes
the ReLU'd response of a kernel a CNN would pool; ``translation_study``
measures how much a stride-1 convolution map and its pooled version change
when the input moves by a few pixels. Pure numpy on top of ``core.ops.convolution``
and ``core.ops.pooling``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.base.checks import as_real_array, check_int
from core.imaging.images import to_grayscale
from core.ops.convolution import conv2d
from core.ops.pooling import pool2d

MAX_SHIFT = 3


def pool_repeatedly(
    x, times: int, *, pool_size=2, strides=None, padding="valid", method="max"
) -> list[np.ndarray]:
    """``[x, pool(x), pool(pool(x)), …]`` with ``times`` poolings (1–3).

    Raises:
        ValueError: ``times`` outside 1–3, or a map became smaller than the
            window (the message says after how many poolings).

    >>> [m.shape for m in pool_repeatedly(np.zeros((8, 6)), 2)]
    [(8, 6), (4, 3), (2, 1)]
    """
    times = check_int(times, "times", minimum=1, maximum=3)
    maps = [as_real_array(x, "x", ndims=(2, 3)).astype(np.float64)]
    for count in range(1, times + 1):
        try:
            maps.append(
                pool2d(
                    maps[-1], pool_size=pool_size, strides=strides, padding=padding, method=method
                )
            )
        except ValueError as error:
            raise ValueError(
                f"Pooling number {count} fails on a {maps[-1].shape[0]}×{maps[-1].shape[1]} "
                f"map: {error}"
            ) from None
    return maps


def feature_map(image, kernel) -> np.ndarray:
    """ReLU(kernel ⋆ grayscale image), 'same' size: what a conv layer hands to pooling.

    >>> feature_map(np.array([[0.0, 10.0]]), np.array([[-1.0, 1.0]])).tolist()
    [[10.0, 0.0]]
    """
    gray = to_grayscale(np.asarray(image)).astype(np.float64)
    return np.maximum(conv2d(gray, kernel, padding="same", mode="edge"), 0.0)


@dataclass(frozen=True)
class TranslationStudy:
    """How much a map changes when the input moves by ``shift`` pixels to the right.

    ``*_change`` is mean |after − before| / mean |before| (0 = identical);
    ``pooled_unchanged`` the share of pooled cells that kept their exact value.
    """

    shift: int
    conv_before: np.ndarray
    conv_after: np.ndarray
    pooled_before: np.ndarray
    pooled_after: np.ndarray
    conv_change: float
    pooled_change: float
    pooled_unchanged: float


def _relative_change(before: np.ndarray, after: np.ndarray) -> float:
    scale = float(np.abs(before).mean())
    return float(np.abs(after - before).mean() / scale) if scale > 0 else 0.0


def translation_study(image, kernel, shift: int, *, pool_size: int = 2) -> TranslationStudy:
    """Compare the stride-1 feature map and its max-pooled map before/after a shift.

    The same crop of the photo is taken at column 0 ("before") and at column
    ``shift`` ("after", the content moved left by ``shift`` px), so nothing
    is invented at the border. Max pooling with window and stride
    ``pool_size`` follows the ReLU'd convolution.

    >>> study = translation_study(np.tile(np.arange(16.0), (16, 1)), np.ones((1, 1)), 0)
    >>> study.conv_change, study.pooled_unchanged
    (0.0, 1.0)
    """
    shift = check_int(shift, "shift", minimum=0, maximum=MAX_SHIFT)
    pool_size = check_int(pool_size, "pool_size", minimum=1)
    gray = to_grayscale(np.asarray(image)).astype(np.float64)
    width = gray.shape[1] - MAX_SHIFT
    if width < 2 * pool_size or gray.shape[0] < 2 * pool_size:
        raise ValueError(
            f"The image ({gray.shape[0]}×{gray.shape[1]}) is too small for this study; "
            f"it needs at least {2 * pool_size}×{2 * pool_size + MAX_SHIFT} pixels."
        )
    before = feature_map(gray[:, :width], kernel)
    after = feature_map(gray[:, shift : shift + width], kernel)
    pooled_before = pool2d(before, pool_size=pool_size)
    pooled_after = pool2d(after, pool_size=pool_size)
    return TranslationStudy(
        shift=shift,
        conv_before=before,
        conv_after=after,
        pooled_before=pooled_before,
        pooled_after=pooled_after,
        conv_change=_relative_change(before, after),
        pooled_change=_relative_change(pooled_before, pooled_after),
        pooled_unchanged=float(np.isclose(pooled_before, pooled_after).mean()),
    )
