"""ui.widgets.image_input: the image picker's sources, links and fallbacks, through AppTest."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.imaging.images import ImageDecodeError, load_image
from core.imaging.synthetic_images import make_synthetic
from tests.apptest_helpers import choose
from tests.corpus.images import ENTRIES as IMAGE_CORPUS
from ui.widgets.image_input import DEFAULT_PHOTO, IMAGE_DIR, load_photo, photo_names


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_photo_names_are_the_bundled_pictures_sorted():
    names = photo_names()
    assert list(names) == sorted(names)
    assert DEFAULT_PHOTO in names and "chelsea.png" in names
    assert not any(name.endswith(".md") for name in names)


def test_load_photo_shrinks_large_photos_and_says_so():
    pixels, notes, original = load_photo("camera.png", 128)
    assert pixels.shape == (128, 128) and pixels.dtype == np.float32
    assert original == (512, 512)
    assert notes == ("Shrunk from 512×512 to 128×128 pixels so every control answers at once.",)


def test_load_photo_keeps_small_enough_photos_as_they_are():
    pixels, notes, _ = load_photo("camera.png", 512)
    np.testing.assert_array_equal(pixels, load_image(IMAGE_DIR / "camera.png").pixels)
    assert notes == ()


def test_load_photo_refuses_names_that_are_not_bundled():
    with pytest.raises(ImageDecodeError, match="no sample photo"):
        load_photo("../secret.png", 512)


def picker_script(sources, link):
    import streamlit as st

    from ui.widgets.image_input import image_picker, set_image, show_notes

    if link and "linked" not in st.session_state:
        set_image("demo", *link)
        st.session_state["linked"] = True
    choice = image_picker("demo", sources=sources, max_side=256)
    show_notes(choice)
    st.session_state["choice"] = choice


def open_picker(sources=("photo", "synthetic", "digit", "upload", "camera"), link=None):
    at = AppTest.from_function(picker_script, args=(sources, link), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def choice(at: AppTest):
    return at.session_state["choice"]


def test_the_default_is_the_sample_photo_shrunk_to_max_side():
    at = open_picker()
    picked = choice(at)
    assert (picked.name, picked.label, picked.shareable) == ("photo:camera.png", "camera.png", True)
    assert picked.pixels.shape == (256, 256)
    assert any("Shrunk from 512×512" in c.value for c in at.caption)
    assert at.radio(key="demo.source").options == [
        "Sample photo",
        "Test pattern",
        "MNIST digit",
        "Upload",
        "Camera",
    ]


def test_a_test_pattern_has_a_size_and_is_named_for_links():
    at = open_picker()
    at.radio(key="demo.source").set_value("synthetic").run()
    choose(at, "demo.synthetic", "impulse")
    at.select_slider(key="demo.synthetic_size").set_value(16).run()
    picked = choice(at)
    assert picked.name == "synthetic:impulse" and picked.shareable
    np.testing.assert_array_equal(picked.pixels, make_synthetic("impulse", 16))


def test_a_worked_example_has_no_size_slider():
    at = open_picker(link=("synthetic:example4", 64))
    assert choice(at).name == "synthetic:example4"
    assert choice(at).pixels.shape == (4, 6)
    assert not at.select_slider


def test_set_image_points_the_picker_at_a_linked_photo():
    at = open_picker(link=("photo:chelsea.png", None))
    assert choice(at).name == "photo:chelsea.png"
    assert choice(at).pixels.ndim == 3


def test_an_mnist_digit_is_28_by_28_and_labelled():
    at = open_picker()
    at.radio(key="demo.source").set_value("digit").run()
    at.number_input(key="demo.digit").set_value(3).run()
    picked = choice(at)
    assert picked.pixels.shape == (28, 28)
    assert picked.label.startswith("MNIST digit #3 (a ")


def test_an_upload_is_used_but_never_shared():
    at = open_picker()
    at.radio(key="demo.source").set_value("upload").run()
    pixels = np.full((10, 20), 77, np.uint8)
    at.file_uploader(key="demo.upload").set_value(("mine.png", png_bytes(pixels), "image/png"))
    at.run()
    picked = choice(at)
    assert picked.shareable is False and picked.name == "upload:mine.png"
    np.testing.assert_array_equal(picked.pixels, pixels)


def test_a_bad_upload_says_why_and_falls_back_to_the_sample_photo():
    at = open_picker()
    at.radio(key="demo.source").set_value("upload").run()
    at.file_uploader(key="demo.upload").set_value(("x.png", b"not an image", "image/png"))
    at.run()
    assert any("**x.png** cannot be used" in e.value for e in at.error)
    assert any(DEFAULT_PHOTO in i.value for i in at.info)
    assert choice(at).name == f"photo:{DEFAULT_PHOTO}"


def test_no_upload_yet_shows_the_sample_photo_meanwhile():
    at = open_picker()
    at.radio(key="demo.source").set_value("upload").run()
    assert any(i.value.startswith("Choose a file to see it here.") for i in at.info)
    assert choice(at).name == f"photo:{DEFAULT_PHOTO}"


def test_only_the_sources_asked_for_are_offered():
    at = open_picker(sources=("photo", "digit"))
    assert at.radio(key="demo.source").options == ["Sample photo", "MNIST digit"]
    assert all(radio.help for radio in at.radio) and all(box.help for box in at.selectbox)


# --------------------------------------------------------------------------- the image corpus


def _unescaped(text: str) -> str:
    """Markdown as the reader sees it (names are escaped with ``markdown_literal``)."""
    return re.sub(r"\\([\\`*_\[\]<>#|~$])", r"\1", text)


@pytest.mark.parametrize("entry", IMAGE_CORPUS, ids=lambda entry: entry.name)
def test_every_corpus_image_gets_its_message_in_the_picker(entry):
    at = open_picker()
    at.radio(key="demo.source").set_value("upload").run()
    at.file_uploader(key="demo.upload").set_value((entry.filename, entry.make(), "image/png"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [_unescaped(e.value) for e in at.error]
    notes = [c.value for c in at.caption if c.value.startswith("ℹ️")]
    if entry.outcome == "refuse":
        assert len(errors) == 1 and entry.message.lower() in errors[0].lower(), errors
        assert errors[0].startswith(f"**{entry.filename}** cannot be used.")
        assert choice(at).name == f"photo:{DEFAULT_PHOTO}"  # the page carries on
        return
    assert not errors, errors
    assert choice(at).name == f"upload:{entry.filename}"
    assert max(choice(at).pixels.shape[:2]) <= 256
    if entry.outcome == "note":
        assert any(entry.message.lower() in note.lower() for note in notes), notes
    else:  # only the shrinking of a large image is said
        assert all("Shrunk from" in note for note in notes), notes
