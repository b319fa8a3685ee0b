"""Classic image kernels and generators for parametrised ones.

Presets are read-only module constants with a display name and a one-line
description; ``kernel(name)`` hands out a writable copy. Generators build the
families a slider can explore: box, Gaussian, Gabor, Laplacian of Gaussian.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.base.checks import check_choice, check_int, check_real, received

MAX_GENERATED_SIZE = 99  # the largest kernel the generators build


def frozen(values, scale: float = 1.0) -> np.ndarray:
    """A read-only float64 copy of ``values × scale``: a module constant nobody can change.

    >>> frozen([[1, 2]], 0.5).flags.writeable
    False
    """
    array = np.asarray(values, dtype=np.float64) * scale
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class KernelPreset:
    """A named kernel with the sentence a tooltip shows."""

    key: str
    name: str
    values: np.ndarray
    description: str
    category: str


_PRESET_LIST = [
    KernelPreset(
        "identity",
        "Identity",
        frozen([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
        "Copies the image unchanged: only the centre tap is 1.",
        "basic",
    ),
    KernelPreset(
        "box_blur",
        "Box blur",
        frozen(np.ones((3, 3)), 1 / 9),
        "Replaces each pixel with the mean of its 3×3 neighbourhood (low-pass).",
        "blur",
    ),
    KernelPreset(
        "gaussian_blur",
        "Gaussian blur 3×3",
        frozen([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16),
        "A weighted mean that trusts the centre most; smoother than the box blur.",
        "blur",
    ),
    KernelPreset(
        "sharpen",
        "Sharpen",
        frozen([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
        "Adds the difference from the four neighbours back onto the pixel (high-boost).",
        "sharpen",
    ),
    KernelPreset(
        "sharpen_strong",
        "Sharpen (strong)",
        frozen([[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]]),
        "Like sharpen, but against all eight neighbours: a stronger boost of fine detail.",
        "sharpen",
    ),
    KernelPreset(
        "laplacian",
        "Laplacian (edges)",
        frozen([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
        "Second derivative: zero on flat areas and ramps, large where intensity bends.",
        "edges",
    ),
    KernelPreset(
        "outline",
        "Outline",
        frozen([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
        "Centre minus its eight neighbours: bright lines where brightness changes.",
        "edges",
    ),
    KernelPreset(
        "emboss",
        "Emboss",
        frozen([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
        "Lights edges from the top-left so the image looks raised like a relief.",
        "edges",
    ),
    KernelPreset(
        "sobel_left",
        "Sobel left",
        frozen([[1, 0, -1], [2, 0, -2], [1, 0, -1]]),
        "Horizontal gradient: positive where the image is brighter on the left.",
        "sobel",
    ),
    KernelPreset(
        "sobel_right",
        "Sobel right (Sobel x)",
        frozen([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        "Horizontal gradient Gx: positive where the image gets brighter to the right.",
        "sobel",
    ),
    KernelPreset(
        "sobel_top",
        "Sobel top",
        frozen([[1, 2, 1], [0, 0, 0], [-1, -2, -1]]),
        "Vertical gradient: positive where the image is brighter above.",
        "sobel",
    ),
    KernelPreset(
        "sobel_bottom",
        "Sobel bottom (Sobel y)",
        frozen([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
        "Vertical gradient Gy: positive where the image gets brighter downwards.",
        "sobel",
    ),
    KernelPreset(
        "gradient_simple",
        "Simple gradient (right neighbour)",
        frozen([[0, 0, 0], [0, 1, -1], [0, 0, 0]]),
        "Pixel minus its right neighbour: the smallest horizontal difference.",
        "gradient",
    ),
    KernelPreset(
        "gradient_central",
        "Simple gradient (central)",
        frozen([[0, 0, 0], [1, 0, -1], [0, 0, 0]]),
        "Left neighbour minus right neighbour: a central difference across the pixel.",
        "gradient",
    ),
    KernelPreset(
        "prewitt_x",
        "Prewitt x",
        frozen([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]),
        "Horizontal gradient like Sobel x, without the extra weight on the middle row.",
        "sobel",
    ),
    KernelPreset(
        "motion_blur",
        "Motion blur (diagonal)",
        frozen(np.eye(5), 1 / 5),
        "Averages along a diagonal line, as if the camera moved while the shutter was open.",
        "blur",
    ),
    KernelPreset(
        "ridge",
        "Ridge / line detector",
        frozen([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]]),
        "Responds to thin horizontal lines brighter than the rows above and below.",
        "edges",
    ),
]


PRESETS: dict[str, KernelPreset] = {preset.key: preset for preset in _PRESET_LIST}


def kernel(key: str) -> np.ndarray:
    """A writable copy of the preset ``key``.

    >>> kernel("sobel_bottom")[0].tolist()
    [-1.0, -2.0, -1.0]
    """
    return PRESETS[check_choice(key, "key", tuple(PRESETS))].values.copy()


def _check_kernel_size(kernel_size) -> int:
    return check_int(kernel_size, "kernel_size", minimum=1, maximum=MAX_GENERATED_SIZE)


def _check_positive(value, name: str) -> float:
    return check_real(value, name, minimum=0.0, open_min=True)


def _grid(kernel_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets from the kernel's centre (half-integers for even sizes)."""
    offsets = np.arange(kernel_size) - (kernel_size - 1) / 2
    return np.meshgrid(offsets, offsets, indexing="ij")


