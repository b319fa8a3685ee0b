"""core.imaging.pooling_lessons and the picture row of the Pooling page."""

from __future__ import annotations

import numpy as np
import pytest

from core.imaging.pooling_lessons import feature_map, pool_repeatedly, translation_study


def test_pool_repeatedly_halves_each_time_and_matches_a_naive_max():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 12))
    maps = pool_repeatedly(x, 3)
    assert [m.shape for m in maps] == [(16, 12), (8, 6), (4, 3), (2, 1)]
    naive = x.reshape(8, 2, 6, 2).max(axis=(1, 3))
    np.testing.assert_array_equal(maps[1], naive)
    # three 2×2 poolings of a max = one 8×8 max pooling
    np.testing.assert_array_equal(maps[3], x[:16, :8].reshape(2, 8, 1, 8).max(axis=(1, 3)))


def test_pool_repeatedly_says_which_pooling_fails():
    with pytest.raises(ValueError, match="Pooling number 3 fails on a 1×1 map"):
        pool_repeatedly(np.zeros((4, 4)), 3)
    with pytest.raises(
        ValueError, match=r"^`times` must be between 1 and 3\. Received: times=4\.$"
    ):
        pool_repeatedly(np.zeros((4, 4)), 4)
    with pytest.raises(TypeError, match=r"^`times` must be an integer\. Received: times=2\.0\.$"):
        pool_repeatedly(np.zeros((4, 4)), 2.0)


def test_feature_map_is_relu_of_same_size_correlation():
    image = np.array([[0.0, 0.0, 9.0, 9.0]] * 3)
    kernel = np.array([[-1.0, 1.0]])
    result = feature_map(image, kernel)
    assert result.shape == image.shape
    assert (result >= 0).all()
    assert result.max() == 9.0


def test_translation_study_shift_zero_changes_nothing():
    image = np.random.default_rng(1).uniform(0, 255, (32, 32))
    study = translation_study(
        image, np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]), 0
    )
    assert study.conv_change == study.pooled_change == 0.0
    assert study.pooled_unchanged == 1.0


def test_translation_study_max_pooling_hides_a_one_pixel_shift():
    # a thin bright vertical line at column 7: a 1-px shift (to 6) keeps it in window (6, 7)
    image = np.zeros((16, 20))
    image[:, 7] = 255
    study = translation_study(image, np.ones((1, 1)), 1)
    assert study.conv_change > 1.0  # the stride-1 map moved: every line cell changed
    assert study.pooled_change == 0.0
    moved = translation_study(image, np.ones((1, 1)), 2)
    assert moved.pooled_change > 0  # column 7 -> 5: window (4, 5), a different one


def test_translation_study_refuses_bad_shifts_and_tiny_images():
    with pytest.raises(
        ValueError, match=r"^`shift` must be between 0 and 3\. Received: shift=4\.$"
    ):
        translation_study(np.zeros((16, 16)), np.ones((1, 1)), 4)
    with pytest.raises(TypeError, match="`pool_size` must be an int"):
        translation_study(np.zeros((16, 16)), np.ones((1, 1)), 1, pool_size=(2, 2))
    with pytest.raises(ValueError, match="too small"):
        translation_study(np.zeros((3, 5)), np.ones((1, 1)), 1)


def test_side_by_side_keeps_relative_sizes_bottom_aligned():
    from ui.pooling.views import side_by_side

    big = np.zeros((4, 4, 3), np.uint8)
    small = np.full((2, 2, 3), 7, np.uint8)
    canvas = side_by_side([big, small], scale=2, gap=3)
    assert canvas.shape == (8, 8 + 3 + 4, 3)
    assert (canvas[4:, 11:] == 7).all() and (canvas[:4, 11:] == 255).all()
