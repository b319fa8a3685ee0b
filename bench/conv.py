"""Speed of ``core.conv2d`` next to the references it must beat or match.

Targets (issue 2), on a 1024×1024×3 float32 image with a 3×3 kernel:
  - at least 10× faster than ``scipy.signal.correlate2d`` applied per channel;
  - at most 2× slower than a bare ``cv2.filter2D`` call.
Everything is timed side by side in one run and printed as ratios, because
absolute times on a shared 2-core machine mean little.

Run: ``python bench/conv.py``
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import scipy.signal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.ops.convolution import conv2d


def median_ms(function, repeats: int) -> float:
    function()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def tensorflow_depthwise(image: np.ndarray, kernel: np.ndarray):
    """A ``tf.nn.depthwise_conv2d`` call equivalent to ``conv2d(image, kernel)``, or None."""
    try:
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
    except ImportError:
        return None
    channels = image.shape[2]
    batch = tf.constant(image[None])
    filters = tf.constant(np.repeat(kernel[:, :, None, None], channels, axis=2))

    def run():
        return tf.nn.depthwise_conv2d(batch, filters, strides=[1, 1, 1, 1], padding="VALID")

    return run


def main() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((1024, 1024, 3), dtype=np.float32)
    kernel = rng.standard_normal((3, 3)).astype(np.float32)

    rows = {
        "core.conv2d": median_ms(lambda: conv2d(image, kernel), 30),
        "cv2.filter2D (bare)": median_ms(lambda: cv2.filter2D(image, -1, kernel), 30),
        "scipy.signal.correlate2d per channel": median_ms(
            lambda: [
                scipy.signal.correlate2d(image[:, :, c], kernel, mode="valid") for c in range(3)
            ],
            3,
        ),
    }
    depthwise = tensorflow_depthwise(image, kernel)
    if depthwise is not None:
        rows["tf.nn.depthwise_conv2d"] = median_ms(depthwise, 10)

    ours = rows["core.conv2d"]
    print("1024×1024×3 float32 image, 3×3 kernel, 'valid' padding (median of repeats)")
    print(f"{'method':40s} {'ms':>9s} {'time / core.conv2d':>20s}")
    for name, ms in rows.items():
        print(f"{name:40s} {ms:9.2f} {ms / ours:20.2f}")
    speedup = rows["scipy.signal.correlate2d per channel"] / ours
    slowdown = ours / rows["cv2.filter2D (bare)"]
    print()
    print(f"speed-up over scipy per channel: {speedup:.1f}×  (target >= 10×)")
    print(f"slow-down against bare cv2.filter2D: {slowdown:.2f}×  (target <= 2×)")


if __name__ == "__main__":
    main()
