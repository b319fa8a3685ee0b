"""The Inspect a Network page's link: the model, the input (test image and how it was
picked), the open tab and the layer, channel and class picks of every tab (see
``ui.widgets.page_link``). Uploaded models, photos, drawings and camera shots stay private.

Which layers and channels exist depends on the model, so those are checked by the page
itself: a pick the model lacks is named in the warning as stale (``LINK.finish``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import streamlit as st

from ui.inspect import attack, feature_visualisation
from ui.inspect.inputs import KINDS, PICK_MODES
from ui.inspect.models import DEFAULT_BUNDLED
from ui.widgets.closed_tabs import keep
from ui.widgets.link_fields import tab_link
from ui.widgets.link_params import LinkField, choice, flag, number
from ui.widgets.page_link import PageLink

# Short enough for the row of nine to fit a 1280-pixel-wide screen beside the sidebar; links
# name a tab by its slug, so a link made when the labels were longer opens the same tab.
TAB_NAMES = (
    "Filters",
    "Feature maps",
    "Pooling & ReLU",
    "Receptive field",
    "Saliency",
    "Top 9 images",
    "Summary",
    "Compare & replay",
    "Attack",
)


TAB_SLUGS = (
    "filters",
    "maps",
    "pooling",
    "field",
    "saliency",
    "top",
    "summary",
    "compare",
    "attack",
)


# The controls of each tab, by slug: a closed tab draws nothing and keeps these values.
TAB_KEYS = {
    "filters": (
        "inspect.filter_layer",
        "inspect.filter_channel",
        "inspect.filter_channel_list",
        "inspect.filter_index",
    ),
    "maps": (
        "inspect.shared_scale",
        "inspect.enlarge_layer",
        "inspect.enlarge_channel",
        "inspect.unit_layer",
        "inspect.unit_filter",
        "inspect.unit_row",
        "inspect.unit_col",
    ),
    "pooling": ("inspect.pool_layer", "inspect.pool_channel"),
    "field": ("inspect.rf_layer", "inspect.rf_channel", "inspect.rf_row_", "inspect.rf_col_"),
    "saliency": ("inspect.cam_class", "inspect.cam_layer"),
    "top": ("inspect.top_layer", "inspect.top_filter", feature_visualisation.SEED_KEY),
    "summary": ("inspect.mistake_true", "inspect.mistake_predicted"),
    "compare": (
        "inspect.compare_with",
        "inspect.compare_model",
        "inspect.compare_epoch_a",
        "inspect.compare_epoch_b",
        "inspect.compare_layer",
        "inspect.compare_class",
        "inspect.replay_epoch",
        "inspect.replay_layer",
        "inspect.replay_channel",
    ),
    "attack": tuple(key for field in attack.LINK_FIELDS for key in field.keys),
}

# Picks of a layer by name: one the model lacks is forgotten even while its tab is closed.
LAYER_KEYS = frozenset(key for keys in TAB_KEYS.values() for key in keys if key.endswith("_layer"))


def keep_closed(slug: str, layer_names) -> None:
    """Keep the control values of the closed tab ``slug``, which draws nothing this run.

    A layer pick that names none of ``layer_names`` (a link made for another model) is
    forgotten, so the link's warning names it as stale at once. Keys ending in "_" stand for
    every key they begin (one per layer).
    """
    state = st.session_state
    keys = []
    for key in TAB_KEYS[slug]:
        keys += [name for name in state if name.startswith(key)] if key.endswith("_") else [key]
    for key in LAYER_KEYS.intersection(keys):
        if key in state and state[key] not in layer_names:
            del state[key]
    keep(keys)


AUTO = "auto"  # the page's own choice (the last conv layer, the first channel, ...)


MODEL_SOURCES = ("bundled", "saved")  # uploads stay private


_NAME = re.compile(r"[\w.\-]{1,100}")


def _parse_model(text: str) -> str:
    source, _, name = text.strip().partition(":")
    if source not in MODEL_SOURCES or not _NAME.fullmatch(name):
        raise ValueError("must be bundled:<model name> or saved:<model name>")
    return f"{source}:{name}"


def _get_model(state: Mapping) -> str:
    source = state.get("inspect.model_source", "bundled")
    if source not in MODEL_SOURCES:
        return f"bundled:{DEFAULT_BUNDLED}"
    return f"{source}:{state.get(f'inspect.model_{source}', DEFAULT_BUNDLED)}"


def _put_model(value: str) -> None:
    source, _, name = value.partition(":")
    st.session_state["inspect.model_source"] = source
    st.session_state[f"inspect.model_{source}"] = name


def _parse_pick(text: str):
    """A layer name, or a channel, filter or class number."""
    text = text.strip()
    if re.fullmatch(r"-?[0-9]{1,6}", text):
        return int(text)
    if not _NAME.fullmatch(text):
        raise ValueError("is not a layer name or a number")
    return text


def _pick(name: str, key: str, parse=_parse_pick) -> LinkField:
    """A pick among the model's layers, channels or classes; "auto" is the page's own."""

    def get(state: Mapping):
        return state.get(key, AUTO)

    def put(value) -> None:
        if value == AUTO:
            st.session_state.pop(key, None)
        else:
            st.session_state[key] = value

    return LinkField(name, AUTO, "text", (key,), parse=parse, get=get, put=put)


LINK = PageLink(
    "inspect",
    [
        LinkField(
            "model",
            f"bundled:{DEFAULT_BUNDLED}",
            "text",
            parse=_parse_model,
            get=_get_model,
            put=_put_model,
        ),
        _pick("data", "inspect.dataset"),
        choice("input", "inspect.input_kind", KINDS[0], KINDS),
        choice("pick", "inspect.pick_mode", PICK_MODES[0], PICK_MODES),
        number("index", "inspect.test_index", 0, low=0, high=1_000_000),
        _pick("cls", "inspect.pick_class"),
        number("nclass", "inspect.position_class", 1, low=1, high=1_000_000),
        number("nwrong", "inspect.position_misclassified", 1, low=1, high=1_000_000),
        tab_link("tab", "inspect.tab", TAB_NAMES, TAB_SLUGS),
        _pick("flayer", "inspect.filter_layer"),
        _pick("fchannel", "inspect.filter_channel"),
        _pick("fchannels", "inspect.filter_channel_list"),
        _pick("filter", "inspect.filter_index"),
        flag("shared", "inspect.shared_scale", True),
        _pick("mlayer", "inspect.enlarge_layer"),
        _pick("mchannel", "inspect.enlarge_channel"),
        _pick("player", "inspect.pool_layer"),
        _pick("pchannel", "inspect.pool_channel"),
        _pick("rlayer", "inspect.rf_layer"),
        _pick("rchannel", "inspect.rf_channel"),
        _pick("cclass", "inspect.cam_class"),
        _pick("clayer", "inspect.cam_layer"),
        _pick("tlayer", "inspect.top_layer"),
        _pick("tfilter", "inspect.top_filter"),
        choice("cmp", "inspect.compare_with", "model", ("model", "epochs")),
        _pick("cmodel", "inspect.compare_model", parse=_parse_model),
        _pick("ca", "inspect.compare_epoch_a"),
        _pick("cb", "inspect.compare_epoch_b"),
        _pick("cmlayer", "inspect.compare_layer"),
        _pick("cmclass", "inspect.compare_class"),
        _pick("repoch", "inspect.replay_epoch"),
        _pick("rplayer", "inspect.replay_layer"),
        _pick("rpchannel", "inspect.replay_channel"),
        *feature_visualisation.LINK_FIELDS,
        *attack.LINK_FIELDS,
    ],
    css_keys={"model": ("inspect.model_source", "inspect.model_bundled", "inspect.model_saved")},
    put_defaults=False,
)
