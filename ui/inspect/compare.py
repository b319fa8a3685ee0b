"""Inspect's "Compare & replay" tab: two models, or two epochs of one run, on the same input.

Left is the page's model (or an epoch of its run), right the model or epoch picked here;
both get the page's input. Shown side by side: the class probabilities on one axis, the
feature maps of matching layers (`core.jobs.model_comparison.match_layers`, which says
how each pair was matched) and Grad-CAM for one class. Below, the run's replay
(`ui.inspect.replay`). Nothing is asked of the worker while the tab is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.base.paths import BUNDLED_MODELS_DIR
from core.jobs import model_store, run_epochs
from core.jobs.inspection import InferenceError, ModelInfo, ModelRejectedError
from core.jobs.model_comparison import input_mismatch, match_layers
from core.jobs.worker_client import WorkerClient
from ui.inspect import replay, views
from ui.inspect.layer_sections import forget_stale_choice, reported_errors
from ui.widgets.axes import probability_axis
from ui.widgets.figure_export import export_button
from ui.widgets.tab_charts import charts_shown, plotly_chart

COMPARE_WITH = ("model", "epochs")


COMPARE_LABELS = {"model": "Another model", "epochs": "Two epochs of this model's training"}


SOURCES = ("bundled", "saved")


MAX_MAPS = 16  # channels drawn per side


MAPS_WIDTH = 360  # pixels on screen: two sides fit a projector at 150 %


PICTURE_WIDTH = 260


LABELLED = 0.005  # bars below half a percent go unlabelled (the pointer still tells)

SIDE_COLORS = ("#4c78a8", "#ff7f0e")


@dataclass(frozen=True)
class Side:
    """One side of the comparison: a model file, its description and its class names."""

    label: str
    path: str
    info: ModelInfo
    class_names: tuple[str, ...]


def compare_and_replay(client: WorkerClient, choice, info: ModelInfo, sample, maps, class_names):
    """The whole tab: the comparison, then the replay of the model's training run."""
    run_dir = run_epochs.run_dir_of_model(choice.metadata)
    epochs = run_epochs.read_epochs(run_dir) if run_dir is not None else []
    mode = st.radio(
        "Compare with",
        COMPARE_WITH,
        format_func=COMPARE_LABELS.get,
        horizontal=True,
        key="inspect.compare_with",
        help="Another model: any bundled or saved model that takes the same images. Two "
        "epochs: how the model you picked looked at two moments of its training.",
    )
    here = Side(choice.label, choice.path, info, tuple(class_names))
    if mode == "model":
        pair = (here, _other_model(client, choice, class_names))
    else:
        pair = _two_epochs(client, run_dir, epochs, class_names)
    if pair[0] is not None and pair[1] is not None:
        _side_by_side(client, pair[0], pair[1], sample, known={choice.path: maps})
    st.subheader("Training replay")
    replay.replay(client, info, sample, class_names, run_dir, epochs)


def model_options(current_path: str) -> dict[str, model_store.SavedModel]:
    """Every bundled and saved model but the page's own, as ``"bundled:name"`` → model."""
    options = {}
    for source in SOURCES:
        folder = BUNDLED_MODELS_DIR if source == "bundled" else None
        try:
            found = model_store.list_models(models_dir=folder)
        except OSError:
            found = []
        for model in sorted(found, key=lambda m: m.name):
            if Path(model.path).resolve() != Path(current_path).resolve():
                options[f"{source}:{model.name}"] = model
    return options


def _other_model(client: WorkerClient, choice, class_names) -> Side | None:
    options = model_options(choice.path)
    if not options:
        st.info(
            "There is no other model to compare with. Train and save one on the 'Train a "
            "CNN' page, or pick one of the bundled models above."
        )
        return None
    forget_stale_choice("inspect.compare_model", list(options))
    key = st.selectbox(
        "Second model",
        list(options),
        key="inspect.compare_model",
        format_func=lambda k: f"{options[k].title} ({'bundled' if k.startswith('b') else 'saved'})",
        help="Any bundled or saved model. It gets exactly the input above.",
    )
    model = options[key]
    if not charts_shown():
        return None  # a closed tab asks the worker nothing
    info = _load(client, model.path, model.title)
    if info is None:
        return None
    names = model.metadata.get("class_names")
    if not (isinstance(names, list) and len(names) == info.num_classes):
        names = [str(index) for index in range(info.num_classes)]
    return Side(model.title, str(model.path), info, tuple(map(str, names)))


def _two_epochs(client, run_dir, epochs, class_names) -> tuple[Side | None, Side | None]:
    if not epochs:
        st.info(replay.no_epochs_message(run_dir))
        return None, None
    numbers = [saved.epoch for saved in epochs]
    by_number = {saved.epoch: saved for saved in epochs}
    columns = st.columns(2)
    picks = []
    for column, key, default in zip(
        columns, ("inspect.compare_epoch_a", "inspect.compare_epoch_b"), (0, -1), strict=True
    ):
        forget_stale_choice(key, numbers)
        if key not in st.session_state:
            st.session_state[key] = numbers[default]
        picks.append(
            column.selectbox(
                "Left epoch" if default == 0 else "Right epoch",
                numbers,
                key=key,
                format_func=lambda n: replay.epoch_label(by_number[n]),
            )
        )
    if not charts_shown():
        return None, None  # a closed tab asks the worker nothing
    sides = []
    for number in picks:
        saved = by_number[number]
        info = _load(client, saved.path, f"Epoch {number}")
        if info is None:
            return None, None
        sides.append(Side(f"epoch {number}", str(saved.path), info, tuple(class_names)))
    return sides[0], sides[1]


