"""The image picker of the image pages: a sample photo, an upload, the camera or a test pattern.

``image_picker`` draws the controls and returns an ``ImageChoice`` holding a
plain float32 array (0–255, (H, W) or (H, W, 3)) and what happened to it on
the way in. A file that cannot be used shows an ``st.error`` saying why and
what to do, and the page carries on with the default sample photo.

Decoded images are kept once per process, read-only and shared by every session
(``by_content``), so changing any other control never decodes again; large images
are shrunk to ``max_side`` pixels so every page stays interactive.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.base.paths import BUNDLED_DATA_DIR, SAMPLE_IMAGES_DIR
from core.imaging.images import ImageDecodeError, decode_image, downscale
from core.imaging.synthetic_images import SYNTHETIC_IMAGES, make_synthetic
from ui.widgets.content_cache import by_content
from ui.widgets.plain_text import markdown_literal
from ui.widgets.short_choice import choose_one

IMAGE_DIR = SAMPLE_IMAGES_DIR


MNIST_FILE = BUNDLED_DATA_DIR / "mnist_subset.npz"


SOURCES = ("photo", "synthetic", "upload", "camera")


SOURCE_LABELS = {
    "photo": "Sample photo",
    "digit": "MNIST digit",
    "synthetic": "Test pattern",
    "upload": "Upload",
    "camera": "Camera",
}


SYNTHETIC_SIZES = (8, 16, 32, 64, 128, 256)


DEFAULT_PHOTO = "camera.png"


MAX_UPLOAD_MB = 50

# What every image uploader takes (the decoder reads more; these are what people have).
IMAGE_TYPES = ("png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff", "webp")


@dataclass(frozen=True)
class ImageChoice:
    """What the picker hands to the page.

    ``name`` identifies the image for a shareable link ("photo:coins.png",
    "synthetic:impulse"); uploads and camera shots are not shareable.
    """

    pixels: np.ndarray
    name: str
    label: str
    notes: tuple[str, ...] = ()
    shareable: bool = True
    original_shape: tuple[int, ...] = ()


@functools.cache
def photo_names() -> tuple[str, ...]:
    """File names of the bundled sample photos, sorted (read once: they ship with the app)."""
    suffixes = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
    return tuple(sorted(p.name for p in IMAGE_DIR.iterdir() if p.suffix.lower() in suffixes))


def _shrink(pixels: np.ndarray, max_side: int, notes: list[str]) -> np.ndarray:
    height, width = pixels.shape[:2]
    if max(height, width) > max_side:
        pixels = downscale(pixels, max_side)
        notes.append(
            f"Shrunk from {width}×{height} to {pixels.shape[1]}×{pixels.shape[0]} pixels so "
            "every control answers at once."
        )
    return np.ascontiguousarray(pixels, dtype=np.float32)


@by_content(32)
def load_photo(name: str, max_side: int) -> tuple[np.ndarray, tuple[str, ...], tuple[int, ...]]:
    """Decode a bundled photo once per process: (pixels, notes, original shape)."""
    if name not in photo_names():
        raise ImageDecodeError(f"There is no sample photo called {name!r}.")
    decoded = decode_image((IMAGE_DIR / name).read_bytes())
    notes = list(decoded.notes)
    pixels = _shrink(decoded.pixels, max_side, notes)
    return pixels, tuple(notes), decoded.pixels.shape


@by_content(8)
def decode_upload(
    file_id: str, _data: bytes, max_side: int
) -> tuple[np.ndarray, tuple[str, ...], tuple[int, ...]]:
    """Decode uploaded bytes once per upload (keyed by Streamlit's file id, not the bytes)."""
    decoded = decode_image(_data)
    notes = list(decoded.notes)
    pixels = _shrink(decoded.pixels, max_side, notes)
    return pixels, tuple(notes), decoded.pixels.shape


@st.cache_resource(show_spinner=False)
def _mnist_test_digits() -> tuple[np.ndarray, np.ndarray]:
    """The bundled MNIST test digits (read-only, shared): images (N, 28, 28) uint8 and labels."""
    with np.load(MNIST_FILE) as data:
        images, labels = data["x_test"], data["y_test"]
    images.setflags(write=False)
    return images, labels


def digit_count() -> int:
    """How many MNIST digits the picker offers (0 when the bundled file is missing)."""
    try:
        return len(_mnist_test_digits()[0])
    except (OSError, KeyError, ValueError):
        return 0


@by_content(64)
def synthetic(key: str, size: int) -> np.ndarray:
    """A cached test pattern (see ``core.imaging.synthetic_images``)."""
    return make_synthetic(key, size)


def set_image(prefix: str, name: str, synthetic_size: int | None = None) -> None:
    """Point the picker at ``name`` ("photo:…" or "synthetic:…"), e.g. from a shared link.

    Call before ``image_picker`` runs in this script run.
    """
    kind, _, item = name.partition(":")
    if kind == "photo":
        st.session_state[f"{prefix}.source"] = "photo"
        st.session_state[f"{prefix}.photo"] = item
    elif kind == "synthetic":
        st.session_state[f"{prefix}.source"] = "synthetic"
        st.session_state[f"{prefix}.synthetic"] = item
    if synthetic_size in SYNTHETIC_SIZES:
        st.session_state[f"{prefix}.synthetic_size"] = synthetic_size


def _fallback(prefix: str, max_side: int, reason: str) -> ImageChoice:
    pixels, notes, shape = load_photo(DEFAULT_PHOTO, max_side)
    st.info(f"{reason} Meanwhile the sample photo *{DEFAULT_PHOTO}* is shown.")
    return ImageChoice(pixels, f"photo:{DEFAULT_PHOTO}", DEFAULT_PHOTO, notes, True, shape)


def image_picker(
    prefix: str,
    *,
    max_side: int = 512,
    sources: tuple[str, ...] = SOURCES,
    default_synthetic: str = "step_edge",
    container=None,
) -> ImageChoice:
    """Draw the image controls under ``prefix`` (e.g. "kernel") and return the chosen image."""
    area = container if container is not None else st.container()
    with area:
        source = st.radio(
            "Image source",
            sources,
            format_func=SOURCE_LABELS.get,
            horizontal=True,
            key=f"{prefix}.source",
            help="Where the picture comes from: a photo shipped with ConvScope, a small "
            "synthetic pattern whose answer you can predict, your own file, or your webcam.",
        )
        if source == "photo":
            name = choose_one(
                "Sample photo",
                photo_names(),
                key=f"{prefix}.photo",
                default=DEFAULT_PHOTO,
                help="Photos bundled with the app, in grey or in colour, all at most 1000 "
                "pixels wide.",
            )
            pixels, notes, shape = load_photo(name, max_side)
            return ImageChoice(pixels, f"photo:{name}", name, notes, True, shape)

        if source == "synthetic":
            key = choose_one(
                "Test pattern",
                list(SYNTHETIC_IMAGES),
                default=default_synthetic,
                format_func=lambda k: SYNTHETIC_IMAGES[k].name,
                key=f"{prefix}.synthetic",
                help="Tiny images made of numbers you can check by hand. The impulse (a single "
                "1) turns the output into a picture of the kernel itself.",
            )
            item = SYNTHETIC_IMAGES[key]
            size = 32
            if item.sized:
                if st.session_state.get(f"{prefix}.synthetic_size") not in SYNTHETIC_SIZES:
                    st.session_state[f"{prefix}.synthetic_size"] = 32
                size = st.select_slider(
                    "Pattern size (pixels)",
                    SYNTHETIC_SIZES,
                    key=f"{prefix}.synthetic_size",
                    help="Width and height of the test pattern. Small sizes let you read every "
                    "number in the step-by-step view.",
                )
            st.caption(item.description)
            pixels = synthetic(key, size)
            return ImageChoice(pixels, f"synthetic:{key}", item.name, (), True, pixels.shape)

        if source == "digit":
            try:
                digits, labels = _mnist_test_digits()
            except (OSError, KeyError, ValueError):
                return _fallback(prefix, max_side, "The bundled MNIST digits are missing.")
            index = st.number_input(
                f"Digit number (0–{len(digits) - 1})",
                0,
                len(digits) - 1,
                key=f"{prefix}.digit",
                help="Which handwritten digit of the MNIST test set to show: 28×28 grey pixels, "
                "small enough to print every value.",
            )
            label = f"MNIST digit #{index} (a {labels[index]})"
            pixels = digits[index].astype(np.float32)
            return ImageChoice(pixels, f"digit:{index}", label, (), True, pixels.shape)

        if source == "upload":
            uploaded = st.file_uploader(
                "Upload an image",
                type=list(IMAGE_TYPES),
                key=f"{prefix}.upload",
                max_upload_size=MAX_UPLOAD_MB,
                help="PNG, JPEG, BMP, GIF, TIFF or WebP. It stays on this server only for your "
                f"session. Images larger than {max_side} pixels on a side are shrunk.",
            )
            if uploaded is None:
                return _fallback(prefix, max_side, "Choose a file to see it here.")
            file_id = getattr(uploaded, "file_id", None) or f"{uploaded.name}:{uploaded.size}"
            return _decoded_or_fallback(
                prefix, file_id, uploaded.getvalue(), uploaded.name, max_side
            )

        shot = st.camera_input(
            "Take a photo",
            key=f"{prefix}.camera",
            help="Uses your webcam; the picture is kept only for this session.",
        )
        if shot is None:
            return _fallback(prefix, max_side, "Take a picture to use it here.")
        file_id = getattr(shot, "file_id", None) or f"camera:{shot.size}"
        return _decoded_or_fallback(prefix, file_id, shot.getvalue(), "camera photo", max_side)


def _decoded_or_fallback(
    prefix: str, file_id: str, data: bytes, label: str, max_side: int
) -> ImageChoice:
    try:
        pixels, notes, shape = decode_upload(file_id, data, max_side)
    except ImageDecodeError as error:
        st.error(f"**{markdown_literal(label)}** cannot be used. {error}")
        return _fallback(prefix, max_side, "Try another file.")
    return ImageChoice(pixels, f"upload:{label}", label, notes, False, shape)


def show_notes(choice: ImageChoice) -> None:
    """Tell the user what was done to their image on the way in (16-bit scaled, ...)."""
    for note in choice.notes:
        st.caption(f"ℹ️ {note}")