def box_kernel(kernel_size: int) -> np.ndarray:
    """A ``kernel_size``×``kernel_size`` mean filter summing to 1.

    >>> box_kernel(2).tolist()
    [[0.25, 0.25], [0.25, 0.25]]
    """
    kernel_size = _check_kernel_size(kernel_size)
    return np.full((kernel_size, kernel_size), 1.0 / kernel_size**2)


def gaussian_kernel(kernel_size: int, sigma: float) -> np.ndarray:
    """Sampled 2-D Gaussian exp(−(x² + y²) / 2σ²), normalised to sum 1.

    >>> k = gaussian_kernel(3, 1.0)
    >>> round(float(k.sum()), 6), bool(k[1, 1] > k[0, 0])
    (1.0, True)
    """
    kernel_size = _check_kernel_size(kernel_size)
    sigma = _check_positive(sigma, "sigma")
    rows, cols = _grid(kernel_size)
    values = np.exp(-(rows**2 + cols**2) / (2 * sigma**2))
    return values / values.sum()


def gabor_kernel(
    kernel_size: int,
    *,
    theta: float = 0.0,
    wavelength: float = 4.0,
    sigma: float = 2.0,
    gamma: float = 0.5,
    phase: float = 0.0,
) -> np.ndarray:
    """Real Gabor kernel: a cosine wave of ``wavelength`` at angle ``theta`` under a Gaussian.

    Same parametrisation as ``cv2.getGaborKernel`` (θ in radians, λ, σ, γ, ψ),
    with the mean removed so flat regions give zero, like the edge detectors
    CNNs learn in their first layer.

    >>> gabor_kernel(5).shape
    (5, 5)
    """
    kernel_size = _check_kernel_size(kernel_size)
    theta = check_real(theta, "theta")
    wavelength = _check_positive(wavelength, "wavelength")
    sigma = _check_positive(sigma, "sigma")
    gamma = _check_positive(gamma, "gamma")
    phase = check_real(phase, "phase")
    rows, cols = _grid(kernel_size)
    x_rot = cols * math.cos(theta) + rows * math.sin(theta)
    y_rot = -cols * math.sin(theta) + rows * math.cos(theta)
    envelope = np.exp(-(x_rot**2 + gamma**2 * y_rot**2) / (2 * sigma**2))
    values = envelope * np.cos(2 * math.pi * x_rot / wavelength + phase)
    return values - values.mean()


def laplacian_of_gaussian_kernel(kernel_size: int, sigma: float) -> np.ndarray:
    """Laplacian of Gaussian ("Mexican hat", sign flipped to a negative centre), sum 0.

    >>> abs(float(laplacian_of_gaussian_kernel(7, 1.0).sum())) < 1e-12
    True
    """
    kernel_size = _check_kernel_size(kernel_size)
    sigma = _check_positive(sigma, "sigma")
    rows, cols = _grid(kernel_size)
    radius2 = (rows**2 + cols**2) / (2 * sigma**2)
    values = (radius2 - 1) * np.exp(-radius2) / (math.pi * sigma**4)
    return values - values.mean()


def gradient_magnitude(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Edge strength sqrt(Gx² + Gy²) from two gradient responses of equal shape.

    >>> gradient_magnitude(np.array([3.0]), np.array([4.0]))
    array([5.])
    """
    gx = np.asarray(gx, dtype=np.float64)
    gy = np.asarray(gy, dtype=np.float64)
    if gx.shape != gy.shape:
        raise ValueError(f"`gy` must have the shape of `gx`, {gx.shape}. {received('gy', gy)}")
    return np.hypot(gx, gy)
