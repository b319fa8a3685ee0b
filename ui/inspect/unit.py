"""Explain one unit of a convolution layer, as CNN Explainer does, on any model.

Pick a layer, a filter and a unit (click it in the feature map, or type its row and column):
the section shows the input patch the filter sees in every input channel, the weights, the
products and their sums per channel, the bias, the activation and where a following pooling
layer sends the value. The arithmetic (`core.nets.unit_explanation`) uses the layer's real
input, fetched from the worker, and is compared with the model's own output on the page.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.base.numbers import readable
from core.jobs.inspection import FeatureMaps, LayerInfo, ModelInfo
from core.jobs.worker_client import WorkerClient
from core.nets.unit_explanation import UnitExplanation, explain_unit, pooling_destinations
from ui.inspect import graph, views
from ui.inspect.layer_sections import forget_stale_choice, not_numbers, reported_errors
from ui.kernel_playground.link_state import (
    MAX_ABS_KERNEL_VALUE,
    MAX_DILATION,
    MAX_KERNEL_SIZE,
    MAX_PATCH_SIDE,
    MAX_STRIDE,
    PlaygroundState,
    encode_patch,
    encode_state,
)
from ui.widgets.matrix_html import matrices_row, matrix_table
from ui.widgets.tab_charts import plotly_chart

EXPLAINED_CLASSES = frozenset({"Conv2D", "Convolution2D"})


MAX_CLICKABLE_CELLS = 96 * 96  # larger maps: row and column boxes only


MAX_CHANNELS_AT_ONCE = 3  # more input channels: one at a time, with a table of every sum


AGREEMENT = 1e-5


def explainable_layers(info: ModelInfo) -> list[LayerInfo]:
    """The plain convolutions whose units this section can take apart (not depthwise,
    separable or transposed ones, which combine their inputs differently).

    (A layer's `inbound` names its source once per call of the layer, so it can repeat.)
    """
    return [
        layer
        for layer in info.conv_layers
        if layer.is_map and layer.class_name in EXPLAINED_CLASSES and len(set(layer.inbound)) <= 1
    ]


def add_click_targets(figure: go.Figure, shape: tuple[int, int], *, hover: str, px=300) -> None:
    """An invisible square marker on every cell of a heatmap of `shape`, so a click on a
    cell selects it: Streamlit reports no clicks on heatmaps themselves."""
    rows, cols = np.indices(shape)
    figure.add_trace(
        go.Scatter(
            x=cols.ravel(),
            y=rows.ravel(),
            mode="markers",
            marker=dict(symbol="square", size=max(3, int(px / max(shape))), opacity=0.01),
            marker_color="black",
            hovertemplate=hover + "<extra></extra>",
            showlegend=False,
        )
    )
    figure.update_layout(clickmode="event+select", dragmode=False)


def clicked_cell(event_key: str) -> tuple[int, int] | None:
    """The `(row, column)` clicked in the chart `event_key` since the last call, else None."""
    event = st.session_state.get(event_key) or {}
    points = (event.get("selection") or {}).get("points") or []
    if not points:
        return None
    point = points[0]
    clicked = (int(round(point.get("y", -1))), int(round(point.get("x", -1))))
    if clicked == st.session_state.get(f"{event_key}.last"):
        return None
    st.session_state[f"{event_key}.last"] = clicked
    return clicked


def clickable_map_figure(plane: np.ndarray, row: int, col: int, *, title: str) -> go.Figure:
    """The feature map with a clickable marker on every unit and the chosen unit outlined.

    Streamlit reports no clicks on a heatmap, so an invisible square marker sits on each
    cell; a click selects it.
    """
    figure = views.heatmap_figure(plane, title=title, signed=bool(plane.min() < 0), height=340)
    add_click_targets(figure, plane.shape, hover="row %{y}, column %{x}: click to explain")
    figure.add_shape(
        type="rect",
        x0=col - 0.5,
        x1=col + 0.5,
        y0=row - 0.5,
        y1=row + 0.5,
        line=dict(color="#ff00ff", width=3),
    )
    return figure


def apply_click(event_key: str, row_key: str, col_key: str, shape: tuple[int, int]) -> None:
    """Move the row and column boxes to a unit clicked in the map (a click counts once)."""
    clicked = clicked_cell(event_key)
    if clicked is not None and 0 <= clicked[0] < shape[0] and 0 <= clicked[1] < shape[1]:
        st.session_state[row_key], st.session_state[col_key] = clicked


def input_span(unit: UnitExplanation, layer_input: np.ndarray, channel: int) -> np.ndarray:
    """The input rectangle one channel of the filter spans for this unit (its dilated taps
    and the pixels between them), with zeros where it lies on the padding.

    >>> unit = explain_unit(np.arange(16.0).reshape(4, 4, 1), np.ones((3, 3, 1, 1)), row=0,
    ...                     col=0, filter_index=0, padding="same")
    >>> input_span(unit, np.arange(16.0).reshape(4, 4, 1), 0).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 4.0, 5.0]]
    """
    rows = np.arange(unit.input_rows[0], unit.input_rows[-1] + 1)
    cols = np.arange(unit.input_cols[0], unit.input_cols[-1] + 1)
    plane = np.asarray(layer_input, dtype=np.float64)[:, :, channel]
    inside_rows = (rows >= 0) & (rows < plane.shape[0])
    inside_cols = (cols >= 0) & (cols < plane.shape[1])
    span = np.zeros((rows.size, cols.size))
    span[np.ix_(inside_rows, inside_cols)] = plane[np.ix_(rows[inside_rows], cols[inside_cols])]
    return span


def _fits(values: np.ndarray) -> bool:
    """Finite and within what the playground takes."""
    return bool(np.isfinite(values).all() and np.abs(values).max() <= MAX_ABS_KERNEL_VALUE)


def playground_link(
    unit: UnitExplanation, layer: LayerInfo, channel: int, layer_input: np.ndarray | None = None
) -> str | None:
    """The Kernel Playground's address with one input channel's slice of the filter loaded;
    None when the page cannot hold it.

    Without ``layer_input`` the link carries the layer's strides, padding and dilation, on
    the playground's own images. With it, the input is this unit's patch of that channel
    (``input_span``), slid with strides 1 and "same" padding, and the step-by-step opens on
    the centre pixel, whose value is the unit's sum for the channel (plus the bias and the
    activation when the layer has a single input channel).

    >>> layer = LayerInfo("c", "Conv2D", "conv", (4, 4, 1), 10, kernel_size=(3, 3),
    ...                   strides=(2, 2), padding="same")
    >>> unit = explain_unit(np.zeros((4, 4, 1)), np.ones((3, 3, 1, 1)), row=0, col=0,
    ...                     filter_index=0, strides=2, padding="same")
    >>> playground_link(unit, layer, 0)
    'kernel_playground?k=1%2C1%2C1%3B1%2C1%2C1%3B1%2C1%2C1&s=2%2C2'
    >>> from urllib.parse import parse_qsl
    >>> dict(parse_qsl(playground_link(unit, layer, 0, np.ones((4, 4, 1))).split("?")[1]))
    {'k': '1,1,1;1,1,1;1,1,1', 'px': '1,1', 'in': '1,1,1;1,1,1;1,1,1', 'tab': 'step'}
    """
    kernel = unit.weights[:, :, channel]
    strides = layer.strides or (1, 1)
    dilation = layer.dilation_rate or (1, 1)
    if (
        max(kernel.shape) > MAX_KERNEL_SIZE
        or max(strides) > MAX_STRIDE
        or max(dilation) > MAX_DILATION
        or float(np.abs(kernel).max()) > MAX_ABS_KERNEL_VALUE
    ):
        return None
    only_channel = unit.weights.shape[2] == 1
    state = PlaygroundState(
        kernel=tuple(tuple(float(v) for v in row) for row in kernel),
        strides=tuple(int(s) for s in strides),
        padding=layer.padding if layer.padding in ("same", "valid") else "same",
        dilation=tuple(int(d) for d in dilation),
        bias=unit.bias if only_channel else 0.0,
        relu=only_channel and unit.activation == "relu",
    )
    extra: dict[str, str] = {}
    span = None if layer_input is None else input_span(unit, layer_input, channel)
    if span is not None and max(span.shape) <= MAX_PATCH_SIDE and _fits(span):
        # "same" with strides 1: the output pixel at (n − 1) // 2 reads exactly the span
        centre = ((span.shape[0] - 1) // 2, (span.shape[1] - 1) // 2)
        state = replace(state, strides=(1, 1), padding="same", pixel=centre)
        extra = {"in": encode_patch(span), "tab": "step"}
    return "kernel_playground?" + urlencode({**encode_state(state), **extra})


def _patch_tables(unit: UnitExplanation, channel: int) -> str:
    """`patch × weights = products` of one input channel, as an HTML equation."""
    halo = ~unit.inside
    patch, weights = unit.patch[:, :, channel], unit.weights[:, :, channel]
    products = unit.products[:, :, channel]
    return matrices_row(
        [
            matrix_table(patch, title="Input patch", halo=halo, cell_px=34),
            matrix_table(weights, title="Weights", cell_px=34),
            matrix_table(products, title="Products", halo=halo, cell_px=34),
        ],
        operators=["×", "="],
    )


def _channel_equations(unit: UnitExplanation, channel_key: str) -> int:
    """Each input channel's patch, weights and products; returns the channel to link."""
    channels = unit.patch.shape[2]
    shown = list(range(channels))
    if channels > MAX_CHANNELS_AT_ONCE:
        forget_stale_choice(channel_key, range(channels))
        chosen = int(
            st.number_input(
                "Input channel to show",
                0,
                channels - 1,
                int(np.argmax(np.abs(unit.channel_sums))),
                key=channel_key,
                help="The filter has one kernel per input channel. It starts at the channel "
                "that adds the most (in size) to this unit.",
            )
        )
        shown = [min(chosen, channels - 1)]
    for channel in shown:
        st.markdown(
            f"**Input channel {channel}**: products summed = "
            f"**{readable(unit.channel_sums[channel])}**"
        )
        st.html(_patch_tables(unit, channel))
    if unit.inside.all():
        st.caption("Every tap of the filter reads the input.")
    else:
        st.caption("Green dotted cells fall on the zero padding of 'same': they read 0.")
    if channels > MAX_CHANNELS_AT_ONCE:
        table = pd.DataFrame(
            {"input channel": range(channels), "sum of products": unit.channel_sums}
        )
        with st.expander(f"The sum of every input channel ({channels})"):
            st.dataframe(table, hide_index=True, height=min(400, 40 + 35 * channels))
    return shown[0]


