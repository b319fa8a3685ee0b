"""The sections of "Inspect a Network", one function per concept.

Each function takes plain values (the model's `ModelInfo`, the input, the `FeatureMaps`)
plus the worker client where it needs more, draws its controls and pictures, and turns
every problem into `st.error` / `st.info`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.datasets import DISPLAY_NAMES
from core.filter_matching import closest_kernels, frequency_response
from core.inference import (
    FeatureMaps,
    InferenceClient,
    InferenceError,
    LayerInfo,
    ModelInfo,
    ModelRejectedError,
)
from core.receptive_field import LayerGeometry, input_region, receptive_fields
from ui import inspect_views as views
from ui.inspect_inputs import InputSample, TestSet

MAX_FILTERS = 64


def _errors(action):
    """Run `action()`; show worker problems as `st.error` and return None."""
    try:
        return action()
    except (ValueError, InferenceError, ModelRejectedError) as error:
        st.error(f"{error}")
        return None


def class_names_for(info: ModelInfo, metadata: dict, test: TestSet | None) -> list[str]:
    """Class names from the sidecar, the test set, or just numbers — one per output."""
    candidates = (
        info.class_names,
        metadata.get("class_names"),
        None if test is None else test.class_names,
    )
    for names in candidates:
        if names is not None and len(names) == info.num_classes:
            return [str(name) for name in names]
    return [str(index) for index in range(info.num_classes)]


def input_and_prediction(sample: InputSample, maps: FeatureMaps, class_names: list[str]):
    """The input as the network sees it beside the class probabilities."""
    left, right = st.columns([2, 3])
    with left:
        image = sample.image
        st.plotly_chart(
            views.image_figure(image, title="What the network sees"),
            config=views.PLOTLY_CONFIG,
            key="inspect.input_chart",
        )
        st.caption(
            f"{sample.label}: {image.shape[0]}×{image.shape[1]}×{image.shape[2]}, values "
            f"{image.min():.2f} to {image.max():.2f} (0 = black, 1 = white). Hover for values."
        )
    with right:
        predicted = int(np.argmax(maps.probabilities))
        verdict = ""
        if sample.true_class is not None:
            verdict = " :green[— correct]" if predicted == sample.true_class else " :red[— wrong]"
        st.markdown(
            f"**Prediction: {class_names[predicted]}** "
            f"({maps.probabilities[predicted]:.1%}){verdict}"
        )
        st.plotly_chart(
            views.prediction_figure(maps.probabilities, class_names, true_class=sample.true_class),
            config=views.PLOTLY_CONFIG,
            key="inspect.prediction_chart",
        )
        st.caption(
            "The softmax output: one probability per class, summing to 100%. ✓ marks "
            "the true class when it is known."
        )


def filters(client: InferenceClient, path: str, info: ModelInfo):
    """First-layer kernels: grid with values on hover, closest classic kernel, frequencies."""
    weights = _errors(lambda: client.filters(path))
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
        format_func=lambda c: "RGB composite" if c == "rgb" else _channel_name(c, kernels),
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


def _channel_name(channel: int, kernels: np.ndarray) -> str:
    if kernels.shape[2] == 3:
        return f"{'RGB'[channel]} (channel {channel})"
    return f"channel {channel}"


def _source_conv(info: ModelInfo, layer: LayerInfo) -> LayerInfo | None:
    """The conv layer whose filters made `layer`'s channels (following first inputs back)."""
    current = layer
    while current is not None:
        if current.kind == "conv":
            return current
        if current.kind not in ("activation", "pooling") or not current.inbound:
            return None
        current = next((item for item in info.layers if item.name == current.inbound[0]), None)
    return None


def feature_maps(client: InferenceClient, path: str, info: ModelInfo, maps: FeatureMaps):
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
    conv = _source_conv(info, info.layer(name))
    if conv is None:
        columns[1].info("This map was not made by a single conv filter.")
        return
    weights = _errors(lambda: client.filters(path, conv.name))
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


def _path_to(info: ModelInfo, name: str) -> list[LayerInfo]:
    """Layers from the input to `name`, following each layer's first input."""
    chain, current = [], info.layer(name)
    while current is not None and current.kind != "input":
        chain.append(current)
        parent = current.inbound[0] if current.inbound else None
        current = next((item for item in info.layers if item.name == parent), None)
    return chain[::-1]


def _geometry(layer: LayerInfo) -> LayerGeometry:
    if layer.kind in ("conv", "pooling") and layer.kernel_size:
        return LayerGeometry(
            layer.name,
            layer.kernel_size,
            layer.strides or 1,
            layer.padding or "valid",
            layer.dilation_rate,
        )
    return LayerGeometry(layer.name)


