"""Which classic kernel does a learned filter resemble, and what frequencies does it pass?

First-layer filters of a trained CNN often look like the kernels people designed by hand:
edge detectors (Sobel), blob detectors (Laplacian), blurs (Gaussian, box) and oriented
stripes (Gabor). `closest_kernels` compares a filter with a bank of such kernels by cosine
similarity — the angle between the two as flattened vectors, ignoring scale — allowing any
rotation the bank lists (8 directions for edges, 4 for stripes) and a sign flip (a filter
that is −Sobel detects the same edge with the opposite polarity). Classic kernels are
resampled to the filter's size first, so 5×5 filters compare against 5×5 templates.

`frequency_response` is the magnitude of the filter's 2-D Fourier transform: a blur keeps
low frequencies (large in the centre), an edge detector removes the flat, zero-frequency
part and keeps high ones.

Pure numpy: no TensorFlow, no Streamlit.

>>> sobel_45 = np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]], dtype=float)
>>> best = closest_kernels(2.5 * sobel_45)[0]
>>> best.describe()
'looks like a Sobel 45° (1.00)'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.base.checks import as_pair, as_real_array, check_bool, check_int
from core.ops import kernel_analysis, kernels

FREQUENCY_KINDS = ("low-pass", "high-pass", "band-pass", "flat")


# The 0° templates are the presets of core.ops.kernels; the 45° ones exist only here.
_SOBEL_0 = kernels.PRESETS["sobel_right"].values


_SOBEL_45 = np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]], dtype=np.float64)


_LAPLACIAN = kernels.PRESETS["laplacian"].values


_OUTLINE = kernels.PRESETS["outline"].values


_LINE_0 = kernels.PRESETS["ridge"].values


_LINE_45 = np.array([[-1, -1, 2], [-1, 2, -1], [2, -1, -1]], dtype=np.float64)


_IDENTITY = kernels.PRESETS["identity"].values


@dataclass(frozen=True)
class KernelMatch:
    """One classic kernel and how well a filter matches it.

    Attributes:
        name: display name with the angle, e.g. `"Sobel 45°"`.
        family: `"Sobel"`, `"Laplacian"`, `"Gaussian"`, `"Gabor"`, ...
        score: |cosine similarity| in [0, 1]; 1 means the same up to scale (and sign).
        sign: +1, or −1 when the filter matches the negated kernel.
        angle: orientation in degrees (0 = brighter to the right, counter-clockwise), or None
            for kernels without a direction.
        template: the classic kernel at the filter's size, with `sign` applied.
    """

    name: str
    family: str
    score: float
    sign: int
    angle: int | None
    template: np.ndarray

    def describe(self) -> str:
        """`"looks like a Sobel 45° (0.91)"`, with "negated" when the sign is flipped."""
        negated = "negated " if self.sign < 0 else ""
        return f"looks like a {negated}{self.name} ({self.score:.2f})"


@dataclass(frozen=True)
class FrequencyResponse:
    """Magnitude of a filter's 2-D discrete Fourier transform, zero frequency in the centre.

    Attributes:
        magnitude: `(size, size)` |H(u, v)|, `fftshift`ed.
        frequencies: `(size,)` cycles per pixel along each axis, from −0.5 to just below 0.5.
        dc_gain: |H(0, 0)| = |sum of the weights|: how much a flat image passes.
        low_fraction: share of the energy below a quarter of the sampling rate.
        kind: `"low-pass"`, `"high-pass"`, `"band-pass"` or `"flat"` (an all-zero filter).
    """

    magnitude: np.ndarray
    frequencies: np.ndarray
    dc_gain: float
    low_fraction: float
    kind: str


def _check_filter(values) -> np.ndarray:
    """One channel of a filter, (kh, kw) finite numbers, as float64."""
    return as_real_array(values, "kernel", ndims=(2,)).astype(np.float64)


def resample(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resampling of a small kernel to `shape`, aligning the corner taps.

    >>> resample(np.array([[0.0, 2.0]]), (1, 3)).tolist()
    [[0.0, 1.0, 2.0]]
    """
    kernel = _check_filter(kernel)
    rows, cols = as_pair(shape, "shape")
    if (rows, cols) == kernel.shape:
        return kernel.copy()

    def positions(new: int, old: int) -> np.ndarray:
        return np.zeros(1) if new == 1 else np.linspace(0, old - 1, new)

    row_pos, col_pos = positions(rows, kernel.shape[0]), positions(cols, kernel.shape[1])
    r0 = np.clip(np.floor(row_pos).astype(int), 0, kernel.shape[0] - 1)
    c0 = np.clip(np.floor(col_pos).astype(int), 0, kernel.shape[1] - 1)
    r1, c1 = np.minimum(r0 + 1, kernel.shape[0] - 1), np.minimum(c0 + 1, kernel.shape[1] - 1)
    fr, fc = (row_pos - r0)[:, None], (col_pos - c0)[None, :]
    top = kernel[np.ix_(r0, c0)] * (1 - fc) + kernel[np.ix_(r0, c1)] * fc
    bottom = kernel[np.ix_(r1, c0)] * (1 - fc) + kernel[np.ix_(r1, c1)] * fc
    return top * (1 - fr) + bottom * fr


