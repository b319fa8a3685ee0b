"""Small pictures for the home page, computed from the bundled photos with the core itself.

Each thumbnail is a real result of the operation its page teaches, so the home
page doubles as a first demo. Everything is RGB uint8 of ``THUMB`` × ``THUMB``.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.base.paths import SAMPLE_IMAGES_DIR
from core.imaging.images import load_image, to_display, to_grayscale
from core.ops.convolution import conv2d
from core.ops.kernels import gabor_kernel, gradient_magnitude, kernel
from core.ops.pooling import pool2d

THUMB = 160


IMAGES = SAMPLE_IMAGES_DIR


def _square(pixels: np.ndarray, size: int = THUMB) -> np.ndarray:
    height, width = pixels.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = pixels[top : top + side, left : left + side]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def _rgb(gray: np.ndarray) -> np.ndarray:
    return to_display(gray, mapping="clip").rgb


def pixels_thumbnail() -> np.ndarray:
    """The astronaut split into its red, green and blue channels, side by side."""
    photo = _square(load_image(IMAGES / "astronaut.png").pixels, THUMB)
    bands = np.zeros_like(photo)
    third = THUMB // 3
    for channel in range(3):
        columns = slice(channel * third, THUMB if channel == 2 else (channel + 1) * third)
        bands[:, columns, channel] = photo[:, columns, channel]
    return bands.round().astype(np.uint8)


def kernel_thumbnail() -> np.ndarray:
    """Sobel edge strength of the cameraman photo."""
    photo = _square(load_image(IMAGES / "camera.png").pixels, THUMB * 2)
    gx = conv2d(photo, kernel("sobel_right"), padding="same", mode="edge")
    gy = conv2d(photo, kernel("sobel_bottom"), padding="same", mode="edge")
    magnitude = gradient_magnitude(gx, gy)
    return _rgb(_square(np.clip(magnitude, 0, 255).astype(np.float32)))


def arithmetic_thumbnail() -> np.ndarray:
    """A 5×5 input grid with a 3×3 window and its halo of zero padding."""
    canvas = np.full((THUMB, THUMB, 3), 255, np.uint8)
    cells, size = 7, THUMB // 7
    for row in range(cells):
        for col in range(cells):
            padding = row in (0, cells - 1) or col in (0, cells - 1)
            in_window = row < 3 and col < 3
            color = (200, 225, 255) if padding else (240, 240, 240)
            if in_window:
                color = (255, 190, 120)
            top_left = (col * size + 1, row * size + 1)
            bottom_right = ((col + 1) * size - 2, (row + 1) * size - 2)
            cv2.rectangle(canvas, top_left, bottom_right, color, thickness=-1)
    return canvas


def pooling_thumbnail() -> np.ndarray:
    """Chelsea the cat max-pooled three times, shown blocky at the original size."""
    photo = _square(load_image(IMAGES / "chelsea.png").pixels, THUMB)
    pooled = pool2d(photo, pool_size=2)
    pooled = pool2d(pool2d(pooled, pool_size=2), pool_size=2)
    blocky = cv2.resize(pooled.astype(np.float32), (THUMB, THUMB), interpolation=cv2.INTER_NEAREST)
    return blocky.round().clip(0, 255).astype(np.uint8)


def training_thumbnail() -> np.ndarray:
    """A 4×4 grid of Gabor filters: what a CNN's first layer learns to look like."""
    tiles = []
    for index in range(16):
        values = gabor_kernel(9, theta=index * np.pi / 8, wavelength=4 + index % 3, sigma=2.5)
        tiles.append(to_display(values, mapping="diverging").rgb)
    rows = [np.hstack(tiles[r * 4 : (r + 1) * 4]) for r in range(4)]
    return cv2.resize(np.vstack(rows), (THUMB, THUMB), interpolation=cv2.INTER_NEAREST)


def inspect_thumbnail() -> np.ndarray:
    """Feature maps of the cat under four edge detectors, as a 2×2 mosaic."""
    gray = to_grayscale(_square(load_image(IMAGES / "chelsea.png").pixels, THUMB // 2))
    maps = [
        np.maximum(conv2d(gray, kernel(key), padding="same", mode="edge"), 0)
        for key in ("sobel_right", "sobel_bottom", "sobel_left", "outline")
    ]
    tiles = [to_display(m, mapping="minmax").rgb for m in maps]
    return np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])


THUMBNAILS = {
    "pixels_channels": pixels_thumbnail,
    "kernel_playground": kernel_thumbnail,
    "convolution_arithmetic": arithmetic_thumbnail,
    "pooling": pooling_thumbnail,
    "train_cnn": training_thumbnail,
    "inspect_network": inspect_thumbnail,
}