def _load(client: WorkerClient, path, label: str) -> ModelInfo | None:
    try:
        with st.spinner(f"Loading {label}…"):
            info = client.model_info(path)
    except (ModelRejectedError, InferenceError, OSError, ValueError) as error:
        st.error(f"**{label}** could not be loaded: {error}")
        return None
    if info.problem:
        st.error(f"**{label}** cannot be compared here. {info.problem}")
        return None
    return info


def _side_by_side(client: WorkerClient, left: Side, right: Side, sample, *, known) -> None:
    problem = input_mismatch(left.info, right.info)
    if problem:
        st.warning(
            f"**{right.label}** cannot look at this input: {problem}. Pick a model made for "
            "the same kind of images."
        )
        return
    with st.spinner("Running both models on the input…"):
        maps = [  # the page's own model has answered already
            known.get(side.path)
            or reported_errors(lambda s=side: client.feature_maps(s.path, sample.image))
            for side in (left, right)
        ]
    if maps[0] is None or maps[1] is None:
        return
    st.markdown("**Probabilities** on the same input")
    plotly_chart(probabilities_figure(left, right, maps[0].probabilities, maps[1].probabilities))
    if left.class_names != right.class_names:
        st.caption(
            f"The two models name their classes differently: bars are labelled with "
            f"{left.label}'s names, and the pointer shows {right.label}'s own."
        )
    _matching_maps(left, right, maps)
    _grad_cams(client, left, right, sample, maps)


def probabilities_figure(left: Side, right: Side, p_left, p_right) -> go.Figure:
    """Both models' class probabilities as bars on one 0–100 % axis (two series).

    With other class names on the right, its bars are labelled with them in the hover.
    """
    names = list(left.class_names)
    fig = go.Figure()
    for side, values, color in ((left, p_left, SIDE_COLORS[0]), (right, p_right, SIDE_COLORS[1])):
        count = min(len(names), len(values))
        fig.add_trace(
            go.Bar(
                x=values[:count],
                y=names[:count],
                orientation="h",
                name=side.label,
                marker_color=color,
                text=[f"{p:.1%}" if p >= LABELLED else "" for p in values[:count]],
                textposition="outside",
                cliponaxis=False,
                customdata=list(side.class_names[:count]),
                hovertemplate="%{customdata}: %{x:.4f}<extra>" + side.label + "</extra>",
            )
        )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(**probability_axis())
    fig.update_layout(
        barmode="group",
        height=70 + 34 * len(names),
        margin=dict(l=0, r=56, t=10, b=30),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
    )
    return fig


def _matching_maps(left: Side, right: Side, maps) -> None:
    matches = match_layers(left.info, right.info)
    st.markdown("**Feature maps** of matching layers")
    if not matches:
        st.info("These two models have no layers with feature maps to match.")
        return
    by_left = {match.left: match for match in matches}
    forget_stale_choice("inspect.compare_layer", list(by_left))
    name = st.selectbox(
        "Layer",
        list(by_left),
        key="inspect.compare_layer",
        format_func=lambda n: by_left[n].describe(),
        help="Layers with the same name in both models are matched; models that share no "
        "convolution names are matched convolution by convolution, in order.",
    )
    match = by_left[name]
    columns = st.columns(2)
    for column, side, layer, side_maps in zip(
        columns, (left, right), (match.left, match.right), maps, strict=True
    ):
        values = side_maps.maps.get(layer)
        if values is None:
            column.info(f"{side.label} returned no maps for {layer}.")
            continue
        tiles, _, scale = views.map_tiles(values, shared=True, limit_count=MAX_MAPS)
        column.markdown(f"{side.label} · **{layer}** · {values.shape[2]} maps")
        mosaic = views.mosaic(tiles, columns=4)
        column.image(mosaic, width=MAPS_WIDTH)
        export_button(mosaic, f"{side.label}: maps of {layer}", container=column)
        shown = (
            f" The first {MAX_MAPS} of {values.shape[2]} maps."
            if values.shape[2] > MAX_MAPS
            else ""
        )
        column.caption(scale + shown)


def _grad_cams(client: WorkerClient, left: Side, right: Side, sample, maps) -> None:
    st.markdown("**Grad-CAM** for the same class")
    count = min(left.info.num_classes, right.info.num_classes)
    predicted = int(np.argmax(maps[0].probabilities))
    forget_stale_choice("inspect.compare_class", [-1, *range(count)])
    choice = st.selectbox(
        "Explain the class",
        [-1, *range(count)],
        key="inspect.compare_class",
        format_func=lambda i: f"what {left.label} predicts" if i < 0 else left.class_names[i],
        help="Both models are asked where the evidence for this one class is.",
    )
    class_index = predicted if choice < 0 or choice >= count else int(choice)
    columns = st.columns(2)
    for column, side in zip(columns, (left, right), strict=True):
        if not side.info.map_layers:
            column.info(f"No Grad-CAM for {side.label}: it has no feature maps to weigh.")
            continue
        cam = reported_errors(lambda s=side: client.grad_cam(s.path, sample.image, class_index))
        if cam is None:
            continue
        overlay = views.enlarge(views.overlay(sample.image, cam.heatmap), 240)
        column.image(overlay, width=PICTURE_WIDTH)
        export_button(overlay, f"{side.label}: Grad-CAM", container=column)
        column.caption(
            f"{side.label}: evidence for **{side.class_names[class_index]}** at {cam.layer} "
            f"(probability {cam.probability:.1%}), scaled to 0–1, hot = more."
        )
