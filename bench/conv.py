"""Speed of ``core.conv2d`` next to a bare ``cv2.filter2D`` and other references.

Targets (issues 2 and 12), on a 1024×1024×3 float32 image, stride 1:
  - within 1.5× a bare ``cv2.filter2D`` call for every padding and border mode OpenCV
    fills itself ("valid", and "same" with constant 0, edge, reflect, symmetric), kernels
    3×3 to 9×9. The bare call gets the same border type and checks nothing;
    ``conv2d`` also refuses NaN/inf and crops "valid" (both return float32 here);
  - at least 10× faster than ``scipy.signal.correlate2d`` applied per channel (3×3).
Each pair is timed side by side: the two calls alternate, repeat after repeat, and the
medians are compared, because absolute times on a shared 2-core machine mean little.
Beside wall time it prints the ratio of this process's CPU time (all its threads), which
other work on a shared machine disturbs less.

Run: ``python bench/conv.py`` (``--repeats N`` for more or fewer pairs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import scipy.signal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.ops.convolution import conv2d

KERNEL_SIZES = (3, 5, 7, 9)


# (padding, mode) → the border type a bare cv2.filter2D call is given.
CASES = {
    ("valid", "constant"): cv2.BORDER_CONSTANT,
    ("same", "constant"): cv2.BORDER_CONSTANT,
    ("same", "edge"): cv2.BORDER_REPLICATE,
    ("same", "reflect"): cv2.BORDER_REFLECT_101,
    ("same", "symmetric"): cv2.BORDER_REFLECT,
}


TARGET_RATIO = 1.5


def interleaved_medians_ms(functions, repeats: int, *, cpu: bool = False) -> list:
    """Median ms of each function, calling them in turn on every repeat (after a warm-up).

    With ``cpu``, ``(wall, cpu)`` pairs: the median wall time and this process's CPU time.
    """
    for function in functions:
        function()
    times = [[] for _ in functions]
    cpu_times = [[] for _ in functions]
    for _ in range(repeats):
        for function, samples, cpu_samples in zip(functions, times, cpu_times, strict=True):
            start, start_cpu = time.perf_counter(), time.process_time()
            function()
            samples.append(time.perf_counter() - start)
            cpu_samples.append(time.process_time() - start_cpu)
    walls = [statistics.median(samples) * 1e3 for samples in times]
    if not cpu:
        return walls
    cpus = [statistics.median(samples) * 1e3 for samples in cpu_times]
    return list(zip(walls, cpus, strict=True))


def tensorflow_depthwise(image: np.ndarray, kernel: np.ndarray):
    """A ``tf.nn.depthwise_conv2d`` call equivalent to ``conv2d(image, kernel)``, or None."""
    try:
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


def border_table(image: np.ndarray, repeats: int) -> tuple[float, float]:
    """Print conv2d against a bare cv2.filter2D for every case; return the worst ratios."""
    rng = np.random.default_rng(1)
    print(
        f"{'padding':8s} {'mode':10s} {'kernel':>6s} {'conv2d ms':>10s} {'filter2D ms':>12s}"
        f" {'ratio':>6s} {'CPU ratio':>10s}"
    )
    worst = worst_cpu = 0.0
    for (padding, mode), border in CASES.items():
        for size in KERNEL_SIZES:
            kernel = rng.standard_normal((size, size)).astype(np.float32)
            (ours, ours_cpu), (bare, bare_cpu) = interleaved_medians_ms(
                [
                    lambda k=kernel, p=padding, m=mode: conv2d(image, k, padding=p, mode=m),
                    lambda k=kernel, b=border: cv2.filter2D(image, -1, k, borderType=b),
                ],
                repeats,
                cpu=True,
            )
            worst = max(worst, ours / bare)
            worst_cpu = max(worst_cpu, ours_cpu / bare_cpu)
            print(
                f"{padding:8s} {mode:10s} {f'{size}×{size}':>6s} {ours:10.2f} {bare:12.2f}"
                f" {ours / bare:6.2f} {ours_cpu / bare_cpu:10.2f}"
            )
    return worst, worst_cpu


def reference_table(image: np.ndarray, repeats: int) -> float:
    """Print conv2d ("valid", 3×3) next to scipy and TensorFlow; return the scipy speed-up."""
    kernel = np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32)
    names = ["core.conv2d", "scipy.signal.correlate2d per channel"]
    functions = [
        lambda: conv2d(image, kernel),
        lambda: [scipy.signal.correlate2d(image[:, :, c], kernel, mode="valid") for c in range(3)],
    ]
    depthwise = tensorflow_depthwise(image, kernel)
    if depthwise is not None:
        names.append("tf.nn.depthwise_conv2d")
        functions.append(depthwise)
    rows = dict(zip(names, interleaved_medians_ms(functions, max(3, repeats // 5)), strict=True))
    ours = rows["core.conv2d"]
    print(f"{'method':40s} {'ms':>9s} {'time / core.conv2d':>20s}")
    for name, ms in rows.items():
        print(f"{name:40s} {ms:9.2f} {ms / ours:20.2f}")
    return rows["scipy.signal.correlate2d per channel"] / ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="pairs of calls per case")
    args = parser.parse_args()
    image = np.random.default_rng(0).random((1024, 1024, 3), dtype=np.float32)

    print(
        "1024×1024×3 float32 image, stride 1; medians of interleaved repeats "
        f"(load average {os.getloadavg()[0]:.1f})"
    )
    worst, worst_cpu = border_table(image, args.repeats)
    print(
        f"worst conv2d / bare cv2.filter2D: {worst:.2f}× wall time, {worst_cpu:.2f}× CPU time"
        f"  (target <= {TARGET_RATIO}×)"
    )
    print()
    print("3×3 kernel, 'valid' padding")
    speedup = reference_table(image, args.repeats)
    print(f"speed-up over scipy per channel: {speedup:.1f}×  (target >= 10×)")


if __name__ == "__main__":
    main()
