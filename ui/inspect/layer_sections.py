"""The sections of "Inspect a Network", one function per concept.

Each function takes plain values (the model's `ModelInfo`, the input, the `FeatureMaps`)
plus the worker client where it needs more, draws its controls and pictures, and turns
every problem into `st.error` / `st.info`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.base.numbers import readable
from core.jobs.inspection import (
    FeatureMaps,
    InferenceError,
    LayerInfo,
    ModelInfo,
    ModelRejectedError,
    nan_weights_message,
)
from core.jobs.worker_client import WorkerClient
from core.ops.filter_matching import closest_kernels, frequency_response
from ui.inspect import graph, views
from ui.widgets.figure_export import export_button
from ui.widgets.image_view import show_small_matrix
from ui.widgets.number_pick import pick_number
from ui.widgets.short_choice import choose_one
from ui.widgets.tab_charts import charts_shown, plotly_chart

MAX_FILTERS = 64

FREQUENCY_PX = 160  # the 32×32 frequency response is drawn at least this big


NO_MAPS = (
    "This model has no convolution, activation or pooling layers, so there are no feature "
    "maps to show: a dense network turns the whole image into numbers at once."
)


def seen() -> bool:
    """Whether what is drawn now is seen: outside tabs, or in the open tab.

    A closed tab's pictures and tables are left out, since the browser would load and draw
    them for nobody on a first visit; its words and controls stay (widgets keep their
    values), and opening the tab reruns the page with them.

    >>> seen()
    True
    """
    return charts_shown()


def not_numbers(values: np.ndarray) -> bool:
    """Whether an array holds NaN or infinite values (a model whose weights hold NaN).

    >>> not_numbers(np.array([0.0, np.nan])), not_numbers(np.zeros(3))
    (True, False)
    """
    return not np.isfinite(values).all()


def reported_errors(action):
    """Run `action()`; show worker problems as `st.error` and return None."""
    try:
        return action()
    except (ValueError, InferenceError, ModelRejectedError) as error:
        st.error(f"{error}")
        return None


def forget_stale_choice(key: str, options) -> None:
    """Forget a widget's value that the options of this run no longer offer (another layer
    or model), so the widget starts again from its default instead of failing."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def _channel_mixing(weights, kernels: np.ndarray, count: int) -> None:
    """A 1×1 convolution as what it is: a weighted sum of the input maps per filter."""
    st.markdown(
        f"Layer **{weights.layer}** has {kernels.shape[3]} filters of 1×1×{kernels.shape[2]} "
        "weights. A 1×1 filter sees one pixel, so it finds no pattern in space: it mixes the "
        f"{kernels.shape[2]} input maps, adding each with its weight (red adds, blue "
        "subtracts). Networks use it to make new combinations of maps, or fewer maps before "
        "an expensive 3×3 or 5×5 convolution."
    )
    matrix = kernels[0, 0, :, :count]  # (input maps, filters): wide, like the screen
    plotly_chart(
        views.heatmap_figure(
            matrix,
            title="Weights: one column per filter, one row per input map",
            signed=True,
            height=min(560, 140 + 26 * kernels.shape[2]),
        ),
        config=views.PLOTLY_CONFIG,
        key="inspect.filter_mixing",
    )
    st.caption(
        "Diverging colours, ±largest |weight|. Hover for values: column = filter, row = input "
        "map. No classic kernel or frequency response here: a 1×1 kernel passes every "
        "frequency alike."
    )


