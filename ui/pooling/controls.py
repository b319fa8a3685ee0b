"""Controls of the Pooling page's small-matrix lesson; they return a plain ``PoolSettings``.

Every widget has a tooltip and a session key under ``pool.``. Loading a worked
example (``load_pool_example``) writes all of them at once, before the
widgets are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.imaging.seed_examples import POOL_EXAMPLES
from core.ops.output_size import PADDINGS
from core.ops.pooling import POOLING_METHODS
from ui.widgets.closed_tabs import folded_popover
from ui.widgets.matrix_editor import editors_expander, matrix_editor, set_matrix
from ui.widgets.page_link import locked
from ui.widgets.window_steps import example_picker, random_input_button, size_inputs

INPUT_KEY = "pool.input"


SIZES_KEY, WINDOW_KEY = "pool.sizes", "pool.window"  # the two popovers


SIZES_WIDGETS = ("pool.in_rows", "pool.in_cols")
WINDOW_WIDGETS = tuple(
    f"pool.{name}" for name in ("size_rows", "size_cols", "stride_rows", "stride_cols", "padding")
)


EDITORS_KEY = "pool.editors"  # whether the expander with the grid is open


def load_pool_example(key: str) -> None:
    """Callback: copy a worked example into the controls and the editor."""
    example = POOL_EXAMPLES[key]
    state = st.session_state
    state["pool.in_rows"], state["pool.in_cols"] = example.image.shape
    state["pool.size_rows"], state["pool.size_cols"] = example.pool_size
    state["pool.stride_rows"], state["pool.stride_cols"] = example.strides
    state["pool.padding"], state["pool.method"] = example.padding, example.method
    state["pool.loaded"] = key
    set_matrix(INPUT_KEY, example.image)
    state["pool.stepper.step"], state["pool.stepper.playing"] = 0, False


@dataclass(frozen=True)
class PoolSettings:
    """The small-matrix lesson's settings, read from the controls (Keras' names)."""

    pool_size: tuple[int, int]
    strides: tuple[int, int]
    padding: str
    method: str
    backprop: bool

    def pool_options(self) -> dict:
        """The keyword arguments every ``core.ops.pooling`` function takes."""
        return dict(pool_size=self.pool_size, strides=self.strides, padding=self.padding)


def _window_controls() -> tuple[tuple[int, int], tuple[int, int], str]:
    """Window size, strides and padding (in the window popover)."""
    a, b = st.columns(2)
    pool_size = (
        a.number_input(
            "Window rows",
            1,
            5,
            key="pool.size_rows",
            disabled=locked("size"),
            help="Height of the pooling window (Keras: pool_size).",
        ),
        b.number_input(
            "Window cols",
            1,
            5,
            key="pool.size_cols",
            disabled=locked("size"),
            help="Width of the pooling window.",
        ),
    )
    strides = (
        a.number_input(
            "Stride rows",
            0,
            5,
            key="pool.stride_rows",
            disabled=locked("s"),
            help="Rows the window moves down between outputs. Usually = window.",
        ),
        b.number_input(
            "Stride cols",
            0,
            5,
            key="pool.stride_cols",
            disabled=locked("s"),
            help="Columns the window moves right between outputs.",
        ),
    )
    padding = st.radio(  # a radio: a list costs the browser far more to build
        "Padding",
        PADDINGS,
        key="pool.padding",
        horizontal=True,
        disabled=locked("pad"),
        help="valid: only whole windows. same: Keras pads so there are ceil(n / s) outputs; "
        "padded cells never win a max and do not count in an average.",
    )
    return pool_size, strides, padding


def input_label(shape: tuple[int, int]) -> str:
    """The input popover's label: the size it holds.

    >>> input_label((4, 6))
    'Input 4 × 6'
    """
    return f"Input {shape[0]} × {shape[1]}"


def window_label(pool_size: tuple[int, int], strides: tuple[int, int], padding: str) -> str:
    """The window popover's label: size, stride and padding, so nobody has to open it.

    >>> window_label((2, 2), (2, 2), "valid")
    'Window 2 × 2 · stride 2 · padding valid'
    >>> window_label((3, 2), (1, 2), "same")
    'Window 3 × 2 · stride 1, 2 · padding same'
    """
    stride = str(strides[0]) if strides[0] == strides[1] else f"{strides[0]}, {strides[1]}"
    return f"Window {pool_size[0]} × {pool_size[1]} · stride {stride} · padding {padding}"


def pool_controls() -> PoolSettings:
    """Example picker and window settings.

    The input's size and the window's settings sit in two popovers whose labels say their
    values (a closed popover costs the browser nothing on a first visit; its controls still
    run); the pooling method and the backpropagation switch stay in sight beside them.
    """
    if "pool.in_rows" not in st.session_state:
        load_pool_example(next(iter(POOL_EXAMPLES)))
    example_picker(
        "pool",
        POOL_EXAMPLES,
        load_pool_example,
        select_help="The pooling examples from the course slides. Picking one loads it.",
        button_help="Load the picked example again: undoes your changes to its input and settings.",
    )
    state = st.session_state
    # The popovers' widgets are drawn only while open (ui/widgets/closed_tabs.py says why).
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    sizes = folded_popover(
        row,
        input_label((state["pool.in_rows"], state["pool.in_cols"])),
        key=SIZES_KEY,
        keeps=SIZES_WIDGETS,
        icon=":material/grid_on:",
        help="The size of the input, and a random input.",
    )
    if sizes is not None:
        size_inputs(
            sizes.columns(2),
            INPUT_KEY,
            "pool",
            labels=("Input rows", "Input columns"),
            helps=("Height of the input map (up to 12).", "Width of the input map (up to 12)."),
            maximum=12,
        )
        random_input_button(INPUT_KEY, "pool", container=sizes)
    window = folded_popover(
        row,
        window_label(
            (state["pool.size_rows"], state["pool.size_cols"]),
            (state["pool.stride_rows"], state["pool.stride_cols"]),
            state["pool.padding"],
        ),
        key=WINDOW_KEY,
        keeps=WINDOW_WIDGETS,
        icon=":material/tune:",
        help="The pooling window: its size, its stride and the padding.",
    )
    if window is not None:
        with window:
            pool_size, strides, padding = _window_controls()
    else:  # shut: drawn nowhere, the values stay
        pool_size = (state["pool.size_rows"], state["pool.size_cols"])
        strides = (state["pool.stride_rows"], state["pool.stride_cols"])
        padding = state["pool.padding"]
    method = row.radio(
        "Pooling",
        POOLING_METHODS,
        key="pool.method",
        disabled=locked("method"),
        horizontal=True,
        help="max keeps the strongest response of each window; average keeps the mean.",
    )
    backprop = row.toggle(
        "Show backpropagation",
        key="pool.backprop",
        disabled=locked("bp"),
        help="Where does the gradient of each output go? Max pooling sends all of it to the "
        "winning cell; average pooling shares it equally over the window.",
    )
    return PoolSettings(
        pool_size=(int(pool_size[0]), int(pool_size[1])),
        strides=(int(strides[0]), int(strides[1])),
        padding=padding,
        method=method,
        backprop=bool(backprop),
    )


def matrix_input() -> tuple[np.ndarray | None, str | None]:
    """The editable input in an expander: ``(input, None)`` or ``(None, error message)``."""
    with editors_expander("Edit the input", EDITORS_KEY) as editors:
        return matrix_editor(
            INPUT_KEY,
            np.zeros((4, 4)),
            name="input",
            help="Click a cell to type a new value; change the size above.",
            shown=editors.open,
        )
