"""Turn test images, photos and drawings into exactly what a trained network expects.

A saved model's sidecar (see `core.jobs.model_store`) records how its training images were
prepared: a `core.data.preprocessing.Preprocessing` (target size, grayscale or RGB, pad or stretch),
after which pixels are scaled to [0, 1]. Anything shown to the network later must go through
the same steps, or the network sees something it never learned. `prepare_images` does that
for a batch, `prepare_photo` for one uploaded photo (with an optional inversion, because
MNIST digits are white on black while a photo of a digit on paper is black on white), and
`digit_from_drawing` centres a digit drawn on a canvas the way MNIST digits are centred.

Pure numpy and OpenCV: the Streamlit server imports this, so no TensorFlow here.

>>> prep = preprocessing_for({"preprocessing": None}, (28, 28, 1))
>>> float(prepare_photo(np.full((50, 40, 3), 255.0), prep, (28, 28, 1), invert=True).max())
0.0
"""

from __future__ import annotations

import cv2
import numpy as np

from core.base.checks import as_int_tuple, check_bool, check_int, received
from core.data.preprocessing import Preprocessing, preprocess

MNIST_DIGIT_BOX = 20  # MNIST digits fit a 20×20 box, centred by mass in a 28×28 frame


def _check_input_shape(input_shape) -> tuple[int, int, int]:
    """A model's input shape (height, width, 1 or 3)."""
    shape = as_int_tuple(input_shape, "input_shape", length=3)
    if shape[2] not in (1, 3):
        raise ValueError(
            f"`input_shape` must be (height, width, 1 or 3). {received('input_shape', input_shape)}"
        )
    return shape


def preprocessing_for(metadata: dict | None, input_shape) -> Preprocessing:
    """The `Preprocessing` a model was trained with, from its sidecar, fitted to its input.

    A sidecar without preprocessing (or an uploaded model without sidecar) gets the plain
    recipe: resize-and-pad to the input size, grayscale for 1 channel, RGB for 3.

    >>> preprocessing_for({}, (32, 32, 3))
    Preprocessing(target_size=32, color_mode='rgb', resize_mode='pad')
    """
    height, width, channels = _check_input_shape(input_shape)
    entry = (metadata or {}).get("preprocessing") or {}
    color_mode = "grayscale" if channels == 1 else "rgb"
    resize_mode = entry.get("resize_mode", "pad") if isinstance(entry, dict) else "pad"
    target = height if height == width else None
    return Preprocessing(target_size=target, color_mode=color_mode, resize_mode=resize_mode)


def prepare_images(images: np.ndarray, preprocessing: Preprocessing, input_shape) -> np.ndarray:
    """A batch of uint8 images → float32 `(N, H, W, C)` in [0, 1], shaped like the input.

    Raises:
        ValueError: the preprocessed images do not have the model's input shape.

    >>> prep = Preprocessing(target_size=28)
    >>> prepare_images(np.zeros((2, 28, 28), np.uint8), prep, (28, 28, 1)).shape
    (2, 28, 28, 1)
    """
    shape = _check_input_shape(input_shape)
    batch = preprocess(images, preprocessing)
    if batch.shape[1:] != shape:
        raise ValueError(
            f"These images become {batch.shape[1:]} after preprocessing, but the model "
            f"expects {shape}. Pick a data set with images like the model's training data."
        )
    return batch


