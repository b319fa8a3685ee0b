"""core.data.preprocessing: colour, size and scale, checked against OpenCV image by image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.data.preprocessing import Preprocessing, preprocess, resize_batch


def test_preprocess_pad_keeps_the_aspect_ratio_and_centres():
    wide = np.full((2, 10, 20), 255, np.uint8)
    out = preprocess(wide, Preprocessing(target_size=8, resize_mode="pad"))
    assert out.shape == (2, 8, 8, 1)
    np.testing.assert_array_equal(out[0, :, :, 0].max(axis=1), [0, 0, 1, 1, 1, 1, 0, 0])
    assert out[0, 2:6].min() == 1.0


def test_preprocess_stretch_fills_the_square():
    wide = np.full((2, 10, 20), 255, np.uint8)
    out = preprocess(wide, Preprocessing(target_size=8, resize_mode="stretch"))
    assert out.shape == (2, 8, 8, 1)
    assert out.min() == 1.0


@pytest.mark.parametrize("resize_mode", ["pad", "stretch"])
@pytest.mark.parametrize(("color_mode", "channels"), [("grayscale", 1), ("rgb", 3)])
def test_preprocess_shapes_and_range(resize_mode, color_mode, channels):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 20, 3), dtype=np.uint8)
    settings = Preprocessing(target_size=48, color_mode=color_mode, resize_mode=resize_mode)
    out = preprocess(images, settings)
    assert out.shape == (5, 48, 48, channels)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert settings.output_shape == (48, 48, channels)


def test_preprocess_grayscale_matches_opencv():
    rgb = np.random.default_rng(1).integers(0, 256, (3, 9, 9, 3), dtype=np.uint8)
    out = preprocess(rgb, Preprocessing(color_mode="grayscale"))
    for image, gray in zip(rgb, out, strict=True):
        reference = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2GRAY)
        np.testing.assert_allclose(gray[:, :, 0], reference, atol=1e-6)


def test_preprocess_rgb_repeats_a_grayscale_channel():
    gray = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    out = preprocess(gray, Preprocessing(color_mode="rgb"))
    assert out.shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    np.testing.assert_allclose(out[..., 1], gray / 255, rtol=1e-6)


def test_preprocess_resize_matches_per_image_opencv():
    images = np.random.default_rng(2).integers(0, 256, (300, 28, 28), dtype=np.uint8)
    out = preprocess(images, Preprocessing(target_size=40, resize_mode="stretch"))
    for index in (0, 150, 299):  # across the 128-channel chunks
        reference = cv2.resize(images[index].astype(np.float32) / 255, (40, 40))
        np.testing.assert_allclose(out[index, :, :, 0], np.clip(reference, 0, 1), atol=1e-6)


def test_preprocess_without_target_size_keeps_the_native_size():
    out = preprocess(np.zeros((4, 28, 28), np.uint8), Preprocessing())
    assert out.shape == (4, 28, 28, 1)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"target_size": 4}, "Received: target_size=4"),
        ({"target_size": 300}, "Received: target_size=300"),
        ({"color_mode": "cmyk"}, "Received: color_mode='cmyk'"),
        ({"resize_mode": "crop"}, "Received: resize_mode='crop'"),
    ],
)
def test_preprocessing_validates_its_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        Preprocessing(**arguments)


def test_preprocess_rejects_two_channel_images():
    with pytest.raises(
        ValueError, match=r"Received: images=ndarray\(shape=\(1, 4, 4, 2\), dtype=uint8\)\.$"
    ):
        preprocess(np.zeros((1, 4, 4, 2), np.uint8), Preprocessing())


@pytest.mark.parametrize(("count", "color_mode"), [(10, "grayscale"), (3, "rgb")])
@pytest.mark.parametrize("resize_mode", ["pad", "stretch"])
def test_shrinking_a_batch_matches_resizing_each_image(count, color_mode, resize_mode):
    """28 → 16 is a non-integer shrink, where OpenCV's area resize takes few channels."""
    rng = np.random.default_rng(0)
    shape = (count, 28, 28) if color_mode == "grayscale" else (count, 28, 28, 3)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    out = preprocess(
        images, Preprocessing(target_size=16, color_mode=color_mode, resize_mode=resize_mode)
    )
    assert out.shape == (count, 16, 16, 1 if color_mode == "grayscale" else 3)
    for index in range(count):
        single = preprocess(
            images[index : index + 1],
            Preprocessing(target_size=16, color_mode=color_mode, resize_mode=resize_mode),
        )
        np.testing.assert_allclose(out[index], single[0], atol=1e-6)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"target_size": 32.0},
            r"^`target_size` must be an integer\. Received: target_size=32\.0\.$",
        ),
        ({"target_size": True}, r"`target_size` must be an int"),
        ({"color_mode": None}, r"^`color_mode` must be one of 'grayscale', 'rgb'\. Received"),
        ({"resize_mode": 1}, r"^`resize_mode` must be one of 'pad', 'stretch'\."),
    ],
)
def test_preprocessing_refuses_wrong_types_with_type_error(arguments, message):
    with pytest.raises(TypeError, match=message):
        Preprocessing(**arguments)


def test_preprocessing_normalises_its_arguments():
    settings = Preprocessing(target_size=np.int64(32), color_mode="RGB", resize_mode="Stretch")
    assert (settings.target_size, settings.color_mode, settings.resize_mode) == (
        32,
        "rgb",
        "stretch",
    )
    assert type(settings.target_size) is int
    assert settings.channels == 3 and Preprocessing().channels == 1
    assert Preprocessing().output_shape is None


def test_input_shape_for_follows_the_settings():
    assert Preprocessing(target_size=64).input_shape_for((28, 28, 3)) == (64, 64, 1)
    assert Preprocessing(color_mode="rgb").input_shape_for((28, 20)) == (28, 20, 3)


def test_preprocess_refuses_wrong_types():
    with pytest.raises(
        TypeError, match=r"^`images` must be a numpy array\. Received: images=\[\[0\]\]\.$"
    ):
        preprocess([[0]], Preprocessing())
    with pytest.raises(TypeError, match=r"^`images` must be uint8 or floating point\."):
        preprocess(np.zeros((1, 4, 4), np.int32), Preprocessing())
    with pytest.raises(TypeError, match=r"^`preprocessing` must be a Preprocessing\."):
        preprocess(np.zeros((1, 4, 4), np.uint8), {"target_size": 8})


def test_float_images_are_taken_as_already_scaled_and_clipped():
    images = np.array([[[-0.5, 0.25], [0.5, 1.5]]], np.float64)
    out = preprocess(images, Preprocessing())
    assert out.dtype == np.float32
    assert out[0, :, :, 0].tolist() == [[0.0, 0.25], [0.5, 1.0]]


def test_resize_batch_pads_like_resizing_and_padding_each_image_with_opencv():
    batch = np.random.default_rng(5).random((3, 12, 30, 3)).astype(np.float32)
    out = resize_batch(batch, 10, "pad")
    assert out.shape == (3, 10, 10, 3)
    expected = cv2.resize(batch[1], (10, 4), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(out[1, 3:7], expected, atol=1e-6)
    assert not out[:, :3].any() and not out[:, 7:].any()
    with pytest.raises(ValueError, match="`resize_mode` must be one of 'pad', 'stretch'"):
        resize_batch(batch, 10, "crop")
