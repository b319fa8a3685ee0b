"""Pieces of the Pooling page: the small-matrix controls, one pooling step, the image lessons.

Controls return plain values; every number shown is computed by ``core``.
Session keys live under ``pool.``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.base.paths import SAMPLE_IMAGES_DIR
from core.imaging.images import downscale, load_image, to_display
from core.imaging.pooling_lessons import MAX_SHIFT, feature_map, pool_repeatedly, translation_study
from core.imaging.seed_examples import POOL_EXAMPLES
from core.ops.arithmetic import ConvGeometry
from core.ops.kernels import PRESETS
from core.ops.pooling import global_pool, pool2d
from ui.widgets.image_input import photo_names
from ui.widgets.matrix_editor import resize_matrix, set_matrix
from ui.widgets.matrix_view import format_value, show_matrix

INPUT_KEY = "pool.input"


IMAGE_DIR = SAMPLE_IMAGES_DIR


PHOTO_SIDE = 192  # photos are shrunk to this many pixels so three poolings stay visible


DISPLAY_SCALE = 2  # screen pixels per value in the "true relative size" row


FEATURE_KERNELS = ("sobel_right", "sobel_bottom", "laplacian", "gaussian_blur")


def load_pool_example(key: str) -> None:
    """Callback: copy a worked example into the controls and the editor."""
    example = POOL_EXAMPLES[key]
    state = st.session_state
    state["pool.in_rows"], state["pool.in_cols"] = example.image.shape
    state["pool.size_rows"], state["pool.size_cols"] = example.pool_size
    state["pool.stride_rows"], state["pool.stride_cols"] = example.strides
    state["pool.padding"], state["pool.method"] = example.padding, example.method
    state["pool.loaded"] = key
    set_matrix(INPUT_KEY, example.image)
    state["pool.stepper.step"], state["pool.stepper.playing"] = 0, False


def _resize() -> None:
    shape = (st.session_state["pool.in_rows"], st.session_state["pool.in_cols"])
    resize_matrix(INPUT_KEY, shape, np.zeros((1, 1)))
    st.session_state["pool.loaded"] = None


def _randomize() -> None:
    shape = (st.session_state["pool.in_rows"], st.session_state["pool.in_cols"])
    set_matrix(INPUT_KEY, np.random.default_rng().integers(0, 10, shape))
    st.session_state["pool.loaded"] = None


@dataclass(frozen=True)
class PoolSettings:
    """The small-matrix lesson's settings, read from the controls (Keras' names)."""

    pool_size: tuple[int, int]
    strides: tuple[int, int]
    padding: str
    method: str
    backprop: bool


def pool_controls() -> PoolSettings:
    """Example picker and window settings."""
    if "pool.in_rows" not in st.session_state:
        load_pool_example(next(iter(POOL_EXAMPLES)))
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    left.selectbox(
        "Worked example",
        list(POOL_EXAMPLES),
        key="pool.example",
        format_func=lambda k: POOL_EXAMPLES[k].title,
        help="The pooling examples from the course slides.",
    )
    right.button(
        "Load example",
        key="pool.load",
        on_click=lambda: load_pool_example(st.session_state["pool.example"]),
        type="primary",
        help="Replace the input and the settings with this example.",
    )
    sizes, window, options = st.columns(3)
    a, b = sizes.columns(2)
    a.number_input(
        "Input rows",
        1,
        12,
        key="pool.in_rows",
        on_change=_resize,
        help="Height of the input map (up to 12).",
    )
    b.number_input(
        "Input columns",
        1,
        12,
        key="pool.in_cols",
        on_change=_resize,
        help="Width of the input map (up to 12).",
    )
    sizes.button(
        "Random input 0–9",
        key="pool.random",
        on_click=_randomize,
        help="Fill the input with random whole numbers from 0 to 9.",
    )
    a, b = window.columns(2)
    pool_size = (
        a.number_input(
            "Window rows",
            1,
            5,
            key="pool.size_rows",
            help="Height of the pooling window (Keras: pool_size).",
        ),
        b.number_input(
            "Window cols", 1, 5, key="pool.size_cols", help="Width of the pooling window."
        ),
    )
    strides = (
        a.number_input(
            "Stride rows",
            0,
            5,
            key="pool.stride_rows",
            help="Rows the window moves down between outputs. Usually = window.",
        ),
        b.number_input(
            "Stride cols",
            0,
            5,
            key="pool.stride_cols",
            help="Columns the window moves right between outputs.",
        ),
    )
    padding = options.selectbox(
        "Padding",
        ("valid", "same"),
        key="pool.padding",
        help="valid: only whole windows. same: Keras pads so there are ceil(n / s) outputs; "
        "padded cells never win a max and do not count in an average.",
    )
    method = options.radio(
        "Pooling",
        ("max", "average"),
        key="pool.method",
        horizontal=True,
        help="max keeps the strongest response of each window; average keeps the mean.",
    )
    backprop = options.toggle(
        "Show backpropagation",
        key="pool.backprop",
        help="Where does the gradient of each output go? Max pooling sends all of it to the "
        "winning cell; average pooling shares it equally over the window.",
    )
    return PoolSettings(
        pool_size=(int(pool_size[0]), int(pool_size[1])),
        strides=(int(strides[0]), int(strides[1])),
        padding=padding,
        method=method,
        backprop=bool(backprop),
    )


def window_text(values: np.ndarray, method: str, result: float) -> str:
    """ "max(10, 12, 6, 8) = 12" or "(10 + 12 + 6 + 8) / 4 = 9"."""
    items = [format_value(v) for v in values]
    if method == "max":
        return f"max({', '.join(items)}) = **{format_value(result)}**"
    return f"({' + '.join(items)}) / {len(items)} = **{format_value(result)}**"


def show_pool_step(
    *,
    step: int,
    geometry: ConvGeometry,
    image: np.ndarray,
    output: np.ndarray,
    winners: np.ndarray | None,
    method: str,
    gradient: np.ndarray | None,
    upstream,
) -> None:
    """Input with the window (and winner), the window's arithmetic, the output so far."""
    row, col = geometry.position(step)
    (top, _), (left, _) = geometry.pads
    halo = geometry.halo_mask()
    padded = np.full(geometry.padded_shape, np.nan)
    padded[geometry.input_slice()] = image
    window = geometry.window_mask(row, col)
    winner = None
    if winners is not None:
        winner = np.zeros(geometry.padded_shape, dtype=bool)
        winner[winners[row, col, 0] + top, winners[row, col, 1] + left] = True
    text = np.where(halo, "pad", np.vectorize(format_value, otypes=[object])(np.nan_to_num(padded)))
    grid, out_col = st.columns([3, 2])
    with grid:
        show_matrix(
            padded,
            title="Input" + (" (padded)" if halo.any() else ""),
            highlight=window,
            winner=winner,
            halo=halo if halo.any() else None,
            text=text,
            shade=(geometry.unreached_mask() & ~halo) if not halo.any() else None,
            row_labels=[r - top for r in range(padded.shape[0])],
            col_labels=[c - left for c in range(padded.shape[1])],
            key="pool.view.input",
        )
        st.caption(
            "orange: the window · red: the winning cell"
            if winner is not None
            else "orange: the window"
        )
    with out_col:
        flat = np.arange(output.size).reshape(output.shape)
        shown = np.where(flat <= step, output, np.nan)
        current = flat == step
        show_matrix(
            shown,
            title=f"Output {output.shape[0]}×{output.shape[1]}",
            winner=current,
            text=np.where(flat <= step, np.vectorize(format_value, otypes=[object])(output), ""),
            zmin=float(output.min()),
            zmax=float(output.max()),
            key="pool.view.output",
        )
    values = padded[window & ~halo]
    st.markdown(f"Output ({row}, {col}): " + window_text(values, method, output[row, col]))
    if gradient is not None:
        g = float(upstream[row, col])
        if method == "max":
            r, c = winners[row, col]
            st.markdown(
                f"Backprop: the gradient {format_value(g)} of output ({row}, {col}) goes "
                f"**entirely** to input cell ({r}, {c}), the winner; the other cells get 0."
            )
        else:
            share = g / values.size
            st.markdown(
                f"Backprop: the gradient {format_value(g)} of output ({row}, {col}) is "
                f"**shared** by its {values.size} real cells: {format_value(share)} each."
            )
        if winner is not None:
            targets = winner[geometry.input_slice()]
        else:
            targets = (window & ~halo)[geometry.input_slice()]
        show_backprop(gradient, upstream, current=flat == step, targets=targets)


