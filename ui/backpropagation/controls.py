"""Controls of the Backpropagation page; they return a plain ``BackpropSettings``.

Every widget has a tooltip and a session key under ``backprop.``. A setup
(``load_setup``) writes all of them at once, before the widgets are drawn, so
one click shows stride 2 or dilation 2. The output gradient (or the MSE
target) is an editable matrix that follows the output's shape: when a stride
or padding change resizes the output, it starts again from a default.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.imaging.seed_examples import CONV_EXAMPLES
from core.ops.output_size import PADDING_CHOICES
from ui.backpropagation.grids import signed
from ui.widgets.closed_tabs import folded_popover, keep
from ui.widgets.link_params import VALUE_LIMIT
from ui.widgets.matrix_editor import (
    editors_expander,
    matrix_editor,
    set_matrix,
    stored_matrix,
)
from ui.widgets.page_link import locked
from ui.widgets.window_steps import example_picker, random_input_button, size_inputs

PREFIX = "backprop"


INPUT_KEY = "backprop.input"


KERNEL_KEY = "backprop.kernel"


LAYER_KEY = "backprop.layer"  # the popover with the layer's sizes and options
LAYER_WIDGETS = tuple(  # the widgets in it
    f"{PREFIX}.{name}"
    for name in (
        *("in_rows", "in_cols", "k_rows", "k_cols", "stride_rows", "stride_cols"),
        *("dilation", "padding", "pad", "bias"),
    )
)


EDITORS_KEY = "backprop.editors"  # whether the expander with the two grids is open


GRADIENT_EDITOR_KEY = "backprop.gradient_open"  # whether the ∂L/∂Y (or T) grid is open


GRADIENT_KEY = "backprop.gradient"


TARGET_KEY = "backprop.target"


KERNEL_SIZE_KEYS = ("k_rows", "k_cols")


STEPPERS = ("backprop.w_stepper", "backprop.x_stepper")


SOURCES = {
    "typed": "Type the output gradient ∂L/∂Y",
    "mse": "From a loss: MSE against a target",
}


MAX_INPUT = 9


MAX_KERNEL = 5


MAX_STRIDE = 5


MAX_DILATION = 3


# A gradient with small whole numbers, a zero or two and both signs: easy to follow by hand.
GRADIENT_PATTERN = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, 0.0], [0.0, -1.0, 1.0]])


# The slides' example 2, grown to 7×7 for stride 2 and dilation 2 (3×3 outputs either way).
INPUT_7X7 = np.array(
    [
        [3, 3, 2, 1, 0, 1, 2],
        [0, 0, 1, 3, 1, 0, 1],
        [3, 1, 2, 2, 3, 1, 0],
        [2, 0, 0, 2, 2, 3, 1],
        [2, 0, 0, 0, 1, 2, 2],
        [1, 2, 3, 1, 0, 0, 1],
        [0, 1, 1, 2, 3, 2, 0],
    ],
    dtype=np.float64,
)


@dataclass(frozen=True)
class Setup:
    """A starting point a lecturer loads in one click."""

    title: str
    description: str
    image: np.ndarray
    kernel: np.ndarray
    strides: tuple[int, int] = (1, 1)
    padding: str = "valid"
    dilation_rate: int = 1
    source: str = "typed"


SETUPS = {
    "basic": Setup(
        "5×5 input, 3×3 kernel, stride 1",
        "the slides' example 2 (its output is [[12, 12, 17], [10, 17, 19], [9, 6, 14]]) with a "
        "typed output gradient.",
        CONV_EXAMPLES["ex2"].image,
        CONV_EXAMPLES["ex2"].kernel,
    ),
    "mse": Setup(
        "Learn from a loss: MSE against a target",
        "the same layer; the output gradient now comes from the mean squared error against "
        "a target you type.",
        CONV_EXAMPLES["ex2"].image,
        CONV_EXAMPLES["ex2"].kernel,
        source="mse",
    ),
    "stride2": Setup(
        "Stride 2: zeros between the output gradients",
        "a 7×7 input with stride 2. The output gradient is spread out with a zero between "
        "neighbours, in ∂L/∂W and in the transposed convolution.",
        INPUT_7X7,
        CONV_EXAMPLES["ex2"].kernel,
        strides=(2, 2),
    ),
    "dilation2": Setup(
        "Dilation 2: gaps between the kernel's taps",
        "a 7×7 input with dilation 2. Each weight's input cells lie 2 apart from its "
        "neighbour's, and the flipped kernel carries zeros in its gaps.",
        INPUT_7X7,
        CONV_EXAMPLES["ex2"].kernel,
        dilation_rate=2,
    ),
    "same": Setup(
        "'same' padding: gradient that lands on the padding",
        "zero padding keeps the 5×5 size. Gradients sent back onto padding cells are dropped: "
        "the padding is not part of the input.",
        CONV_EXAMPLES["ex2"].image,
        CONV_EXAMPLES["ex2"].kernel,
        padding="same",
    ),
}


@dataclass(frozen=True)
class BackpropSettings:
    """Everything the page computes with, read from the controls."""

    strides: tuple[int, int]
    padding: str | int  # conv2d's padding argument
    padding_choice: str
    dilation_rate: int
    source: str
    bias: float

    def options(self) -> dict:
        """The keyword arguments every function of ``core.ops.conv_backward`` shares."""
        return dict(strides=self.strides, padding=self.padding, dilation_rate=self.dilation_rate)


def load_setup(key: str) -> None:
    """Callback: put a setup's numbers and options into every control."""
    setup, state = SETUPS[key], st.session_state
    state["backprop.in_rows"], state["backprop.in_cols"] = setup.image.shape
    state["backprop.k_rows"], state["backprop.k_cols"] = setup.kernel.shape
    state["backprop.stride_rows"], state["backprop.stride_cols"] = setup.strides
    state["backprop.padding"], state["backprop.pad"] = setup.padding, 1
    state["backprop.dilation"] = setup.dilation_rate
    state["backprop.source"] = setup.source
    state["backprop.bias"] = 0.0
    state["backprop.loaded"] = key
    set_matrix(INPUT_KEY, setup.image)
    set_matrix(KERNEL_KEY, setup.kernel)
    for matrix_key in (GRADIENT_KEY, TARGET_KEY):
        state.pop(f"{matrix_key}.values", None)  # start again from the defaults
    for stepper in STEPPERS:
        state[f"{stepper}.step"] = 0
        state[f"{stepper}.playing"] = False


