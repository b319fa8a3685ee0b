"""Controls of the Convolution Arithmetic page; they return a plain ``ConvSettings``.

Every widget has a tooltip and a session key under ``arith.``. Loading a
worked example (``load_conv_example``) writes all of them at once, before the
widgets are drawn, so one click reproduces the slide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.imaging.seed_examples import CONV_EXAMPLES
from core.ops.output_size import BORDER_MODES
from core.ops.output_size import PADDING_CHOICES as PADDINGS
from ui.widgets import window_steps
from ui.widgets.closed_tabs import folded_popover, keep
from ui.widgets.link_params import VALUE_LIMIT
from ui.widgets.matrix_editor import editors_expander, matrix_editor, set_matrix
from ui.widgets.matrix_view import format_value
from ui.widgets.page_link import locked
from ui.widgets.window_steps import random_input_button, size_inputs

MODES = ("Convolution", "Transposed convolution")


BORDER_LABELS = {  # short: the padding column is narrow on a projector; the help explains
    "constant": "constant",
    "edge": "edge",
    "reflect": "reflect",
    "symmetric": "symmetric",
    "wrap": "wrap",
}


DEFAULT_EXAMPLE = "ex1"


INPUT_KEY = "arith.input"


KERNEL_KEY = "arith.kernel"


SIZES_KEY, SLIDING_KEY = "arith.sizes", "arith.sliding"  # the two popovers


SIZES_WIDGETS = tuple(f"arith.{name}" for name in ("in_rows", "in_cols", "k_rows", "k_cols"))
SLIDING_WIDGETS = tuple(
    f"arith.{name}"
    for name in ("stride_rows", "stride_cols", "dilation", "padding", "pad", "border", "cval")
)


EDITORS_KEY = "arith.editors"  # whether the expander with the two grids is open


KERNEL_SIZE_KEYS = ("k_rows", "k_cols")


@dataclass(frozen=True)
class ConvSettings:
    """Everything the page computes with, read from the controls."""

    mode: str
    strides: tuple[int, int]
    padding: str | int  # conv2d's padding argument
    padding_choice: str
    border_mode: str
    cval: float
    dilation_rate: int
    flip_kernel: bool
    relu: bool
    output_padding: tuple[int, int] | None
    guess_mode: bool

    @property
    def transposed(self) -> bool:
        return self.mode == MODES[1]

    def conv_options(self) -> dict:
        """The keyword arguments ``conv2d`` and ``matrix_form`` share."""
        return dict(
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            flip_kernel=self.flip_kernel,
        )


def load_conv_example(key: str) -> None:
    """Callback: put a worked example's numbers and options into every control."""
    example = CONV_EXAMPLES[key]
    state = st.session_state
    state["arith.mode"] = MODES[0]
    state["arith.in_rows"], state["arith.in_cols"] = example.image.shape
    state["arith.k_rows"], state["arith.k_cols"] = example.kernel.shape
    state["arith.stride_rows"], state["arith.stride_cols"] = example.strides
    if isinstance(example.padding, str):
        state["arith.padding"], state["arith.pad"] = example.padding, 1
    else:
        state["arith.padding"], state["arith.pad"] = "explicit", int(example.padding)
    state["arith.border"], state["arith.cval"] = "constant", 0.0
    state["arith.dilation"] = example.dilation_rate
    state["arith.flip"] = example.flip_kernel
    state["arith.relu"] = example.relu
    state["arith.loaded"] = key
    set_matrix(INPUT_KEY, example.image)
    set_matrix(KERNEL_KEY, example.kernel)
    state["arith.stepper.step"] = 0
    state["arith.stepper.playing"] = False


def init_state() -> None:
    """First visit: start on worked example 1."""
    if "arith.in_rows" not in st.session_state:
        load_conv_example(DEFAULT_EXAMPLE)


def example_picker() -> None:
    """The worked examples (a button each, and a list), and what is loaded."""
    window_steps.example_picker(
        "arith",
        CONV_EXAMPLES,
        load_conv_example,
        select_help="The examples from the course slides. Picking one sets the input, the "
        "kernel and every option so the page shows the slide's numbers.",
        button_help="Load the picked example again: undoes your changes to its input, kernel "
        "and options.",
    )
    loaded = st.session_state.get("arith.loaded")
    if loaded:
        st.caption(
            f"Showing **{CONV_EXAMPLES[loaded].title}**: {CONV_EXAMPLES[loaded].description}"
        )


def sizes_label(in_shape: tuple[int, int], kernel_shape: tuple[int, int]) -> str:
    """The sizes popover's label: the sizes it holds, so nobody has to open it to know them.

    >>> sizes_label((5, 5), (3, 3))
    'Input 5 × 5 · kernel 3 × 3'
    """
    return f"Input {in_shape[0]} × {in_shape[1]} · kernel {kernel_shape[0]} × {kernel_shape[1]}"


