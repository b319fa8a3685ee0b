"""Pixels & Channels: an image is a grid of numbers — read them, split them, reshape them.

Controls: the image (sample photo, MNIST digit, upload, camera) and, per tab,
a region, an equalisation method or a target size. Compute: ``core.ops.histogram``
and ``core.imaging.images``. Display: the numbers next to the pixels, the R, G and B
channels, histograms with their cumulative distribution before and after
equalisation, and the resize-and-pad a network input needs.
"""

import numpy as np
import streamlit as st

from core.imaging.images import resize_and_pad, to_grayscale
from core.ops import histogram
from ui.widgets import image_view
from ui.widgets.image_input import image_picker, show_notes

S = st.session_state


def show(values, caption: str, container=None) -> None:
    """A picture of raw pixel values (0–255) with its value range."""
    image_view.show_image(
        values, caption=caption, mapping="clip", colorbar=False, details=False, container=container
    )


st.title("Pixels & Channels")
st.caption(
    "To a computer a picture is only a table of brightness values from 0 (black) to 255 "
    "(white) — one table for a grey image, three stacked tables (red, green, blue) for a "
    "colour one. Everything a CNN does starts from these numbers."
)

choice = image_picker("pixels", sources=("photo", "digit", "upload", "camera"))
show_notes(choice)
pixels = choice.pixels
is_color = pixels.ndim == 3
gray = to_grayscale(pixels) if is_color else pixels
height, width = pixels.shape[:2]
kind = "colour (3 channels)" if is_color else "grey (1 channel)"
st.markdown(f"**{choice.label}**: {height} rows × {width} columns, {kind}.")

tabs = st.tabs(
    ["As numbers", "Channels", "Histogram & equalisation", "Resize & pad"],
    key="pixels.tab",
    on_change="rerun",
)

if tabs[0].open:
    with tabs[0]:
        S.setdefault("pixels.window", 16)
        if max(height, width) <= 32 and S.get("pixels.window_for") != choice.name:
            S["pixels.window"] = 32  # a small image (an MNIST digit) fits whole: show it all
        S["pixels.window_for"] = choice.name
        a, b, c = st.columns(3)
        size = a.select_slider(
            "Window (pixels)",
            [8, 12, 16, 24, 32],
            key="pixels.window",
            help="How many rows and columns of numbers to print. A 28×28 digit fits whole "
            "in the 32 window.",
        )
        row = b.slider(
            "Centre row",
            0,
            height - 1,
            value=height // 2,
            key="pixels.row",
            help="Row of the image the window is centred on (0 is the top).",
        )
        col = c.slider(
            "Centre column",
            0,
            width - 1,
            value=width // 2,
            key="pixels.col",
            help="Column the window is centred on (0 is the left).",
        )
        channel_names = ["Grey (luma)", "Red", "Green", "Blue"] if is_color else ["Grey"]
        shown_channel = st.radio(
            "Numbers of",
            channel_names,
            horizontal=True,
            key="pixels.channel",
            help="A colour pixel holds three numbers; pick which one to print.",
        )
        plane = (
            gray
            if shown_channel.startswith("Grey")
            else pixels[..., channel_names.index(shown_channel) - 1]
        )
        window, top, left = histogram.region(plane, (row, col), size)
        left_col, right_col = st.columns([1, 1.4])
        picture = np.clip(np.round(pixels), 0, 255).astype(np.uint8)
        framed = image_view.outline_region(picture, top, left, *window.shape[:2])
        image_view.show_picture(
            framed,
            caption=f"The red frame: rows {top}–{top + window.shape[0] - 1}, columns "
            f"{left}–{left + window.shape[1] - 1}",
            container=left_col,
        )
        with right_col:
            from ui.widgets.matrix_view import show_matrix

            cell = 34 if window.shape[1] <= 16 else 22
            show_matrix(
                np.round(window),
                fmt="{:.0f}",
                colorscale="Greys_r",
                zmin=0,
                zmax=255,
                cell_px=cell,
                key="pixels.numbers",
                row_labels=list(range(top, top + window.shape[0])),
                col_labels=list(range(left, left + window.shape[1])),
            )
        st.caption(
            "Each square is one pixel, its number the brightness. Rounded to whole numbers; "
            "the grey conversion gives fractions."
        )

