"""Inspect page sections about the whole model: input and prediction, receptive field, saliency
and Grad-CAM, top activating images and the layer summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.base.numbers import readable
from core.data.catalog import display_name
from core.jobs.inspection import FeatureMaps, ModelInfo, nan_weights_message
from core.jobs.worker_client import WorkerClient
from core.ops.receptive_field import input_region
from ui.inspect import graph, views
from ui.inspect.inputs import InputSample, TestSet
from ui.inspect.layer_sections import (
    NO_MAPS,
    forget_stale_choice,
    not_numbers,
    reported_errors,
    seen,
)
from ui.widgets.bar_list import show_bars
from ui.widgets.figure_export import export_button
from ui.widgets.tab_charts import plotly_chart

INPUT_PX = 256  # the input is enlarged by a whole factor to at least this side


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
        with st.container(key="inspect.input_chart"):  # a picture: no Plotly to load
            seen_input = views.enlarge(views.input_rgb(image), INPUT_PX)
            st.image(seen_input, caption="What the network sees", output_format="PNG")
            export_button(seen_input, "What the network sees")
        st.caption(
            f"{sample.label}: {image.shape[0]}×{image.shape[1]}×{image.shape[2]}, values "
            f"{image.min():.2f} to {image.max():.2f} (0 = black, 1 = white), each pixel "
            "drawn as a square."
        )
    with right:
        if not_numbers(maps.probabilities):
            st.warning(nan_weights_message("its prediction"))
            return
        predicted = int(np.argmax(maps.probabilities))
        verdict = ""
        if sample.true_class is not None:
            verdict = " :green[— correct]" if predicted == sample.true_class else " :red[— wrong]"
        st.markdown(
            f"**Prediction: {class_names[predicted]}** "
            f"({maps.probabilities[predicted]:.1%}){verdict}"
        )
        probabilities = maps.probabilities
        show_bars(
            probabilities,
            [f"{n} ✓" if i == sample.true_class else n for i, n in enumerate(class_names)],
            texts=[f"{p:.1%}" for p in probabilities],
            top=1.0,
            highlight=predicted,
            key="inspect.prediction_chart",
        )
        st.caption(
            "The softmax output: one probability per class, summing to 100%. ✓ marks "
            "the true class when it is known. The network answered in "
            f"{readable(maps.worker_ms / 1000, digits=2)} s."
        )


def _size(field) -> str:
    return f"{field.size[0]}×{field.size[1]}"


def _merge_note(step: graph.FieldStep) -> str:
    if not step.branches:
        return ""
    sizes = ", ".join(f"{_size(field)} via {name}" for name, field in step.branches)
    return f"union of its inputs' windows: {sizes}"


def receptive_field(info: ModelInfo, sample: InputSample, maps: FeatureMaps):
    """Pick a unit in a deeper map and outline the input pixels it depends on.

    Behind a merge the window is the union of the branches' windows (`graph.field_steps`),
    and the page says that it is a maximum over branches.
    """
    names = [layer.name for layer in info.map_layers]
    if not names:
        st.info(
            "This model has no convolution or pooling layers: every unit of its first dense "
            "layer sees the whole input, so there is no receptive field to trace."
        )
        return
    columns = st.columns(4)
    forget_stale_choice("inspect.rf_layer", names)
    name = columns[0].selectbox(
        "Layer",
        names,
        index=len(names) - 1,
        key="inspect.rf_layer",
        format_func=lambda n: graph.layer_label(info.layer(n)),
        help="Deeper layers see larger windows of the input.",
    )
    values = maps.maps[name]
    forget_stale_choice("inspect.rf_channel", range(values.shape[2]))
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
    try:
        steps = graph.field_steps(info, name)
    except ValueError as error:
        st.info(f"The receptive field of {name} cannot be worked out here: {error}")
        return
    field = steps[-1].field
    row, col = min(row, field.output_size[0] - 1), min(col, field.output_size[1] - 1)
    full = input_region(field, row, col)
    region = input_region(field, row, col, input_size=tuple(info.input_shape[:2]))
    left, right = st.columns([3, 2])
    plotly_chart(
        views.region_figure(sample.image, region, full, title=f"{name}[{row}, {col}] sees this"),
        container=left,
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
    value = values[row, col, channel]
    shown = "not a number: this model's weights hold NaN" if not_numbers(value) else f"{value:.3f}"
    right.markdown(
        f"Unit ({row}, {col}) of map {channel} in **{name}** (value "
        f"{shown}) depends on a **{field.size[0]}×{field.size[1]}** "
        f"window of the input.{clipped} Neighbouring units are {field.jump[0]} pixels apart."
    )
    merges = [step for step in steps if step.is_maximum]
    if merges:
        right.markdown(
            "This is a **maximum over branches**: "
            + "; ".join(
                f"{step.layer} joins windows of "
                + " and ".join(f"{_size(f)} ({n})" for n, f in step.branches)
                for step in merges
            )
            + ". A unit after a merge depends on every branch, so its window is their union: "
            "the largest branch decides it. The table follows that branch."
        )
    layer_of = {layer.name: layer for layer in info.layers}
    if seen():  # a closed tab's table is left out
        right.dataframe(
            pd.DataFrame(
                [
                    {
                        "layer": step.layer,
                        "receptive field": _size(step.field),
                        "jump": step.field.jump[0],
                        "map size": f"{step.field.output_size[0]}×{step.field.output_size[1]}",
                        "branch": graph.branch_note(layer_of[step.layer])
                        if step.layer in layer_of
                        else "",
                        "note": _merge_note(step),
                    }
                    for step in steps
                ]
            ),
            hide_index=True,
        )
    right.caption(
        "Each k×k layer adds (k − 1) × jump pixels to the window; each stride or "
        "pooling multiplies the jump. At a merge the window is the union of its inputs' windows."
    )


def attributions(client, path, info: ModelInfo, sample: InputSample, maps, class_names):
    """Saliency and Grad-CAM overlays for a chosen class (saliency alone without conv maps)."""
    if not_numbers(maps.probabilities):
        st.warning(nan_weights_message("saliency and Grad-CAM", info.nan_layers))
        return
    predicted = int(np.argmax(maps.probabilities))
    columns = st.columns(2)
    choice = columns[0].selectbox(
        "Explain the class",
        [-1, *range(info.num_classes)],
        key="inspect.cam_class",
        # A label that never changes: Streamlit 1.67 keys a selectbox's value by its label,
        # so "predicted (7)" turning into "predicted (2)" would hand back the old label.
        format_func=lambda i: "the predicted class" if i < 0 else class_names[i],
        help=f"Which class's evidence to show (the network predicts "
        f"{class_names[predicted]}). Try a wrong class: the maps show what would have "
        "argued for it.",
    )
    class_index = predicted if choice < 0 else int(choice)
    candidates = [layer.name for layer in info.map_layers]
    if not candidates:
        _saliency_alone(client, path, sample, class_index, class_names)
        return
    last = info.last_conv
    default = candidates.index(last.name) if last is not None else len(candidates) - 1
    forget_stale_choice("inspect.cam_layer", candidates)
    layer = columns[1].selectbox(
        "Grad-CAM layer",
        candidates,
        index=default,
        key="inspect.cam_layer",
        format_func=lambda n: (
            graph.layer_label(info.layer(n))
            + (" — last convolution" if last is not None and n == last.name else "")
        ),
        help="Grad-CAM weighs this layer's maps by how much they raise the class score. The "
        "last conv layer is the usual choice: coarse but most class-specific. In a branch, "
        "it shows only the evidence that flows through that branch.",
    )
    saliency = reported_errors(lambda: client.saliency(path, sample.image, class_index))
    cam = reported_errors(lambda: client.grad_cam(path, sample.image, class_index, layer=layer))
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
        if seen():  # a closed tab's pictures are left out
            enlarged = views.enlarge(rgb, 240)
            column.image(enlarged, width="stretch")
            export_button(enlarged, title, container=column)
    st.caption(
        f"Explaining **{class_names[class_index]}** (probability {cam.probability:.1%}; the "
        f"gradients are of its {cam.score}, the score before softmax). Saliency: how strongly "
        "each pixel would change that score (|gradient|, bright = sensitive). Grad-CAM: the "
        f"{layer} maps weighted by their average gradient, ReLU, upsampled from "
        f"{cam.coarse.shape[0]}×{cam.coarse.shape[1]}. Both scaled to 0–1, hot = more."
    )
    chosen = info.layer(layer)
    if chosen.branch:
        st.caption(
            f"{layer} lies in a branch ({graph.branch_note(chosen)}): this Grad-CAM sees only "
            f"the evidence that flows through that branch. Pick {chosen.block} (or a layer after "
            "it) for all branches together."
        )


def _saliency_alone(client, path, sample: InputSample, class_index: int, class_names):
    """Saliency for a model without feature maps (a dense network): no Grad-CAM to draw."""
    saliency = reported_errors(lambda: client.saliency(path, sample.image, class_index))
    if saliency is None:
        return
    pictures = st.columns(3)
    for column, (title, rgb) in zip(
        pictures,
        [
            ("Input", views.input_rgb(sample.image)),
            ("Saliency", views.overlay(sample.image, saliency.heatmap)),
        ],
        strict=False,
    ):
        column.markdown(f"**{title}**")
        if seen():  # a closed tab's pictures are left out
            enlarged = views.enlarge(rgb, 240)
            column.image(enlarged, width="stretch")
            export_button(enlarged, title, container=column)
    pictures[2].info("No Grad-CAM: it weighs a layer's feature maps, and this model has none.")
    st.caption(
        f"Explaining **{class_names[class_index]}** (probability {saliency.probability:.1%}; "
        f"the gradients are of its {saliency.score}). Saliency: how strongly each pixel would "
        "change that score (|gradient|, bright = sensitive), scaled to 0–1."
    )


def top_examples(client: WorkerClient, path: str, info: ModelInfo, test: TestSet | None):
    """The test images that excite a chosen filter most, with a progress bar."""
    if test is None:
        st.info("Needs a test set of images like the model's training data.")
        return
    names = [layer.name for layer in info.map_layers]
    if not names:
        st.info(NO_MAPS)
        return
    columns = st.columns(2)
    forget_stale_choice("inspect.top_layer", names)
    layer = columns[0].selectbox(
        "Layer",
        names,
        key="inspect.top_layer",
        format_func=lambda n: graph.layer_label(info.layer(n)),
        help="The search runs once per layer and is then cached.",
    )
    channels = info.layer(layer).output_shape[-1]
    forget_stale_choice("inspect.top_filter", range(channels))
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
    if layer in info.nan_affected:
        st.warning(nan_weights_message(f"the images that excite {layer} most", info.nan_layers))
        return
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
        try:
            field = graph.field_steps(info, layer)[-1].field
        except ValueError:
            field = None  # no window to draw; the images still say what excites the filter
        images, captions = [], []
        scale = max(1, 112 // info.input_shape[0])
        for index, score, row, col in zip(top.indices, top.scores, top.rows, top.cols, strict=True):
            rgb = views.enlarge(views.input_rgb(test.images[int(index)]), 112)
            if field is not None:
                region = input_region(
                    field, int(row), int(col), input_size=tuple(info.input_shape[:2])
                )
                rgb = views.draw_region(rgb, region, scale=scale)
            images.append(rgb)
            label = test.class_names[int(test.labels[int(index)])]
            captions.append(f"#{int(index)} {label}: {score:.2f}")
        st.image(images, caption=captions, width=112)
        export_button(
            views.mosaic(images, columns=9), f"Test images that excite filter {filter_index} most"
        )
        where = (
            " The orange box is the input window of the unit that responded most (its "
            "receptive field)."
            if field is not None
            else ""
        )
        st.caption(f"Searched in {result.seconds:.1f} s.{where}")

    show()


def summary(info: ModelInfo, metadata: dict):
    """Layers, output shapes and parameters per layer; what the model was trained on."""
    if seen():  # a closed tab's table is left out
        st.dataframe(pd.DataFrame(views.summary_rows(info)), hide_index=True)
    conv_params = sum(layer.params for layer in info.layers if layer.kind == "conv")
    st.markdown(
        f"**{info.total_params:,} parameters**, of which {conv_params:,} in convolution layers. "
        f"Input {info.input_shape}, {info.num_classes} classes."
    )
    metrics = metadata.get("metrics") or {}
    if metadata.get("dataset"):
        accuracy = metrics.get("test_accuracy")
        dataset = display_name(str(metadata["dataset"]))
        text = f"Trained on {dataset}"
        if isinstance(accuracy, int | float):
            text += f"; test accuracy {accuracy:.2%}"
        st.caption(text + ".")
    st.caption(
        "A conv layer has (kernel height × width × input channels + 1) × filters "
        "parameters, whatever the image size — weight sharing. Dense layers after "
        "Flatten usually hold most of them."
    )
