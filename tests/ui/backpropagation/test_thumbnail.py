"""ui.backpropagation.thumbnail: the home card's picture is a real ∂L/∂X."""

from __future__ import annotations

from ui.backpropagation.thumbnail import THUMB, WINDOW_RGB, backpropagation_thumbnail


def test_the_thumbnail_is_an_rgb_picture_of_the_home_size():
    picture = backpropagation_thumbnail()
    assert picture.shape == (THUMB, THUMB, 3) and picture.dtype.name == "uint8"


def test_the_window_of_output_0_0_is_outlined_in_orange():
    picture = backpropagation_thumbnail()
    assert tuple(picture[2, 40]) == WINDOW_RGB
    assert tuple(picture[THUMB - 1, THUMB - 1]) == (255, 255, 255)


def test_negative_and_positive_gradients_get_blue_and_red_cells():
    picture = backpropagation_thumbnail().astype(int)
    reds = (picture[..., 0] - picture[..., 2] > 60).sum()
    blues = (picture[..., 2] - picture[..., 0] > 60).sum()
    assert reds > 100 and blues > 100
