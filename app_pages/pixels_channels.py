"""Pixels & Channels: an image is a grid of numbers — read them, split them, reshape them.

Controls: the image (sample photo, MNIST digit, upload, camera) and, per tab,
a region, an equalisation method or a target size. Compute: ``core.ops.histogram``
and ``core.imaging.images``. Display: the numbers next to the pixels, the R, G and B
channels, histograms with their cumulative distribution before and after
equalisation, and the resize-and-pad a network input needs.
"""

import streamlit as st

from core.imaging.images import to_grayscale
from ui.pixels_channels.link import LINK
from ui.pixels_channels.views import TAB_NAMES, TABS
from ui.widgets.image_input import image_picker, show_notes
from ui.widgets.presentation import main_picture

st.title("Pixels & Channels")
st.caption(
    "To a computer a picture is only a table of brightness values from 0 (black) to 255 "
    "(white) — one table for a grey image, three stacked tables (red, green, blue) for a "
    "colour one. Everything a CNN does starts from these numbers."
)

LINK.start()  # a shared link sets every control; the address follows every change
main_picture(".st-key-pixels-tab", ".st-key-pixels-numbers", fit=(".st-key-pixels-numbers",))
choice = image_picker("pixels", sources=("photo", "digit", "upload", "camera"))
show_notes(choice)
pixels = choice.pixels
is_color = pixels.ndim == 3
gray = to_grayscale(pixels) if is_color else pixels
height, width = pixels.shape[:2]
kind = "colour (3 channels)" if is_color else "grey (1 channel)"
st.markdown(f"**{choice.label}**: {height} rows × {width} columns, {kind}.")

# Only the open tab runs: each draws its own controls.
tabs = st.tabs(TAB_NAMES, key="pixels.tab", on_change="rerun")
for tab, show_tab in zip(tabs, TABS, strict=True):
    if tab.open:
        with tab:
            show_tab(choice, gray)
LINK.finish()  # names linked values the page could not use; keeps the address current