def signed_sum(values) -> str:
    """Numbers written as a sum, a negative one as a subtraction.

    >>> signed_sum([0.5, -0.25, 2.0])
    '0.5 − 0.25 + 2'
    """
    text = ""
    for index, value in enumerate(values):
        number = readable(abs(float(value)))
        if index == 0:
            text = ("−" if value < 0 else "") + number
        else:
            text += (" − " if value < 0 else " + ") + number
    return text


def _totals(unit: UnitExplanation, model_value: float, model_pre: float | None) -> None:
    """Sum of the channels, plus the bias, through the activation; checked against the model."""
    terms = signed_sum(unit.channel_sums[:8])
    if len(unit.channel_sums) > 8:
        terms += f" + … ({len(unit.channel_sums)} channels)"
    lines = [
        f"Sum over the input channels: {terms} = **{readable(unit.total)}**",
        f"Plus the bias {readable(unit.bias)}: **{readable(unit.pre_activation)}**",
    ]
    if unit.value is None:
        lines.append(f"Then the activation *{unit.activation}*, which this page cannot redo.")
    elif unit.activation != "linear":
        lines.append(f"Through the activation *{unit.activation}*: **{readable(unit.value)}**")
    st.markdown("  \n".join(lines))
    ours = unit.value if unit.value is not None else unit.pre_activation
    theirs = model_value if unit.value is not None else model_pre
    if theirs is None:
        return
    gap = abs(ours - float(theirs))
    agree = gap <= AGREEMENT * max(1.0, abs(float(theirs)))
    verdict = "they agree" if agree else "they differ"
    st.caption(
        f"The model's own output for this unit: {readable(float(theirs))}; "
        f"{verdict} (difference {readable(gap, digits=2)}"
        f"{', below 10⁻⁵' if agree else ''})."
    )


