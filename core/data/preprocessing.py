"""Turning images into network inputs: size, colour and resize mode, scaled to [0, 1]."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.base.checks import as_choice, check_instance, check_int, received
from core.imaging.images import COLOR_MODES, LUMA_WEIGHTS, fit_in_square

MIN_TARGET_SIZE, MAX_TARGET_SIZE = 8, 256


RESIZE_MODES = ("pad", "stretch")


@dataclass(frozen=True)
class Preprocessing:
    """How images become network input: size, colour and resize method.

    Attributes:
        target_size: side of the square output, 8 to 256; None keeps the native size
            (then images must already be square, or `resize_mode` must not matter).
        color_mode: `"grayscale"` (1 channel) or `"rgb"` (3 channels).
        resize_mode: `"pad"` keeps the aspect ratio, centres the image and pads with black;
            `"stretch"` resizes straight to the square.

    >>> Preprocessing(target_size=64, color_mode="rgb").output_shape
    (64, 64, 3)
    """

    target_size: int | None = None
    color_mode: str = "grayscale"
    resize_mode: str = "pad"

    def __post_init__(self):
        set_ = object.__setattr__
        if self.target_size is not None:
            size = check_int(
                self.target_size, "target_size", minimum=MIN_TARGET_SIZE, maximum=MAX_TARGET_SIZE
            )
            set_(self, "target_size", size)
        set_(self, "color_mode", as_choice(self.color_mode, "color_mode", COLOR_MODES))
        set_(self, "resize_mode", as_choice(self.resize_mode, "resize_mode", RESIZE_MODES))

    @property
    def channels(self) -> int:
        """1 for grayscale, 3 for RGB."""
        return 1 if self.color_mode == "grayscale" else 3

    @property
    def output_shape(self) -> tuple[int, int, int] | None:
        """`(S, S, C)`, or None when `target_size` is None (the shape depends on the images)."""
        if self.target_size is None:
            return None
        return (self.target_size, self.target_size, self.channels)

    def input_shape_for(self, image_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """The network input shape `(H, W, C)` these settings produce from `image_shape`.

        >>> Preprocessing(color_mode="rgb").input_shape_for((28, 28, 1))
        (28, 28, 3)
        """
        if self.target_size is not None:
            return (self.target_size, self.target_size, self.channels)
        return (int(image_shape[0]), int(image_shape[1]), self.channels)


def preprocess(images: np.ndarray, preprocessing: Preprocessing) -> np.ndarray:
    """Turn a batch of images into network input: colour, size, then scale to [0, 1].

    Grayscale from RGB uses the BT.601 luma weights (as `cv2.COLOR_RGB2GRAY`); RGB from
    grayscale repeats the channel. Shrinking uses area interpolation, enlarging bilinear.

    Args:
        images: uint8 (values 0..255) or float (values already in [0, 1]), shape `(N, H, W)`,
            `(N, H, W, 1)` or `(N, H, W, 3)`.
        preprocessing: the `Preprocessing` settings.

    Returns:
        float32 array of shape `(N, S, S, C)` (or `(N, H, W, C)` when `target_size` is None),
        values in [0, 1].

    Example:

    >>> batch = np.full((2, 10, 20), 255, np.uint8)
    >>> out = preprocess(batch, Preprocessing(target_size=8))
    >>> out.shape, out[0, :, 4, 0].tolist()  # padded above and below
    ((2, 8, 8, 1), [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    """
    check_instance(preprocessing, "preprocessing", Preprocessing)
    check_instance(images, "images", np.ndarray, "a numpy array")
    if images.dtype != np.uint8 and not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"`images` must be uint8 or floating point. {received('images', images)}")
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or 0 in images.shape[1:3]:
        raise ValueError(
            "`images` must have shape (N, H, W), (N, H, W, 1) or (N, H, W, 3). "
            f"{received('images', images)}"
        )
    if images.dtype == np.uint8:
        batch = images.astype(np.float32) * np.float32(1 / 255)
    else:
        batch = images.astype(np.float32, copy=True)

    if preprocessing.color_mode == "grayscale" and batch.shape[-1] == 3:
        batch = np.tensordot(batch, LUMA_WEIGHTS, axes=([3], [0]))[..., np.newaxis]
    elif preprocessing.color_mode == "rgb" and batch.shape[-1] == 1:
        batch = np.repeat(batch, 3, axis=3)

    size = preprocessing.target_size
    if size is not None and batch.shape[1:3] != (size, size):
        batch = resize_batch(batch, size, preprocessing.resize_mode)
    return np.clip(batch, 0.0, 1.0, out=batch)


def resize_batch(batch: np.ndarray, size: int, resize_mode: str) -> np.ndarray:
    """Resize float32 `(N, H, W, C)` to `(N, size, size, C)`, stretching or padding.

    One OpenCV call resizes many images at once, so a batch of thousands takes a moment.

    >>> resize_batch(np.ones((2, 4, 8, 1), np.float32), 4, "pad")[0, :, :, 0].tolist()
    [[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]
    """
    count, height, width, channels = batch.shape
    resize_mode = as_choice(resize_mode, "resize_mode", RESIZE_MODES)
    if resize_mode == "stretch":
        new_height, new_width, top, left = size, size, 0, 0
    else:
        new_height, new_width, top, left = fit_in_square(height, width, size)
    shrinking = new_height * new_width < height * width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR

    # OpenCV resizes many channels at once: stack images as channels for speed. Its area
    # interpolation (for shrinking) takes at most 4 channels at a non-integer scale.
    step = 4 if shrinking else 128
    planes = batch.transpose(1, 2, 0, 3).reshape(height, width, count * channels)
    chunks = []
    for start in range(0, planes.shape[2], step):
        chunk = np.ascontiguousarray(planes[:, :, start : start + step])
        resized = cv2.resize(chunk, (new_width, new_height), interpolation=interpolation)
        chunks.append(resized.reshape(new_height, new_width, -1))
    resized = np.concatenate(chunks, axis=2).reshape(new_height, new_width, count, channels)
    resized = resized.transpose(2, 0, 1, 3)

    if (new_height, new_width) == (size, size):
        return np.ascontiguousarray(resized)
    output = np.zeros((count, size, size, channels), dtype=np.float32)
    output[:, top : top + new_height, left : left + new_width] = resized
    return output
