"""Inspect page, "Top 9 images" tab: beside a filter's top-9 real images, the input that
filter likes most, made from noise by gradient ascent in the worker
(`core.worker.feature_visualisation`). Follows the tab's own layer and filter picks."""

from __future__ import annotations

import streamlit as st

from core.base.numbers import readable
from core.jobs.inspection import FEATURE_TIME_BUDGET, FeatureVisualisation, ModelInfo
from core.jobs.worker_client import WorkerClient, model_key
from ui.inspect import views
from ui.inspect.layer_sections import reported_errors
from ui.widgets.figure_export import export_button
from ui.widgets.link_params import number
from ui.widgets.tab_charts import charts_shown

SEED_KEY = "inspect.dream_seed"
MAX_SEED = 1_000_000
LINK_FIELDS = (number("dseed", SEED_KEY, 0, low=0, high=MAX_SEED),)  # in the page's link
SIDE = 224  # pixels on screen, about two of the top-9 images


def chosen_unit(info: ModelInfo) -> tuple[str, int] | None:
    """The layer and channel the top-9 controls picked (their defaults before they are drawn).

    >>> from core.jobs.inspection import LayerInfo
    >>> layer = LayerInfo("conv", "Conv2D", "conv", (6, 6, 4), 40)
    >>> chosen_unit(ModelInfo("m", "m", (8, 8, 1), 2, (layer,), 40))
    ('conv', 0)
    """
    names = [layer.name for layer in info.map_layers]
    if not names:
        return None
    layer = st.session_state.get("inspect.top_layer", names[0])
    layer = layer if layer in names else names[0]
    channels = info.layer(layer).output_shape[-1]
    channel = st.session_state.get("inspect.top_filter", 0)
    channel = channel if isinstance(channel, int) and 0 <= channel < channels else 0
    return layer, channel


@st.cache_data(max_entries=64, show_spinner=False)
def _visualise(key: tuple, layer: str, channel: int, seed: int, _client) -> FeatureVisualisation:
    """One visualisation per model file, layer, channel and seed (`key` changes with the file)."""
    return _client.feature_visualisation(key[0], layer, channel, seed=seed)


def summary(result: FeatureVisualisation) -> str:
    """What the picture is, in words, with how much more it excites the filter than noise.

    >>> import numpy as np
    >>> text = summary(FeatureVisualisation("conv2d_1", 3, np.zeros((2, 2, 1)), 0.75, 0.05,
    ...                                     160, 1.234, False))
    >>> text[:62]
    'Mean response of filter 3 here: 0.75, on the grey noise it sta'
    >>> text[62:]
    'rted from: 0.05 (15 times as much). 160 steps in 1.2 s.'

    """
    ratio = ""
    if result.start_activation > 0:
        times = result.activation / result.start_activation
        ratio = f" ({readable(times, digits=2)} times as much)"
    stop = " (stopped at the time limit)" if result.stopped_early else ""
    return (
        f"Mean response of filter {result.channel} here: {readable(result.activation, digits=2)}, "
        f"on the grey noise it started from: {readable(result.start_activation, digits=2)}"
        f"{ratio}. {result.steps} steps in {readable(result.seconds, digits=2)} s{stop}."
    )


def feature_visualisation(client: WorkerClient, path: str, info: ModelInfo) -> None:
    """The input that excites the top-9 tab's filter most, with a spinner while it is made."""
    unit = chosen_unit(info)
    if unit is None:
        return  # the top-9 section already said that this model has no maps
    layer, channel = unit
    st.markdown(f"**What filter {channel} of {layer} likes most**")
    seed = int(
        st.number_input(
            "Start from noise number",
            min_value=0,
            max_value=MAX_SEED,
            value=0,
            key=SEED_KEY,
            help="Each number starts from other random noise; the same number gives the same "
            "picture.",
        )
    )
    if layer in info.nan_affected:
        return  # the top-9 section shows the warning
    if not charts_shown():
        return  # a closed tab asks the worker for nothing
    with st.spinner(
        f"Making the input filter {channel} likes most (at most {FEATURE_TIME_BUDGET:.0f} s)…"
    ):
        result = reported_errors(lambda: _visualise(model_key(path), layer, channel, seed, client))
    if result is None:
        return
    liked = views.enlarge(views.input_rgb(result.image), SIDE)
    st.image(liked, width=SIDE)
    export_button(liked, f"The input filter {channel} of {layer} likes most")
    st.caption(
        "Made from faint grey noise by gradient ascent: each step changes the pixels to raise "
        "the filter's mean response, shifted by a pixel or two at random (jitter) and kept "
        "smooth, pixels kept in 0–1. " + summary(result)
    )