def _pooling(info: ModelInfo, layer: LayerInfo, maps: FeatureMaps, unit: UnitExplanation):
    """Where the next pooling layer (directly, or after an activation layer) sends the unit."""
    chain = [layer.name]
    for candidate in info.layers:  # layers in order: an activation, then the pooling
        if set(candidate.inbound) == {chain[-1]} and candidate.kind == "activation":
            chain.append(candidate.name)
    pool = next(
        (p for p in info.layers if p.kind == "pooling" and set(p.inbound) == {chain[-1]}), None
    )
    if pool is None or chain[-1] not in maps.maps or pool.kernel_size is None:
        st.caption("No pooling layer follows this one directly.")
        return
    plane = maps.maps[chain[-1]][:, :, unit.filter_index]
    method = "max" if "Max" in pool.class_name else "average"
    found = pooling_destinations(
        plane,
        unit.row,
        unit.col,
        pool_size=pool.kernel_size,
        strides=pool.strides,
        padding=pool.padding or "valid",
        method=method,
    )
    value = readable(float(plane[unit.row, unit.col]))
    if not found:
        st.markdown(
            f"**{pool.name}** ({pool.class_name}) has no window over this unit: 'valid' "
            "pooling drops the last row or column. Its value goes no further."
        )
        return
    for place in found:
        if method == "average":
            fate = f"is averaged with its window into {readable(place.value)}"
        elif place.wins:
            fate = f"**wins** its window and goes on as {readable(place.value)}"
        elif place.value == float(plane[unit.row, unit.col]):
            fate = (
                f"ties with the window's maximum {readable(place.value)}; max "
                "pooling passes on the first of equal values (in reading order), not this one"
            )
        else:
            fate = f"loses to the window's maximum {readable(place.value)} and is dropped"
        st.markdown(
            f"**{pool.name}** ({pool.class_name}): this unit ({value} after "
            f"{'the activation' if len(chain) == 1 else chain[-1]}) lands in window row "
            f"{place.row}, column {place.col}, and {fate}."
        )


