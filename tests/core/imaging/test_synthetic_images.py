"""core.imaging.synthetic_images: shapes, values and what convolution does to them."""

import numpy as np
import pytest
import scipy.signal

from core.imaging.synthetic_images import (
    MAX_SIZE,
    SYNTHETIC_IMAGES,
    WORKED_EXAMPLES,
    checkerboard,
    disk,
    impulse,
    make_synthetic,
    ramp,
    step_edge,
    stripes,
)
from core.ops.convolution import conv2d


@pytest.mark.parametrize("key", sorted(SYNTHETIC_IMAGES))
def test_every_synthetic_image_is_float32_in_range(key):
    image = make_synthetic(key, 32)
    assert image.dtype == np.float32 and image.ndim == 2
    assert image.min() >= 0 and image.max() <= 255
    if SYNTHETIC_IMAGES[key].sized:
        assert image.shape == (32, 32)


def test_impulse_reproduces_the_kernel_and_true_convolution_flips_it():
    kernel = np.arange(9.0).reshape(3, 3)
    image = impulse(7)
    out = conv2d(image, kernel, padding="same")
    np.testing.assert_array_equal(out[2:5, 2:5], kernel[::-1, ::-1])
    flipped = conv2d(image, kernel, padding="same", flip_kernel=True)
    np.testing.assert_array_equal(flipped[2:5, 2:5], kernel)
    np.testing.assert_array_equal(flipped, scipy.signal.convolve2d(image, kernel, mode="same"))


def test_step_edge_gives_a_single_sobel_line():
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    out = conv2d(step_edge(8), sobel_x)
    assert set(np.flatnonzero(out.any(axis=0))) == {2, 3}
    assert out.max() == 4 * 255


def test_checkerboard_alternates():
    board = checkerboard(8, square=2)
    assert board[0, 0] == 255 and board[0, 2] == 0 and board[2, 2] == 255


def test_worked_examples_are_read_only_and_copied():
    assert not WORKED_EXAMPLES["example4"].flags.writeable
    copy = make_synthetic("example4")
    copy[0, 0] = -1
    assert WORKED_EXAMPLES["example4"][0, 0] == 10


def test_bad_arguments():
    with pytest.raises(ValueError, match="key"):
        make_synthetic("nope")
    with pytest.raises(ValueError, match="size"):
        make_synthetic("step_edge", 0)
    with pytest.raises(TypeError, match="size"):
        step_edge(3.5)
    with pytest.raises(ValueError, match="orientation"):
        step_edge(4, orientation="diagonal")


def test_more_bad_arguments_are_typed():
    with pytest.raises(
        ValueError, match=r"^`size` must be between 1 and 1024\. Received: size=1025\.$"
    ):
        ramp(MAX_SIZE + 1)
    with pytest.raises(TypeError, match="`orientation` must be one of 'vertical', 'horizontal'"):
        step_edge(4, orientation=None)
    with pytest.raises(ValueError, match=r"^`wavelength` must be > 0\. Received: wavelength=0\.$"):
        stripes(8, wavelength=0)
    with pytest.raises(TypeError, match="`wavelength` must be a number"):
        stripes(8, wavelength="8")
    with pytest.raises(ValueError, match="`radius` must be >= 0"):
        disk(8, radius=-1)
    with pytest.raises(TypeError, match="`key` must be one of"):
        make_synthetic(None)


def test_every_worked_example_is_offered_at_its_own_size():
    for key, array in WORKED_EXAMPLES.items():
        assert SYNTHETIC_IMAGES[key].sized is False
        np.testing.assert_array_equal(make_synthetic(key, 3), array)


def test_stripes_have_the_requested_wavelength():
    row = stripes(32, wavelength=8)[0]
    np.testing.assert_allclose(row[:24], row[8:32], atol=1e-3)  # period 8
    vertical = stripes(16, wavelength=4, angle_degrees=90)
    np.testing.assert_allclose(vertical[:, 0], vertical[:, 5])  # waves run down the rows


def test_disk_area_is_close_to_pi_r_squared():
    assert abs(int((disk(101, radius=30) > 0).sum()) - np.pi * 30**2) < 0.01 * np.pi * 30**2
