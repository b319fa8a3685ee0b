"""The sections of "Inspect a Network", one function per concept.

Each function takes plain values (the model's `ModelInfo`, the input, the `FeatureMaps`)
plus the worker client where it needs more, draws its controls and pictures, and turns
every problem into `st.error` / `st.info`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.jobs.inspection import (
    FeatureMaps,
    InferenceError,
    LayerInfo,
    ModelInfo,
    ModelRejectedError,
)
from core.jobs.worker_client import WorkerClient
from core.ops.filter_matching import closest_kernels, frequency_response
from ui.inspect import views

MAX_FILTERS = 64


def reported_errors(action):
    """Run `action()`; show worker problems as `st.error` and return None."""
    try:
        return action()
    except (ValueError, InferenceError, ModelRejectedError) as error:
        st.error(f"{error}")
        return None


def filters(client: WorkerClient, path: str, info: ModelInfo):
    """First-layer kernels: grid with values on hover, closest classic kernel, frequencies."""
    weights = reported_errors(lambda: client.filters(path))
    if weights is None:
        return
    kernels = weights.kernels  # (kh, kw, in, out)
    count = min(kernels.shape[3], MAX_FILTERS)
    st.markdown(
        f"Layer **{weights.layer}** has {kernels.shape[3]} filters of "
        f"{kernels.shape[0]}×{kernels.shape[1]}×{kernels.shape[2]} weights. Each one slides over "
        'the image and answers "how much does this patch look like me?" — red weights add '
        "the pixel, blue ones subtract it."
    )
    options = list(range(kernels.shape[2])) + (["rgb"] if kernels.shape[2] == 3 else [])
    channel = st.radio(
        "Input channel",
        options,
        horizontal=True,
        key="inspect.filter_channel",
        format_func=lambda c: "RGB composite" if c == "rgb" else channel_name(c, kernels),
        help="A filter has one kernel per input channel; colour models have three (R, G, B). "
        "The composite shows the three as one colour picture.",
    )
    if channel == "rgb":
        st.image(views.rgb_kernel_tiles(kernels[:, :, :, :count]), caption=list(range(count)))
        st.caption(
            "Each filter's R, G, B kernels as one colour picture, stretched min–max. Below, "
            "and for the closest classic kernel, the three are summed: what a grey input sees."
        )
        planes = kernels[:, :, :, :count].sum(axis=2)
    else:
        planes = kernels[:, :, channel, :count]
    stack = np.moveaxis(planes, 2, 0)
    st.plotly_chart(
        views.kernel_grid_figure(
            stack, titles=[f"#{i}" for i in range(count)], columns=min(8, count)
        ),
        config=views.PLOTLY_CONFIG,
        key="inspect.filter_grid",
    )
    st.caption("Diverging colours, one scale for all filters (±largest |weight|).")
    matches = [closest_kernels(kernel, top_k=1) for kernel in stack]
    rows = [
        {
            "filter": i,
            "closest classic kernel": m[0].name,
            "sign": "negated" if m[0].sign < 0 else "",
            "cosine similarity": round(m[0].score, 2),
        }
        for i, m in enumerate(matches)
        if m
    ]
    index = st.number_input(
        "Filter to study",
        0,
        count - 1,
        0,
        key="inspect.filter_index",
        help="Shows this filter's weights, what it passes in frequency, and the hand-made "
        "kernel it resembles most.",
    )
    kernel = stack[int(index)]
    best = matches[int(index)]
    if best:
        st.markdown(f"**Filter {int(index)} {best[0].describe()}.**")
    response = frequency_response(kernel, size=32)
    columns = st.columns(3)
    columns[0].plotly_chart(
        views.heatmap_figure(kernel, title=f"Filter {int(index)} weights", signed=True),
        config=views.PLOTLY_CONFIG,
        key="inspect.filter_weights",
    )
    columns[1].plotly_chart(
        views.heatmap_figure(
            response.magnitude, title=f"Frequency response ({response.kind})", signed=False
        ),
        config=views.PLOTLY_CONFIG,
        key="inspect.filter_frequency",
    )
    if best:
        columns[2].plotly_chart(
            views.heatmap_figure(best[0].template, title=f"Classic: {best[0].name}", signed=True),
            config=views.PLOTLY_CONFIG,
            key="inspect.filter_template",
        )
    st.caption(
        "Frequency response: |Fourier transform| of the kernel, zero frequency in the centre. "
        "A blur keeps the centre (low-pass); an edge detector is dark in the centre because a "
        f"flat patch gives no response (high-pass). Flat-image gain: {response.dc_gain:.3f}."
    )
    with st.expander("Closest classic kernel of every filter"):
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        st.caption(
            "Cosine similarity compares shapes and ignores scale: 1 means the same "
            "pattern, 0 unrelated. Rotations (8 directions) and sign flips are allowed."
        )


def channel_name(channel: int, kernels: np.ndarray) -> str:
    if kernels.shape[2] == 3:
        return f"{'RGB'[channel]} (channel {channel})"
    return f"channel {channel}"


def source_conv(info: ModelInfo, layer: LayerInfo) -> LayerInfo | None:
    """The conv layer whose filters made `layer`'s channels (following first inputs back)."""
    current = layer
    while current is not None:
        if current.kind == "conv":
            return current
        if current.kind not in ("activation", "pooling") or not current.inbound:
            return None
        current = next((item for item in info.layers if item.name == current.inbound[0]), None)
    return None


