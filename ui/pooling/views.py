"""The Pooling page's lessons on photos: repeated pooling, translation, global pooling.

Each draws its own controls (session keys under ``pool.``) and pictures;
every number shown is computed by ``core``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.base.paths import SAMPLE_IMAGES_DIR
from core.imaging.images import downscale, load_image, to_display
from core.imaging.pooling_lessons import MAX_SHIFT, feature_map, pool_repeatedly, translation_study
from core.ops.kernels import PRESETS
from core.ops.pooling import POOLING_METHODS, global_pool, pool2d
from ui.widgets.axes import integer_axis
from ui.widgets.figure_export import export_button
from ui.widgets.image_input import photo_names
from ui.widgets.matrix_view import format_value
from ui.widgets.tab_charts import plotly_chart

IMAGE_DIR = SAMPLE_IMAGES_DIR


PHOTO_SIDE = 192  # photos are shrunk to this many pixels so three poolings stay visible


DISPLAY_SCALE = 2  # screen pixels per value in the "true relative size" row


FEATURE_KERNELS = ("sobel_right", "sobel_bottom", "laplacian", "gaussian_blur")


@st.cache_data(show_spinner=False)
def photo(name: str) -> np.ndarray:
    """A bundled photo as float (H, W[, 3]), shrunk to ``PHOTO_SIDE``."""
    return downscale(load_image(IMAGE_DIR / name).pixels, PHOTO_SIDE).astype(np.float64)


def image_source(prefix: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Photo or ReLU'd feature map picker; returns (photo, kernel or None, description)."""
    state = st.session_state
    state.setdefault(f"{prefix}.photo", "camera.png")  # in session state, where links set it
    state.setdefault(f"{prefix}.kernel", "laplacian")
    a, b, c = st.columns(3)
    name = a.selectbox(
        "Photo",
        photo_names(),
        key=f"{prefix}.photo",
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


LESSON_DEFAULTS = {
    "pool.img.times": 3,
    "pool.img.size": 2,
    "pool.shift.px": 1,
    "pool.shift.size": 2,
}
"""The lessons' sliders start here (kept in session state, where a link can set them)."""


LESSON_KEYS = {
    "image": tuple(
        f"pool.img.{name}" for name in ("photo", "kind", "kernel", "times", "size", "method")
    ),
    "shift": tuple(f"pool.shift.{name}" for name in ("photo", "kind", "kernel", "px", "size")),
    "global": ("pool.global.photo",),
}
"""The controls of each lesson tab, kept while the tab is closed and not drawn."""


def repeated_pooling_lesson() -> None:
    """Pool a photo up to three times, at true relative size."""
    for key in ("pool.img.times", "pool.img.size"):
        st.session_state.setdefault(key, LESSON_DEFAULTS[key])
    pixels, kernel, description = image_source("pool.img")
    values = pooled_input(pixels, kernel)
    a, b, c = st.columns(3)
    times = a.slider(
        "Number of poolings",
        1,
        3,
        key="pool.img.times",
        help="Pool the result again, up to three times.",
    )
    size = b.slider(
        "Window and stride",
        2,
        4,
        key="pool.img.size",
        help="Window size = stride: each pooling divides the size by this.",
    )
    method = c.radio(
        "Pooling",
        POOLING_METHODS,
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
    pooled_row = side_by_side([picture(m) for m in maps], scale=DISPLAY_SCALE)
    st.image(pooled_row)
    export_button(pooled_row, f"Pooling {description}")
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
    """The shift lesson: convolution and max-pooled maps before and after a shift."""
    for key in ("pool.shift.px", "pool.shift.size"):
        st.session_state.setdefault(key, LESSON_DEFAULTS[key])
    pixels, kernel, description = image_source("pool.shift")
    kernel = np.ones((1, 1)) if kernel is None else kernel
    a, b = st.columns(2)
    shift = a.slider(
        "Shift the input by (pixels)",
        0,
        MAX_SHIFT,
        key="pool.shift.px",
        help="Move the photo to the left by this many pixels.",
    )
    size = b.slider(
        "Max-pooling window and stride",
        2,
        4,
        key="pool.shift.size",
        help="Larger windows hide larger shifts.",
    )
    studies = {
        s: translation_study(pixels, kernel, s, pool_size=size) for s in range(MAX_SHIFT + 1)
    }
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
    _change_chart(list(studies.values()))
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
        shown = to_display(image, mapping="minmax").rgb
        column.image(shown, width=image.shape[1])
        export_button(shown, title, container=column)
        column.caption(f"{title} ({image.shape[0]}×{image.shape[1]})")


def _change_chart(studies: list) -> None:
    """How much each map changes, shift by shift (one study per shift from 0)."""
    fig = go.Figure()
    shifts = list(range(len(studies)))
    fig.add_scatter(x=shifts, y=[s.conv_change * 100 for s in studies], name="convolution")
    fig.add_scatter(x=shifts, y=[s.pooled_change * 100 for s in studies], name="max-pooled")
    fig.update_layout(
        height=260,
        margin={"t": 20, "b": 40},
        yaxis_title="change (%)",
        xaxis={**integer_axis(len(studies)), "title": "shift (pixels)"},
    )
    plotly_chart(fig, width="stretch", key="pool.shift.chart", export_title="Change per shift")


def global_pooling_lesson(matrix: np.ndarray | None) -> None:
    """Global pooling: one number per channel of a photo (and of the small matrix)."""
    a, _ = st.columns(2)
    names = photo_names()
    st.session_state.setdefault("pool.global.photo", "chelsea.png")
    name = a.selectbox(
        "Photo",
        names,
        key="pool.global.photo",
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
