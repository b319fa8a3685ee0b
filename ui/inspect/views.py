"""Pictures for "Inspect a Network": charts, filter grids, feature-map tiles and overlays.

Everything returns a Plotly figure or uint8 RGB arrays; the page decides where they go.
Colour rules (said in the captions): signed values use a diverging scale (blue negative,
white zero, red positive) symmetric about 0; non-negative values (after ReLU or pooling)
use a sequential scale from dark (0) to yellow (the maximum).
"""

from __future__ import annotations

import html

import cv2
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.base.numbers import readable
from core.imaging.images import diverging_colormap
from core.ops.receptive_field import InputRegion
from ui.widgets.image_view import FRAME_COLOR

PLOTLY_CONFIG = {"displayModeBar": False}


# Viridis, sampled: dark blue → green → yellow.
_SEQUENTIAL = np.array(
    [
        [68, 1, 84],
        [72, 40, 120],
        [62, 74, 137],
        [49, 104, 142],
        [38, 130, 142],
        [31, 158, 137],
        [53, 183, 121],
        [110, 206, 88],
        [181, 222, 43],
        [253, 231, 37],
    ],
    dtype=np.float64,
)


# Dark red → orange → yellow → white, for heat overlays.
_HEAT = np.array(
    [[0, 0, 0], [120, 0, 0], [220, 40, 0], [255, 140, 0], [255, 220, 60], [255, 255, 220]],
    dtype=np.float64,
)


def _lookup(values: np.ndarray, stops: np.ndarray) -> np.ndarray:
    positions = np.clip(values, 0.0, 1.0) * (len(stops) - 1)
    lower = np.floor(positions).astype(int).clip(0, len(stops) - 2)
    fraction = (positions - lower)[..., None]
    return np.round(stops[lower] * (1 - fraction) + stops[lower + 1] * fraction).astype(np.uint8)


def colorize(values: np.ndarray, *, limit: float, signed: bool) -> np.ndarray:
    """A 2-D map → uint8 RGB: diverging in ±`limit` when `signed`, else sequential 0..`limit`."""
    limit = float(limit) if limit and np.isfinite(limit) and limit > 0 else 1.0
    values = np.asarray(values, dtype=np.float64)
    if signed:
        return diverging_colormap(values / limit)
    return _lookup(values / limit, _SEQUENTIAL)


def enlarge(rgb: np.ndarray, min_side: int = 96) -> np.ndarray:
    """Nearest-neighbour upscaling by a whole factor, so small maps stay crisp."""
    factor = max(1, int(np.ceil(min_side / max(rgb.shape[:2]))))
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)


def input_rgb(image: np.ndarray) -> np.ndarray:
    """The network input `(H, W, C)` in [0, 1] as uint8 RGB (grey repeated for 1 channel)."""
    pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels[:, :, :3]


def image_figure(image: np.ndarray, *, title: str = "", height: int = 320) -> go.Figure:
    """The input as the network sees it, with each pixel's value (0–1) on hover."""
    fig = go.Figure()
    if image.shape[2] == 1:
        fig.add_trace(
            go.Heatmap(
                z=image[:, :, 0],
                colorscale="gray",
                zmin=0,
                zmax=1,
                showscale=False,
                hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>",
            )
        )
    else:
        fig.add_trace(
            go.Image(z=input_rgb(image), hovertemplate="row %{y}, col %{x}<extra></extra>")
        )
    height_px, width_px = image.shape[:2]
    fig.add_shape(  # a thin frame around the pixels themselves: a white digit ends somewhere
        type="rect",
        x0=-0.5,
        x1=width_px - 0.5,
        y0=-0.5,
        y1=height_px - 0.5,
        line={"color": FRAME_COLOR, "width": 1},
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, ticks="")
    fig.update_xaxes(showticklabels=False, constrain="domain", ticks="")
    fig.update_layout(height=height, margin=dict(l=1, r=1, t=30 if title else 1, b=1), title=title)
    return fig


def kernel_grid_figure(
    kernels: np.ndarray, *, titles: list[str], columns: int = 8, height_per_row: int = 90
) -> go.Figure:
    """Small heatmaps of 2-D kernels `(count, kh, kw)` sharing one diverging scale ±max|w|."""
    count = len(kernels)
    rows = max(1, int(np.ceil(count / columns)))
    limit = float(np.abs(kernels).max()) or 1.0
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=titles,
        horizontal_spacing=0.015,
        vertical_spacing=min(0.08, 0.5 / rows),
    )
    for index, kernel in enumerate(kernels):
        fig.add_trace(
            go.Heatmap(
                z=kernel,
                zmin=-limit,
                zmax=limit,
                colorscale="RdBu_r",
                showscale=index == 0,
                colorbar=dict(len=0.9, thickness=10),
                name=titles[index],
                hovertemplate=titles[index] + "<br>row %{y}, col %{x}: %{z:.3f}<extra></extra>",
            ),
            row=index // columns + 1,
            col=index % columns + 1,
        )
    fig.update_yaxes(autorange="reversed", showticklabels=False, scaleanchor=None)
    fig.update_xaxes(showticklabels=False)
    fig.update_annotations(font_size=10)
    fig.update_layout(height=40 + rows * height_per_row, margin=dict(l=0, r=0, t=25, b=0))
    return fig


