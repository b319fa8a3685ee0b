"""ui.architectures.thumbnail: the home card's picture of a residual block."""

from __future__ import annotations

import numpy as np

from ui.architectures.diagram import COLOURS
from ui.architectures.thumbnail import THUMB, architecture_thumbnail


def rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]


def test_the_thumbnail_is_a_small_rgb_picture():
    picture = architecture_thumbnail()
    assert picture.shape == (THUMB, THUMB, 3) and picture.dtype == np.uint8


def test_it_draws_convolutions_and_a_merge_in_the_diagrams_colours():
    picture = architecture_thumbnail().reshape(-1, 3).tolist()
    for kind in ("conv", "merge"):
        fill = rgb(COLOURS[kind][0])
        assert sum(pixel == fill for pixel in picture) > 200, kind