def sliding_label(
    strides: tuple[int, int],
    padding: str,
    pad: int,
    dilation: int,
    border: str,
    cval: float,
    *,
    transposed: bool = False,
) -> str:
    """The sliding popover's label: stride, padding, dilation and the padding's fill.

    >>> sliding_label((1, 1), "valid", 1, 1, "constant", 0.0)
    'Stride 1 · padding valid · dilation 1'
    >>> sliding_label((2, 1), "explicit", 2, 2, "constant", 0.0)
    'Stride 2, 1 · padding 2 · dilation 2 · zero fill'
    >>> sliding_label((1, 1), "same", 1, 1, "constant", 2.5)
    'Stride 1 · padding same · dilation 1 · fill 2.5'
    >>> sliding_label((1, 1), "full", 1, 1, "reflect", 0.0)
    'Stride 1 · padding full · dilation 1 · reflect fill'
    >>> sliding_label((2, 2), "same", 1, 3, "edge", 0.0, transposed=True)
    'Stride 2 · padding same'
    """
    stride = str(strides[0]) if strides[0] == strides[1] else f"{strides[0]}, {strides[1]}"
    parts = [f"Stride {stride}", f"padding {pad if padding == 'explicit' else padding}"]
    if transposed:
        return " · ".join(parts)
    parts.append(f"dilation {dilation}")
    if padding != "valid" and not (padding == "explicit" and pad == 0):
        if border != "constant":
            parts.append(f"{border} fill")
        else:
            parts.append("zero fill" if cval == 0 else f"fill {format_value(cval)}")
    return " · ".join(parts)


def _size_controls() -> None:
    """The input's and the kernel's sizes, and a random input (in the sizes popover)."""
    a, b = st.columns(2)
    size_inputs(
        (a, b),
        INPUT_KEY,
        "arith",
        labels=("Input rows", "Input columns"),
        helps=("Height of the input matrix (up to 12).", "Width of the input matrix."),
        maximum=12,
    )
    size_inputs(
        (a, b),
        KERNEL_KEY,
        "arith",
        labels=("Kernel rows", "Kernel columns"),
        helps=("Height of the kernel (1–5).", "Width of the kernel (1–5)."),
        maximum=5,
        size_keys=KERNEL_SIZE_KEYS,
    )
    random_input_button(INPUT_KEY, "arith")


def _sliding_controls(transposed: bool, choices: tuple[str, ...]) -> tuple[str, str, float]:
    """Stride, dilation, padding and its fill (in the sliding popover): ``(padding, fill,
    constant)``."""
    a, b = st.columns(2)
    a.number_input(
        "Stride (rows)",
        0,
        5,
        key="arith.stride_rows",
        disabled=locked("s"),
        help="How many rows the window moves down between output rows.",
    )
    b.number_input(
        "Stride (cols)",
        0,
        5,
        key="arith.stride_cols",
        disabled=locked("s"),
        help="How many columns the window moves right between outputs.",
    )
    st.number_input(
        "Dilation",
        1,
        4,
        key="arith.dilation",
        disabled=transposed or locked("d"),
        help="Gaps between the kernel's taps: dilation d spreads a k-tap kernel "
        "over k + (k − 1)(d − 1) cells without adding weights. "
        "(Not used by the transposed mode.)",
    )
    padding_choice = st.radio(  # a radio: a list costs the browser far more to build
        "Padding",
        choices,
        key="arith.padding",
        horizontal=True,
        disabled=locked("pad"),
        help="valid: no padding. same: TensorFlow's rule, ceil(i / s) outputs, any odd "
        "extra cell goes bottom/right. full: k − 1 cells on every side. explicit: "
        "you choose p.",
    )
    if padding_choice == "explicit":  # drawn only when it counts: one input less to build
        st.number_input(
            "p (explicit padding)",
            0,
            5,
            key="arith.pad",
            disabled=locked("p"),
            help="Cells added on every side when the padding is 'explicit'.",
        )
    else:
        keep(["arith.pad"])  # its value stays for the link and for 'explicit' again
    border_mode = st.radio(
        "Fill of the padding",
        BORDER_MODES,
        key="arith.border",
        horizontal=True,
        format_func=BORDER_LABELS.get,
        disabled=transposed or locked("border"),
        help="What the padding cells contain. CNN layers use zeros; image filters often "
        "repeat or mirror the border instead. constant: a fixed value, usually 0; edge: "
        "repeat the border cell; reflect: mirror, border not repeated; symmetric: mirror, "
        "border repeated; wrap: the opposite side comes round.",
    )
    cval = st.number_input(
        "Constant fill value",
        min_value=-VALUE_LIMIT,
        max_value=VALUE_LIMIT,
        key="arith.cval",
        disabled=transposed or border_mode != "constant" or locked("cval"),
        help="The value of every padding cell in 'constant' mode.",
    )
    return padding_choice, border_mode, cval


