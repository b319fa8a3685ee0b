"""The Kernel Playground's whole setup as a Keras script, for the "Share & download" tab.

The tab is handed the kernel and the picture; the rest of the setup (stride, padding,
border fill, dilation, flip, bias, ReLU, colour handling and channel weights) is read from
the page's widgets, as the lecture link reads it, so the script always matches what the
page shows. ``core.nets.kernel_code`` writes the script.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import streamlit as st

from core.nets.kernel_code import kernel_keras_code
from core.ops.histogram import CHANNEL_NAMES
from ui.kernel_playground.link_state import state_from_widgets
from ui.widgets.image_input import ImageChoice

# The file name the script loads for a picture that is not one of the sample photos.
PLACEHOLDER_PATH = "picture.png"


def channel_weight_keys(prefix: str = "kernel") -> list[str]:
    """The session keys of the summed colour mode's R, G, B weights (``controls.py``'s).

    >>> channel_weight_keys()
    ['kernel.weight_r', 'kernel.weight_g', 'kernel.weight_b']
    """
    return [f"{prefix}.weight_{name[0].lower()}" for name in CHANNEL_NAMES]


def page_keras_code(kernel: np.ndarray, choice: ImageChoice, session: Mapping) -> str:
    """The Keras script that reproduces the page's output for ``kernel`` on ``choice``.

    ``session`` holds the widget values (``st.session_state``); missing ones take the
    page's defaults.

    >>> from ui.widgets.image_input import ImageChoice
    >>> choice = ImageChoice(np.zeros((6, 6), np.float32), "synthetic:impulse", "impulse", (), True)
    >>> code = page_keras_code(np.ones((3, 3)), choice, {"kernel.stride_rows": 2})
    >>> "strides=(2, 1)" in code, 'padding="same"' in code
    (True, True)
    """
    state = state_from_widgets(session, image=choice.name, kernel=kernel, preset="custom")
    colour = choice.pixels.ndim == 3
    padding = state.padding
    if padding == "explicit":
        padding = tuple((pad, pad) for pad in state.explicit_padding)
    path = choice.label if choice.name.startswith("photo:") else PLACEHOLDER_PATH
    code = kernel_keras_code(
        kernel,
        choice.pixels.shape[:2],
        strides=state.strides,
        padding=padding,
        mode=state.mode,
        dilation_rate=state.dilation,
        flip_kernel=state.flip,
        bias=state.bias,
        activation="relu" if state.relu else "linear",
        color=state.color if colour else "grayscale",
        channel_weights=tuple(float(session.get(key, 1.0)) for key in channel_weight_keys()),
        input_channels=3 if colour else 1,
        image_path=path,
    )
    if path == PLACEHOLDER_PATH:
        code = f"# Save the page's input picture as {path} beside this script.\n" + code
    return code


def keras_code_for_page(kernel: np.ndarray, choice: ImageChoice) -> str:
    """``page_keras_code`` with this session's widgets; a note instead when it cannot be written."""
    try:
        return page_keras_code(kernel, choice, st.session_state)
    except (TypeError, ValueError):
        return "# These settings cannot be written as Keras code: fix the ones the page flags."
