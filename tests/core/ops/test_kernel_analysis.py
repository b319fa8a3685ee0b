"""core.ops.kernel_analysis: frequency response, separability (SVD) and translation equivariance."""

import numpy as np
import pytest
import scipy.signal

from core.ops.kernel_analysis import equivariance, frequency_response, separability
from core.ops.kernels import (
    PRESETS,
    gabor_kernel,
    gaussian_kernel,
    kernel,
    laplacian_of_gaussian_kernel,
)


def test_frequency_response_matches_direct_dft_sum():
    k = np.array([[1.0, -2.0], [0.5, 3.0]])
    response = frequency_response(k, size=8)
    # Independent reference: evaluate the DFT sum directly at one frequency.
    freqs = response.frequencies
    i, j = 5, 2
    u, v = freqs[i], freqs[j]
    direct = sum(
        k[m, n] * np.exp(-2j * np.pi * (u * m + v * n)) for m in range(2) for n in range(2)
    )
    assert response.magnitude[i, j] == pytest.approx(abs(direct))
    assert response.magnitude.shape == (8, 8)
    assert response.dc_gain == pytest.approx(abs(k.sum()))


@pytest.mark.parametrize(
    ("preset", "kind"),
    [
        ("identity", "all-pass"),
        ("box_blur", "low-pass"),
        ("gaussian_blur", "low-pass"),
        ("sobel_right", "band-pass"),
        ("sobel_bottom", "band-pass"),
        ("laplacian", "high-pass"),
        ("outline", "high-pass"),
        ("sharpen", "high-boost"),
        ("sharpen_strong", "high-boost"),
    ],
)
def test_frequency_response_kinds_of_classic_kernels(preset, kind):
    assert frequency_response(kernel(preset)).kind == kind


def test_frequency_response_of_generators():
    assert frequency_response(gaussian_kernel(7, 1.5)).kind == "low-pass"
    assert frequency_response(laplacian_of_gaussian_kernel(7, 1.0)).kind == "band-pass"
    assert frequency_response(gabor_kernel(9, wavelength=4.0)).kind == "band-pass"


def test_frequency_response_rejects_bad_input():
    with pytest.raises(ValueError, match="size"):
        frequency_response(np.ones((9, 9)), size=4)
    with pytest.raises(ValueError, match="finite"):
        frequency_response([[np.nan]])


@pytest.mark.parametrize(
    "key", ["box_blur", "gaussian_blur", "sobel_right", "sobel_bottom", "prewitt_x"]
)
def test_separable_presets(key):
    k = kernel(key)
    result = separability(k)
    assert result.is_separable and result.rank == 1
    np.testing.assert_allclose(np.outer(result.column, result.row), k, atol=1e-9)
    assert result.saving == pytest.approx(9 / 6)


@pytest.mark.parametrize("key", ["sharpen", "laplacian", "outline", "emboss"])
def test_non_separable_presets(key):
    result = separability(kernel(key))
    assert not result.is_separable
    assert result.rank == np.linalg.matrix_rank(kernel(key))
    assert result.saving == 1.0


def test_sobel_factors_are_the_textbook_ones():
    result = separability(kernel("sobel_bottom"))
    assert result.column.tolist() == [-1.0, 0.0, 1.0] or result.column.tolist() == [1.0, 0.0, -1.0]
    np.testing.assert_allclose(np.outer(result.column, result.row), kernel("sobel_bottom"))


def test_gaussian_is_separable_with_large_saving():
    result = separability(gaussian_kernel(9, 2.0))
    assert result.is_separable
    assert result.direct_multiply_adds == 81 and result.separable_multiply_adds == 18
    assert result.saving == pytest.approx(4.5)


def test_separable_convolution_equals_two_passes():
    image = np.random.default_rng(0).normal(size=(20, 20))
    result = separability(gaussian_kernel(5, 1.0))
    two_pass = scipy.signal.correlate2d(
        scipy.signal.correlate2d(image, result.column[:, None], mode="valid"),
        result.row[None, :],
        mode="valid",
    )
    direct = scipy.signal.correlate2d(image, gaussian_kernel(5, 1.0), mode="valid")
    np.testing.assert_allclose(two_pass, direct, atol=1e-12)


def test_zero_kernel_is_rank_zero():
    result = separability(np.zeros((3, 3)))
    assert result.rank == 0 and result.is_separable


def test_equivariance_holds_for_stride_one():
    image = np.random.default_rng(1).uniform(0, 255, size=(17, 23))
    check = equivariance(image, kernel("sobel_right"), (3, -5))
    assert check.is_equivariant and check.max_abs_difference < 1e-9
    assert check.output_shift == (3, -5) and check.output_shift_exact


def test_equivariance_fails_for_stride_two_with_odd_shift():
    image = np.random.default_rng(2).uniform(0, 255, size=(16, 16))
    check = equivariance(image, kernel("sobel_right"), (0, 1), strides=2)
    assert not check.output_shift_exact
    assert not check.is_equivariant and check.max_abs_difference > 1


def test_equivariance_holds_for_stride_two_with_even_shift():
    image = np.random.default_rng(3).uniform(0, 255, size=(16, 16))
    check = equivariance(image, kernel("laplacian"), (2, 4), strides=2)
    assert check.output_shift == (1, 2)
    assert check.is_equivariant


def test_equivariance_difference_is_the_difference():
    image = np.random.default_rng(4).uniform(0, 255, size=(12, 12))
    check = equivariance(image, kernel("emboss"), (1, 1), strides=(2, 2))
    np.testing.assert_allclose(check.difference, check.conv_of_shifted - check.shifted_conv)


def test_all_presets_analyse_without_error():
    for key in PRESETS:
        frequency_response(kernel(key))
        separability(kernel(key))
