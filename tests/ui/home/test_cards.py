"""ui.home.cards: one HTML block per topic card, its thumbnail inline and exact."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
from PIL import Image

from ui.home.cards import CARD_CSS, WRAP_AT_PX, card_html, png_data_uri


def decoded(uri: str) -> np.ndarray:
    data = base64.b64decode(uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_the_thumbnail_travels_inline_with_its_exact_pixels():
    picture = np.random.default_rng(0).integers(0, 256, (160, 160, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decoded(png_data_uri(picture)), picture)


def test_a_card_holds_its_title_its_picture_and_its_text_in_that_order():
    picture = np.zeros((160, 160, 3), np.uint8)
    card = card_html("Kernel Playground", "Edit a small kernel.", picture)
    title, image, text = (card.index(s) for s in ("<h3>Kernel", "<img", "<p>Edit"))
    assert title < image < text
    assert 'width="160" height="160"' in card  # the page keeps its place while it loads
    uri = re.search(r'src="([^"]+)"', card).group(1)
    np.testing.assert_array_equal(decoded(uri), picture)


def test_titles_and_texts_are_text_never_markup():
    card = card_html("<b>A</b>", "x < y & z", np.zeros((2, 2, 3), np.uint8))
    assert "<b>" not in card and "&lt;b&gt;A&lt;/b&gt;" in card and "x &lt; y &amp; z" in card


def test_a_narrow_card_puts_its_text_under_the_picture_and_never_cuts_a_word():
    assert f"@container (max-width: {WRAP_AT_PX}px)" in CARD_CSS
    assert "flex-direction: column" in CARD_CSS
    assert "word-break: normal" in CARD_CSS and "overflow-wrap: normal" in CARD_CSS