def receptive_field(info: ModelInfo, sample: InputSample, maps: FeatureMaps):
    """Pick a unit in a deeper map and outline the input pixels it depends on."""
    names = [layer.name for layer in info.map_layers]
    columns = st.columns(4)
    name = columns[0].selectbox(
        "Layer",
        names,
        index=len(names) - 1,
        key="inspect.rf_layer",
        help="Deeper layers see larger windows of the input.",
    )
    values = maps.maps[name]
    channel = min(
        int(
            columns[1].number_input(
                "Map number",
                0,
                values.shape[2] - 1,
                0,
                key="inspect.rf_channel",
                help="Which map; the unit's position defaults to its strongest response.",
            )
        ),
        values.shape[2] - 1,
    )
    strongest = np.unravel_index(int(np.argmax(values[:, :, channel])), values.shape[:2])
    row = int(
        columns[2].slider(
            "Unit row",
            0,
            values.shape[0] - 1,
            int(strongest[0]),
            key=f"inspect.rf_row_{name}",
            help="Row of the unit in the map.",
        )
    )
    col = int(
        columns[3].slider(
            "Unit column",
            0,
            values.shape[1] - 1,
            int(strongest[1]),
            key=f"inspect.rf_col_{name}",
            help="Column of the unit.",
        )
    )
    chain = _path_to(info, name)
    try:
        fields = receptive_fields(
            [_geometry(layer) for layer in chain], input_size=tuple(info.input_shape[:2])
        )
    except ValueError as error:
        st.error(f"Cannot compute the receptive field: {error}")
        return
    field = fields[-1]
    row, col = min(row, field.output_size[0] - 1), min(col, field.output_size[1] - 1)
    full = input_region(field, row, col)
    region = input_region(field, row, col, input_size=tuple(info.input_shape[:2]))
    left, right = st.columns([3, 2])
    left.plotly_chart(
        views.region_figure(sample.image, region, full, title=f"{name}[{row}, {col}] sees this"),
        config=views.PLOTLY_CONFIG,
        key="inspect.rf_figure",
    )
    clipped = (
        ""
        if (region.height, region.width) == field.size
        else (
            f" At the border only {region.height}×{region.width} of it lies on the image; the rest "
            "(dotted) is padding."
        )
    )
    right.markdown(
        f"Unit ({row}, {col}) of map {channel} in **{name}** (value "
        f"{values[row, col, channel]:.3f}) depends on a **{field.size[0]}×{field.size[1]}** "
        f"window of the input.{clipped} Neighbouring units are {field.jump[0]} pixels apart."
    )
    right.dataframe(
        pd.DataFrame(
            [
                {
                    "layer": f.layer,
                    "receptive field": f"{f.size[0]}×{f.size[1]}",
                    "jump": f.jump[0],
                    "map size": f"{f.output_size[0]}×{f.output_size[1]}",
                }
                for f in fields
            ]
        ),
        hide_index=True,
    )
    right.caption(
        "Each k×k layer adds (k − 1) × jump pixels to the window; each stride or "
        "pooling multiplies the jump."
    )


def attributions(client, path, info: ModelInfo, sample: InputSample, maps, class_names):
    """Saliency and Grad-CAM overlays for a chosen class."""
    predicted = int(np.argmax(maps.probabilities))
    columns = st.columns(2)
    choice = columns[0].selectbox(
        "Explain the class",
        [-1, *range(info.num_classes)],
        key="inspect.cam_class",
        format_func=lambda i: f"predicted ({class_names[predicted]})" if i < 0 else class_names[i],
        help="Which class's evidence to show. Try a wrong class: the maps show what would "
        "have argued for it.",
    )
    class_index = predicted if choice < 0 else int(choice)
    candidates = [layer.name for layer in info.map_layers if layer.kind in ("conv", "activation")]
    layer = columns[1].selectbox(
        "Grad-CAM layer",
        candidates,
        index=len(candidates) - 1,
        key="inspect.cam_layer",
        help="Grad-CAM weighs this layer's maps by how much they raise the class score. The "
        "last conv layer is the usual choice: coarse but most class-specific.",
    )
    saliency = _errors(lambda: client.saliency(path, sample.image, class_index))
    cam = _errors(lambda: client.grad_cam(path, sample.image, class_index, layer=layer))
    if saliency is None or cam is None:
        return
    pictures = st.columns(3)
    for column, (title, rgb) in zip(
        pictures,
        [
            ("Input", views.input_rgb(sample.image)),
            ("Saliency", views.overlay(sample.image, saliency.heatmap)),
            (f"Grad-CAM ({layer})", views.overlay(sample.image, cam.heatmap)),
        ],
        strict=True,
    ):
        column.markdown(f"**{title}**")
        column.image(views.enlarge(rgb, 240), width="stretch")
    st.caption(
        f"Explaining **{class_names[class_index]}** (probability {cam.probability:.1%}; the "
        f"gradients are of its {cam.score}, the score before softmax). Saliency: how strongly "
        "each pixel would change that score (|gradient|, bright = sensitive). Grad-CAM: the "
        f"{layer} maps weighted by their average gradient, ReLU, upsampled from "
        f"{cam.coarse.shape[0]}×{cam.coarse.shape[1]}. Both scaled to 0–1, hot = more."
    )


