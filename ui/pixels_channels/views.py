"""The four tabs of the Pixels & Channels page, each drawing its controls and pictures.

Every tab takes the chosen image (``ImageChoice``, pixels 0–255) and its grey
version; the numbers come from ``core.ops.histogram`` and ``core.imaging.images``.
Session keys live under ``pixels.``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.base.numbers import plural, readable
from core.imaging.images import resize_and_pad
from core.ops import histogram
from ui.widgets import image_view, presentation
from ui.widgets.image_input import ImageChoice
from ui.widgets.matrix_view import show_matrix
from ui.widgets.page_link import key_class
from ui.widgets.tab_charts import plotly_chart

TAB_NAMES = ["As numbers", "Channels", "Histogram & equalisation", "Resize & pad"]


WINDOW_SIZES = [8, 12, 16, 24, 32]


NETWORK_SIZES = [28, 32, 64, 128, 224]


def show(values, caption: str, container=None) -> None:
    """A picture of raw pixel values (0–255) with its value range."""
    image_view.show_image(
        values, caption=caption, mapping="clip", colorbar=False, details=False, container=container
    )


def channel_options(is_color: bool) -> list[str]:
    """What the numbers can show: grey only, or grey and each colour channel."""
    return ["Grey (luma)", *histogram.CHANNEL_NAMES] if is_color else ["Grey"]


def channel_plane(pixels: np.ndarray, gray: np.ndarray, channel: str) -> np.ndarray:
    """The plane named by one of ``channel_options``: the grey image, or R, G or B.

    >>> pixels = np.arange(12).reshape(2, 2, 3)
    >>> channel_plane(pixels, pixels.mean(axis=2), "Green").tolist()
    [[1, 4], [7, 10]]
    """
    if channel.startswith("Grey"):
        return gray
    return pixels[..., channel_options(True).index(channel) - 1]


def number_cell_px(columns: int) -> int:
    """Cells of the printed numbers: roomy up to 16 columns, tighter beyond."""
    return 34 if columns <= 16 else 22


NUMBERS_BOX_KEY = "pixels.numbers_box"  # holds the printed numbers; its width sizes them


NUMBER_FONT_PX = (8, 16)  # the numbers' type: shrinks to fit the width, grows up to 16 px


NUMBER_CELL_MAX_PX = 48  # a narrow window's cells stop growing here


_DIGIT_EM = 0.62  # one monospace digit's width in em, a little over DejaVu Sans Mono's 0.602


def numbers_fit_css(columns: int, *, digits: int = 3) -> str:
    """CSS that fits the printed numbers to their column's width: square cells, no scrolling.

    The window's ``columns`` plus the row numbers share the width of ``NUMBERS_BOX_KEY``'s
    block (``cqw``: the browser knows it, the server does not); the type is the largest that
    prints ``digits`` digits inside a cell, between ``NUMBER_FONT_PX``. A 28×28 MNIST digit
    then fits whole on a laptop at 150 % (8 px type) as on a projector (13 px and more),
    and hovering a square still names its row, column and value.

    >>> css = numbers_fit_css(28)
    >>> "(min(100cqw, 1392px) - 30px) / 29" in css, "clamp(8px," in css
    (True, True)
    """
    cells = columns + 1  # the row numbers take one column too
    width = f"min(100cqw, {cells * NUMBER_CELL_MAX_PX}px)"
    cell = f"(({width} - {cells + 1}px) / {cells})"  # 1-px spacing around every cell
    low, high = NUMBER_FONT_PX
    font = f"clamp({low}px, calc(({cell} - 2px) / {digits * _DIGIT_EM:.3f}), {high}px)"
    box, numbers = key_class(NUMBERS_BOX_KEY), f".{key_class('pixels.numbers')}"
    return (
        "<style>"
        f".{box} {{container-type: inline-size;}}"
        f"{numbers} .cs-matrix {{display: block !important; overflow-x: visible !important;}}"
        f"{numbers} .cs-matrix table {{width: {width} !important; font-size: {font} !important;}}"
        f"{numbers} .cs-matrix col {{width: auto !important;}}"
        f"{numbers} .cs-matrix tr {{height: calc{cell} !important;}}"
        f"{numbers} .cs-matrix th {{font-size: min(11px, {font}) !important;"
        " padding: 0 !important;}"
        "</style>"
    )


@dataclass(frozen=True)
class PadPlan:
    """How a (height, width) picture becomes a ``target``-sided square: scale, then pad."""

    scale: float
    height: int
    width: int
    top: int
    bottom: int
    left: int
    right: int


def pad_plan(height: int, width: int, target: int) -> PadPlan:
    """The scale that fits the longer side into ``target``, the new size and the padding.

    >>> pad_plan(300, 451, 64)
    PadPlan(scale=0.1419068736141907, height=43, width=64, top=10, bottom=11, left=0, right=0)
    """
    scale = target / max(height, width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    top, left = (target - new_h) // 2, (target - new_w) // 2
    return PadPlan(scale, new_h, new_w, top, target - new_h - top, left, target - new_w - left)


def _centre_slider(container, label: str, length: int, *, key: str, help: str, single: str) -> int:
    """A slider over 0 … ``length`` − 1, or a caption and 0 when there is only one position.

    A value kept from a larger image is pulled back inside, so the slider is valid for any size.
    """
    if length <= 1:
        container.caption(single)
        return 0
    state = st.session_state
    state.setdefault(key, length // 2)  # in session state, where a link can set it
    state[f"{key}_centre"] = length // 2  # a link leaves the centre out
    if not 0 <= state[key] <= length - 1:
        state[key] = min(max(int(state[key]), 0), length - 1)
    return container.slider(label, 0, length - 1, key=key, help=help)


def numbers_tab(choice: ImageChoice, gray: np.ndarray) -> None:
    """A window of the image printed as numbers, framed in red on the picture."""
    state = st.session_state
    pixels = choice.pixels
    height, width = pixels.shape[:2]
    state.setdefault("pixels.window", 16)
    if max(height, width) <= 32 and state.get("pixels.window_for") != choice.name:
        state["pixels.window"] = 32  # a small image (an MNIST digit) fits whole: show it all
    state["pixels.window_for"] = choice.name
    a, b, c = st.columns(3)
    size = a.select_slider(
        "Window (pixels)",
        WINDOW_SIZES,
        key="pixels.window",
        help="How many rows and columns of numbers to print. A 28×28 digit fits whole "
        "in the 32 window.",
    )
    row = _centre_slider(
        b,
        "Centre row",
        height,
        key="pixels.row",
        help="Row of the image the window is centred on (0 is the top).",
        single="The image has only one row: the window is centred on row 0.",
    )
    col = _centre_slider(
        c,
        "Centre column",
        width,
        key="pixels.col",
        help="Column the window is centred on (0 is the left).",
        single="The image has only one column: the window is centred on column 0.",
    )
    options = channel_options(pixels.ndim == 3)
    if state.get("pixels.channel") not in options:
        state["pixels.channel"] = options[0]  # a colour's channel kept from a colour photo
    shown_channel = options[0]  # a grey image has one plane: there is nothing to choose
    if len(options) > 1:
        shown_channel = st.radio(
            "Numbers of",
            options,
            horizontal=True,
            key="pixels.channel",
            help="A colour pixel holds three numbers; pick which one to print.",
        )
    plane = channel_plane(pixels, gray, shown_channel)
    window, top, left = histogram.region(plane, (row, col), size)
    rows, cols = window.shape[:2]
    # Wide windows get the page's whole width, so 3-digit numbers keep a legible size; when
    # presenting (one screen tall) the picture goes beside them, where it is not folded away.
    if cols <= 16:
        left_col, right_col = st.columns([1, 1.4])
    elif presentation.is_on():
        right_col, left_col = st.columns([2, 1])
    else:
        left_col, right_col = st.container(), st.container()
    picture = np.clip(np.round(pixels), 0, 255).astype(np.uint8)
    image_view.show_picture(
        image_view.outline_region(picture, top, left, rows, cols),
        caption=f"The red frame: rows {top}–{top + rows - 1}, columns {left}–{left + cols - 1}",
        container=left_col,
    )
    with right_col.container(key=NUMBERS_BOX_KEY):
        st.html(numbers_fit_css(cols))
        show_matrix(
            np.round(window),
            fmt="{:.0f}",
            colorscale="Greys_r",
            zmin=0,
            zmax=255,
            cell_px=number_cell_px(cols),
            key="pixels.numbers",
            row_labels=list(range(top, top + rows)),
            col_labels=list(range(left, left + cols)),
        )
    st.caption(
        "Each square is one pixel, its number the brightness (hover a square to see its row, "
        "column and value). Rounded to whole numbers; the grey conversion gives fractions."
    )


def channels_tab(choice: ImageChoice, gray: np.ndarray) -> None:
    """Red, green and blue apart (in grey and in their own colour), then the grey mix."""
    pixels = choice.pixels
    if pixels.ndim != 3:
        st.info(
            "This image has a single channel: it is already grey. Pick a colour photo "
            "to split it into red, green and blue."
        )
        return
    columns = st.columns(3)
    for index, (column, name) in enumerate(zip(columns, histogram.CHANNEL_NAMES, strict=True)):
        show(pixels[..., index], caption=f"{name} alone, in grey", container=column)
        tinted = histogram.channel_in_color(pixels, index)
        show(tinted, caption=f"{name} in its own colour", container=column)
    st.markdown(
        "**Grayscale:** grey = 0.299·R + 0.587·G + 0.114·B — green counts most because "
        "our eyes are most sensitive to it."
    )
    show(gray, caption="Grayscale")


def _picture_and_histogram(values: np.ndarray, caption: str, title: str, key: str, container):
    show(values, caption=caption, container=container)
    plotly_chart(
        image_view.histogram_figure(histogram.histogram(values), title=title),
        container=container,
        key=key,
        config={"displayModeBar": False},
    )


def histogram_tab(choice: ImageChoice, gray: np.ndarray) -> None:
    """Histogram and CDF before and after equalisation; two ways to equalise a colour photo."""
    pixels = choice.pixels
    st.markdown(
        "The **histogram** counts the pixels at each grey level; the red line, the "
        "**cumulative distribution** (CDF), is the share of pixels at or below each level. "
        "**Equalisation** moves every level v to ⌊255 · CDF(v)⌋: crowded levels are pulled "
        "apart, so a dull or washed-out photo uses the whole range."
    )
    left_col, right_col = st.columns(2)
    _picture_and_histogram(gray, "Grey image", "Before", "pixels.hist_before", left_col)
    equalized = histogram.equalize(gray)
    _picture_and_histogram(equalized, "Equalised", "After", "pixels.hist_after", right_col)
    if pixels.ndim != 3:
        return
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


def resize_tab(choice: ImageChoice, gray: np.ndarray) -> None:
    """The photo scaled to fit a square network input and padded, with the numbers."""
    pixels = choice.pixels
    st.session_state.setdefault("pixels.target", 64)
    target = st.select_slider(
        "Network input size",
        NETWORK_SIZES,
        key="pixels.target",
        help="CNNs need every input the same size. The photo is scaled so its longer side "
        "fits, keeping its shape, then centred on a black square.",
    )
    square = resize_and_pad(pixels, target)
    plan = pad_plan(*pixels.shape[:2], target)
    left_col, right_col = st.columns(2)
    show(pixels, caption="Original", container=left_col)
    show(square, caption=f"{target}×{target} network input", container=right_col)
    st.markdown(
        f"Scale by {readable(plan.scale)} → {plan.height}×{plan.width}, then pad "
        f"{plural(plan.top, 'row')} on top, {plan.bottom} below, {plural(plan.left, 'column')} "
        f"left and {plan.right} right. "
        "Stretching instead would squash round things into ovals."
    )


TABS = [numbers_tab, channels_tab, histogram_tab, resize_tab]
