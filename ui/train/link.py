"""The Train page's link: the data set and its preprocessing, augmentation, the kind of
architecture and its preset, and the training settings (see ``ui.widgets.page_link``).
``run=`` (the run the page follows) stays the page's own. The layers edited by hand,
uploads and server folders' contents are not in the link.

The widgets draw their own defaults, so a restore puts only what the link changes.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from core.data.preprocessing import COLOR_MODES, RESIZE_MODES
from core.jobs.train_config import FLIP_MODES, OPTIMIZERS
from core.nets.gallery import TRAIN_PRESETS
from ui.train.architecture import OWN_STACK_LABEL
from ui.train.data import SIZE_CHOICES, SOURCE_LABELS
from ui.train.settings import BATCH_SIZES, DEFAULTS, LIMITS
from ui.train.transfer import TRANSFER_LABEL
from ui.widgets.link_fields import tab_link
from ui.widgets.link_params import LinkField, choice, flag, number
from ui.widgets.page_link import PageLink

DEFAULT_DATA = next(iter(SOURCE_LABELS))


AUTO = "auto"  # the data set's own default (a preset, an input size, a colour mode)


ARCHITECTURES = (OWN_STACK_LABEL, TRANSFER_LABEL)


MAX_IMAGES = 1_000_000  # "train on at most"; the page pulls it inside the data set


def _per_dataset(name: str, prefix: str, choices) -> LinkField:
    """A control keyed per data set (``f"{prefix}.{data set}"``): "auto" is its own default."""

    def key(state: Mapping) -> str:
        return f"{prefix}.{state.get('train.dataset', DEFAULT_DATA)}"

    def get(state: Mapping):
        return state.get(key(state), AUTO)

    def put(value) -> None:
        state = st.session_state
        if value == AUTO:
            state.pop(key(state), None)
        else:
            state[key(state)] = value

    return LinkField(name, AUTO, "choice", (), (AUTO, *choices), get=get, put=put)


def _setting(name: str, key: str) -> LinkField:
    """A numeric training setting: its default and range are the settings popover's own."""
    low, high = LIMITS[key]
    return number(name, key, DEFAULTS[key], low=low, high=high)


LINK = PageLink(
    "train",
    [
        choice("data", "train.dataset", DEFAULT_DATA, tuple(SOURCE_LABELS)),
        _per_dataset("size", "train.target_size", SIZE_CHOICES),
        _per_dataset("color", "train.color_mode", COLOR_MODES),
        _per_dataset("resize", "train.resize_mode", RESIZE_MODES),
        choice("flip", "train.aug_flip", FLIP_MODES[0], FLIP_MODES),
        number("rot", "train.aug_rotation", 0, low=0, high=90),
        number("shift", "train.aug_shift", 0.0, low=0.0, high=0.5),
        number("zoom", "train.aug_zoom", 0.0, low=0.0, high=0.5),
        tab_link(
            "arch",
            "train.architecture_kind",
            (OWN_STACK_LABEL, TRANSFER_LABEL),
            ("own", "transfer"),
        ),
        _per_dataset("preset", "train.preset", tuple(TRAIN_PRESETS)),
        choice("opt", "train.optimizer", DEFAULTS["train.optimizer"], OPTIMIZERS),
        _setting("lr", "train.learning_rate"),
        choice("batch", "train.batch_size", DEFAULTS["train.batch_size"], BATCH_SIZES),
        _setting("epochs", "train.epochs"),
        _setting("val", "train.validation"),
        number("cap", "train.max_samples", DEFAULTS["train.max_samples"], low=0, high=MAX_IMAGES),
        _setting("seed", "train.seed"),
        flag("best", "train.restore_best", DEFAULTS["train.restore_best"]),
    ],
    keep=("run",),
    css_keys={
        "size": ("train.target_size.*",),
        "color": ("train.color_mode.*",),
        "resize": ("train.resize_mode.*",),
        "preset": ("train.preset.*",),
    },
    put_defaults=False,
)


def train_this(preset: str, dataset: str) -> dict[str, str]:
    """The Train page's link that opens ``preset`` on ``dataset`` (the gallery's "Train this").

    >>> train_this("lenet5", "mnist"), train_this("tinyvgg", "cifar10")
    ({'preset': 'lenet5'}, {'data': 'cifar10', 'preset': 'tinyvgg'})
    """
    params = {"data": dataset, "preset": preset}
    if dataset == DEFAULT_DATA:
        del params["data"]
    return params