def init_state() -> None:
    """First visit: start on the basic setup."""
    if "backprop.in_rows" not in st.session_state:
        load_setup("basic")


def setup_picker() -> None:
    """The setups one click away (a button each, and a list that loads on pick), and what is
    loaded: ``ui.widgets.window_steps.example_picker``."""
    example_picker(
        "backprop",
        SETUPS,
        load_setup,
        label="Setup",
        select_help="Starting points for a lecture: the basic layer, a loss, stride 2, dilation 2 "
        "and 'same' padding. Picking one sets the input, the kernel and every option.",
        button_help="Load the picked setup again: undoes your changes to it.",
    )
    loaded = st.session_state.get("backprop.loaded")
    if loaded:
        st.caption(f"Showing **{SETUPS[loaded].title}**: {SETUPS[loaded].description}")


def layer_label(state) -> str:
    """The layer popover's label: every setting inside it, so nobody has to open it to know.

    >>> layer_label({"backprop.in_rows": 7, "backprop.in_cols": 7, "backprop.k_rows": 3,
    ...     "backprop.k_cols": 3, "backprop.stride_rows": 2, "backprop.stride_cols": 2,
    ...     "backprop.dilation": 1, "backprop.padding": "valid", "backprop.pad": 1,
    ...     "backprop.bias": 0.0})
    'Layer: X 7×7 · W 3×3 · stride 2 · valid'
    >>> layer_label({"backprop.in_rows": 5, "backprop.in_cols": 6, "backprop.k_rows": 2,
    ...     "backprop.k_cols": 3, "backprop.stride_rows": 1, "backprop.stride_cols": 2,
    ...     "backprop.dilation": 2, "backprop.padding": "explicit", "backprop.pad": 2,
    ...     "backprop.bias": -1.5})
    'Layer: X 5×6 · W 2×3 · strides (1, 2) · padding 2 · dilation 2 · b = −1.5'
    """
    value = lambda name: state[f"{PREFIX}.{name}"]  # noqa: E731
    strides = (int(value("stride_rows")), int(value("stride_cols")))
    parts = [
        f"X {value('in_rows')}×{value('in_cols')}",
        f"W {value('k_rows')}×{value('k_cols')}",
        f"stride {strides[0]}" if strides[0] == strides[1] else f"strides {strides}",
        f"padding {int(value('pad'))}" if value("padding") == "explicit" else value("padding"),
    ]
    if int(value("dilation")) != 1:
        parts.append(f"dilation {int(value('dilation'))}")
    if float(value("bias")):
        parts.append(f"b = {signed(float(value('bias')))}")
    return "Layer: " + " · ".join(parts)


