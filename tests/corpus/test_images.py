"""The image corpus through ``decode_image``, the decoder behind every image uploader.

Each entry gets what it declares: refused with a plain-words message, accepted with a
note, or accepted as it is. Hostile files are refused about as fast as an ordinary
image of the same file size decodes, without allocating what they claim.
"""

from __future__ import annotations

import time
import tracemalloc

import cv2
import numpy as np
import pytest

from core.imaging.images import ImageDecodeError, decode_image
from tests.corpus.images import ENTRIES
from tests.corpus.plain_words import assert_plain_words

HOSTILE = [entry for entry in ENTRIES if "bomb" in entry.name]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.name)
def test_entry_gets_its_declared_outcome(entry):
    data = entry.make()
    if entry.outcome == "refuse":
        with pytest.raises(ImageDecodeError) as caught:
            decode_image(data)
        message = str(caught.value)
        assert entry.message.lower() in message.lower(), message
        assert_plain_words(message)
        return
    decoded = decode_image(data)
    pixels = decoded.pixels
    assert pixels.dtype == np.float32
    assert pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 3), pixels.shape
    assert np.isfinite(pixels).all()
    assert pixels.min() >= 0.0 and pixels.max() <= 255.0
    if entry.outcome == "note":
        notes = " ".join(decoded.notes)
        assert entry.message.lower() in notes.lower(), decoded.notes
        for note in decoded.notes:
            assert_plain_words(note)
    else:
        assert decoded.notes == ()


def test_every_entry_is_described_in_plain_words():
    assert len({entry.name for entry in ENTRIES}) == len(ENTRIES)
    for entry in ENTRIES:
        assert entry.kind == "image" and entry.name.startswith("image/")
        assert entry.what and entry.gets, entry.name
        assert_plain_words(entry.what)
        assert_plain_words(entry.gets)
        assert (entry.outcome == "accept") == (entry.message == ""), entry.name


def _ordinary_png(num_bytes: int) -> bytes:
    """A noisy grayscale PNG of about ``num_bytes`` (noise hardly compresses)."""
    side = max(1, int(num_bytes**0.5))
    noise = np.random.default_rng(0).integers(0, 256, (side, side), dtype=np.uint8)
    return cv2.imencode(".png", noise)[1].tobytes()


def _fastest(action, repeats: int = 7) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def _refuse(data: bytes) -> None:
    with pytest.raises(ImageDecodeError):
        decode_image(data)


# Refused from the header alone. (The PNG comment bomb is cut off by Pillow after its first
# megabyte, about 2 ms of work: bounded, but not header-fast; its memory is checked below.)
HEADER_REFUSED = [entry for entry in HOSTILE if entry.message == "megapixels"]


@pytest.mark.parametrize("entry", HEADER_REFUSED, ids=lambda entry: entry.name)
def test_hostile_files_are_refused_as_fast_as_an_ordinary_image_decodes(entry):
    data = entry.make()
    reference = _ordinary_png(len(data))
    decode_image(reference)  # warm up both paths once
    _refuse(data)
    refusal = _fastest(lambda: _refuse(data))
    ordinary = _fastest(lambda: decode_image(reference))
    # Decoding what the bombs claim takes hundreds of times longer (or runs out of memory).
    assert refusal < 10 * ordinary, (refusal, ordinary)


@pytest.mark.parametrize("entry", HOSTILE, ids=lambda entry: entry.name)
def test_hostile_files_are_refused_without_allocating_their_claimed_size(entry):
    data = entry.make()
    tracemalloc.start()
    try:
        _refuse(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The smallest claim is 50 MB (the comment); numpy arrays are traced, so a decoded
    # picture would show up here.
    assert peak < 4 * len(data) + 8_000_000, peak