def show_backprop(
    gradient: np.ndarray, upstream: np.ndarray, *, current: np.ndarray, targets: np.ndarray
) -> None:
    """The upstream gradient and where it lands on the input; this step's part outlined."""
    st.markdown("**Backpropagation**")
    left, right = st.columns([2, 3])
    with left:
        show_matrix(
            upstream,
            title="Gradient arriving at each output",
            winner=current,
            key="pool.grad.up",
        )
    with right:
        show_matrix(
            gradient,
            title="Gradient on the input (all outputs)",
            fmt="{:.3g}",
            highlight=targets,
            key="pool.grad.input",
        )
    st.caption(
        "Each output's gradient is numbered 1, 2, 3, … so you can follow it; the orange "
        "outline shows where this output's gradient lands. Cells reached by several windows "
        "receive the sum; cells that never win (max) get 0."
    )


def table(values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(values, columns=[str(c) for c in range(values.shape[1])])


@st.cache_data(show_spinner=False)
def photo(name: str) -> np.ndarray:
    """A bundled photo as float (H, W[, 3]), shrunk to ``PHOTO_SIDE``."""
    return downscale(load_image(IMAGE_DIR / name).pixels, PHOTO_SIDE).astype(np.float64)


def image_source(prefix: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Photo or ReLU'd feature map picker; returns (photo, kernel or None, description)."""
    a, b, c = st.columns(3)
    name = a.selectbox(
        "Photo",
        photo_names(),
        key=f"{prefix}.photo",
        index=photo_names().index("camera.png"),
        help="A sample photo, shrunk to at most 192 pixels a side.",
    )
    kind = b.radio(
        "Pool what?",
        ("Feature map", "Photo"),
        key=f"{prefix}.kind",
        help="A CNN pools feature maps: the photo convolved with a kernel, then "
        "ReLU'd. You can also pool the photo itself.",
    )
    preset = c.selectbox(
        "Kernel of the feature map",
        list(PRESETS),
        key=f"{prefix}.kernel",
        index=list(PRESETS).index("laplacian"),
        format_func=lambda k: PRESETS[k].name,
        disabled=kind == "Photo",
        help="The filter whose ReLU'd response is pooled.",
    )
    pixels = photo(name)
    if kind == "Photo":
        return pixels, None, f"the photo {name}"
    return pixels, PRESETS[preset].values, f"ReLU({PRESETS[preset].name} ⋆ {name})"


def pooled_input(pixels: np.ndarray, kernel: np.ndarray | None) -> np.ndarray:
    """The map to pool: the photo itself, or its ReLU'd feature map."""
    return pixels if kernel is None else feature_map(pixels, kernel)


def picture(values: np.ndarray) -> np.ndarray:
    """8-bit picture of a map: photos as they are, feature maps stretched min–max."""
    mapping = "clip" if values.ndim == 3 or values.max() > 1 else "minmax"
    return to_display(values, mapping="minmax" if values.ndim == 2 else mapping).rgb


def repeated_pooling_lesson() -> None:
    pixels, kernel, description = image_source("pool.img")
    values = pooled_input(pixels, kernel)
    a, b, c = st.columns(3)
    times = a.slider(
        "Number of poolings",
        1,
        3,
        3,
        key="pool.img.times",
        help="Pool the result again, up to three times.",
    )
    size = b.slider(
        "Window and stride",
        2,
        4,
        2,
        key="pool.img.size",
        help="Window size = stride: each pooling divides the size by this.",
    )
    method = c.radio(
        "Pooling",
        ("max", "average"),
        key="pool.img.method",
        horizontal=True,
        help="Max keeps the strongest value of each window, average the mean.",
    )
    try:
        maps = pool_repeatedly(values, times, pool_size=size, method=method)
    except ValueError as error:
        st.error(f"{error} Use fewer poolings or a smaller window.")
        return
    st.markdown(
        f"Pooling {description}, shown at **true relative size**: every value is drawn as "
        f"{DISPLAY_SCALE}×{DISPLAY_SCALE} screen pixels, in every map."
    )
    st.image(side_by_side([picture(m) for m in maps], scale=DISPLAY_SCALE))
    st.caption(
        " → ".join(
            f"{'input' if i == 0 else f'pooled {i}×'}: **{m.shape[0]}×{m.shape[1]}**"
            for i, m in enumerate(maps)
        )
        + ". One picture, so the sizes stay in proportion whatever the screen width."
    )


def side_by_side(pictures: list[np.ndarray], *, scale: int, gap: int = 16) -> np.ndarray:
    """Place 8-bit RGB pictures left to right on white, bottom-aligned, each value drawn
    as ``scale``×``scale`` pixels."""
    enlarged = [np.repeat(np.repeat(p, scale, 0), scale, 1) for p in pictures]
    height = max(p.shape[0] for p in enlarged)
    width = sum(p.shape[1] for p in enlarged) + gap * (len(enlarged) - 1)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    left = 0
    for picture_ in enlarged:
        canvas[height - picture_.shape[0] :, left : left + picture_.shape[1]] = picture_
        left += picture_.shape[1] + gap
    return canvas


def translation_lesson() -> None:
    pixels, kernel, description = image_source("pool.shift")
    kernel = np.ones((1, 1)) if kernel is None else kernel
    a, b = st.columns(2)
    shift = a.slider(
        "Shift the input by (pixels)",
        0,
        MAX_SHIFT,
        1,
        key="pool.shift.px",
        help="Move the photo to the left by this many pixels.",
    )
    size = b.slider(
        "Max-pooling window and stride",
        2,
        4,
        2,
        key="pool.shift.size",
        help="Larger windows hide larger shifts.",
    )
    studies = [translation_study(pixels, kernel, s, pool_size=size) for s in range(MAX_SHIFT + 1)]
    study = studies[shift]
    st.markdown(
        f"Map: {description} (grayscale), before and after the shift. The change is the "
        "mean absolute difference, cell by cell, divided by the mean value before the shift "
        "(0 % = identical)."
    )
    m1, m2, m3 = st.columns(3)
    m1.metric(
        "Stride-1 convolution map changed by",
        f"{study.conv_change:.0%}",
        help="A convolution is equivariant: the map moves with the input, so "
        "cell by cell it changes a lot.",
    )
    m2.metric(
        f"Max-pooled map ({size}×{size}) changed by",
        f"{study.pooled_change:.0%}",
        help="Most window maxima stay inside their window after a small shift.",
    )
    m3.metric(
        "Pooled cells exactly unchanged",
        f"{study.pooled_unchanged:.0%}",
        help="Share of pooled values that did not change at all.",
    )
    fig = go.Figure()
    shifts = list(range(MAX_SHIFT + 1))
    fig.add_scatter(x=shifts, y=[s.conv_change * 100 for s in studies], name="convolution")
    fig.add_scatter(x=shifts, y=[s.pooled_change * 100 for s in studies], name="max-pooled")
    fig.update_layout(
        height=260,
        margin={"t": 20, "b": 40},
        xaxis_title="shift (pixels)",
        yaxis_title="change (%)",
        xaxis={"dtick": 1},
    )
    st.plotly_chart(fig, width="stretch", key="pool.shift.chart")
    cols = st.columns(4)
    for column, (title, image) in zip(
        cols,
        [
            ("conv, before", study.conv_before),
            ("conv, after", study.conv_after),
            ("pooled, before", study.pooled_before),
            ("pooled, after", study.pooled_after),
        ],
        strict=True,
    ):
        column.image(to_display(image, mapping="minmax").rgb, width=image.shape[1])
        column.caption(f"{title} ({image.shape[0]}×{image.shape[1]})")


def global_pooling_lesson(matrix: np.ndarray | None) -> None:
    a, _ = st.columns(2)
    names = photo_names()
    name = a.selectbox(
        "Photo",
        names,
        key="pool.global.photo",
        index=names.index("chelsea.png"),
        help="A sample photo; its colour channels and four feature maps are pooled globally.",
    )
    pixels = photo(name)
    st.markdown(
        "Global pooling is pooling with one window as large as the whole map: each channel "
        "becomes a single number, whatever the map's size. Networks use it instead of "
        "Flatten before the last layer, so they need far fewer weights there."
    )
    planes = {}
    if pixels.ndim == 3:
        planes.update({channel: pixels[:, :, i] for i, channel in enumerate("RGB")})
    else:
        planes["gray"] = pixels
    for key in FEATURE_KERNELS:
        planes[f"ReLU({PRESETS[key].name})"] = feature_map(pixels, PRESETS[key].values)
    rows = [
        {
            "channel": channel,
            "size": f"{plane.shape[0]}×{plane.shape[1]}",
            "global average": float(global_pool(plane, method="average")),
            "global max": float(global_pool(plane, method="max")),
            "pool2d, window = whole map (max)": float(
                pool2d(plane, pool_size=plane.shape, method="max")[0, 0]
            ),
        }
        for channel, plane in planes.items()
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(
        f"{len(planes)} maps of {pixels.shape[0]}×{pixels.shape[1]} values become a vector of "
        f"{len(planes)} numbers. The last column pools with pool2d and a window the size of "
        "the map: the same as the global max."
    )
    if matrix is not None:
        st.markdown(
            f"On the small matrix of the first tab: global max = "
            f"**{format_value(float(global_pool(matrix, method='max')))}**, global average = "
            f"**{format_value(float(global_pool(matrix, method='average')))}**."
        )
