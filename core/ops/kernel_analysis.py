"""What a kernel does, beyond the picture it produces.

- ``frequency_response``: the magnitude of the kernel's discrete Fourier
  transform (zero-padded, zero frequency in the centre). It says which
  spatial frequencies the kernel keeps: a blur keeps slow changes (low-pass),
  an edge detector removes flat areas and keeps changes (high- or band-pass),
  a sharpen keeps everything and boosts fine detail (high-boost).
- ``separability``: a kernel of matrix rank 1 is an outer product
  column ⊗ row, so a 2-D convolution can be done as two 1-D passes: kh + kw
  multiply-adds per output instead of kh · kw.
- ``equivariance``: convolving a shifted image equals shifting the convolved
  image, as long as the stride is 1 (or the shift a multiple of the stride).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.base.checks import as_pair, as_real_array, check_int, check_real, received
from core.ops.convolution import conv2d

FREQUENCY_GRID = 64


@dataclass(frozen=True)
class FrequencyResponse:
    """|DFT| of a kernel on a ``size``×``size`` grid, centred.

    ``magnitude[i, j]`` belongs to the vertical frequency ``frequencies[i]``
    and horizontal frequency ``frequencies[j]``, in cycles per pixel from
    −0.5 to just under 0.5; the centre is frequency 0 (the kernel's sum).
    ``highest_frequency_gain`` is the largest value on the grid's border,
    where one of the two frequencies is ±0.5 (the finest pattern a grid holds).
    """

    magnitude: np.ndarray
    frequencies: np.ndarray
    kind: str
    dc_gain: float
    peak_gain: float
    highest_frequency_gain: float


def frequency_response(kernel, *, size: int = FREQUENCY_GRID) -> FrequencyResponse:
    """Magnitude of the kernel's 2-D DFT after zero-padding to ``size``×``size``, centred.

    ``kind`` names the shape of the response:
        "all-pass" (flat), "low-pass" (largest at zero frequency), "high-pass"
        (zero at zero frequency, largest at the highest), "band-pass" (zero at
        zero frequency, largest in between), "high-boost" (passes zero
        frequency but amplifies the highest ones more), "band-boost" (largest
        in between, zero frequency passed).

    Raises:
        ValueError: non-finite values, or a kernel larger than ``size``.

    >>> response = frequency_response(np.ones((3, 3)) / 9)
    >>> response.kind, round(response.dc_gain, 6)
    ('low-pass', 1.0)
    """
    kernel = as_real_array(kernel, "kernel", ndims=(2,)).astype(np.float64)
    size = check_int(size, "size", minimum=max(kernel.shape))
    magnitude = np.fft.fftshift(np.abs(np.fft.fft2(kernel, s=(size, size))))
    frequencies = np.fft.fftshift(np.fft.fftfreq(size))
    centre = size // 2
    dc = float(magnitude[centre, centre])
    peak = float(magnitude.max())
    # The highest frequencies sit on the border of the grid: |f| = 0.5 along either axis.
    highest = float(max(magnitude[0].max(), magnitude[:, 0].max()))
    return FrequencyResponse(
        magnitude=magnitude,
        frequencies=frequencies,
        kind=_classify(magnitude, dc, peak, highest),
        dc_gain=dc,
        peak_gain=peak,
        highest_frequency_gain=highest,
    )


def _classify(magnitude: np.ndarray, dc: float, peak: float, highest: float) -> str:
    if peak <= 0:
        return "zero"
    tolerance = 1e-6 * peak
    if peak - magnitude.min() <= tolerance:
        return "all-pass"
    if dc >= peak - tolerance:
        return "low-pass"
    if dc <= tolerance:
        return "high-pass" if highest >= peak - tolerance else "band-pass"
    return "high-boost" if highest >= peak - tolerance else "band-boost"


@dataclass(frozen=True)
class Separability:
    """Whether ``kernel ≈ outer(column, row)``, and what that saves.

    ``column`` (kh,) and ``row`` (kw,) are the best rank-1 factors (from the
    largest singular value), scaled so the column's smallest non-zero entry
    is ±1 — [1, 2, 1] rather than [0.41, 0.82, 0.41]. ``rank`` counts singular
    values above ``tolerance`` × the largest; ``residual`` is the largest
    |kernel − outer(column, row)|.
    """

    is_separable: bool
    rank: int
    singular_values: np.ndarray
    column: np.ndarray
    row: np.ndarray
    residual: float
    direct_multiply_adds: int
    separable_multiply_adds: int

    @property
    def saving(self) -> float:
        """How many times fewer multiply-adds two 1-D passes need (1.0 when not separable)."""
        if not self.is_separable:
            return 1.0
        return self.direct_multiply_adds / self.separable_multiply_adds


def separability(kernel, *, tolerance: float = 1e-9) -> Separability:
    """Test whether a kernel is rank 1 (SVD) and give its column ⊗ row factors.

    >>> result = separability([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    >>> result.is_separable, result.column.tolist(), result.row.tolist()
    (True, [1.0, 2.0, 1.0], [-1.0, 0.0, 1.0])
    """
    kernel = as_real_array(kernel, "kernel", ndims=(2,)).astype(np.float64)
    tolerance = check_real(tolerance, "tolerance", minimum=0.0)
    kh, kw = kernel.shape
    u, s, vt = np.linalg.svd(kernel)
    largest = float(s[0]) if s.size else 0.0
    rank = int((s > tolerance * largest).sum()) if largest > 0 else 0
    column = u[:, 0] * np.sqrt(largest)
    row = vt[0] * np.sqrt(largest)
    nonzero = np.abs(column[np.abs(column) > 1e-12 * max(np.abs(column).max(), 1e-300)])
    if nonzero.size:
        scale = nonzero.min()
        sign = 1.0 if column[np.argmax(np.abs(column))] > 0 else -1.0
        column = column / (scale * sign)
        row = row * (scale * sign)
    column = _tidy(column)
    row = _tidy(row)
    residual = float(np.abs(kernel - np.outer(column, row)).max())
    return Separability(
        is_separable=rank <= 1,
        rank=rank,
        singular_values=s,
        column=column,
        row=row,
        residual=residual,
        direct_multiply_adds=kh * kw,
        separable_multiply_adds=kh + kw,
    )


def _tidy(values: np.ndarray) -> np.ndarray:
    """Snap values within rounding error of a whole number, so 0.9999999999 prints as 1."""
    whole = np.round(values)
    tidy = np.where(np.abs(values - whole) < 1e-9, whole, values)
    tidy[tidy == 0] = 0.0  # no negative zeros
    return tidy


@dataclass(frozen=True)
class EquivarianceCheck:
    """conv(shift(x)) next to shift(conv(x)).

    The image is shifted circularly by ``shift`` (rows, cols) and convolved
    with wrap-around borders, so no border effect hides the comparison. The
    output is shifted by ``shift / strides``; ``output_shift_exact`` is False
    when that is not a whole number of output pixels (it is then rounded
    down), which is exactly when a strided convolution stops being
    equivariant.
    """

    conv_of_shifted: np.ndarray
    shifted_conv: np.ndarray
    difference: np.ndarray
    max_abs_difference: float
    shift: tuple[int, int]
    output_shift: tuple[int, int]
    output_shift_exact: bool

    @property
    def is_equivariant(self) -> bool:
        """Whether both ways agree, up to rounding (1e-6 of the largest output value)."""
        scale = max(float(np.abs(self.shifted_conv).max()), 1.0)
        return self.max_abs_difference <= 1e-6 * scale


def equivariance(image, kernel, shift=(0, 0), *, strides=1) -> EquivarianceCheck:
    """Compare conv(shift(x)) with shift(conv(x)) for a circular shift.

    Convolution uses "same" padding with wrap-around borders; the image is
    cropped to a multiple of the stride so a shift by whole strides is exact.

    Args:
        image: (H, W) or (H, W, C).
        kernel: (kh, kw).
        shift: (rows, cols) to move the image down and right (negative: up/left).
        strides: int or (rows, cols).

    >>> check = equivariance(np.arange(36.0).reshape(6, 6), np.ones((3, 3)), (1, 2))
    >>> check.is_equivariant
    True
    >>> equivariance(np.arange(36.0).reshape(6, 6), [[1, -1]], (0, 1), strides=2).is_equivariant
    False
    """
    image = as_real_array(image, "image", ndims=(2, 3)).astype(np.float64)
    kernel = as_real_array(kernel, "kernel", ndims=(2,))
    strides = as_pair(strides, "strides")
    dy, dx = as_pair(shift, "shift", minimum=None)
    height = image.shape[0] - image.shape[0] % strides[0]
    width = image.shape[1] - image.shape[1] % strides[1]
    if height == 0 or width == 0:
        raise ValueError(
            f"`image` must be at least as large as the stride {strides}. {received('image', image)}"
        )
    image = image[:height, :width]
    options = {"strides": strides, "padding": "same", "mode": "wrap"}
    shifted_input = np.roll(image, (dy, dx), axis=(0, 1))
    conv_of_shifted = conv2d(shifted_input, kernel, **options)
    output = conv2d(image, kernel, **options)
    out_dy, out_dx = dy // strides[0], dx // strides[1]
    exact = dy % strides[0] == 0 and dx % strides[1] == 0
    shifted_conv = np.roll(output, (out_dy, out_dx), axis=(0, 1))
    difference = conv_of_shifted - shifted_conv
    return EquivarianceCheck(
        conv_of_shifted=conv_of_shifted,
        shifted_conv=shifted_conv,
        difference=difference,
        max_abs_difference=float(np.abs(difference).max()),
        shift=(dy, dx),
        output_shift=(out_dy, out_dx),
        output_shift_exact=exact,
    )
