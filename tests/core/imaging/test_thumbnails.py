"""core.imaging.thumbnails: each home-page picture is a real result of its page's operation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage

from core.base.paths import PROJECT_ROOT
from core.imaging import thumbnails
from core.imaging.images import load_image

THUMB = thumbnails.THUMB


def square(name: str, size: int) -> np.ndarray:
    """Independent centre crop and area resize of a bundled photo."""
    pixels = load_image(thumbnails.IMAGES / name).pixels
    height, width = pixels.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = pixels[top : top + side, left : left + side]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("key", sorted(thumbnails.THUMBNAILS))
def test_every_thumbnail_is_a_square_rgb_picture_named_after_a_page(key):
    picture = thumbnails.THUMBNAILS[key]()
    assert picture.shape == (THUMB, THUMB, 3) and picture.dtype == np.uint8
    assert picture.std() > 5  # a picture, not a flat colour
    assert (PROJECT_ROOT / "app_pages" / f"{key}.py").is_file()


def test_pixels_thumbnail_keeps_one_channel_per_third():
    picture = thumbnails.pixels_thumbnail()
    photo = square("astronaut.png", THUMB)
    third = THUMB // 3
    for channel in range(3):
        band = picture[:, channel * third : (channel + 1) * third]
        others = [c for c in range(3) if c != channel]
        assert not band[:, :, others].any()
        np.testing.assert_array_equal(
            band[:, :, channel], photo[:, channel * third : (channel + 1) * third, channel].round()
        )


def test_kernel_thumbnail_is_the_sobel_magnitude_computed_by_scipy():
    photo = square("camera.png", THUMB * 2).astype(np.float64)
    gx = scipy.ndimage.correlate(photo, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], mode="nearest")
    gy = scipy.ndimage.correlate(photo, [[-1, -2, -1], [0, 0, 0], [1, 2, 1]], mode="nearest")
    magnitude = np.clip(np.hypot(gx, gy), 0, 255).astype(np.float32)
    expected = cv2.resize(magnitude, (THUMB, THUMB), interpolation=cv2.INTER_AREA)
    picture = thumbnails.kernel_thumbnail()
    assert np.abs(picture[:, :, 0].astype(float) - expected).max() <= 1.0
    assert (picture[:, :, 0] == picture[:, :, 2]).all()  # grey


def test_arithmetic_thumbnail_draws_the_window_over_the_padding_halo():
    picture = thumbnails.arithmetic_thumbnail()
    cell = THUMB // 7

    def colour(row, col):
        return tuple(picture[row * cell + cell // 2, col * cell + cell // 2])

    assert colour(0, 0) == colour(2, 2) == (255, 190, 120)  # the 3×3 window
    assert colour(0, 6) == colour(6, 3) == (200, 225, 255)  # padding
    assert colour(4, 4) == (240, 240, 240)  # input


def test_pooling_thumbnail_is_three_2x2_max_poolings():
    picture = thumbnails.pooling_thumbnail()
    photo = square("chelsea.png", THUMB)
    blocks = photo.reshape(THUMB // 8, 8, THUMB // 8, 8, 3).max(axis=(1, 3))
    expected = np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)
    np.testing.assert_array_equal(picture, expected.round().clip(0, 255).astype(np.uint8))


def test_training_thumbnail_tiles_differ():
    picture = thumbnails.training_thumbnail()
    tiles = [
        picture[r * 40 : (r + 1) * 40, c * 40 : (c + 1) * 40] for r in range(4) for c in range(4)
    ]
    assert len({tile.tobytes() for tile in tiles}) == 16


def test_inspect_thumbnail_stretches_each_feature_map_to_the_full_range():
    picture = thumbnails.inspect_thumbnail()
    half = THUMB // 2
    for top in (0, half):
        for left in (0, half):
            tile = picture[top : top + half, left : left + half]
            assert tile.min() == 0 and tile.max() == 255