def _non_finite_weights(layer: str, kernels: np.ndarray) -> None:
    """Say which filters of a layer hold NaN or infinite weights, instead of drawing them."""
    broken = ~np.isfinite(kernels).all(axis=(0, 1, 2))
    numbers = [int(i) for i in np.flatnonzero(broken)]
    listed = ", ".join(f"#{i}" for i in numbers[:20]) + (", …" if len(numbers) > 20 else "")
    st.error(
        f"The weights of layer **{layer}** hold NaN or infinite values "
        f"({int((~np.isfinite(kernels)).sum()):,} of {kernels.size:,} weights, in "
        f"{len(numbers)} of {kernels.shape[3]} filters: {listed}). Such a model cannot give "
        "usable answers: its training diverged or the file is damaged. Retrain it (a smaller "
        "learning rate often helps) or choose another model."
    )
    st.markdown(
        f"Layer **{layer}** has {kernels.shape[3]} filters of "
        f"{kernels.shape[0]}×{kernels.shape[1]}×{kernels.shape[2]} weights; they are not drawn "
        "or matched to classic kernels while some are not numbers."
    )


def filters(client: WorkerClient, path: str, info: ModelInfo):
    """A conv layer's kernels: grid with values on hover, closest classic kernel, frequencies.

    The first conv layer is shown unless the user picks another; 1×1 layers are shown as the
    channel-mixing matrix they are.
    """
    convs = [layer for layer in info.conv_layers if layer.is_map]
    if not convs:
        st.info(
            "This model has no convolution layers, so it has no filters to show: its dense "
            "layers weigh every pixel separately instead of sliding small kernels over the image."
        )
        return
    names = [layer.name for layer in convs]
    chosen = None
    if len(names) > 1:
        chosen = choose_one(
            "Conv layer",
            names,
            key="inspect.filter_layer",
            format_func=lambda n: graph.layer_label(info.layer(n)),
            help="The first layer's filters look at pixels and are the easiest to read. "
            "Deeper filters look at the maps of the layer before them.",
        )
    weights = reported_errors(lambda: client.filters(path, chosen))
    if weights is None:
        return
    kernels = weights.kernels  # (kh, kw, in, out)
    if not np.isfinite(kernels).all():
        _non_finite_weights(weights.layer, kernels)
        return
    count = min(kernels.shape[3], MAX_FILTERS)
    if kernels.shape[:2] == (1, 1):
        _channel_mixing(weights, kernels, count)
        return
    looks_at = "image" if weights.layer == (names[0] if names else None) else "maps before it"
    st.markdown(
        f"Layer **{weights.layer}** has {kernels.shape[3]} filters of "
        f"{kernels.shape[0]}×{kernels.shape[1]}×{kernels.shape[2]} weights. Each one slides over "
        f'the {looks_at} and answers "how much does this patch look like me?" — red weights '
        "add the pixel, blue ones subtract it."
    )
    options = list(range(kernels.shape[2])) + (["rgb"] if kernels.shape[2] == 3 else [])

    def label_of(c) -> str:
        return "RGB composite" if c == "rgb" else channel_name(c, kernels)

    help_text = (
        "A filter has one kernel per input channel; colour models have three (R, G, B). "
        "The composite shows the three as one colour picture."
    )
    forget_stale_choice("inspect.filter_channel", options)
    if len(options) == 1:  # one input channel: nothing to choose
        channel = 0
    elif len(options) <= 4:
        channel = st.radio(
            "Input channel",
            options,
            horizontal=True,
            key="inspect.filter_channel",
            format_func=label_of,
            help=help_text,
        )
    else:
        forget_stale_choice("inspect.filter_channel_list", options)
        channel = st.selectbox(
            "Input channel",
            options,
            key="inspect.filter_channel_list",
            format_func=label_of,
            help=help_text,
        )
    if channel == "rgb":
        colour_tiles = views.rgb_kernel_tiles(kernels[:, :, :, :count])
        st.image(colour_tiles, caption=list(range(count)))
        export_button(views.mosaic(colour_tiles, columns=8), f"Colour filters of {weights.layer}")
        st.caption(
            "Each filter's R, G, B kernels as one colour picture, stretched min–max. Below, "
            "and for the closest classic kernel, the three are summed: what a grey input sees."
        )
        planes = kernels[:, :, :, :count].sum(axis=2)
    else:
        planes = kernels[:, :, channel, :count]
    stack = np.moveaxis(planes, 2, 0)
    picture, limit = views.kernel_mosaic(stack, columns=min(8, count))
    with st.container(key="inspect.filter_grid"):  # a picture: no Plotly to load
        # the picture's own caption (plain text), not a second element for the browser
        explained = (
            "Diverging colours, one scale for all filters (±largest |weight|). Pick a filter "
            "below to read its weights."
        )
        st.image(picture, caption=explained, output_format="PNG")
        st.html(views.colorbar_html(limit, signed=True))
        export_button(picture, f"Filters of {weights.layer}")
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
    index = pick_number(
        "Filter",
        "inspect.filter_index",
        0,
        count - 1,
        help="Shows this filter's weights, what it passes in frequency, and the hand-made "
        "kernel it resembles most.",
        describe=lambda i: f"Filter {i} (0 to {count - 1})",
    )
    kernel = stack[int(index)]
    best = matches[int(index)]
    if best:
        st.markdown(f"**Filter {int(index)} {best[0].describe()}.**")
    response = frequency_response(kernel, size=32)
    columns = st.columns(3)
    with columns[0].container(key="inspect.filter_weights"):  # every weight printed
        show_small_matrix(kernel, title=f"Filter {int(index)} weights")
    with columns[1].container(key="inspect.filter_frequency"):
        st.markdown(f"**Frequency response ({response.kind})**")
        gain = float(response.magnitude.max()) or 1.0
        frequencies = views.colorize(response.magnitude, limit=gain, signed=False)
        frequency_picture = views.enlarge(frequencies, FREQUENCY_PX)
        st.image(frequency_picture, output_format="PNG")
        st.html(views.colorbar_html(gain, signed=False))
        export_button(frequency_picture, f"Frequency response of filter {int(index)}")
    if best:
        with columns[2].container(key="inspect.filter_template"):
            show_small_matrix(best[0].template, title=f"Classic: {best[0].name}")
    st.caption(
        "Frequency response: |Fourier transform| of the kernel, zero frequency in the centre. "
        "A blur keeps the centre (low-pass); an edge detector is dark in the centre because a "
        f"flat patch gives no response (high-pass). Flat-image gain: {response.dc_gain:.3f}."
    )
    table = st.expander(
        "Closest classic kernel of every filter", key="inspect.kernel_table", on_change="rerun"
    )
    with table:
        if table.open is not False:  # folded: no table nor words for the browser to build
            st.dataframe(pd.DataFrame(rows), hide_index=True)
            st.caption(
                "Cosine similarity compares shapes and ignores scale: 1 means the same "
                "pattern, 0 unrelated. Rotations (8 directions) and sign flips are allowed."
            )


