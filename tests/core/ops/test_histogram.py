"""core.ops.histogram against numpy/OpenCV and the seeds' formula new = floor(255·cdf)."""

import cv2
import numpy as np
import pytest

from core.ops import histogram


@pytest.fixture
def photo():
    rng = np.random.default_rng(3)
    return rng.integers(60, 180, size=(40, 50)).astype(np.float32)


def test_histogram_matches_numpy(photo):
    expected, _ = np.histogram(photo, bins=256, range=(0, 256))
    np.testing.assert_array_equal(histogram.histogram(photo), expected)


def test_histogram_matches_cv2_calc_hist(photo):
    expected = cv2.calcHist([photo.astype(np.uint8)], [0], None, [256], [0, 256]).ravel()
    np.testing.assert_array_equal(histogram.histogram(photo), expected)


def test_histogram_rounds_and_clips():
    counts = histogram.histogram(np.array([[-5.0, 0.4, 254.6, 300.0]]))
    assert counts[0] == 2 and counts[255] == 2 and counts.sum() == 4


def test_histogram_rejects_colour():
    with pytest.raises(ValueError, match="`image` must have 2 dimensions"):
        histogram.histogram(np.zeros((2, 2, 3)))


def test_cdf_ends_at_one_and_is_monotone(photo):
    cdf = histogram.cumulative_distribution(histogram.histogram(photo))
    assert cdf[-1] == pytest.approx(1.0)
    assert np.all(np.diff(cdf) >= 0)


def test_cdf_rejects_empty_counts():
    with pytest.raises(ValueError, match="positive total"):
        histogram.cumulative_distribution(np.zeros(256))


def test_equalize_follows_the_floor_formula_pixel_by_pixel(photo):
    levels = photo.astype(int)
    total = levels.size
    expected = np.empty_like(photo)
    for index, value in np.ndenumerate(levels):
        expected[index] = np.floor(255 * (levels <= value).sum() / total)
    np.testing.assert_array_equal(histogram.equalize(photo), expected)


def test_equalize_spreads_a_narrow_range(photo):
    result = histogram.equalize(photo)
    assert result.max() == 255 and result.min() < 20
    assert np.ptp(result) > np.ptp(photo)


def test_equalize_close_to_cv2(photo):
    # OpenCV subtracts the lowest cdf value first; away from the darkest level both agree closely.
    ours = histogram.equalize(photo)
    theirs = cv2.equalizeHist(photo.astype(np.uint8)).astype(np.float32)
    assert np.abs(ours - theirs).max() <= 4


def test_per_channel_equalisation_shifts_hue_luminance_does_not():
    rng = np.random.default_rng(0)
    # A bluish, low-contrast photo.
    base = rng.integers(90, 140, size=(30, 30, 1)).astype(np.float32)
    photo = np.concatenate([base * 0.6, base * 0.8, base * 1.2], axis=2)
    per_channel = histogram.equalize_color(photo, method="per_channel")
    luminance = histogram.equalize_color(photo, method="luminance", space="ycrcb")
    lab = histogram.equalize_color(photo, method="luminance", space="lab")
    assert histogram.mean_hue_shift(photo, per_channel) > 3 * histogram.mean_hue_shift(
        photo, luminance
    )
    assert histogram.mean_hue_shift(photo, lab) < histogram.mean_hue_shift(photo, per_channel)


def test_luminance_equalisation_equalises_y_channel():
    rng = np.random.default_rng(1)
    photo = rng.integers(80, 160, size=(20, 20, 3)).astype(np.float32)
    result = histogram.equalize_color(photo, method="luminance", space="ycrcb")
    y = cv2.cvtColor(result.astype(np.uint8), cv2.COLOR_RGB2YCrCb)[:, :, 0]
    assert np.ptp(y) > np.ptp(histogram.luminance(photo)) * 1.5


def test_equalize_color_rejects_bad_method():
    with pytest.raises(ValueError, match="method"):
        histogram.equalize_color(np.zeros((2, 2, 3)), method="hsv")
    with pytest.raises(ValueError, match="space"):
        histogram.equalize_color(np.zeros((2, 2, 3)), space="xyz")


def test_split_channels_and_tint():
    photo = np.dstack([np.full((2, 2), v, np.float32) for v in (10, 20, 30)])
    red, green, blue = histogram.split_channels(photo)
    assert (red == 10).all() and (green == 20).all() and (blue == 30).all()
    tinted = histogram.channel_in_color(photo, 2)
    assert tinted[..., 2].tolist() == blue.tolist() and tinted[..., :2].max() == 0


def test_region_stays_inside():
    image = np.arange(100).reshape(10, 10)
    window, top, left = histogram.region(image, (9, 9), 4)
    assert (top, left) == (6, 6)
    np.testing.assert_array_equal(window, image[6:, 6:])
    whole, top, left = histogram.region(image, (5, 5), 16)
    assert whole.shape == (10, 10) and (top, left) == (0, 0)