def backprop_controls() -> BackpropSettings:
    """Sizes, stride, dilation, padding and bias in a popover, and where ∂L/∂Y comes from.

    The layer's settings sit in a popover (key ``LAYER_KEY``) whose label lists them: its
    eleven inputs cost a first visit a good part of the page while closed they are not
    built at all (bench/page_load.py), and their values, keys and the link work the same.
    Inside, rows of at most four narrow columns, so every label fits when a lecturer
    projects at 1280×720 with the browser at 150 %.
    """
    layer_column, source_column = st.columns([3, 2], vertical_alignment="center")
    state = st.session_state
    layer = folded_popover(  # its widgets are drawn only while open (closed_tabs.py: why)
        layer_column,
        layer_label(state),
        key=LAYER_KEY,
        keeps=LAYER_WIDGETS,
        icon=":material/tune:",
        wrap=True,  # a projector at 150 %: the whole label on two lines, never cut
        help="The input and kernel sizes, strides, padding, dilation and bias.",
    )
    if layer is not None:
        with layer:
            padding_choice, bias = _layer_inputs()
    else:  # shut: drawn nowhere, the values stay
        padding_choice, bias = state[f"{PREFIX}.padding"], state[f"{PREFIX}.bias"]
    source = source_column.radio(
        "Output gradient ∂L/∂Y",
        list(SOURCES),
        key="backprop.source",
        disabled=locked("src"),
        format_func=SOURCES.get,
        help="Backpropagation starts from the gradient of the loss with respect to the "
        "layer's output. Type it yourself, or let the mean squared error against a target "
        "compute it: 2 (Y − T) / n.",
    )
    padding = int(state["backprop.pad"]) if padding_choice == "explicit" else padding_choice
    return BackpropSettings(
        strides=(int(state["backprop.stride_rows"]), int(state["backprop.stride_cols"])),
        padding=padding,
        padding_choice=padding_choice,
        dilation_rate=int(state["backprop.dilation"]),
        source=source,
        bias=float(bias),
    )


def _layer_inputs() -> tuple[str, float]:
    """The popover's inputs; returns the padding choice and the bias."""
    sizes = st.columns(4)
    size_inputs(
        sizes[:2],
        INPUT_KEY,
        PREFIX,
        labels=("Input rows", "Input cols"),
        helps=(
            f"Height of the layer's input X (up to {MAX_INPUT}).",
            f"Width of the layer's input X (up to {MAX_INPUT}).",
        ),
        maximum=MAX_INPUT,
    )
    size_inputs(
        sizes[2:],
        KERNEL_KEY,
        PREFIX,
        labels=("Kernel rows", "Kernel cols"),
        helps=(
            f"Height of the kernel W (1–{MAX_KERNEL}).",
            f"Width of the kernel W (1–{MAX_KERNEL}).",
        ),
        maximum=MAX_KERNEL,
        size_keys=KERNEL_SIZE_KEYS,
    )
    stride_rows, stride_cols, dilation, padding_column = st.columns(4)
    stride_rows.number_input(
        "Stride (rows)",
        1,
        MAX_STRIDE,
        key="backprop.stride_rows",
        disabled=locked("s"),
        help="How many rows the window moves down between output rows. In the backward "
        "pass the output gradient gets stride − 1 zeros between its rows.",
    )
    stride_cols.number_input(
        "Stride (cols)",
        1,
        MAX_STRIDE,
        key="backprop.stride_cols",
        disabled=locked("s"),
        help="How many columns the window moves right between outputs.",
    )
    dilation.number_input(
        "Dilation",
        1,
        MAX_DILATION,
        key="backprop.dilation",
        disabled=locked("d"),
        help="Gaps between the kernel's taps: dilation d puts d − 1 skipped cells between "
        "neighbouring weights, so each weight's input cells lie d apart from its neighbour's.",
    )
    padding_choice = padding_column.radio(  # a radio: a list costs the browser far more
        "Padding",
        PADDING_CHOICES,
        key="backprop.padding",
        horizontal=True,
        disabled=locked("pad"),
        help="valid: no padding. same: TensorFlow's rule, ceil(i / s) outputs, any odd extra "
        "cell bottom/right. full: k − 1 cells on every side. explicit: you choose p. Padding "
        "cells are zeros, as in CNN layers.",
    )
    bias_column, pad, _ = st.columns([1, 1, 2])
    if padding_choice == "explicit":  # drawn only when it counts: one input less to build
        pad.number_input(
            "p (explicit)",
            0,
            4,
            key="backprop.pad",
            disabled=locked("p"),
            help="Cells of zeros added on every side when the padding is 'explicit'.",
        )
    else:
        keep(["backprop.pad"])  # its value stays for the link and for 'explicit' again
    bias = bias_column.number_input(
        "Bias b",
        min_value=-VALUE_LIMIT,
        max_value=VALUE_LIMIT,
        step=0.5,
        key="backprop.bias",
        disabled=locked("bias"),
        help="Added to every output: Y = X ⋆ W + b. Its gradient is the sum of ∂L/∂Y.",
    )
    return padding_choice, bias