def prepare_photo(
    pixels: np.ndarray, preprocessing: Preprocessing, input_shape, *, invert: bool = False
) -> np.ndarray:
    """One photo (float 0–255 or uint8, `(H, W)` or `(H, W, 3)`) → `(H, W, C)` in [0, 1].

    Resize-and-pad (or stretch) to the model's input, grayscale or RGB as in training, scale
    to [0, 1], and with `invert` map x → 1 − x (dark strokes on white paper become the
    white-on-black strokes MNIST models learned from).
    """
    height, width, channels = _check_input_shape(input_shape)
    invert = check_bool(invert, "invert")
    array = np.asarray(pixels, dtype=np.float32)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ValueError(f"`pixels` must be (H, W) or (H, W, 3). {received('pixels', array)}")
    if array.ndim == 3 and array.shape[2] == 4:
        array = array[:, :, :3]
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if height != width:  # preprocess only makes squares: stretch to the exact input size
        array = cv2.resize(array, (width, height), interpolation=cv2.INTER_AREA)
        preprocessing = Preprocessing(target_size=None, color_mode=preprocessing.color_mode)
    elif preprocessing.target_size != height:
        preprocessing = Preprocessing(
            target_size=height,
            color_mode=preprocessing.color_mode,
            resize_mode=preprocessing.resize_mode,
        )
    scaled = np.clip(array, 0.0, 255.0) / 255.0
    if invert:  # before padding, so the padding stays background (black) too
        scaled = 1.0 - scaled
    batch = prepare_images(scaled[np.newaxis], preprocessing, (height, width, channels))
    return batch[0]


def digit_from_drawing(rgba: np.ndarray, *, size: int = 28) -> np.ndarray:
    """A digit drawn on a canvas → a `(size, size, 1)` MNIST-style image in [0, 1].

    The canvas holds light strokes on a dark background (as MNIST). The strokes' bounding
    box is scaled to fit a 20×20 box (for size 28) keeping the aspect ratio, then placed so
    that its centre of mass is in the middle — how the MNIST digits were prepared. An empty
    canvas gives an all-zero image.

    Args:
        rgba: `(H, W, 4)` or `(H, W, 3)` uint8 or float 0–255 canvas pixels, or `(H, W)`.
        size: output side.

    >>> canvas = np.zeros((280, 280, 4), np.uint8)
    >>> canvas[40:240, 130:150] = 255  # a vertical stroke: a "1"
    >>> digit = digit_from_drawing(canvas)
    >>> digit.shape, round(float(digit.max()), 2), int(digit[:, :, 0].sum(axis=0).argmax())
    ((28, 28, 1), 1.0, 13)
    """
    array = np.asarray(rgba, dtype=np.float32)
    if array.ndim == 3 and array.shape[2] == 4:
        # Transparent pixels are background whatever their colour.
        gray = array[:, :, :3].mean(axis=2) * (array[:, :, 3] / 255.0)
    elif array.ndim == 3 and array.shape[2] == 3:
        gray = array.mean(axis=2)
    elif array.ndim == 2:
        gray = array
    else:
        raise ValueError(
            f"`rgba` must be (H, W, 4), (H, W, 3) or (H, W). {received('rgba', array)}"
        )
    size = check_int(size, "size", minimum=8)
    gray = np.clip(gray, 0.0, 255.0) / 255.0
    output = np.zeros((size, size), dtype=np.float32)
    rows, cols = np.nonzero(gray > 0.05)
    if rows.size == 0:
        return output[:, :, np.newaxis]
    crop = gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    box = max(1, round(size * MNIST_DIGIT_BOX / 28))
    scale = box / max(crop.shape)
    new_h, new_w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    resized = cv2.resize(crop, (new_w, new_h), interpolation=cv2.INTER_AREA)
    total = float(resized.sum())
    if total > 0:
        grid_r, grid_c = np.indices(resized.shape)
        centre_r = float((grid_r * resized).sum() / total)
        centre_c = float((grid_c * resized).sum() / total)
    else:
        centre_r, centre_c = (new_h - 1) / 2, (new_w - 1) / 2
    top = int(round((size - 1) / 2 - centre_r))
    left = int(round((size - 1) / 2 - centre_c))
    top = min(max(top, 0), size - new_h)
    left = min(max(left, 0), size - new_w)
    output[top : top + new_h, left : left + new_w] = resized
    return np.clip(output, 0.0, 1.0)[:, :, np.newaxis]