if tabs[1].open:
    with tabs[1]:
        if not is_color:
            st.info(
                "This image has a single channel: it is already grey. Pick a colour photo "
                "to split it into red, green and blue."
            )
        else:
            columns = st.columns(3)
            for index, (column, name) in enumerate(
                zip(columns, histogram.CHANNEL_NAMES, strict=True)
            ):
                plane = pixels[..., index]
                show(plane, caption=f"{name} alone, in grey", container=column)
                tinted = histogram.channel_in_color(pixels, index)
                show(tinted, caption=f"{name} in its own colour", container=column)
            st.markdown(
                "**Grayscale:** grey = 0.299·R + 0.587·G + 0.114·B — green counts most because "
                "our eyes are most sensitive to it."
            )
            show(gray, caption="Grayscale")

if tabs[2].open:
    with tabs[2]:
        st.markdown(
            "The **histogram** counts the pixels at each grey level; the red line, the "
            "**cumulative distribution** (CDF), is the share of pixels at or below each level. "
            "**Equalisation** moves every level v to ⌊255 · CDF(v)⌋: crowded levels are pulled "
            "apart, so a dull or washed-out photo uses the whole range."
        )
        equalized = histogram.equalize(gray)
        left_col, right_col = st.columns(2)
        show(gray, caption="Grey image", container=left_col)
        left_col.plotly_chart(
            image_view.histogram_figure(histogram.histogram(gray), title="Before"),
            key="pixels.hist_before",
            config={"displayModeBar": False},
        )
        show(equalized, caption="Equalised", container=right_col)
        right_col.plotly_chart(
            image_view.histogram_figure(histogram.histogram(equalized), title="After"),
            key="pixels.hist_after",
            config={"displayModeBar": False},
        )
        if is_color:
            st.subheader("Equalising a colour photo")
            space = st.radio(
                "Brightness channel for the luminance method",
                ["ycrcb", "lab"],
                format_func={"ycrcb": "Y of YCrCb", "lab": "L of LAB"}.get,
                horizontal=True,
                key="pixels.space",
                help="Both split a colour into brightness and two colour components; only the "
                "brightness is equalised, so the hues stay.",
            )
            per_channel = histogram.equalize_color(pixels, method="per_channel")
            luminance = histogram.equalize_color(pixels, method="luminance", space=space)
            columns = st.columns(3)
            for column, values, label in (
                (columns[0], pixels, "Original"),
                (columns[1], per_channel, "Per channel (R, G, B each)"),
                (columns[2], luminance, "Luminance only"),
            ):
                shift = histogram.mean_hue_shift(pixels, values)
                show(values, caption=f"{label} — hue change {shift:.1f}°", container=column)
            st.caption(
                "Per channel stretches red, green and blue by different amounts, so their "
                "balance — the colour — changes (see the hue change in degrees). Equalising "
                "only the brightness keeps each pixel's colour and changes only how light it is."
            )

if tabs[3].open:
    with tabs[3]:
        target = st.select_slider(
            "Network input size",
            [28, 32, 64, 128, 224],
            value=64,
            key="pixels.target",
            help="CNNs need every input the same size. The photo is scaled so its longer side "
            "fits, keeping its shape, then centred on a black square.",
        )
        square = resize_and_pad(pixels, target)
        scale = target / max(height, width)
        new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
        left_col, right_col = st.columns(2)
        show(pixels, caption="Original", container=left_col)
        show(square, caption=f"{target}×{target} network input", container=right_col)
        st.markdown(
            f"Scale by {scale:.3g} → {new_h}×{new_w}, then pad {(target - new_h) // 2} rows on "
            f"top, {target - new_h - (target - new_h) // 2} below, {(target - new_w) // 2} "
            f"columns left and {target - new_w - (target - new_w) // 2} right. Stretching "
            "instead would squash round things into ovals."
        )