def matrix_inputs() -> tuple[np.ndarray | None, np.ndarray | None, str | None]:
    """The editable input and kernel in an expander: ``(input, kernel, first error or None)``."""
    with editors_expander("Edit the input X and the kernel W", EDITORS_KEY) as editors:
        if editors.open:
            random_input_button(INPUT_KEY, PREFIX)
        left, right = st.columns([3, 2])
        with left:
            image, input_error = matrix_editor(
                INPUT_KEY,
                SETUPS["basic"].image,
                name="input",
                help="Click a cell to type a new value; change the size above.",
                shown=editors.open,
            )
        with right:
            kernel, kernel_error = matrix_editor(
                KERNEL_KEY,
                SETUPS["basic"].kernel,
                name="kernel",
                help="The weights W, used as they are (CNN layers do not flip them).",
                shown=editors.open,
            )
    return image, kernel, input_error or kernel_error


def default_gradient(shape: tuple[int, int]) -> np.ndarray:
    """``GRADIENT_PATTERN`` repeated or cut to ``shape``.

    >>> default_gradient((2, 4)).tolist()
    [[1.0, 0.0, -1.0, 1.0], [2.0, 0.0, 0.0, 2.0]]
    """
    reps = (-(-shape[0] // 3), -(-shape[1] // 3))
    return np.tile(GRADIENT_PATTERN, reps)[: shape[0], : shape[1]].copy()


def default_target(output: np.ndarray) -> np.ndarray:
    """The output rounded to a multiple of 5: close to it, so the loss is small but not 0.

    >>> default_target(np.array([[12.0, 17.0, -3.0]])).tolist()
    [[10.0, 15.0, -5.0]]
    """
    return np.round(np.asarray(output, dtype=np.float64) / 5.0) * 5.0 + 0.0


def gradient_editor(output: np.ndarray, source: str) -> tuple[np.ndarray | None, str | None]:
    """The editable ∂L/∂Y (typed) or target T (MSE), shaped like ``output``.

    The grid sits in an expander and is drawn only while it is open (the page prints the
    numbers as a table either way). Returns ``(matrix, None)`` or ``(None, message naming
    the cell to fix)``.
    """
    key = GRADIENT_KEY if source == "typed" else TARGET_KEY
    default = default_gradient(output.shape) if source == "typed" else default_target(output)
    if stored_matrix(key, default).shape != output.shape:
        set_matrix(key, default)
    st.session_state[f"{key}.default"] = default  # a link leaves an unchanged default out
    typed = source == "typed"
    label = "Type your own ∂L/∂Y" if typed else "Type your own target T"
    with editors_expander(label, GRADIENT_EDITOR_KEY) as editors:
        return matrix_editor(
            key,
            default,
            name="output gradient" if typed else "target",
            help="∂L/∂Y: how much the loss would change per unit increase of each output. "
            "It has the output's shape."
            if typed
            else "T: the output you want the layer to produce. It has the output's shape.",
            shown=editors.open,
        )