def channel_name(channel: int, kernels: np.ndarray) -> str:
    if kernels.shape[2] == 3:
        return f"{'RGB'[channel]} (channel {channel})"
    return f"channel {channel}"


def source_filter(info: ModelInfo, layer: LayerInfo, channel: int):
    """The conv filter that made map `channel` of `layer`: `(conv layer, filter)` or None.

    Follows the map back through layers that keep each channel apart (activations,
    pooling, normalisation) and through a `Concatenate` to the input that holds the
    channel; None when the map mixes several convolutions (an `Add`) or has none.
    """
    current = layer
    while current is not None:
        if current.kind == "conv":
            return current, channel
        if current.kind == "merge":
            for source, start, end in graph.concatenated_sources(info, current):
                if start <= channel < end:
                    current, channel = info.layer(source), channel - start
                    break
            else:
                return None
            continue
        if current.kind not in ("activation", "pooling", "normalization") or not current.inbound:
            return None
        current = next((item for item in info.layers if item.name == current.inbound[0]), None)
    return None


def _map_title(info: ModelInfo, layer: LayerInfo, values: np.ndarray) -> str:
    title = (
        f"{layer.name} ({layer.class_name}, {layer.activation or 'no activation'}) → "
        f"{values.shape[0]}×{values.shape[1]}×{values.shape[2]}"
    )
    if layer.branch:
        title += f" · {graph.branch_note(layer)}"
    return title


