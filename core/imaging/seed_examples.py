"""The worked examples from the course texts, as data a page can load in one click.

Each convolution example carries its input, kernel, options and the output the
slides print; each pooling example its input, window and the pooled map. The
numbers come from ``../shared/SEEDS.md`` (worked examples 1–5 and the pooling
examples) and are checked against independent references in
``tests/test_seed_examples.py``.

>>> CONV_EXAMPLES["ex2"].expected.tolist()[0]
[12.0, 12.0, 17.0]
>>> POOL_EXAMPLES["pool_a_stride2"].expected.tolist()
[[12.0, 5.0], [22.0, 32.0]]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.imaging.synthetic_images import WORKED_EXAMPLES
from core.ops.kernels import PRESETS, frozen


@dataclass(frozen=True)
class ConvExample:
    """One worked convolution example.

    ``padding`` uses ``conv2d``'s names ("valid", "same", "full") or an int;
    ``expected`` is the printed output before any activation (None when only
    its shape is given) and ``expected_relu`` the output after a ReLU.
    """

    key: str
    title: str
    description: str
    image: np.ndarray
    kernel: np.ndarray
    expected_shape: tuple[int, int]
    strides: tuple[int, int] = (1, 1)
    padding: str | int = "valid"
    flip_kernel: bool = False
    relu: bool = False
    expected: np.ndarray | None = None
    expected_relu: np.ndarray | None = None
    dilation_rate: int = 1
    tags: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class PoolExample:
    """One worked pooling example (``strides`` None means the window size)."""

    key: str
    title: str
    description: str
    image: np.ndarray
    expected: np.ndarray
    pool_size: tuple[int, int] = (2, 2)
    strides: tuple[int, int] = (2, 2)
    padding: str = "valid"
    method: str = "max"


_BINARY_5X5 = WORKED_EXAMPLES["example1"]


_SOBEL_IMAGE_4X6 = WORKED_EXAMPLES["example4"]


BOTTOM_SOBEL = PRESETS["sobel_bottom"].values


_SOBEL_PADDED = [
    [20, 26, 21, 26, 34, 22],
    [24, 19, 17, 26, 26, 7],
    [-11, 24, 56, 48, 57, 50],
    [-56, -56, -39, -40, -51, -40],
]


# A bright 4×4 square on a dark 10×10 background: the edges light up under a Laplacian.
_SQUARE_10X10 = np.zeros((10, 10))


_SQUARE_10X10[3:7, 3:7] = 9


_LAPLACIAN = PRESETS["laplacian"].values


CONV_EXAMPLES: dict[str, ConvExample] = {
    example.key: example
    for example in (
        ConvExample(
            key="ex1",
            title="1 · Binary image, 3×3 'X' kernel",
            description=(
                "A 5×5 black-and-white image and a kernel with ones on its corners and centre. "
                "Stride 1 and no padding leave room for 3 × 3 window positions."
            ),
            image=frozen(_BINARY_5X5),
            kernel=frozen([[1, 0, 1], [0, 1, 0], [1, 0, 1]]),
            expected=frozen([[4, 3, 4], [2, 4, 3], [2, 3, 4]]),
            expected_shape=(3, 3),
        ),
        ConvExample(
            key="ex2",
            title="2 · 5×5 image, kernel used as is (no flip)",
            description=(
                "The cross-correlation that CNN layers compute: the kernel is laid on the image "
                "exactly as written, no rotation."
            ),
            image=frozen(WORKED_EXAMPLES["example2"]),
            kernel=frozen([[0, 1, 2], [2, 2, 0], [0, 1, 2]]),
            expected=frozen([[12, 12, 17], [10, 17, 19], [9, 6, 14]]),
            expected_shape=(3, 3),
        ),
        ConvExample(
            key="ex3",
            title="3 · True convolution (kernel flipped), zero padding keeps 7×7",
            description=(
                "The textbook convolution rotates the kernel by 180° before sliding it. One ring "
                "of zeros around the 7×7 input keeps the output 7×7, as "
                "scipy.signal.convolve2d(mode='same') does."
            ),
            image=frozen(WORKED_EXAMPLES["example3"]),
            kernel=frozen([[-1, 1, -1], [-2, 3, 1], [2, -4, 0]]),
            padding="same",
            flip_kernel=True,
            expected=frozen(
                [
                    [-2, -8, -7, -6, -5, -4, 28],
                    [5, -3, -4, -5, -6, -7, 28],
                    [-2, -10, -11, -12, -13, -14, 28],
                    [-9, -17, -18, -19, -20, -21, 28],
                    [-16, -24, -25, -26, -27, -28, 28],
                    [-23, -31, -32, -33, -34, -35, 28],
                    [-29, 13, 13, 13, 13, 13, 27],
                ]
            ),
            expected_shape=(7, 7),
        ),
        ConvExample(
            key="ex4",
            title="4a · Bottom Sobel on a 4×6 image, no padding",
            description=(
                "The 'bottom Sobel' kernel answers where brightness increases downwards. First "
                "value: (−1·10)+(−2·12)+(−1·3)+0+0+0+(1·22)+(2·12)+(1·10) = 19."
            ),
            image=frozen(_SOBEL_IMAGE_4X6),
            kernel=BOTTOM_SOBEL,
            expected=frozen([[19, 17, 26, 26], [24, 56, 48, 57]]),
            expected_shape=(2, 4),
        ),
        ConvExample(
            key="ex4_strides",
            title="4b · Bottom Sobel with strides (1, 2)",
            description=(
                "Step one row down but two columns across: every second column of 4a survives."
            ),
            image=frozen(_SOBEL_IMAGE_4X6),
            kernel=BOTTOM_SOBEL,
            strides=(1, 2),
            expected=frozen([[19, 26], [24, 48]]),
            expected_shape=(2, 2),
        ),
        ConvExample(
            key="ex4_padded",
            title="4c · Bottom Sobel with zero padding 1, then ReLU",
            description=(
                "One ring of zeros keeps the output 4×6. The ReLU that follows a convolution "
                "layer then turns every negative response into 0."
            ),
            image=frozen(_SOBEL_IMAGE_4X6),
            kernel=BOTTOM_SOBEL,
            padding=1,
            relu=True,
            expected=frozen(_SOBEL_PADDED),
            expected_relu=frozen(np.maximum(np.array(_SOBEL_PADDED), 0)),
            expected_shape=(4, 6),
        ),
        ConvExample(
            key="ex5_stride1",
            title="5a · 10×10 image, 3×3 kernel, stride 1 → 8×8",
            description="(10 − 3) / 1 + 1 = 8 window positions along each axis.",
            image=frozen(_SQUARE_10X10),
            kernel=_LAPLACIAN,
            expected_shape=(8, 8),
        ),
        ConvExample(
            key="ex5_stride2",
            title="5b · 10×10 image, 3×3 kernel, stride 2 → 4×4",
            description=(
                "(10 − 3) / 2 + 1 = 4.5: the stride does not fit, the size is rounded down to 4 "
                "and the last row and column are never reached."
            ),
            image=frozen(_SQUARE_10X10),
            kernel=_LAPLACIAN,
            strides=(2, 2),
            expected_shape=(4, 4),
        ),
    )
}


_POOL_IMAGE_A = [[10, 12, 3, 4], [6, 8, 4, 5], [22, 12, 10, 7], [0, 9, 32, 4]]


POOL_EXAMPLES: dict[str, PoolExample] = {
    example.key: example
    for example in (
        PoolExample(
            key="pool_a_stride2",
            title="Max pool 2×2, stride 2 (the usual halving)",
            description="Four windows that do not overlap; each keeps its largest value.",
            image=frozen(_POOL_IMAGE_A),
            expected=frozen([[12, 5], [22, 32]]),
        ),
        PoolExample(
            key="pool_a_stride1",
            title="Max pool 2×2, stride 1 (overlapping windows)",
            description="Windows overlap, so one large value can win several of them.",
            image=frozen(_POOL_IMAGE_A),
            strides=(1, 1),
            expected=frozen([[12, 12, 5], [22, 12, 10], [22, 32, 32]]),
        ),
        PoolExample(
            key="pool_b_stride2",
            title="Max pool 2×2, stride 2 (second example)",
            description="Another 4×4 map halved to 2×2.",
            image=frozen([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]),
            expected=frozen([[6, 8], [3, 4]]),
        ),
    )
}
