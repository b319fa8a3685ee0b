"""core.ops.kernels: the SEEDS presets, read-only constants and the generators."""

import cv2
import numpy as np
import pytest

from core.ops.convolution import conv2d
from core.ops.kernels import (
    PRESETS,
    box_kernel,
    gabor_kernel,
    gaussian_kernel,
    gradient_magnitude,
    kernel,
    laplacian_of_gaussian_kernel,
)

SEED_KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box_blur": np.ones((3, 3)) / 9,
    "gaussian_blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "sharpen_strong": [[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    "sobel_right": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_bottom": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "gradient_simple": [[0, 0, 0], [0, 1, -1], [0, 0, 0]],
    "gradient_central": [[0, 0, 0], [1, 0, -1], [0, 0, 0]],
}


@pytest.mark.parametrize(("key", "values"), SEED_KERNELS.items())
def test_every_seed_kernel_is_a_preset_with_the_exact_values(key, values):
    np.testing.assert_allclose(PRESETS[key].values, values)
    assert PRESETS[key].description and PRESETS[key].name


def test_sobel_variants_are_sign_flips_of_each_other():
    np.testing.assert_array_equal(PRESETS["sobel_left"].values, -PRESETS["sobel_right"].values)
    np.testing.assert_array_equal(PRESETS["sobel_top"].values, -PRESETS["sobel_bottom"].values)


def test_presets_are_read_only_and_kernel_returns_a_writable_copy():
    with pytest.raises(ValueError):
        PRESETS["sharpen"].values[0, 0] = 3
    copy = kernel("sharpen")
    copy[0, 0] = 3
    assert PRESETS["sharpen"].values[0, 0] == 0


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="`key` must be one of"):
        kernel("blurry")


def test_identity_preset_leaves_the_image_unchanged():
    image = np.random.default_rng(0).random((6, 6))
    np.testing.assert_allclose(conv2d(image, kernel("identity"), padding="same"), image)


@pytest.mark.parametrize("size", [3, 5, 9])
def test_gaussian_matches_opencv_and_sums_to_one(size):
    sigma = 1.3
    one_d = cv2.getGaussianKernel(size, sigma)
    np.testing.assert_allclose(gaussian_kernel(size, sigma), one_d @ one_d.T, atol=1e-12)
    assert gaussian_kernel(size, sigma).sum() == pytest.approx(1.0)


def test_even_sized_gaussian_is_centred_between_the_middle_taps():
    values = gaussian_kernel(4, 1.0)
    np.testing.assert_allclose(values, values[::-1, ::-1])
    assert values[1, 1] == values.max()


def test_box_kernel_is_a_mean():
    np.testing.assert_allclose(box_kernel(3), PRESETS["box_blur"].values)


def test_gabor_matches_opencv_up_to_the_removed_mean():
    reference = cv2.getGaborKernel((7, 7), 2.0, np.pi / 4, 4.0, 0.5, 0.0, ktype=cv2.CV_64F)
    ours = gabor_kernel(7, theta=np.pi / 4, wavelength=4.0, sigma=2.0, gamma=0.5)
    # OpenCV's x axis runs the other way round for rotation; compare to its mirror too.
    candidates = [reference, reference[:, ::-1], reference[::-1], reference[::-1, ::-1]]
    assert any(np.allclose(ours, c - c.mean(), atol=1e-9) for c in candidates)
    assert abs(ours.sum()) < 1e-9


def test_laplacian_of_gaussian_has_negative_centre_and_zero_sum():
    log = laplacian_of_gaussian_kernel(9, 1.4)
    assert log[4, 4] == log.min() < 0
    assert abs(log.sum()) < 1e-12
    np.testing.assert_allclose(log, log.T)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gaussian_kernel(0, 1.0), "`kernel_size` must be between 1 and 99. Received"),
        (lambda: gaussian_kernel(3, 0), r"^`sigma` must be > 0\. Received: sigma=0\.$"),
        (lambda: gaussian_kernel(3, float("inf")), "`sigma` must be a finite number"),
        (lambda: gabor_kernel(5, wavelength=-1), "`wavelength` must be > 0"),
        (
            lambda: box_kernel(100),
            r"`kernel_size` must be between 1 and 99\. Received: kernel_size=100",
        ),
        (lambda: kernel("sobel"), "`key` must be one of 'identity', 'box_blur'"),
    ],
)
def test_generator_arguments_are_validated(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gaussian_kernel(3.0, 1.0), "`kernel_size` must be an int"),
        (lambda: gaussian_kernel(3, "1"), "`sigma` must be a number"),
        (lambda: gabor_kernel(5, theta=None), "`theta` must be a number"),
        (lambda: kernel(3), "`key` must be one of"),
    ],
)
def test_generator_arguments_of_the_wrong_type_raise_type_error(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_gradient_magnitude_of_sobel_pair():
    image = np.zeros((5, 5))
    image[:, 3:] = 100.0
    gx = conv2d(image, kernel("sobel_right"))
    gy = conv2d(image, kernel("sobel_bottom"))
    np.testing.assert_allclose(gradient_magnitude(gx, gy), np.sqrt(gx**2 + gy**2))
    assert gradient_magnitude(gx, gy).max() == 400.0
    with pytest.raises(ValueError, match=r"`gy` must have the shape of `gx`, \(3, 3\)"):
        gradient_magnitude(gx, gy[:1])