def conv_controls() -> ConvSettings:
    """Sizes, stride, padding, border fill, dilation and flags; returns ``ConvSettings``.

    The sizes and the sliding settings sit in two popovers whose labels say their values: a
    closed popover costs the browser nothing to build on a first visit, and its controls still
    run (their values, the link, a worked example's load all work as before).
    """
    mode = st.radio(
        "What to compute",
        MODES,
        key="arith.mode",
        horizontal=True,
        disabled=locked("mode"),
        help="A convolution slides the kernel over the input. A transposed convolution goes "
        "the other way: it spreads each input value over a larger output (upsampling).",
    )
    transposed = mode == MODES[1]
    state = st.session_state
    choices = PADDINGS[:2] if transposed else PADDINGS
    if state.get("arith.padding") not in choices:
        state["arith.padding"] = "valid"
    # The popovers' widgets are drawn only while open (ui/widgets/closed_tabs.py says why).
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    sizes = folded_popover(
        row,
        sizes_label(
            (state["arith.in_rows"], state["arith.in_cols"]),
            (state["arith.k_rows"], state["arith.k_cols"]),
        ),
        key=SIZES_KEY,
        keeps=SIZES_WIDGETS,
        icon=":material/grid_on:",
        help="The sizes of the input and the kernel, and a random input.",
    )
    if sizes is not None:
        with sizes:
            _size_controls()
    sliding = folded_popover(
        row,
        sliding_label(
            (state["arith.stride_rows"], state["arith.stride_cols"]),
            state["arith.padding"],
            state["arith.pad"],
            state["arith.dilation"],
            state["arith.border"],
            state["arith.cval"],
            transposed=transposed,
        ),
        key=SLIDING_KEY,
        keeps=SLIDING_WIDGETS,
        icon=":material/tune:",
        help="How the window slides: stride, padding, dilation and what fills the padding.",
    )
    if sliding is not None:
        with sliding:
            padding_choice, border_mode, cval = _sliding_controls(transposed, choices)
    else:  # shut: drawn nowhere, the values stay
        padding_choice, border_mode, cval = (
            state["arith.padding"],
            state["arith.border"],
            state["arith.cval"],
        )
    # The options in the popovers' row, each as wide as its label: in a fourth column their
    # labels were cut at a narrow window (853×480 at 150 %).
    flags = row
    flip = flags.checkbox(
        "Flip the kernel",
        key="arith.flip",
        disabled=transposed or locked("flip"),
        help="True convolution: rotate the kernel by 180° first, as textbooks and "
        "scipy.signal.convolve2d do. CNN layers skip this step "
        "(cross-correlation).",
    )
    relu = flags.checkbox(
        "ReLU on the result",
        key="arith.relu",
        disabled=locked("relu"),
        help="max(0, x) on every output value, as after a conv layer.",
    )
    output_padding = None
    use_output_padding = transposed and flags.checkbox(
        "Output padding",
        key="arith.use_output_padding",
        help="Keras' output_padding: extra rows/columns at the bottom/right, each smaller "
        "than the stride. Off = Keras' default (None).",
    )
    if use_output_padding:
        output_padding = (
            flags.number_input(
                "Output padding rows",
                0,
                4,
                key="arith.out_pad_rows",
                help="Extra output rows (must be smaller than the row stride).",
                width=150,
            ),
            flags.number_input(
                "Output padding cols",
                0,
                4,
                key="arith.out_pad_cols",
                help="Extra output columns (must be smaller than the column stride).",
                width=150,
            ),
        )
    guess = flags.toggle(
        "Predict, then reveal",
        key="arith.guess",
        disabled=locked("guess"),
        help="Lecture mode: each output value and the output size stay "
        "hidden until you type a guess and check it.",
    )
    padding = int(st.session_state["arith.pad"]) if padding_choice == "explicit" else padding_choice
    return ConvSettings(
        mode=mode,
        strides=(
            int(st.session_state["arith.stride_rows"]),
            int(st.session_state["arith.stride_cols"]),
        ),
        padding=padding,
        padding_choice=padding_choice,
        border_mode="constant" if transposed else border_mode,
        cval=0.0 if transposed else float(cval),
        dilation_rate=1 if transposed else int(st.session_state["arith.dilation"]),
        flip_kernel=bool(flip) and not transposed,
        relu=bool(relu),
        output_padding=None if output_padding is None else tuple(int(v) for v in output_padding),
        guess_mode=bool(guess),
    )


def matrix_inputs() -> tuple[np.ndarray | None, np.ndarray | None, str | None]:
    """The editable input and kernel in an expander: ``(input, kernel, first error or None)``.

    The grids are drawn only while the expander is open (a first visit loads no grid).
    """
    with editors_expander("Edit the input and the kernel", EDITORS_KEY) as editors:
        left, right = st.columns([3, 2])
        with left:
            image, input_error = matrix_editor(
                INPUT_KEY,
                np.zeros((5, 5)),
                name="input",
                help="Click a cell to type a new value; change the size above.",
                shown=editors.open,
            )
        with right:
            kernel, kernel_error = matrix_editor(
                KERNEL_KEY,
                np.ones((3, 3)),
                name="kernel",
                help="The kernel's weights, as written (before any flip).",
                shown=editors.open,
            )
    return image, kernel, input_error or kernel_error