def _merge_caption(info: ModelInfo, layer: LayerInfo) -> str:
    """Where a merge's maps come from."""
    stacked = graph.concatenated_sources(info, layer)
    if stacked:
        return (
            "Maps "
            + ", ".join(f"{start}–{end - 1} from {source}" for source, start, end in stacked)
            + " (stacked side by side)."
        )
    sources = " and ".join(dict.fromkeys(layer.inbound))
    return f"Each map combines the maps of the same number from {sources} ({layer.class_name})."


def feature_maps(client: WorkerClient, path: str, info: ModelInfo, maps: FeatureMaps):
    """Every conv / activation / pooling / merge output as a grid, and one map enlarged.

    In a model with branches the layers are grouped: the main path, and before each merge
    one group per branch it joins, under a heading that says what the merge does.
    """
    if not info.map_layers:
        st.info(NO_MAPS)
        return
    shared = st.toggle(
        "Shared colour scale per layer",
        value=True,
        key="inspect.shared_scale",
        help="On: all maps of a layer use one scale, so a faint map really is weak. Off: each "
        "map is stretched to its own maximum, which shows the pattern of weak maps too.",
    )
    branched = graph.has_branches(info)
    groups = graph.group_by_branch(info, info.map_layers)
    position = 0
    for index, group in enumerate(groups):
        previous = groups[index - 1].block if index else None
        if branched and group.block != previous:
            heading = graph.block_heading(info, group.block) if group.block else graph.MAIN_PATH
            st.markdown(f"##### {heading}")
        if group.block:
            st.markdown(graph.branch_heading(group.layers[0]))
        for layer in group.layers:
            values = maps.maps[layer.name]
            if not_numbers(values):
                with st.expander(_map_title(info, layer, values), expanded=position == 0):
                    st.warning(nan_weights_message(f"the maps of {layer.name}", info.nan_layers))
                position += 1
                continue
            tiles, _, description = views.map_tiles(values, shared=shared, limit_count=MAX_FILTERS)
            with st.expander(_map_title(info, layer, values), expanded=position == 0):
                if seen():
                    mosaic = views.mosaic(tiles, columns=8)
                    st.image(mosaic, width="stretch")
                    export_button(mosaic, f"Feature maps of {layer.name}")
                shown = (
                    "" if values.shape[2] <= MAX_FILTERS else f" First {MAX_FILTERS} maps shown."
                )
                merged = f" {_merge_caption(info, layer)}" if layer.kind == "merge" else ""
                st.caption(description + shown + merged)
            position += 1
        following = groups[index + 1].block if index + 1 < len(groups) else None
        if group.block and following != group.block:  # inputs of the merge with no layers
            for line in graph.unchanged_inputs(info, group.block):
                st.markdown(line)
    st.markdown("#### Enlarge one map beside the kernel that made it")
    names = [layer.name for layer in info.map_layers]
    left, right = st.columns(2)
    forget_stale_choice("inspect.enlarge_layer", names)
    name = left.selectbox(
        "Layer",
        names,
        key="inspect.enlarge_layer",
        format_func=lambda n: graph.layer_label(info.layer(n)),
        help="Which layer's map to enlarge.",
    )
    values = maps.maps[name]
    forget_stale_choice("inspect.enlarge_channel", range(values.shape[2]))
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
    if not_numbers(plane):
        st.warning(nan_weights_message(f"map {channel} of {name}", info.nan_layers))
        return
    signed = bool(plane.min() < 0)
    columns = st.columns(2)
    plotly_chart(
        views.heatmap_figure(plane, title=f"{name}, map {channel}", signed=signed, height=380),
        container=columns[0],
        config=views.PLOTLY_CONFIG,
        key="inspect.enlarged_map",
    )
    source = source_filter(info, info.layer(name), channel)
    if source is None:
        columns[1].info("This map was not made by a single conv filter.")
        return
    conv, number = source
    weights = reported_errors(lambda: client.filters(path, conv.name))
    if weights is None or number >= weights.kernels.shape[3]:
        return
    kernel = np.moveaxis(weights.kernels[:, :, :, number], 2, 0)[:MAX_FILTERS]
    if not_numbers(kernel):
        columns[1].warning(nan_weights_message(f"filter {number} of {conv.name}", (conv.name,)))
        return
    with columns[1]:
        if conv.kernel_size == (1, 1) and len(kernel) > 1:
            figure = views.heatmap_figure(
                kernel[:, 0, 0][np.newaxis],
                title=f"Filter {number} of {conv.name}: a weight per input map",
                signed=True,
                height=200,
            )
        elif len(kernel) == 1:
            figure = views.heatmap_figure(
                kernel[0], title=f"Filter {number} of {conv.name}", signed=True, height=380
            )
        else:
            figure = views.kernel_grid_figure(
                kernel,
                titles=[f"in {i}" for i in range(len(kernel))],
                columns=min(8, len(kernel)),
                height_per_row=110,
            )
        plotly_chart(figure, config=views.PLOTLY_CONFIG, key="inspect.enlarged_kernel")
        st.caption(
            f"Filter {number} of {conv.name}: one {conv.kernel_size[0]}×"
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
    forget_stale_choice("inspect.pool_layer", names)
    pool = info.layer(
        left.selectbox(
            "Pooling layer",
            names,
            key="inspect.pool_layer",
            format_func=lambda n: graph.layer_label(info.layer(n)),
            help="A pooling layer and the map it shrinks.",
        )
    )
    source = info.layer(pool.inbound[0])
    before, after = maps.maps.get(source.name), maps.maps[pool.name]
    if before is None:
        st.info(f"The input of {pool.name} is not a feature map shown here.")
        return
    if not_numbers(before) or not_numbers(after):
        st.warning(nan_weights_message(f"what {pool.name} does to its maps", info.nan_layers))
        return
    forget_stale_choice("inspect.pool_channel", range(after.shape[2]))
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
        if seen():
            column.image(enlarged, width=int(enlarged.shape[1]))
            export_button(enlarged, name, container=column)
        scale_note = "blue < 0 < red" if signed else f"dark 0 → yellow {readable(end)}"
        column.caption(f"{values.shape[0]}×{values.shape[1]}, {note or 'colours'} {scale_note}")
    if pre is not None and activation == "ReLU":
        zeroed = float((pre <= 0).mean())
        st.caption(f"ReLU replaced {zeroed:.0%} of the values (all the negative ones) with 0.")
    shrinks = pooled.shape[:2] != plane.shape[:2]
    if "Max" in pool.class_name and shrinks:
        how = "keeps the strongest response in each window: the map shrinks but the bright spots "
        how += "survive, and small shifts of the input barely change it"
    elif "Max" in pool.class_name:
        how = "keeps the strongest response in each window; with stride 1 and 'same' padding "
        how += "the map keeps its size and each bright spot spreads over a window"
    else:
        how = "averages each window: the map " + ("shrinks" if shrinks else "keeps its size")
        how += " and gets smoother"
    size = (
        f"so the pooled map really is smaller: {plane.shape[0]}×{plane.shape[1]} → "
        f"{pooled.shape[0]}×{pooled.shape[1]}"
        if shrinks
        else f"both {plane.shape[0]}×{plane.shape[1]}"
    )
    st.caption(
        f"Drawn at the same scale ({scale} screen pixels per unit), {size}. "
        f"{pool.class_name} {how}. The map and its pooled version share one colour scale."
    )
