"""core.imaging.synthetic_images: shapes, values and what convolution does to them."""

import numpy as np
import pytest
import scipy.signal

from core.imaging.synthetic_images import (
    SYNTHETIC_IMAGES,
    WORKED_EXAMPLES,
    checkerboard,
    impulse,
    make_synthetic,
    step_edge,
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