def colorbar_html(limit: float, *, signed: bool) -> str:
    """A thin colour bar with its end values as HTML: ±``limit`` (diverging) or 0 … ``limit``.

    It stands beside the pictures that ``colorize`` made with the same ``limit``.

    >>> "−2" in colorbar_html(2.0, signed=True), "0.5" in colorbar_html(0.5, signed=False)
    (True, True)
    """
    limit = float(limit) if limit and np.isfinite(limit) and limit > 0 else 1.0
    ends = np.linspace(-1.0, 1.0, 11) if signed else np.linspace(0.0, 1.0, 11)
    stops = colorize(ends * limit, limit=limit, signed=signed)
    colors = ", ".join(f"rgb({r},{g},{b})" for r, g, b in stops)
    labels = (
        [f"−{readable(limit)}", "0", readable(limit)]
        if signed
        else ["0", readable(limit / 2, limit), readable(limit)]
    )
    spans = "".join(f"<span>{html.escape(text)}</span>" for text in labels)
    return (
        '<div style="max-width:320px;font-size:0.75rem;">'
        f'<div style="height:10px;border-radius:3px;background:linear-gradient(90deg,{colors});'
        'border:1px solid #bbb;"></div>'
        f'<div style="display:flex;justify-content:space-between;">{spans}</div></div>'
    )


