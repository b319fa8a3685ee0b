"""Small test images whose convolution a person can predict by eye.

A step edge shows what an edge detector answers, a checkerboard shows
corners and aliasing, and an impulse (one bright pixel) shows the kernel
itself: convolving a single 1 with a kernel copies the kernel (rotated by 180°
for true convolution). The worked examples of the lecture notes are here too,
so a teacher can reproduce their numbers in one click.

Every image is float32 on the 0–255 scale, (size, size) unless said otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.base.checks import check_choice, check_int, check_real

MIN_SIZE = 1


MAX_SIZE = 1024


ORIENTATIONS = ("vertical", "horizontal")


def _check_size(size, name: str = "size") -> int:
    return check_int(size, name, minimum=MIN_SIZE, maximum=MAX_SIZE)


def step_edge(size: int = 32, *, orientation: str = "vertical", low=0.0, high=255.0) -> np.ndarray:
    """Dark on one side, bright on the other: the simplest edge.

    ``orientation`` is "vertical" (dark left half, bright right half) or
    "horizontal" (dark top, bright bottom).

    >>> step_edge(4)[0].tolist()
    [0.0, 0.0, 255.0, 255.0]
    """
    size = _check_size(size)
    orientation = check_choice(orientation, "orientation", ORIENTATIONS)
    low, high = check_real(low, "low"), check_real(high, "high")
    image = np.full((size, size), low, dtype=np.float32)
    if orientation == "vertical":
        image[:, size // 2 :] = high
    else:
        image[size // 2 :, :] = high
    return image


def checkerboard(size: int = 32, *, square: int = 4) -> np.ndarray:
    """Alternating black and white squares of ``square`` pixels, white at the top-left.

    >>> checkerboard(4, square=2)[:, 0].tolist()
    [255.0, 255.0, 0.0, 0.0]
    """
    size = _check_size(size)
    square = _check_size(square, "square")
    index = np.arange(size) // square
    return np.where((index[:, None] + index[None, :]) % 2 == 0, 255.0, 0.0).astype(np.float32)


def impulse(size: int = 15) -> np.ndarray:
    """A single pixel of 1 in the middle of zeros: its output is the kernel itself.

    The value is 1, not 255, so the output shows the kernel's own numbers.

    >>> impulse(3).tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    size = _check_size(size)
    image = np.zeros((size, size), dtype=np.float32)
    image[size // 2, size // 2] = 1.0
    return image


def ramp(size: int = 32) -> np.ndarray:
    """Brightness rising evenly from left (0) to right (255): a constant gradient.

    >>> ramp(3)[0].tolist()
    [0.0, 127.5, 255.0]
    """
    size = _check_size(size)
    row = np.linspace(0.0, 255.0, size, dtype=np.float32)
    return np.repeat(row[None, :], size, axis=0)


def disk(size: int = 32, *, radius: float | None = None) -> np.ndarray:
    """A bright disk on black: edges in every direction at once.

    >>> int(disk(9, radius=2)[4, 4]), int(disk(9, radius=2)[0, 0])
    (255, 0)
    """
    size = _check_size(size)
    radius = size / 3 if radius is None else check_real(radius, "radius", minimum=0.0)
    offsets = np.arange(size) - (size - 1) / 2
    inside = offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2
    return np.where(inside, 255.0, 0.0).astype(np.float32)


def stripes(size: int = 64, *, wavelength: float = 8.0, angle_degrees: float = 0.0) -> np.ndarray:
    """A sinusoidal grating 0–255 with the given ``wavelength`` in pixels.

    Blurs weaken fine stripes more than coarse ones: a direct view of a
    low-pass filter.

    >>> stripes(8, wavelength=4)[0, :4].round().tolist()
    [128.0, 255.0, 128.0, 0.0]
    """
    size = _check_size(size)
    wavelength = check_real(wavelength, "wavelength", minimum=0.0, open_min=True)
    theta = np.deg2rad(check_real(angle_degrees, "angle_degrees"))
    rows, cols = np.mgrid[0:size, 0:size]
    phase = 2 * np.pi * (cols * np.cos(theta) + rows * np.sin(theta)) / wavelength
    return (127.5 + 127.5 * np.sin(phase)).astype(np.float32)


# The lecture notes' worked examples, reproduced exactly (see SEEDS.md).
WORKED_EXAMPLES: dict[str, np.ndarray] = {
    "example1": np.array(
        [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]],
        dtype=np.float32,
    ),
    "example2": np.array(
        [[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]],
        dtype=np.float32,
    ),
    "example3": np.arange(1, 50, dtype=np.float32).reshape(7, 7),
    "example4": np.array(
        [
            [10, 12, 3, 4, 3, 15],
            [6, 8, 4, 5, 12, 5],
            [22, 12, 10, 7, 16, 12],
            [0, 9, 32, 4, 34, 19],
        ],
        dtype=np.float32,
    ),
    "example5": np.arange(100, dtype=np.float32).reshape(10, 10),
}