def explain_unit_section(client: WorkerClient, path: str, info: ModelInfo, image, maps):
    """Pick a unit of a conv layer and show how the model computed it."""
    layers = [layer for layer in explainable_layers(info) if layer.name in maps.maps]
    if not layers:
        st.info(
            "This model has no plain convolution layer (Conv2D) whose units can be taken "
            "apart here."
        )
        return
    names = [layer.name for layer in layers]
    left, right = st.columns(2)
    forget_stale_choice("inspect.unit_layer", names)
    name = left.selectbox(
        "Conv layer",
        names,
        key="inspect.unit_layer",
        format_func=lambda n: graph.layer_label(info.layer(n)),
        help="The layer whose unit to take apart.",
    )
    layer = info.layer(name)
    output = maps.maps[name]
    height, width, filters = output.shape
    forget_stale_choice("inspect.unit_filter", range(filters))
    filter_index = int(
        right.number_input(
            "Filter (map number)",
            0,
            filters - 1,
            0,
            key="inspect.unit_filter",
            help="Which of the layer's filters, i.e. which feature map.",
        )
    )
    filter_index = min(filter_index, filters - 1)
    for key, size in (("inspect.unit_row", height), ("inspect.unit_col", width)):
        forget_stale_choice(key, range(size))
    plane = output[:, :, filter_index]
    if height * width <= MAX_CLICKABLE_CELLS:
        apply_click("inspect.unit_map", "inspect.unit_row", "inspect.unit_col", (height, width))
    start_row, start_col = np.unravel_index(int(np.nan_to_num(plane).argmax()), plane.shape)
    row_box, col_box, _ = st.columns([1, 1, 2])
    row = int(row_box.number_input("Row", 0, height - 1, int(start_row), key="inspect.unit_row"))
    col = int(col_box.number_input("Column", 0, width - 1, int(start_col), key="inspect.unit_col"))
    row, col = min(row, height - 1), min(col, width - 1)
    if not_numbers(plane):
        st.warning("This map holds values that are not numbers; there is nothing to explain.")
        return
    picture, numbers = st.columns([2, 3])
    with picture:
        figure = clickable_map_figure(plane, row, col, title=f"{name}, map {filter_index}")
        if height * width <= MAX_CLICKABLE_CELLS:
            plotly_chart(
                figure,
                config=views.PLOTLY_CONFIG,
                key="inspect.unit_map",
                on_select="rerun",
                selection_mode="points",
            )
            st.caption("Click a unit of the map to explain it (magenta square).")
        else:
            plotly_chart(figure, config=views.PLOTLY_CONFIG, key="inspect.unit_map_large")
    layer_input = reported_errors(lambda: client.layer_input(path, image, name))
    weights = reported_errors(lambda: client.filters(path, name))
    if layer_input is None or weights is None:
        return
    unit = explain_unit(
        layer_input,
        weights.kernels,
        weights.bias,
        row=row,
        col=col,
        filter_index=filter_index,
        strides=layer.strides or 1,
        padding=layer.padding or "valid",
        dilation_rate=layer.dilation_rate or 1,
        activation=layer.activation,
    )
    with numbers:
        kh, kw, channels = unit.weights.shape
        st.markdown(
            f"Unit (row {row}, column {col}) of map {filter_index}: filter {filter_index} "
            f"({kh}×{kw}×{channels}) reads input rows {unit.input_rows[0]}…"
            f"{unit.input_rows[-1]} and columns {unit.input_cols[0]}…{unit.input_cols[-1]} "
            f"(strides {layer.strides}, padding '{layer.padding}', dilation "
            f"{layer.dilation_rate}) in "
            + (f"each of its {channels} input channels" if channels > 1 else "its input channel")
            + ", multiplies, and adds everything up."
        )
        pre = maps.pre_activations.get(name)
        _totals(
            unit,
            float(plane[row, col]),
            None if pre is None else float(pre[row, col, filter_index]),
        )
        _pooling(info, layer, maps, unit)
    channel = _channel_equations(unit, "inspect.unit_channel")
    link = playground_link(unit, layer, channel, layer_input)
    if link is None:
        st.caption("This filter is too large for the Kernel Playground.")
        return
    st.link_button(
        f"Try input channel {channel}'s kernel in the Kernel Playground",
        link,
        help="Opens the Kernel Playground with this kernel and this unit's input patch as the "
        "image; the step-by-step shows the pixel whose value is this channel's sum of products."
        if "in=" in link
        else "Opens the Kernel Playground with this kernel and this layer's strides, padding "
        "and dilation, on the playground's own images (this unit's patch is too large to send).",
    )