def top_examples(client: InferenceClient, path: str, info: ModelInfo, test: TestSet | None):
    """The test images that excite a chosen filter most, with a progress bar."""
    if test is None:
        st.info("Needs a test set of images like the model's training data.")
        return
    names = [layer.name for layer in info.map_layers]
    columns = st.columns(2)
    layer = columns[0].selectbox(
        "Layer",
        names,
        key="inspect.top_layer",
        help="The search runs once per layer and is then cached.",
    )
    channels = info.layer(layer).output_shape[-1]
    filter_index = min(
        int(
            columns[1].number_input(
                "Filter",
                0,
                channels - 1,
                0,
                key="inspect.top_filter",
                help="Which map of the layer; changing it after the search is instant.",
            )
        ),
        channels - 1,
    )
    scan = client.existing_scan(path, layer, test.reference)
    if st.button(
        f"Find the top 9 among {len(test.images):,} test images",
        key="inspect.top_go",
        help="Runs every test image through the network up to this layer and keeps "
        "each map's strongest response.",
        disabled=scan is not None and scan.error is None,
    ):
        scan = client.scan_activations(path, layer, test.reference)
    if scan is None:
        st.caption(
            "Zeiler & Fergus looked for the images that excite a filter most; that "
            "shows what the filter has learned to detect."
        )
        return

    polling = not scan.finished

    @st.fragment(run_every=0.5 if polling else None)
    def show():
        if not scan.finished:
            st.progress(scan.fraction, text=f"Searched {scan.done:,} of {scan.total:,} images…")
            return
        if polling:  # done: rerun the page once so this fragment stops polling
            st.rerun()
        if scan.error:
            st.error(f"The search failed: {scan.error}")
            return
        result = scan.result
        top = result.top(filter_index, 9)
        chain = [_geometry(item) for item in _path_to(info, layer)]
        field = receptive_fields(chain, input_size=tuple(info.input_shape[:2]))[-1]
        images, captions = [], []
        scale = max(1, 112 // info.input_shape[0])
        for index, score, row, col in zip(top.indices, top.scores, top.rows, top.cols, strict=True):
            rgb = views.enlarge(views.input_rgb(test.images[int(index)]), 112)
            region = input_region(field, int(row), int(col), input_size=tuple(info.input_shape[:2]))
            images.append(views.draw_region(rgb, region, scale=scale))
            label = test.class_names[int(test.labels[int(index)])]
            captions.append(f"#{int(index)} {label}: {score:.2f}")
        st.image(images, caption=captions, width=112)
        st.caption(
            f"Searched in {result.seconds:.1f} s. The orange box is the input window "
            "of the unit that responded most (its receptive field)."
        )

    show()


def summary(info: ModelInfo, metadata: dict):
    """Layers, output shapes and parameters per layer; what the model was trained on."""
    st.dataframe(pd.DataFrame(views.summary_rows(info)), hide_index=True)
    conv_params = sum(layer.params for layer in info.layers if layer.kind == "conv")
    st.markdown(
        f"**{info.total_params:,} parameters**, of which {conv_params:,} in convolution layers. "
        f"Input {info.input_shape}, {info.num_classes} classes."
    )
    metrics = metadata.get("metrics") or {}
    if metadata.get("dataset"):
        accuracy = metrics.get("test_accuracy")
        dataset = DISPLAY_NAMES.get(metadata["dataset"], metadata["dataset"])
        text = f"Trained on {dataset}"
        if isinstance(accuracy, int | float):
            text += f"; test accuracy {accuracy:.2%}"
        st.caption(text + ".")
    st.caption(
        "A conv layer has (kernel height × width × input channels + 1) × filters "
        "parameters, whatever the image size — weight sharing. Dense layers after "
        "Flatten usually hold most of them."
    )
