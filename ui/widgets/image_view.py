"""Showing float arrays as pictures, honestly: the mapping used, its colour bar and value range.

A convolution's output is signed and can exceed 255, so every picture here
says how its numbers became colours (``core.imaging.images.to_display``) and prints
the true minimum and maximum. Pictures travel as PNGs of the displayed size:
tiny test patterns are enlarged with visible square pixels, large photos are
sent at most ``MAX_DISPLAY_SIDE`` pixels wide.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import io
from collections.abc import Callable

import cv2
import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from core.base.numbers import readable, readable_all
from core.imaging.images import (
    DisplayImage,
    diverging_colormap,
    finite_range,
    to_display,
)
from core.ops.kernel_analysis import FrequencyResponse
from ui.widgets import figure_export
from ui.widgets.content_cache import SharedStore, by_content, frozen
from ui.widgets.matrix_html import matrix_table

MAPPING_LABELS = {
    "auto": "Automatic",
    "diverging": "Signed colours (blue − / white 0 / red +)",
    "abs": "Absolute value |x|",
    "clip": "Clip to 0–255",
    "minmax": "Stretch min–max",
}


MAX_DISPLAY_SIDE = 512


SMALL_RANGE = 64  # below this maximum, "auto" stretches instead of clipping


MIN_DISPLAY_SIDE = 256


FRAME_COLOR = "#9a9a9a"  # a thin grey frame: white pixels still end somewhere on a white page


FRAME_CSS = (
    "<style>"
    f'[data-testid="stImage"] img {{outline:1px solid {FRAME_COLOR};outline-offset:0}}'
    ".cs-picture img {image-rendering:pixelated}"
    "</style>"
)


def frame_images() -> None:
    """Give every picture of the app a thin frame (once per run, from ``navigation.py``), and
    install the browser side of chart export (``ui.widgets.figure_export``).

    Worked example 1 is black shapes on white: without a frame its white pixels melt
    into the page and the 5×5 grid reads as random black shapes. The style is sent
    alone, so Streamlit puts it in the page's event area (it takes no room); the export
    script goes to the sidebar, as the presentation keys do.
    """
    st.html(FRAME_CSS)
    figure_export.export_script()


def choose_mapping(values: np.ndarray, mapping: str) -> str:
    """Resolve "auto": signed colours when there are negatives, else clip or stretch.

    >>> choose_mapping(np.array([[-1.0, 2.0]]), "auto"), choose_mapping(np.ones((1, 1)), "auto")
    ('diverging', 'minmax')
    >>> choose_mapping(np.array([[0.0, 200.0]]), "auto")
    'clip'
    """
    if mapping != "auto":
        return mapping
    extent = finite_range(values)
    if extent and extent[0] < 0:
        return "diverging"
    if extent and not SMALL_RANGE < extent[1] <= 255:
        return "minmax"  # above 255, or so dark (e.g. a 0/1 impulse) that clipping shows black
    return "clip"


def input_mapping(values: np.ndarray) -> str:
    """How to show an input image: as stored (clipped), or stretched when it is very dark.

    Images on the 0–255 scale show as they are; tiny-valued ones (an impulse of 1, the
    worked examples' small numbers) are stretched so they can be seen.
    """
    extent = finite_range(values)
    return "minmax" if extent and extent[1] <= SMALL_RANGE else "clip"


def _resize_for_display(rgb: np.ndarray) -> np.ndarray:
    """Enlarge tiny pictures with square pixels; shrink big ones to the display width."""
    height, width = rgb.shape[:2]
    longest = max(height, width)
    if longest < MIN_DISPLAY_SIDE:
        factor = max(1, MIN_DISPLAY_SIDE // longest)
        return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)
    if longest > MAX_DISPLAY_SIDE:
        scale = MAX_DISPLAY_SIDE / longest
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return rgb


# The pictures here are core.imaging.images.DisplayImage objects.
Picture = DisplayImage


def encode_picture(picture: Picture) -> bytes:
    """PNG bytes of the picture at its display size (fast settings: level 1, RLE)."""
    pixels = _resize_for_display(np.ascontiguousarray(picture.pixels))
    if picture.palette is not None:
        image = Image.fromarray(pixels)
        image.putpalette(picture.palette.astype(np.uint8).tobytes())
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()
    if pixels.ndim == 3:
        pixels = np.ascontiguousarray(pixels[:, :, ::-1])  # OpenCV writes BGR
    ok, buffer = cv2.imencode(
        ".png",
        pixels,
        [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE],
    )
    if not ok:
        raise ValueError("The picture could not be encoded as PNG.")
    return buffer.tobytes()


def render(values: np.ndarray, mapping: str = "auto") -> tuple[bytes, Picture]:
    """PNG bytes of the picture to send, and the ``Picture`` (range, description)."""
    values = np.asarray(values)
    picture = to_display(values, mapping=choose_mapping(values, mapping))
    return encode_picture(picture), picture


SHARED_RENDERS = 32  # pictures kept by ``render_shared`` (the latest few of every page)


COLORBARS_KEPT = 64  # colour bars kept by ``colorbar_html`` (one per mapping and range)


_RENDERS = SharedStore(SHARED_RENDERS)  # PNG bytes and ``Picture``, the same for every session


def _shared_render(values: np.ndarray, mapping: str) -> tuple[bytes, Picture]:
    """``render`` for ``_RENDERS``: the picture's arrays read-only, as every kept result."""
    png, picture = render(values, mapping)
    frozen((picture.pixels, picture.palette))
    return png, picture


def render_shared(values: np.ndarray, mapping: str = "auto") -> tuple[bytes, Picture]:
    """``render``, shared by every session that shows the same values (keyed by content).

    The students of a lecture room show the lecturer's picture at once: one encodes it,
    the others reuse its PNG (hashing the values costs a fraction of encoding them).
    """
    values = np.ascontiguousarray(values)
    digest = hashlib.blake2b(values.data, digest_size=16).digest()
    key = ("values", digest, values.shape, values.dtype.str, mapping)
    return _RENDERS.get_or_make(key, lambda: _shared_render(values, mapping))


def render_cached(cache_key, values: np.ndarray, mapping: str) -> tuple[bytes, Picture]:
    """``render``, shared under ``cache_key``, which must name these values for good.

    Nothing is hashed or copied: a following student's page takes the picture the first
    page made (``st.cache_data`` hashed the key and unpickled a copy on every run).

    >>> values = np.zeros((2, 2))
    >>> render_cached(("doc", 1), values, "auto") is render_cached(("doc", 1), values + 1, "auto")
    True
    """
    return _RENDERS.get_or_make(
        ("key", cache_key, mapping), lambda: _shared_render(values, mapping)
    )


def colorbar_html(shown: Picture) -> str:
    """A thin horizontal colour bar with its end values, as HTML."""
    return _colorbar_html(shown.mapping, float(shown.vmin), float(shown.vmax))


@by_content(COLORBARS_KEPT)
def _colorbar_html(mapping: str, vmin: float, vmax: float) -> str:
    """``colorbar_html`` of a mapping and range, made once per process (a room's pages
    draw the same bars)."""
    span = max(abs(vmin), abs(vmax))
    if mapping == "diverging":
        stops = diverging_colormap(np.linspace(-1, 1, 11))
        colors = ", ".join(f"rgb({r},{g},{b})" for r, g, b in stops)
        middle = "0"
    else:
        colors = "rgb(0,0,0), rgb(255,255,255)"
        middle = readable((vmin + vmax) / 2, span)
    labels = [readable(vmin, span), middle, readable(vmax, span)]
    if mapping == "abs":
        labels = ["|x| = 0", "", "|x| ≥ 255"]
    label_html = "".join(f"<span>{html.escape(text)}</span>" for text in labels)
    return (
        '<div style="max-width:360px;font-size:0.75rem;">'
        f'<div style="height:10px;border-radius:3px;background:linear-gradient(90deg,{colors});'
        'border:1px solid #bbb;"></div>'
        f'<div style="display:flex;justify-content:space-between;">{label_html}</div></div>'
    )


def value_range_text(values: np.ndarray) -> str:
    """'min … · max …' of the finite values, for the caption under a picture."""
    extent = finite_range(values)
    if extent is None:
        return "no finite values"
    span = max(abs(extent[0]), abs(extent[1]))
    return f"values from {readable(extent[0], span)} to {readable(extent[1], span)}"


def show_image(
    values: np.ndarray,
    *,
    caption: str,
    mapping: str = "auto",
    colorbar: bool = True,
    container=None,
    cache_key=None,
    details: bool = True,
) -> Picture:
    """Draw ``values`` with the mapping's description, its colour bar and the value range.

    ``cache_key`` (hashable, e.g. the image's name) reuses the encoded picture
    across reruns; give it only for pictures that never change under that key.
    """
    target = container if container is not None else contextlib.nullcontext()
    if cache_key is not None:
        png, shown = render_cached(cache_key, values, mapping)
    else:
        png, shown = render_shared(values, mapping)
    height, width = np.asarray(values).shape[:2]
    title = f"{caption} — {height}×{width}"
    value_range = value_range_text(values)  # a pass over every value: once
    details_text = f"{shown.description} Actual {value_range}."
    with target:
        st.image(png, caption=title, width="content", output_format="PNG")
        if colorbar:
            st.html(colorbar_html(shown))
        st.caption(details_text if details else value_range.capitalize() + ".")
        figure_export.export_button(png, f"{title}. {details_text}")
    return shown


def frequency_figure(response: FrequencyResponse, *, title: str = "") -> go.Figure:
    """The kernel's |DFT| as a small heatmap, zero frequency in the middle."""
    ticks = [-0.5, -0.25, 0.0, 0.25]
    fig = go.Figure(
        go.Heatmap(
            z=response.magnitude,
            x=response.frequencies,
            y=response.frequencies,
            colorscale="Viridis",
            colorbar={"title": {"text": "gain", "side": "right"}, "thickness": 12},
            hovertemplate="fx %{x:.3f}, fy %{y:.3f}: gain %{z:.3g}<extra></extra>",
        )
    )
    fig.update_xaxes(title="horizontal frequency (cycles/pixel)", tickvals=ticks, fixedrange=True)
    fig.update_yaxes(
        title="vertical frequency",
        tickvals=ticks,
        autorange="reversed",
        scaleanchor="x",
        fixedrange=True,
    )
    fig.update_layout(
        title={"text": title, "font": {"size": 14}} if title else None,
        width=380,
        height=340,
        margin={"l": 60, "r": 10, "t": 40 if title else 10, "b": 50},
    )
    return fig


def cell_px(shape: tuple[int, ...]) -> int:
    """Cells shrink for wide matrices so three 15×15 tables still fit the page."""
    return 42 if shape[1] <= 5 else 34 if shape[1] <= 9 else 26


def compact_format(values: np.ndarray) -> Callable[[float], str]:
    """The formatter of a matrix's cells: ``readable`` with the matrix's scale.

    Whole numbers print plainly, fractions with three significant digits, float
    noise (3.3e-16 next to 0.25) as 0.

    >>> fmt = compact_format(np.array([0.25, 3.3e-16, 2.0]))
    >>> fmt(0.25), fmt(3.3e-16), fmt(2.0)
    ('0.25', '0', '2')
    """
    return readable_all(values)


def show_small_matrix(values: np.ndarray, *, title: str = "") -> None:
    """A small matrix (kernel, factor) with every value printed, as an HTML table."""
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    fmt = compact_format(values.ravel())
    cell = cell_px(values.shape)
    st.html(matrix_table(values, title=title, fmt=fmt, cell_px=cell, indices=True))


def histogram_figure(counts: np.ndarray, *, title: str, color: str = "#4a6fa5") -> go.Figure:
    """256 bars of pixel counts with the cumulative distribution as a line on a 0–1 axis."""
    from core.ops.histogram import cumulative_distribution

    levels = np.arange(len(counts))
    fig = go.Figure()
    fig.add_bar(x=levels, y=counts, marker_color=color, marker_line_width=0, name="pixels")
    fig.add_scatter(
        x=levels,
        y=cumulative_distribution(counts),
        yaxis="y2",
        name="CDF",
        line={"color": "#d62728", "width": 2},
    )
    fig.update_layout(
        title={"text": title, "font": {"size": 14}},
        height=260,
        margin={"l": 50, "r": 50, "t": 40, "b": 40},
        bargap=0,
        showlegend=False,
        xaxis={"title": "grey level", "range": [-1, 256], "fixedrange": True},
        yaxis={"title": "pixels", "fixedrange": True},
        yaxis2={
            "title": "CDF",
            "overlaying": "y",
            "side": "right",
            "range": [0, 1.02],
            "tickvals": [0, 0.25, 0.5, 0.75, 1],
            "fixedrange": True,
            "showgrid": False,
        },
    )
    return fig


def outline_region(rgb: np.ndarray, top: int, left: int, rows: int, cols: int) -> np.ndarray:
    """A copy of an 8-bit picture with a red frame around the given region."""
    framed = rgb.copy() if rgb.ndim == 3 else np.repeat(rgb[:, :, None], 3, axis=2)
    bottom, right = top + rows - 1, left + cols - 1
    thickness = max(1, max(rgb.shape[:2]) // 200)
    cv2.rectangle(framed, (left, top), (right, bottom), (230, 30, 30), thickness)
    return framed


def show_picture(rgb: np.ndarray, *, caption: str, container=None) -> None:
    """An 8-bit picture (no mapping needed), enlarged or shrunk for display, as PNG."""
    target = container if container is not None else st
    picture = _resize_for_display(np.ascontiguousarray(rgb))
    if picture.ndim == 3:
        picture = picture[:, :, ::-1]
    ok, buffer = cv2.imencode(".png", picture, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    target.image(buffer.tobytes(), caption=caption, width="content", output_format="PNG")
    figure_export.export_button(buffer.tobytes(), caption, container=target)


WINDOW_COLOR = "#ff7f0e"  # orange, as the window on the matrices (ui.widgets.matrix_view)


OVERLAY_MAX_PX = 320  # the longest side of the input drawn under the window


_OVERLAY_MAX_CELL_PX = 48  # a 5×5 worked example is drawn with 48-px pixels


_MIN_WINDOW_PX = 8  # a 3×3 window on a 512-pixel photo is still drawn this big


OVERLAY_JPEG_QUALITY = 90


def _overlay_source(pixels: np.ndarray, *, photo: bool) -> str:
    """The overlay's picture as a data URL: a JPEG for a shrunk photo, else a PNG.

    The overlay travels inside the page's HTML on every run of every session that shows
    it. A 320-pixel photo is about 180 kB as PNG and 30 kB as JPEG, which also encodes
    20 times faster; its loss is not visible at that size. Drawings shown at their own
    pixels (worked examples, digits) stay PNG: every pixel's edge must stay sharp.

    >>> _overlay_source(np.zeros((2, 2), np.uint8), photo=False)[:22]
    'data:image/png;base64,'
    >>> _overlay_source(np.zeros((2, 2), np.uint8), photo=True)[:23]
    'data:image/jpeg;base64,'
    """
    if photo:
        kind, params = "jpeg", [cv2.IMWRITE_JPEG_QUALITY, OVERLAY_JPEG_QUALITY]
    else:
        kind, params = "png", [cv2.IMWRITE_PNG_COMPRESSION, 1]
    ok, buffer = cv2.imencode("." + kind.replace("jpeg", "jpg"), pixels, params)
    if not ok:
        raise ValueError(f"The picture could not be encoded as {kind.upper()}.")
    return f"data:image/{kind};base64," + base64.b64encode(buffer.tobytes()).decode("ascii")


def _window_extent(positions, length: int) -> tuple[int, int, int, int]:
    """First and last tap of one axis, and the padding needed before and after the image."""
    first, last = int(np.min(positions)), int(np.max(positions))
    return first, last, max(0, -first), max(0, last - (length - 1))


def window_overlay_html(
    values: np.ndarray,
    tap_rows,
    tap_cols,
    *,
    mapping: str = "auto",
    caption: str = "",
    max_px: int = OVERLAY_MAX_PX,
) -> str:
    """The whole input as a picture with the sliding window drawn where it sits, as HTML.

    The step-by-step shows the patch's numbers; this shows where that patch is: an
    orange frame around the window on the input (bigger than the window when the
    window is tiny on a large photo, with cross-hairs leading to it), a small box on
    each tap when the kernel is dilated, and a dashed outline of the padding the window
    reaches past the image's border.

    Args:
        values: the input (H, W) or (H, W, 3) as the kernel saw it.
        tap_rows, tap_cols: the image rows and columns the kernel's taps touch
            (``core.ops.pixel_explanation.PixelExplanation.rows``/``cols``); outside
            0 … H − 1 they lie on padding.
        mapping: how the values become grey levels (see ``choose_mapping``).
        caption: text under the picture (plain text).
        max_px: longest side of the drawing in CSS pixels.

    Returns:
        An HTML string for ``st.html``: ``div.cs-window-overlay`` holding the picture
        (``img``) and the window (``div.cs-window``).

    >>> html_text = window_overlay_html(np.eye(5), [0, 1, 2], [-1, 0, 1])
    >>> "cs-window" in html_text and "dashed" in html_text  # one column of padding
    True
    """

    values = np.asarray(values, dtype=np.float64)
    height, width = values.shape[:2]
    first_row, last_row, pad_top, pad_bottom = _window_extent(tap_rows, height)
    first_col, last_col, pad_left, pad_right = _window_extent(tap_cols, width)
    padded_h, padded_w = height + pad_top + pad_bottom, width + pad_left + pad_right
    scale = min(_OVERLAY_MAX_CELL_PX, max_px / max(padded_h, padded_w))
    picture = to_display(values, mapping=choose_mapping(values, mapping))
    pixels = np.ascontiguousarray(picture.rgb)
    shown_w, shown_h = max(1, round(width * scale)), max(1, round(height * scale))
    shrunk = shown_w < width
    if shrunk:  # send the picture at its drawn size, not the photo's
        pixels = cv2.resize(pixels, (shown_w, shown_h), interpolation=cv2.INTER_AREA)
    if pixels.ndim == 3:
        pixels = np.ascontiguousarray(pixels[:, :, ::-1])
    source = _overlay_source(pixels, photo=shrunk)

    def box(row0: float, col0: float, rows: float, cols: float, style: str, cls: str = "") -> str:
        top, left = (row0 + pad_top) * scale, (col0 + pad_left) * scale
        h, w = rows * scale, cols * scale
        grow_h, grow_w = max(0.0, _MIN_WINDOW_PX - h) / 2, max(0.0, _MIN_WINDOW_PX - w) / 2
        klass = f' class="{cls}"' if cls else ""
        return (
            f'<div{klass} style="position:absolute;box-sizing:border-box;'
            f"top:{top - grow_h:.1f}px;left:{left - grow_w:.1f}px;height:{h + 2 * grow_h:.1f}px;"
            f'width:{w + 2 * grow_w:.1f}px;{style}"></div>'
        )

    parts = [
        f'<img src="{source}" alt="the input" style="position:absolute;'
        f"top:{pad_top * scale:.1f}px;left:{pad_left * scale:.1f}px;width:{width * scale:.1f}px;"
        f'height:{height * scale:.1f}px;outline:1px solid {FRAME_COLOR}">'
    ]
    if pad_top or pad_bottom or pad_left or pad_right:
        parts.insert(0, box(-pad_top, -pad_left, padded_h, padded_w, "border:1px dashed #2ca02c"))
    window_rows, window_cols = last_row - first_row + 1, last_col - first_col + 1
    if scale < 4:  # a photo: cross-hairs lead the eye to a window of a few pixels
        line = "background:rgba(255,127,14,0.55)"
        parts.append(box(first_row, -pad_left, window_rows, padded_w, line + ";height:1px"))
        parts.append(box(-pad_top, first_col, padded_h, window_cols, line + ";width:1px"))
    taps = len(np.unique(tap_rows)) * len(np.unique(tap_cols))
    if taps < window_rows * window_cols and scale >= 4 and taps <= 81:  # dilated: the taps
        for row in np.unique(tap_rows):
            for col in np.unique(tap_cols):
                parts.append(box(row, col, 1, 1, f"border:2px solid {WINDOW_COLOR}"))
    parts.append(
        box(
            first_row,
            first_col,
            window_rows,
            window_cols,
            f"border:3px solid {WINDOW_COLOR};box-shadow:0 0 0 1px #fff,inset 0 0 0 1px #fff",
            "cs-window",
        )
    )
    note = (
        f'<div style="font-size:0.8rem;color:#666;margin-top:4px">{html.escape(caption)}</div>'
        if caption
        else ""
    )
    return (
        f'<div class="cs-window-overlay cs-picture" style="position:relative;'
        f'width:{padded_w * scale:.1f}px;height:{padded_h * scale:.1f}px;margin:4px 0">'
        f"{''.join(parts)}</div>{note}"
    )
