"""Train page, part 3: the training settings, in a popover whose label reads their values.

Optimizer, learning rate, batch size, epochs, validation share, image cap, seed and "keep the
best epoch" are drawn only while their popover is open (``folded_popover``); shut, the page
reads them from the session state, where a link or an earlier visit left them. The label
names every value, so nobody has to open it to know what Start will train with.

Why folded: a kind of widget costs a first visit its code and styles once, whatever their
number (``bench/widget_cost.py``: a number input about 0.2× a bare page, a check box about
0.1×). These settings were the page's only number inputs and check box.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import streamlit as st

from core.jobs.train_config import OPTIMIZERS, TrainConfig
from ui.widgets.closed_tabs import folded_popover

SETTINGS_OPEN_KEY = "train.settings_open"


OPTIMIZER_LABELS = {"sgd": "SGD + momentum", "rmsprop": "RMSprop", "adam": "Adam"}


BATCH_SIZES = (16, 32, 64, 128, 256)


# The lowest and highest value the page (and a link) takes for each numeric setting.
LIMITS = {
    "train.learning_rate": (1e-5, 1.0),
    "train.epochs": (1, 50),
    "train.validation": (0.0, 0.5),
    "train.seed": (0, 10_000),
}


_DEFAULT_CONFIG = TrainConfig()


# Each setting's widget key and the value it starts from: TrainConfig's own default.
DEFAULTS = {
    "train.optimizer": _DEFAULT_CONFIG.optimizer,
    "train.learning_rate": _DEFAULT_CONFIG.learning_rate,
    "train.batch_size": _DEFAULT_CONFIG.batch_size,
    "train.epochs": _DEFAULT_CONFIG.epochs,
    "train.validation": _DEFAULT_CONFIG.validation_fraction,
    "train.max_samples": 0,  # 0: every training image
    "train.seed": _DEFAULT_CONFIG.seed,
    "train.restore_best": _DEFAULT_CONFIG.restore_best_weights,
}


def settings_summary(values: Mapping) -> str:
    """The popover's label: every setting's value, in words (missing ones at their default).

    >>> settings_summary({})
    'Adam · learning rate 0.002 · batch 64 · 2 epochs · validation 10 % · all images · seed 0'
    >>> settings_summary({"train.epochs": 1, "train.learning_rate": 1e-5, "train.max_samples": 999})
    'Adam · learning rate 0.00001 · batch 64 · 1 epoch · validation 10 % · 999 images · seed 0'
    >>> settings_summary({"train.optimizer": "sgd", "train.restore_best": True}).split(" · ")[::7]
    ['SGD + momentum', 'best epoch kept']
    """
    value = {key: values.get(key, default) for key, default in DEFAULTS.items()}
    epochs, cap = int(value["train.epochs"]), int(value["train.max_samples"])
    parts = [
        OPTIMIZER_LABELS.get(value["train.optimizer"], str(value["train.optimizer"])),
        f"learning rate {float(value['train.learning_rate']):.6f}".rstrip("0").rstrip("."),
        f"batch {int(value['train.batch_size'])}",
        f"{epochs} epoch" + ("" if epochs == 1 else "s"),
        f"validation {round(100 * float(value['train.validation']))} %",
        f"{cap:,} images" if cap else "all images",
        f"seed {int(value['train.seed'])}",
    ]
    if value["train.restore_best"]:
        parts.append("best epoch kept")
    return " · ".join(parts)


def train_settings(augmentation, num_train_images: int) -> TrainConfig | None:
    """The settings' popover (its widgets drawn only while open) and the `TrainConfig` they make."""
    state = st.session_state
    if state.get("train.max_samples", 0) > num_train_images:  # from a link, or another data set
        state["train.max_samples"] = num_train_images
    popover = folded_popover(
        st,
        "Settings: " + settings_summary(state),
        key=SETTINGS_OPEN_KEY,
        keeps=DEFAULTS,
        icon=":material/tune:",
        width="stretch",
        wrap=True,  # a narrow window (150 % zoom) wraps the label instead of cutting it
        help="Optimizer, learning rate, batch size, epochs, validation share, image cap, seed "
        "and whether to keep the best epoch: the label shows their values.",
    )
    if popover is not None:
        with popover:
            _setting_widgets(num_train_images)
    value = {key: state.get(key, default) for key, default in DEFAULTS.items()}
    validation = float(value["train.validation"])
    cap, batch_size, epochs = (
        int(value[key]) for key in ("train.max_samples", "train.batch_size", "train.epochs")
    )
    used = min(cap or num_train_images, round(num_train_images * (1 - validation)))
    total_batches = max(1, math.ceil(used / batch_size)) * epochs
    try:
        return TrainConfig(
            optimizer=value["train.optimizer"],
            learning_rate=float(value["train.learning_rate"]),
            batch_size=batch_size,
            epochs=epochs,
            validation_fraction=validation,
            augmentation=augmentation,
            seed=int(value["train.seed"]),
            snapshot_every_batches=max(1, total_batches // 40),
            restore_best_weights=bool(value["train.restore_best"] and validation > 0),
            max_train_samples=cap or None,
        )
    except (ValueError, TypeError) as error:
        st.error(f"These training settings do not work: {error}")
        return None


def _setting_widgets(num_train_images: int) -> None:
    """The eight widgets, each drawn with the value the page holds (``DEFAULTS`` if none)."""
    state = st.session_state

    def shown(key: str):
        return state.get(key, DEFAULTS[key])

    columns = st.columns(2)
    columns[0].selectbox(
        "Optimizer",
        OPTIMIZERS,
        index=OPTIMIZERS.index(shown("train.optimizer")),
        key="train.optimizer",
        format_func=OPTIMIZER_LABELS.get,
        help="How the weights move down the gradient. Adam adapts the step per weight and "
        "is a safe first choice.",
    )
    columns[1].number_input(
        "Learning rate",
        *LIMITS["train.learning_rate"],
        value=float(shown("train.learning_rate")),
        format="%.4f",
        step=5e-4,
        key="train.learning_rate",
        help="Size of each step (at the start; it then falls along a cosine to 0).",
    )
    columns = st.columns(2)
    columns[0].select_slider(
        "Batch size",
        BATCH_SIZES,
        value=shown("train.batch_size"),
        key="train.batch_size",
        help="Images per weight update. Smaller: noisier, more updates per epoch.",
    )
    columns[1].number_input(
        "Epochs",
        *LIMITS["train.epochs"],
        int(shown("train.epochs")),
        key="train.epochs",
        help="Passes over the training images.",
    )
    columns = st.columns(2)
    columns[0].slider(
        "Validation share",
        *LIMITS["train.validation"],
        float(shown("train.validation")),
        0.05,
        key="train.validation",
        help="Training images held back to check the network on images it does not learn "
        "from (the validation curves). 0 switches validation off.",
    )
    columns[1].number_input(
        "Train on at most (images, 0 = all)",
        0,
        num_train_images,
        int(shown("train.max_samples")),
        step=256,
        key="train.max_samples",
        help="Train on a stratified subset for a quick demo. 0 uses every training image.",
    )
    columns = st.columns(2)
    columns[0].number_input(
        "Seed",
        *LIMITS["train.seed"],
        int(shown("train.seed")),
        key="train.seed",
        help="Same seed, same split, same starting weights, same shuffling.",
    )
    columns[1].checkbox(
        "Keep the best epoch",
        value=bool(shown("train.restore_best")),
        key="train.restore_best",
        help="At the end (or on Stop), go back to the weights of the epoch with the best "
        "validation accuracy (needs a validation share above 0).",
    )