for _array in WORKED_EXAMPLES.values():
    _array.setflags(write=False)


_WORKED_EXAMPLE_TEXTS = {
    "example1": ("Worked example 1 (5×5 binary)", "The 5×5 binary image from the lecture notes."),
    "example2": ("Worked example 2 (5×5)", "The 5×5 image with values 0–3."),
    "example3": (
        "Worked example 3 (7×7, values 1…49)",
        "Numbers 1 to 49 row by row, for true convolution with zero padding.",
    ),
    "example4": ("Worked example 4 (4×6)", "The 4×6 image used with the bottom Sobel kernel."),
    "example5": (
        "Worked example 5 (10×10, values 0…99)",
        "A 10×10 image: a 3×3 kernel gives 8×8 at stride 1 and 4×4 at stride 2.",
    ),
}


def _worked_example(key: str) -> Callable[[int], np.ndarray]:
    """A maker that ignores the size and returns a writable copy of the worked example."""
    return lambda size: WORKED_EXAMPLES[key].copy()


@dataclass(frozen=True)
class SyntheticImage:
    """A named test image maker with the sentence the picker shows."""

    key: str
    name: str
    description: str
    make: Callable[[int], np.ndarray]
    sized: bool = True  # False: fixed size (worked examples), the size argument is ignored


SYNTHETIC_IMAGES: dict[str, SyntheticImage] = {
    item.key: item
    for item in [
        SyntheticImage(
            "step_edge",
            "Step edge (vertical)",
            "Dark left half, bright right half: edge detectors light up along one line.",
            lambda size: step_edge(size),
        ),
        SyntheticImage(
            "step_edge_horizontal",
            "Step edge (horizontal)",
            "Dark top half, bright bottom half.",
            lambda size: step_edge(size, orientation="horizontal"),
        ),
        SyntheticImage(
            "checkerboard",
            "Checkerboard",
            "Squares of 4 pixels: corners and edges in both directions.",
            lambda size: checkerboard(size, square=4),
        ),
        SyntheticImage(
            "impulse",
            "Impulse (one bright pixel)",
            "A single 1 among zeros: the output is a copy of the kernel.",
            lambda size: impulse(size),
        ),
        SyntheticImage(
            "ramp",
            "Ramp",
            "Brightness rising evenly to the right: a constant slope.",
            lambda size: ramp(size),
        ),
        SyntheticImage(
            "disk", "Disk", "A bright disk: edges in every direction.", lambda size: disk(size)
        ),
        SyntheticImage(
            "stripes",
            "Stripes (8-pixel waves)",
            "A smooth grating: blurs fade it, edge detectors find every crest.",
            lambda size: stripes(size, wavelength=8.0),
        ),
    ]
    + [
        SyntheticImage(key, name, description, _worked_example(key), sized=False)
        for key, (name, description) in _WORKED_EXAMPLE_TEXTS.items()
    ]
}


def make_synthetic(key: str, size: int = 32) -> np.ndarray:
    """Build the synthetic image ``key`` (see ``SYNTHETIC_IMAGES``) at ``size``×``size``.

    >>> make_synthetic("impulse", 5).sum()
    np.float32(1.0)
    """
    key = check_choice(key, "key", tuple(SYNTHETIC_IMAGES))
    size = _check_size(size)
    return np.ascontiguousarray(SYNTHETIC_IMAGES[key].make(size), dtype=np.float32)
