"""core.ops.filtering against scipy.ndimage and hand-computed cases."""

import numpy as np
import pytest
import scipy.ndimage

from core.ops import filtering
from core.ops.kernels import gaussian_kernel


@pytest.fixture
def image():
    return np.random.default_rng(5).uniform(0, 255, size=(24, 30)).astype(np.float32)


def test_gaussian_noise_has_requested_variance():
    clean = np.full((200, 200), 128.0)
    noisy = filtering.add_gaussian_noise(clean, 100.0, seed=1)
    assert np.var(noisy - clean) == pytest.approx(100.0, rel=0.05)
    assert abs(np.mean(noisy - clean)) < 0.2


def test_gaussian_noise_is_seeded_and_clipped():
    clean = np.full((20, 20), 250.0)
    a = filtering.add_gaussian_noise(clean, 400.0, seed=7)
    b = filtering.add_gaussian_noise(clean, 400.0, seed=7)
    np.testing.assert_array_equal(a, b)
    assert a.max() <= 255
    assert not np.array_equal(a, filtering.add_gaussian_noise(clean, 400.0, seed=8))


def test_salt_and_pepper_fraction_and_values():
    clean = np.full((50, 40, 3), 100.0)
    noisy = filtering.add_salt_and_pepper(clean, 0.1, seed=2)
    changed = np.any(noisy != clean, axis=2)
    assert changed.sum() == 200
    values = noisy[changed]
    assert set(np.unique(values)) == {0.0, 255.0}
    assert np.all(values.min(axis=1) == values.max(axis=1))  # all channels of a pixel together


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_salt_and_pepper_rejects_bad_fraction(bad):
    with pytest.raises(ValueError, match="fraction"):
        filtering.add_salt_and_pepper(np.zeros((3, 3)), bad)


@pytest.mark.parametrize("size", [1, 3, 5, 9])
def test_mean_filter_matches_scipy(image, size):
    expected = scipy.ndimage.uniform_filter(image.astype(np.float64), size=size, mode="reflect")
    np.testing.assert_allclose(filtering.mean_filter(image, size), expected, atol=1e-3)


def test_gaussian_filter_matches_scipy_correlate(image):
    kernel = gaussian_kernel(7, 1.5)
    expected = scipy.ndimage.correlate(image.astype(np.float64), kernel, mode="reflect")
    np.testing.assert_allclose(filtering.gaussian_filter(image, 7, 1.5), expected, atol=1e-3)


def test_median_filter_matches_naive_loop(image):
    padded = np.pad(image, 2, mode="symmetric")
    expected = np.array(
        [[np.median(padded[r : r + 5, c : c + 5]) for c in range(30)] for r in range(24)]
    )
    np.testing.assert_allclose(filtering.median_filter(image, 5), expected)


def test_median_filter_works_per_channel():
    photo = np.zeros((5, 5, 3))
    photo[2, 2, 1] = 255.0
    assert filtering.median_filter(photo, 3).max() == 0


def test_median_beats_mean_on_salt_and_pepper():
    clean = np.tile(np.linspace(50, 200, 64), (64, 1))
    noisy = filtering.add_salt_and_pepper(clean, 0.1, seed=0)
    assert filtering.mean_squared_error(
        filtering.median_filter(noisy, 3), clean
    ) < 0.2 * filtering.mean_squared_error(filtering.mean_filter(noisy, 3), clean)


def test_median_is_not_linear():
    a = np.zeros((5, 5))
    a[2] = 9.0  # one bright row: a minority in every 3×3 window
    b = np.zeros((5, 5))
    b[1] = 9.0
    centre = (2, 2)
    assert filtering.median_filter(a, 3)[centre] == 0 and filtering.median_filter(b, 3)[centre] == 0
    assert filtering.median_filter(a + b, 3)[centre] == 9  # two rows: now the majority


@pytest.mark.parametrize("size", [0, 2, 33, 2.5])
def test_filters_reject_bad_sizes(size):
    with pytest.raises((ValueError, TypeError), match="size"):
        filtering.mean_filter(np.zeros((5, 5)), size)


def test_unsharp_mask_formula(image):
    blurred, detail, sharpened = filtering.unsharp_mask(image, amount=1.5, kernel_size=5, sigma=1.0)
    np.testing.assert_allclose(blurred, filtering.gaussian_filter(image, 5, 1.0))
    np.testing.assert_allclose(detail, image - blurred, atol=1e-4)
    np.testing.assert_allclose(sharpened, image + 1.5 * (image - blurred), atol=1e-3)


def test_unsharp_mask_increases_edge_contrast():
    edge = np.zeros((9, 9), np.float32)
    edge[:, 5:] = 200.0
    _, _, sharpened = filtering.unsharp_mask(edge, amount=1.0, kernel_size=5, sigma=1.0)
    assert sharpened.max() > 200 and sharpened.min() < 0


def test_filters_reject_bad_images():
    with pytest.raises(ValueError, match="image"):
        filtering.mean_filter(np.zeros((3, 3, 4)))
    with pytest.raises(TypeError):
        filtering.median_filter(np.array([["a"]]))
