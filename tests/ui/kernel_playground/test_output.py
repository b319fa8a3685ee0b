"""The Kernel Playground's output, shared between sessions for a shared image only."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ui.kernel_playground import output
from ui.kernel_playground.controls import Sliding
from ui.widgets.image_input import ImageChoice

SLIDING = Sliding((1, 1), "same", (0, 0), "constant", (1, 1), False, 2.0, True)
KERNEL = np.array([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])


@pytest.fixture
def counted_convolutions(monkeypatch):
    output._shared_output.clear()
    calls = []
    real = output.conv2d

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(output, "conv2d", counting)
    yield calls
    output._shared_output.clear()


def photo(shareable: bool = True) -> ImageChoice:
    pixels = np.random.default_rng(0).integers(0, 256, (40, 30)).astype(np.float64)
    return ImageChoice(pixels, "photo:test.png", "test.png", shareable=shareable)


def test_the_output_matches_scipy_with_bias_and_relu():
    choice = photo()
    got = output.output_image(choice.pixels, KERNEL, SLIDING, None)
    expected = ndimage.correlate(choice.pixels, KERNEL, mode="constant", cval=0.0) + 2.0
    np.testing.assert_allclose(got, np.maximum(expected, 0.0), atol=1e-9)


def test_a_shared_image_is_convolved_once_and_no_caller_can_change_it(counted_convolutions):
    choice = photo()
    key = output.output_cache_key(choice, "grayscale", KERNEL, SLIDING)
    first = output.output_image(choice.pixels, KERNEL, SLIDING, key)
    with pytest.raises(ValueError, match="read-only"):
        first[:] = -1.0  # one session's change must not reach the next
    second = output.output_image(choice.pixels, KERNEL, SLIDING, key)
    assert len(counted_convolutions) == 1
    assert second is first and second.min() >= 0.0  # the very array, unchanged
    other = output.output_cache_key(choice, "grayscale", KERNEL * 2, SLIDING)
    assert other != key
    output.output_image(choice.pixels, KERNEL * 2, SLIDING, other)
    assert len(counted_convolutions) == 2


def test_an_upload_is_never_shared(counted_convolutions):
    choice = photo(shareable=False)
    key = output.output_cache_key(choice, "grayscale", KERNEL, SLIDING)
    assert key is None
    for _ in range(2):
        output.output_image(choice.pixels, KERNEL, SLIDING, key)
    assert len(counted_convolutions) == 2