def feature_maps(client: WorkerClient, path: str, info: ModelInfo, maps: FeatureMaps):
    """Every conv / activation / pooling output as a grid, and one map enlarged."""
    shared = st.toggle(
        "Shared colour scale per layer",
        value=True,
        key="inspect.shared_scale",
        help="On: all maps of a layer use one scale, so a faint map really is weak. Off: each "
        "map is stretched to its own maximum, which shows the pattern of weak maps too.",
    )
    for position, layer in enumerate(info.map_layers):
        values = maps.maps[layer.name]
        tiles, _, description = views.map_tiles(values, shared=shared, limit_count=MAX_FILTERS)
        title = (
            f"{layer.name} ({layer.class_name}, {layer.activation or 'no activation'}) → "
            f"{values.shape[0]}×{values.shape[1]}×{values.shape[2]}"
        )
        with st.expander(title, expanded=position == 0):
            st.image(views.mosaic(tiles, columns=8), width="stretch")
            shown = "" if values.shape[2] <= MAX_FILTERS else f" First {MAX_FILTERS} maps shown."
            st.caption(description + shown)
    st.markdown("#### Enlarge one map beside the kernel that made it")
    names = [layer.name for layer in info.map_layers]
    left, right = st.columns(2)
    name = left.selectbox(
        "Layer", names, key="inspect.enlarge_layer", help="Which layer's map to enlarge."
    )
    values = maps.maps[name]
    channel = int(
        right.number_input(
            "Map number",
            0,
            values.shape[2] - 1,
            0,
            key="inspect.enlarge_channel",
            help="The number printed in the corner of each map above.",
        )
    )
    channel = min(channel, values.shape[2] - 1)
    plane = values[:, :, channel]
    signed = bool(plane.min() < 0)
    columns = st.columns(2)
    columns[0].plotly_chart(
        views.heatmap_figure(plane, title=f"{name}, map {channel}", signed=signed, height=380),
        config=views.PLOTLY_CONFIG,
        key="inspect.enlarged_map",
    )
    conv = source_conv(info, info.layer(name))
    if conv is None:
        columns[1].info("This map was not made by a single conv filter.")
        return
    weights = reported_errors(lambda: client.filters(path, conv.name))
    if weights is None or channel >= weights.kernels.shape[3]:
        return
    kernel = np.moveaxis(weights.kernels[:, :, :, channel], 2, 0)[:MAX_FILTERS]
    with columns[1]:
        if len(kernel) == 1:
            figure = views.heatmap_figure(
                kernel[0], title=f"Filter {channel} of {conv.name}", signed=True, height=380
            )
        else:
            figure = views.kernel_grid_figure(
                kernel,
                titles=[f"in {i}" for i in range(len(kernel))],
                columns=min(8, len(kernel)),
                height_per_row=110,
            )
        st.plotly_chart(figure, config=views.PLOTLY_CONFIG, key="inspect.enlarged_kernel")
        st.caption(
            f"Filter {channel} of {conv.name}: one {conv.kernel_size[0]}×"
            f"{conv.kernel_size[1]} kernel per input channel; their responses are summed, "
            "plus a bias, to give the map on the left."
        )


