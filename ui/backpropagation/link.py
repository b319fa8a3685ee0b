"""The Backpropagation page's link: the loaded setup, the input and kernel as typed, every
option, the output gradient or target, the learning rate, the open tab and both steppers
(see ``ui.widgets.page_link``). The defaults are the basic setup, where a first visit starts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import streamlit as st

from core.ops.output_size import PADDING_CHOICES
from ui.backpropagation.controls import (
    GRADIENT_KEY,
    INPUT_KEY,
    KERNEL_KEY,
    MAX_DILATION,
    MAX_INPUT,
    MAX_KERNEL,
    MAX_STRIDE,
    SETUPS,
    SOURCES,
    TARGET_KEY,
)
from ui.widgets.link_fields import example_link, matrix_link, step_link, tab_link
from ui.widgets.link_params import (
    VALUE_LIMIT,
    LinkField,
    choice,
    format_value,
    ints,
    matrix,
    number,
    parse,
)
from ui.widgets.matrix_editor import current_matrix, set_matrix
from ui.widgets.page_link import PageLink

TAB_NAMES = ("∂L/∂W — the weights", "∂L/∂b — the bias", "∂L/∂X — the input", "One step of descent")


TAB_SLUGS = ("weights", "bias", "input", "descent")


AUTO = "auto"  # the page's own output gradient or target, made to fit the output


BASIC = SETUPS["basic"]


def setup_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """What ``ex=`` brings: the setup's input, kernel and options (as Load does)."""
    key = values.get("ex")
    if key not in SETUPS:
        return {}
    setup = SETUPS[key]
    return {
        "pick": key,
        "in": setup.image,
        "k": setup.kernel,
        "s": tuple(setup.strides),
        "pad": setup.padding,
        "p": 1,
        "d": setup.dilation_rate,
        "src": setup.source,
        "bias": 0.0,
        "grad": AUTO,
        "target": AUTO,
        "wstep": 0,
        "xstep": 0,
    }


def output_matrix_link(name: str, key: str) -> LinkField:
    """∂L/∂Y or the target: "auto" (the page's default for the output's shape) or numbers."""
    cells = matrix(name, [[0.0]], get=None, put=None, max_shape=(12, 12))

    def parse_(text: str):
        return AUTO if text.strip().lower() == AUTO else parse(cells, text)

    def format_(value) -> str:
        return AUTO if isinstance(value, str) else format_value(cells, value)

    def get(state: Mapping):
        if f"{key}.values" not in state:
            return AUTO
        values = current_matrix(key, None, state)
        default = state.get(f"{key}.default")
        return AUTO if default is not None and np.array_equal(values, default) else values

    def put(value) -> None:
        if isinstance(value, str):
            st.session_state.pop(f"{key}.values", None)  # the page makes its default again
        else:
            set_matrix(key, value)

    return LinkField(name, AUTO, "text", parse=parse_, format=format_, get=get, put=put)


LINK = PageLink(
    "backprop",
    [
        example_link("ex", "backprop.loaded", "basic", tuple(SETUPS)),
        choice("pick", "backprop.example", "basic", tuple(SETUPS)),
        matrix_link(
            "in",
            INPUT_KEY,
            BASIC.image,
            size_keys=("backprop.in_rows", "backprop.in_cols"),
            max_shape=(MAX_INPUT, MAX_INPUT),
        ),
        matrix_link(
            "k",
            KERNEL_KEY,
            BASIC.kernel,
            size_keys=("backprop.k_rows", "backprop.k_cols"),
            max_shape=(MAX_KERNEL, MAX_KERNEL),
        ),
        ints("s", ("backprop.stride_rows", "backprop.stride_cols"), (1, 1), low=1, high=MAX_STRIDE),
        number("d", "backprop.dilation", 1, low=1, high=MAX_DILATION),
        choice("pad", "backprop.padding", "valid", PADDING_CHOICES),
        number("p", "backprop.pad", 1, low=0, high=4),
        number("bias", "backprop.bias", 0.0, low=-VALUE_LIMIT, high=VALUE_LIMIT),
        choice("src", "backprop.source", "typed", tuple(SOURCES)),
        output_matrix_link("grad", GRADIENT_KEY),
        output_matrix_link("target", TARGET_KEY),
        tab_link("tab", "backprop.tab", TAB_NAMES, TAB_SLUGS),
        step_link("wstep", "backprop.w_stepper"),
        step_link("xstep", "backprop.x_stepper"),
        number("lr", "backprop.lr", 0.01, low=0.0001, high=10.0),
    ],
    css_keys={
        "ex": ("backprop.examples", "backprop.example", "backprop.load"),
        "pick": ("backprop.example",),
        "in": (
            "backprop.in_rows",
            "backprop.in_cols",
            "backprop.random",
            "backprop.input.editor.*",
        ),
        "k": ("backprop.k_rows", "backprop.k_cols", "backprop.kernel.editor.*"),
        "grad": ("backprop.gradient.editor.*",),
        "target": ("backprop.target.editor.*",),
        "wstep": ("backprop.w_stepper.*",),
        "xstep": ("backprop.x_stepper.*",),
    },
    expand=setup_values,
)
