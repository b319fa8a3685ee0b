"""Closest classic kernel and frequency response of learned filters (core.ops.filter_matching)."""

import numpy as np
import pytest

from core.ops.filter_matching import (
    classic_bank,
    closest_kernels,
    cosine_similarity,
    frequency_response,
    resample,
)
from core.ops.kernels import kernel

SOBEL_X = kernel("sobel_right")


def test_planted_sobel_is_found_with_score_one():
    rng = np.random.default_rng(0)
    learned = 0.37 * SOBEL_X + rng.normal(scale=0.01, size=(3, 3))
    best = closest_kernels(learned)[0]
    assert best.family == "Sobel"
    assert best.angle == 0
    assert best.sign == 1
    assert best.score > 0.99
    assert best.describe().startswith("looks like a Sobel 0°")


@pytest.mark.parametrize(("turns", "angle"), [(1, 90), (2, 180), (3, 270)])
def test_rotated_sobel_is_found_at_its_angle(turns, angle):
    best = closest_kernels(np.rot90(SOBEL_X, turns))[0]
    assert best.family == "Sobel"
    assert best.score == pytest.approx(1.0)
    # 180° equals negated 0°: either reading is right, but the unflipped one is preferred.
    assert (best.angle, best.sign) == (angle, 1)


def test_diagonal_sobel_reads_as_45_degrees():
    diagonal = np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]], dtype=float)
    best = closest_kernels(3 * diagonal)[0]
    assert best.name == "Sobel 45°"
    assert best.describe() == "looks like a Sobel 45° (1.00)"


def test_sign_flip_is_reported():
    best = closest_kernels(-kernel("laplacian"))[0]
    assert best.name == "Laplacian"
    assert best.sign == -1
    assert "negated" in best.describe()
    assert np.allclose(best.template, -kernel("laplacian"))


def test_without_sign_flips_a_negated_kernel_does_not_match_itself():
    matches = closest_kernels(-kernel("laplacian"), allow_sign_flip=False, top_k=5)
    assert all(match.name != "Laplacian" for match in matches if match.score > 0.99)


def test_blur_matches_a_blur():
    assert closest_kernels(kernel("gaussian_blur"))[0].family in ("Gaussian", "Box blur")


def test_five_by_five_sobel_resampled_is_found():
    learned = resample(SOBEL_X, (5, 5))
    best = closest_kernels(learned)[0]
    assert best.family == "Sobel" and best.angle == 0


def test_top_k_lists_distinct_kernels():
    matches = closest_kernels(SOBEL_X, top_k=3)
    assert len(matches) == 3
    names = [match.name for match in matches]
    assert "Sobel 180°" not in names  # it is negated Sobel 0°, already listed
    assert [m.score for m in matches] == sorted([m.score for m in matches], reverse=True)


def test_zero_filter_matches_nothing():
    assert closest_kernels(np.zeros((3, 3))) == []


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="`kernel` must have 2 dimensions"):
        closest_kernels(np.zeros((3, 3, 1)))
    with pytest.raises(ValueError, match="`kernel` contains NaN or infinite values"):
        closest_kernels(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match=r"^`top_k` must be >= 1\. Received: top_k=0\.$"):
        closest_kernels(SOBEL_X, top_k=0)
    with pytest.raises(TypeError, match=r"^`top_k` must be an integer\. Received: top_k=2\.0\.$"):
        closest_kernels(SOBEL_X, top_k=2.0)
    with pytest.raises(TypeError, match="`kernel` must hold real numbers"):
        closest_kernels([["a"]])


def test_cosine_similarity_against_numpy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=9), rng.normal(size=9)
    expected = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
    assert cosine_similarity(a, b) == pytest.approx(expected)


def test_bank_kernels_have_the_requested_shape():
    for _, _, _, values in classic_bank((5, 5)):
        assert values.shape == (5, 5)


def test_frequency_response_matches_numpy_fft_and_classifies():
    box = np.ones((3, 3)) / 9
    response = frequency_response(box, size=16)
    reference = np.abs(np.fft.fftshift(np.fft.fft2(box, s=(16, 16))))
    np.testing.assert_allclose(response.magnitude, reference)
    assert response.kind == "low-pass"
    assert response.dc_gain == pytest.approx(1.0)
    assert response.magnitude[8, 8] == pytest.approx(1.0)  # zero frequency in the centre
    assert frequency_response(kernel("laplacian")).kind == "high-pass"
    assert frequency_response(np.zeros((3, 3))).kind == "flat"


def test_frequency_response_size_must_fit_the_kernel():
    with pytest.raises(ValueError, match="size"):
        frequency_response(np.ones((5, 5)), size=4)