def kernel_mosaic(
    kernels: np.ndarray, *, columns: int = 8, tile: int = 56
) -> tuple[np.ndarray, float]:
    """2-D kernels ``(count, kh, kw)`` as one picture of numbered tiles on one diverging scale.

    Each weight is a square of whole screen pixels (blue negative, white 0, red positive,
    ±max|w| for all), so filters can be compared; above each tile its number ``#i``.
    Returns the uint8 RGB picture and the scale's end (max|w|, 1 for all-zero kernels).

    >>> picture, limit = kernel_mosaic(np.array([[[1.0, -2.0]]]), tile=8)
    >>> limit, picture.shape
    (2.0, (18, 8, 3))
    """
    kernels = np.asarray(kernels, dtype=np.float64)
    limit = float(np.abs(kernels).max()) if kernels.size else 0.0
    limit = limit or 1.0
    factor = max(1, tile // max(kernels.shape[1:]))
    tiles = [
        np.repeat(np.repeat(colorize(k, limit=limit, signed=True), factor, 0), factor, 1)
        for k in kernels
    ]
    return labelled_mosaic(tiles, [f"#{i}" for i in range(len(tiles))], columns=columns), limit


LABEL_PX = 14  # the strip above a tile that holds its label


def labelled_mosaic(
    tiles: list[np.ndarray], labels: list[str], *, columns: int = 8, gap: int = 4
) -> np.ndarray:
    """Equal-sized RGB tiles in a grid on white, each under its own short (ASCII) label.

    Unlike ``mosaic`` the label covers no pixel of the tile: a 3×3 kernel has few.
    """
    height, width = tiles[0].shape[:2]
    columns = max(1, min(columns, len(tiles)))
    rows = int(np.ceil(len(tiles) / columns))
    cell_h, cell_w = LABEL_PX + height + gap, width + gap
    canvas = np.full((rows * cell_h - gap, columns * cell_w - gap, 3), 255, dtype=np.uint8)
    for index, (tile, label) in enumerate(zip(tiles, labels, strict=True)):
        top, left = (index // columns) * cell_h, (index % columns) * cell_w
        canvas[top + LABEL_PX : top + LABEL_PX + height, left : left + width] = tile
        cv2.putText(
            canvas,
            label,
            (left + 1, top + LABEL_PX - 3),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.36,
            (40, 40, 40),
            1,
            cv2.LINE_AA,
        )
    return canvas


def rgb_kernel_tiles(kernels: np.ndarray) -> list[np.ndarray]:
    """Colour filters `(kh, kw, 3, n)` as RGB pictures, each min–max stretched to 0–255."""
    tiles = []
    for index in range(kernels.shape[3]):
        kernel = kernels[:, :, :3, index]
        low, high = float(kernel.min()), float(kernel.max())
        scaled = (kernel - low) / (high - low) if high > low else np.zeros_like(kernel)
        tiles.append(enlarge(np.round(scaled * 255).astype(np.uint8), 72))
    return tiles


def heatmap_figure(
    values: np.ndarray, *, title: str, signed: bool, limit: float | None = None, height=300
) -> go.Figure:
    """One 2-D array with values on hover and a colour bar (diverging when `signed`)."""
    limit = limit or float(np.abs(values).max()) or 1.0
    scale = "RdBu_r" if signed else "Viridis"
    fig = go.Figure(
        go.Heatmap(
            z=values,
            zmin=-limit if signed else 0,
            zmax=limit,
            colorscale=scale,
            colorbar=dict(thickness=10),
            hovertemplate="row %{y}, col %{x}: %{z:.4f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    fig.update_xaxes(showticklabels=False, constrain="domain")
    fig.update_layout(
        height=height, title=dict(text=title, font_size=13), margin=dict(l=0, r=0, t=30, b=0)
    )
    return fig


def map_tiles(maps: np.ndarray, *, shared: bool, limit_count: int = 64):
    """Tiles of a layer's maps `(H, W, C)`: (list of RGB arrays, signed?, description).

    With `shared`, every tile uses the layer's largest |value| as its end of scale, so
    tiles can be compared; otherwise each tile is stretched to its own maximum.
    """
    count = min(maps.shape[2], limit_count)
    signed = bool(maps.min() < 0)
    layer_limit = float(np.abs(maps).max()) or 1.0
    tiles = []
    for channel in range(count):
        values = maps[:, :, channel]
        limit = layer_limit if shared else (float(np.abs(values).max()) or 1.0)
        tiles.append(enlarge(colorize(values, limit=limit, signed=signed), 84))
    kind = "diverging (blue < 0 < red)" if signed else "sequential (dark 0 → yellow max)"
    scope = (
        f"one scale for the whole layer (0 … {readable(layer_limit)})"
        if shared and not signed
        else f"one scale for the whole layer (±{readable(layer_limit)})"
        if shared
        else "each map stretched to its own maximum"
    )
    return tiles, signed, f"Colours: {kind}, {scope}."


def overlay(image: np.ndarray, heat: np.ndarray, *, alpha: float = 0.55) -> np.ndarray:
    """Blend a [0, 1] heatmap (hot colours) over the input shown in grey."""
    gray = input_rgb(image).astype(np.float64).mean(axis=2, keepdims=True)
    colors = _lookup(heat, _HEAT).astype(np.float64)
    blended = (1 - alpha) * gray + alpha * colors
    return np.round(blended).clip(0, 255).astype(np.uint8)


def draw_region(rgb: np.ndarray, region: InputRegion, *, scale: int, color=(255, 80, 0)):
    """A copy of `rgb` (already enlarged by `scale`) with the region's outline drawn."""
    canvas = np.ascontiguousarray(rgb.copy())
    top_left = (region.left * scale, region.top * scale)
    bottom_right = (region.right * scale - 1, region.bottom * scale - 1)
    cv2.rectangle(canvas, top_left, bottom_right, color, thickness=max(1, scale // 4))
    return canvas


def region_figure(image: np.ndarray, region: InputRegion, full: InputRegion, *, title: str):
    """The input with the unit's receptive field (solid) and its unclipped extent (dotted)."""
    fig = image_figure(image, title=title, height=360)
    for box, dash in ((full, "dot"), (region, "solid")):
        fig.add_shape(
            type="rect",
            x0=box.left - 0.5,
            x1=box.right - 0.5,
            y0=box.top - 0.5,
            y1=box.bottom - 0.5,
            line=dict(color="#ff7f0e", width=3, dash=dash),
        )
    return fig


def summary_rows(info) -> list[dict]:
    """Rows for the model summary table: one per layer, with the layers it reads and, in a
    model with branches, the branch it lies in."""
    return [
        {
            "layer": layer.name,
            "type": layer.class_name,
            "inputs": ", ".join(layer.inbound),
            "branch": f"{layer.block} · {layer.branch}" if layer.branch else "",
            "output shape": "?" if layer.output_shape is None else str(layer.output_shape),
            "parameters": layer.params,
            "activation": layer.activation or "",
            "kernel / pool": ""
            if layer.kernel_size is None
            else "×".join(map(str, layer.kernel_size)),
            "strides": "" if layer.strides is None else "×".join(map(str, layer.strides)),
            "padding": layer.padding or "",
        }
        for layer in info.layers
    ]


def mosaic(tiles: list[np.ndarray], *, columns: int = 8, gap: int = 3) -> np.ndarray:
    """Equal-sized RGB tiles in a grid on white, each numbered in its top-left corner."""
    height, width = tiles[0].shape[:2]
    rows = int(np.ceil(len(tiles) / columns))
    columns = min(columns, len(tiles))
    canvas = np.full(
        (rows * (height + gap) - gap, columns * (width + gap) - gap, 3), 255, dtype=np.uint8
    )
    for index, tile in enumerate(tiles):
        top, left = (index // columns) * (height + gap), (index % columns) * (width + gap)
        canvas[top : top + height, left : left + width] = tile
        label = str(index)
        cv2.rectangle(canvas, (left, top), (left + 8 * len(label) + 3, top + 13), (0, 0, 0), -1)
        cv2.putText(
            canvas,
            label,
            (left + 2, top + 11),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.38,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    return canvas