def _oriented(base: np.ndarray, base_angle: int, family: str, size):
    """The four 90° rotations of `base`; `np.rot90` turns counter-clockwise."""
    return [
        (
            f"{family} {(base_angle + 90 * turn) % 360}°",
            family,
            (base_angle + 90 * turn) % 360,
            resample(np.rot90(base, turn), size),
        )
        for turn in range(4)
    ]


def classic_bank(shape: tuple[int, int] = (3, 3)) -> list[tuple[str, str, int | None, np.ndarray]]:
    """The classic kernels, at `shape`, as `(name, family, angle, values)`.

    Edges (Sobel) in 8 directions, lines (ridge detectors) and Gabor stripes in 4
    orientations, Laplacian, outline, Gaussian blurs, box blur and identity.

    >>> sorted({family for _, family, _, _ in classic_bank()})[:4]
    ['Box blur', 'Gabor (edge)', 'Gabor (stripe)', 'Gaussian']
    """
    rows, cols = size = as_pair(shape, "shape")
    bank = []
    bank += _oriented(_SOBEL_0, 0, "Sobel", size)
    bank += _oriented(_SOBEL_45, 45, "Sobel", size)
    for name, family, angle, values in _oriented(_LINE_0, 0, "Line", size)[:2]:
        label = name.replace("0°", "horizontal").replace("90°", "vertical")
        bank.append((label, family, angle, values))
    for name, family, angle, values in _oriented(_LINE_45, 45, "Line", size)[:2]:
        bank.append((name, family, angle, values))
    bank.append(("Laplacian", "Laplacian", None, resample(_LAPLACIAN, size)))
    bank.append(("Outline", "Outline", None, resample(_OUTLINE, size)))
    side = max(rows, cols)
    if rows == cols:
        for sigma in sorted({0.5 * side / 3, side / 3, side / 1.5}):
            bank.append(
                (f"Gaussian σ={sigma:.2g}", "Gaussian", None, kernels.gaussian_kernel(rows, sigma))
            )
        bank.append(("Box blur", "Box blur", None, kernels.box_kernel(rows)))
        wavelength = max(3.0, float(side))
        for degrees in (0, 45, 90, 135):
            theta = math.radians(degrees)
            for phase, kind in ((0.0, "stripe"), (math.pi / 2, "edge")):
                values = kernels.gabor_kernel(
                    rows,
                    theta=theta,
                    wavelength=wavelength,
                    sigma=side / 2.5,
                    gamma=0.7,
                    phase=phase,
                )
                if np.abs(values).max() > 1e-9:
                    bank.append((f"Gabor {degrees}° ({kind})", f"Gabor ({kind})", degrees, values))
    identity = np.zeros(size)
    identity[(rows - 1) // 2 : rows // 2 + 1, (cols - 1) // 2 : cols // 2 + 1] = 1.0
    bank.append(("Identity (point)", "Identity", None, identity if side > 3 else _IDENTITY.copy()))
    return bank


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the angle between two arrays of the same shape, flattened (0 if one is zero).

    >>> cosine_similarity(np.array([1.0, 0.0]), np.array([2.0, 0.0]))
    1.0
    """
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"`a` and `b` must have the same size. Received: {a.size} and {b.size}")
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return 0.0 if norm == 0 else float(a @ b / norm)


def closest_kernels(kernel, *, top_k: int = 3, allow_sign_flip: bool = True) -> list[KernelMatch]:
    """The classic kernels most similar to one channel of a learned filter, best first.

    Args:
        kernel: `(kh, kw)` weights of one filter for one input channel (or summed over them).
        top_k: how many matches to return; kernels that equal an earlier one up to sign
            (Sobel 180° is negated Sobel 0°) are skipped.
        allow_sign_flip: also match the negated kernels (|cosine| as the score).

    Returns:
        Up to `top_k` `KernelMatch`es, highest score first; ties prefer the unflipped sign.
        An all-zero filter matches nothing and gets an empty list.

    Raises:
        TypeError: `kernel` does not hold numbers, or `top_k` is not an int.
        ValueError: `kernel` is not 2-D or not finite, or `top_k` < 1.

    >>> laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float)
    >>> match = closest_kernels(-laplacian)[0]
    >>> match.name, match.sign, round(match.score, 3)
    ('Laplacian', -1, 1.0)
    """
    kernel = _check_filter(kernel)
    top_k = check_int(top_k, "top_k", minimum=1)
    allow_sign_flip = check_bool(allow_sign_flip, "allow_sign_flip")
    if not np.any(kernel):
        return []
    matches = []
    for name, family, angle, template in classic_bank(kernel.shape):
        cosine = cosine_similarity(kernel, template)
        sign = -1 if (allow_sign_flip and cosine < 0) else 1
        score = abs(cosine) if allow_sign_flip else max(cosine, 0.0)
        matches.append(KernelMatch(name, family, round(score, 12), sign, angle, sign * template))
    matches.sort(key=lambda match: (-match.score, match.sign < 0))
    distinct: list[KernelMatch] = []
    for match in matches:  # Sobel 180° is negated Sobel 0°: list such twins once
        if all(abs(cosine_similarity(match.template, kept.template)) < 0.999 for kept in distinct):
            distinct.append(match)
        if len(distinct) == top_k:
            break
    return distinct


def frequency_response(kernel, *, size: int = 32) -> FrequencyResponse:
    """Magnitude of the filter's discrete Fourier transform on a `size`×`size` grid.

    The kernel is zero-padded to `size`×`size` before the FFT, so the response is sampled
    finely; frequencies run from −0.5 to 0.5 cycles per pixel with 0 in the centre.

    >>> response = frequency_response(np.ones((3, 3)) / 9, size=16)
    >>> response.kind, round(response.dc_gain, 3)
    ('low-pass', 1.0)
    """
    response = kernel_analysis.frequency_response(_check_filter(kernel), size=size)
    spectrum, frequencies = response.magnitude, response.frequencies
    radius = np.hypot(*np.meshgrid(frequencies, frequencies, indexing="ij"))
    energy = spectrum**2
    total = float(energy.sum())
    if total == 0:
        return FrequencyResponse(spectrum, frequencies, 0.0, 0.0, "flat")
    low_fraction = float(energy[radius < 0.25].sum() / total)
    dc_gain, peak = response.dc_gain, response.peak_gain
    if dc_gain >= 0.5 * peak and low_fraction >= 0.5:
        kind = "low-pass"
    elif dc_gain <= 0.1 * peak and low_fraction < 0.5:
        kind = "high-pass"
    elif dc_gain <= 0.5 * peak:
        kind = "band-pass"
    else:
        kind = "low-pass"
    return FrequencyResponse(spectrum, frequencies, dc_gain, low_fraction, kind)