def pooling(info: ModelInfo, maps: FeatureMaps):
    """A map before and after its activation, beside its pooled map at true relative size."""
    pools = [layer for layer in info.map_layers if layer.kind == "pooling" and layer.inbound]
    if not pools:
        st.info("This model has no pooling layer.")
        return
    names = [layer.name for layer in pools]
    left, right = st.columns(2)
    pool = info.layer(
        left.selectbox(
            "Pooling layer",
            names,
            key="inspect.pool_layer",
            help="A pooling layer and the map it shrinks.",
        )
    )
    source = info.layer(pool.inbound[0])
    before, after = maps.maps.get(source.name), maps.maps[pool.name]
    if before is None:
        st.info(f"The input of {pool.name} is not a feature map shown here.")
        return
    channel = int(
        right.number_input(
            "Map number",
            0,
            after.shape[2] - 1,
            0,
            key="inspect.pool_channel",
            help="Which channel to follow.",
        )
    )
    channel = min(channel, after.shape[2] - 1)
    pre = maps.pre_activations.get(source.name)
    pre = None if pre is None else pre[:, :, channel]
    activation = source.activation if source.activation not in (None, "linear") else "ReLU"
    activation = "ReLU" if activation.lower() == "relu" else activation
    plane, pooled = before[:, :, channel], after[:, :, channel]
    limit = float(np.abs(plane).max()) or 1.0
    pictures = []
    if pre is not None:
        pictures.append(
            (f"Before {activation}", pre, True, float(np.abs(pre).max()) or 1.0, "signed")
        )
    title = f"{source.name} (after {activation})" if pre is not None else source.name
    pictures.append((title, plane, bool(plane.min() < 0), limit, ""))
    window = "×".join(map(str, pool.kernel_size))
    pictures.append(
        (f"{pool.name} ({pool.class_name} {window})", pooled, bool(pooled.min() < 0), limit, "")
    )
    scale = max(4, 240 // plane.shape[0])
    for column, (name, values, signed, end, note) in zip(
        st.columns(len(pictures)), pictures, strict=True
    ):
        rgb = views.colorize(values, limit=end, signed=signed)
        enlarged = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
        column.markdown(f"**{name}**")
        column.image(enlarged, width=int(enlarged.shape[1]))
        scale_note = "blue < 0 < red" if signed else f"dark 0 → yellow {end:.3g}"
        column.caption(f"{values.shape[0]}×{values.shape[1]}, {note or 'colours'} {scale_note}")
    if pre is not None and activation == "ReLU":
        zeroed = float((pre <= 0).mean())
        st.caption(f"ReLU replaced {zeroed:.0%} of the values (all the negative ones) with 0.")
    if "Max" in pool.class_name:
        how = "keeps the strongest response in each window: the map shrinks but the bright spots "
        how += "survive, and small shifts of the input barely change it"
    else:
        how = "averages each window: the map shrinks and gets smoother"
    st.caption(
        f"Drawn at the same scale ({scale} screen pixels per unit), so the pooled map really is "
        f"smaller: {plane.shape[0]}×{plane.shape[1]} → {pooled.shape[0]}×{pooled.shape[1]}. "
        f"{pool.class_name} {how}. The map and its pooled version share one colour scale."
    )
