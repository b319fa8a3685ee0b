"""The home page's topic cards, each one piece of HTML: title, live thumbnail and text.

A card used to be eight elements (a row of two columns, the picture with its toolbar, a
heading, a paragraph): the browser builds each with its own components, and the home page
is the first a visitor opens. As one ``st.html`` block per card (the picture inline, so no
extra request) plus its ``st.page_link`` it costs a fraction of that and reads the same.

The title spans the card, above the picture and the text, so a narrow window (a laptop at
150 %) never cuts a word such as "Playground" in two; below ``WRAP_AT_PX`` of card width
the text goes under the picture.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
from PIL import Image

from ui.widgets.image_view import FRAME_COLOR

CARD_CLASS = "cs-card"

WRAP_AT_PX = 300  # a card narrower than this puts its text under the picture

THUMB_SHARE = "34%"  # the picture's share of a wide card's width, as the old [1, 2] columns

CARD_CSS = (
    "<style>"
    f".{CARD_CLASS} {{container-type: inline-size;}}"
    f".{CARD_CLASS} h3 {{margin: 0 0 0.6rem; padding: 0; font-size: 1.5rem; font-weight: 600;"
    " line-height: 1.25; overflow-wrap: normal; word-break: normal; hyphens: manual;}"
    f".{CARD_CLASS} .cs-card-body {{display: flex; gap: 1.25rem; align-items: center;}}"
    f".{CARD_CLASS} img {{width: {THUMB_SHARE}; max-width: 160px; height: auto; flex: none;"
    f" outline: 1px solid {FRAME_COLOR}; border-radius: 0.5rem;}}"
    f".{CARD_CLASS} p {{margin: 0; flex: 1 1 0;}}"
    f"@container (max-width: {WRAP_AT_PX}px) {{"
    f".{CARD_CLASS} .cs-card-body {{flex-direction: column; align-items: flex-start;"
    " gap: 0.75rem;}"
    f".{CARD_CLASS} img {{width: 100%; max-width: 160px;}}}}"
    "</style>"
)


def png_data_uri(pixels: np.ndarray) -> str:
    """An RGB uint8 picture as a ``data:`` URI of a PNG (exact pixels, no extra request).

    >>> png_data_uri(np.zeros((1, 1, 3), np.uint8))[:22]
    'data:image/png;base64,'
    """
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).save(buffer, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def card_html(title: str, text: str, picture: np.ndarray) -> str:
    """One card's title, picture and text (escaped: a title is text, never markup).

    >>> card = card_html("Pooling & more", "Shrink <it>.", np.zeros((2, 2, 3), np.uint8))
    >>> "<h3>Pooling &amp; more</h3>" in card, "<p>Shrink &lt;it&gt;.</p>" in card
    (True, True)
    """
    name = html.escape(title)
    return (
        f'<div class="{CARD_CLASS}"><h3>{name}</h3><div class="cs-card-body">'
        f'<img src="{png_data_uri(picture)}" alt="A picture made on the {name} page"'
        f' width="{picture.shape[1]}" height="{picture.shape[0]}">'
        f"<p>{html.escape(text)}</p></div></div>"
    )
