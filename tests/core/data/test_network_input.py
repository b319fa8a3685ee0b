"""core.data.network_input: a photo or a drawing prepared exactly as the training images were."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage

from core.data.network_input import (
    digit_from_drawing,
    prepare_images,
    prepare_photo,
    preprocessing_for,
)
from core.data.preprocessing import Preprocessing, preprocess


def test_preprocessing_for_reads_the_sidecar_and_fits_the_input():
    sidecar = {"preprocessing": {"target_size": 64, "color_mode": "rgb", "resize_mode": "stretch"}}
    assert preprocessing_for(sidecar, (28, 28, 1)) == Preprocessing(
        target_size=28, color_mode="grayscale", resize_mode="stretch"
    )
    assert preprocessing_for(None, (32, 48, 3)) == Preprocessing(target_size=None, color_mode="rgb")


@pytest.mark.parametrize(
    ("input_shape", "error", "message"),
    [
        (
            (28, 28),
            ValueError,
            r"^`input_shape` must hold 3 ints\. Received: input_shape=\(28, 28\)\.$",
        ),
        ((28, 28, 2), ValueError, r"^`input_shape` must be \(height, width, 1 or 3\)\."),
        ((28, 0, 1), ValueError, r"`input_shape` values must be >= 1"),
        ((28.0, 28, 1), TypeError, r"`input_shape` must hold 3 ints"),
        (None, TypeError, r"Received: input_shape=None\.$"),
    ],
)
def test_bad_input_shapes_are_refused(input_shape, error, message):
    with pytest.raises(error, match=message):
        preprocessing_for({}, input_shape)


def test_prepare_images_is_preprocess_with_a_shape_check():
    images = np.random.default_rng(0).integers(0, 256, (3, 20, 20, 3), dtype=np.uint8)
    prep = Preprocessing(target_size=16, color_mode="grayscale")
    np.testing.assert_array_equal(
        prepare_images(images, prep, (16, 16, 1)), preprocess(images, prep)
    )
    with pytest.raises(ValueError, match=r"become \(16, 16, 1\) after preprocessing"):
        prepare_images(images, prep, (28, 28, 1))


def test_prepare_photo_inverts_before_padding_so_the_bars_stay_black():
    paper = np.full((20, 40), 255.0)  # white paper, wider than high
    paper[8:12, 18:22] = 0.0  # a dark mark in the middle
    prepared = prepare_photo(paper, Preprocessing(target_size=28), (28, 28, 1), invert=True)
    assert prepared.shape == (28, 28, 1)
    assert prepared[:7].max() == 0.0 and prepared[-7:].max() == 0.0  # padding stays black
    assert prepared[14, 14, 0] > 0.9  # the dark mark became bright


def test_prepare_photo_drops_alpha_and_stretches_to_a_non_square_input():
    rgba = np.zeros((10, 10, 4), np.float32)
    rgba[..., 0] = 255.0
    prepared = prepare_photo(rgba, Preprocessing(color_mode="rgb"), (8, 12, 3))
    assert prepared.shape == (8, 12, 3)
    np.testing.assert_allclose(prepared[..., 0], 1.0)
    np.testing.assert_allclose(prepared[..., 1:], 0.0)
    with pytest.raises(ValueError, match=r"^`pixels` must be \(H, W\) or \(H, W, 3\)\."):
        prepare_photo(np.zeros((4, 4, 2)), Preprocessing(), (8, 8, 1))


def test_digit_from_drawing_centres_the_mass_like_mnist():
    canvas = np.zeros((200, 200), np.uint8)
    cv2.circle(canvas, (40, 150), 20, 255, thickness=-1)  # off-centre blob
    digit = digit_from_drawing(canvas)
    assert digit.shape == (28, 28, 1) and digit.dtype == np.float32
    centre = scipy.ndimage.center_of_mass(digit[:, :, 0])
    assert abs(centre[0] - 13.5) <= 0.5 and abs(centre[1] - 13.5) <= 0.5
    rows, cols = np.nonzero(digit[:, :, 0] > 0.05)
    assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 20  # fits the 20×20 box


def test_digit_from_drawing_of_an_empty_or_transparent_canvas_is_blank():
    assert not digit_from_drawing(np.zeros((50, 50, 4), np.uint8)).any()
    transparent_ink = np.full((50, 50, 4), 255, np.uint8)
    transparent_ink[..., 3] = 0
    assert not digit_from_drawing(transparent_ink).any()


def test_digit_from_drawing_checks_its_arguments():
    with pytest.raises(ValueError, match=r"^`size` must be >= 8\. Received: size=4\.$"):
        digit_from_drawing(np.zeros((10, 10)), size=4)
    with pytest.raises(TypeError, match=r"^`size` must be an integer\."):
        digit_from_drawing(np.zeros((10, 10)), size=28.0)
    with pytest.raises(ValueError, match=r"^`rgba` must be \(H, W, 4\), \(H, W, 3\) or \(H, W\)\."):
        digit_from_drawing(np.zeros((10, 10, 2)))
