"""The Backpropagation card's picture on the home page: a real ∂L/∂X, with one window.

Like the other home thumbnails, it is a real result of what the page teaches: the
input gradient of the page's first setup, coloured blue (negative) to red
(positive), with the window of output (0, 0) outlined in orange.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.ops.conv_backward import conv2d_backward
from ui.backpropagation.controls import GRADIENT_PATTERN, SETUPS
from ui.backpropagation.grids import value_colors

THUMB = 160


WINDOW_RGB = (255, 127, 14)


def backpropagation_thumbnail() -> np.ndarray:
    """RGB uint8 (160, 160, 3): ∂L/∂X of the basic setup as a grid of coloured cells.

    >>> picture = backpropagation_thumbnail()
    >>> picture.shape, picture.dtype.name
    ((160, 160, 3), 'uint8')
    """
    setup = SETUPS["basic"]
    gradient = conv2d_backward(setup.image, setup.kernel, GRADIENT_PATTERN).input_gradient
    colors = value_colors(gradient)
    canvas = np.full((THUMB, THUMB, 3), 255, np.uint8)
    rows, cols = gradient.shape
    size = THUMB // max(rows, cols)
    for row in range(rows):
        for col in range(cols):
            top_left = (col * size + 2, row * size + 2)
            bottom_right = ((col + 1) * size - 3, (row + 1) * size - 3)
            color = tuple(int(round(c)) for c in colors[row, col])
            cv2.rectangle(canvas, top_left, bottom_right, color, thickness=-1)
    cv2.rectangle(canvas, (1, 1), (3 * size - 2, 3 * size - 2), WINDOW_RGB, thickness=4)
    return canvas
