"""The Kernel Playground's output image: computed once per server for a shared image.

In a lecture room every following student's page reruns with each change the lecturer
makes, on the same image with the same kernel and settings. The convolution of a 512×512
photo is a few milliseconds of the server's CPU per student; keyed by what it depends on
(the image's name, the kernel's numbers and the sliding settings), one student computes it
and the others share it, read-only. An uploaded photo or a camera shot is never shared.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from core.ops.convolution import conv2d
from ui.kernel_playground.controls import Sliding
from ui.widgets.content_cache import by_content
from ui.widgets.image_input import ImageChoice

SHARED_OUTPUTS = 32  # outputs kept for every session (a lecture's last few settings)


def output_cache_key(choice: ImageChoice, color: str, weights: np.ndarray, sliding: Sliding):
    """Everything the output depends on, or None for an image that is not shared.

    >>> from ui.kernel_playground.controls import Sliding
    >>> sliding = Sliding((1, 1), "same", (0, 0), "constant", (1, 1), False, 0.0, False)
    >>> choice = ImageChoice(np.zeros((4, 4)), "photo:a.png", "a.png")
    >>> output_cache_key(choice, "grayscale", np.ones((3, 3)), sliding)[:4]
    ('photo:a.png', (4, 4), 'grayscale', (3, 3))
    >>> output_cache_key(dataclasses.replace(choice, shareable=False), "grayscale",
    ...            np.ones((3, 3)), sliding) is None
    True
    """
    if not choice.shareable:
        return None
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    return (
        choice.name,
        choice.pixels.shape,
        color,
        weights.shape,
        weights.tobytes(),
        dataclasses.astuple(sliding),
    )


def apply_kernel(image: np.ndarray, weights: np.ndarray, sliding: Sliding) -> np.ndarray:
    """The convolution, then the bias and the optional ReLU."""
    output = conv2d(image, weights, **sliding.conv_options())
    if sliding.bias:
        output += sliding.bias
    if sliding.relu:
        np.maximum(output, 0.0, out=output)
    return output


@by_content(SHARED_OUTPUTS)
def _shared_output(key, _image: np.ndarray, _weights: np.ndarray, _sliding: Sliding):
    return apply_kernel(_image, _weights, _sliding)


def output_image(image: np.ndarray, weights: np.ndarray, sliding: Sliding, key) -> np.ndarray:
    """``apply_kernel``, shared between sessions under ``key`` (`output_cache_key`) unless None.

    Every caller gets the same read-only array (``by_content``): no copy per session, and
    a session that tried to change it would get an error, not change another's page.
    """
    if key is None:
        return apply_kernel(image, weights, sliding)
    return _shared_output(key, image, weights, sliding)
