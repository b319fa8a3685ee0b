"""The Kernel Playground's image and sliding controls; they return plain values.

``image_controls`` draws the image picker (and, for a colour photo, how its
channels meet the kernel); ``sliding_controls`` draws stride, padding, border
fill, dilation, flip, bias and ReLU and returns a frozen ``Sliding``, whose
``conv_options()`` are the keyword arguments of ``core.ops.convolution.conv2d``.
Session keys live under ``kernel.``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.base.numbers import readable
from core.imaging.images import to_grayscale
from core.ops.histogram import CHANNEL_NAMES
from ui.kernel_playground.link_state import (
    MAX_DILATION,
    MAX_EXPLICIT_PADDING,
    MAX_STRIDE,
    MODE_CHOICES,
    PADDING_CHOICES,
)
from ui.kernel_playground.share import linked_patch
from ui.widgets.closed_tabs import folded_popover
from ui.widgets.content_cache import by_content
from ui.widgets.image_input import ImageChoice, image_picker, show_notes
from ui.widgets.page_link import locked

MODE_LABELS = {
    "constant": "zero",
    "edge": "edge (repeat)",
    "reflect": "reflect",
    "symmetric": "symmetric (mirror)",
    "wrap": "wrap around",
}


COLOR_LABELS = {
    "grayscale": "Convert to grey first",
    "per_channel": "Same kernel on R, G, B",
    "summed": "3-channel kernel, summed (one CNN filter)",
}


@dataclass(frozen=True)
class Sliding:
    """How the kernel slides, as set in the "Sliding" column (Keras' names, per axis).

    >>> sliding = Sliding((1, 2), "explicit", (0, 3), "edge", (1, 1), False, 0.0, False)
    >>> sliding.conv_options()["padding"], sliding.axis_padding(1)
    (((0, 0), (3, 3)), 3)
    """

    strides: tuple[int, int]
    padding: str
    pads: tuple[int, int]
    mode: str
    dilation_rate: tuple[int, int]
    flip: bool
    bias: float
    relu: bool

    def axis_padding(self, axis: int) -> str | int:
        """The padding of one axis: the name, or the explicit number of cells on each side."""
        return self.pads[axis] if self.padding == "explicit" else self.padding

    def conv_options(self) -> dict:
        """Keyword arguments of ``conv2d`` (and ``explain_pixel``) for this sliding."""
        explicit = ((self.pads[0],) * 2, (self.pads[1],) * 2)
        return dict(
            strides=self.strides,
            padding=explicit if self.padding == "explicit" else self.padding,
            mode=self.mode,
            dilation_rate=self.dilation_rate,
            flip_kernel=self.flip,
        )


@by_content(16)
def _grayscale_cached(name: str, _pixels: np.ndarray) -> np.ndarray:
    return to_grayscale(_pixels)


def grayscale(choice: ImageChoice) -> np.ndarray:
    """The chosen image in grey (cached per image; uploads are never shared between users)."""
    if choice.pixels.ndim == 2:
        return choice.pixels
    if not choice.shareable:
        return to_grayscale(choice.pixels)
    return _grayscale_cached(choice.name, choice.pixels)


def channel_weight_inputs(prefix: str) -> np.ndarray:
    """Three numbers scaling the kernel's R, G and B slices."""
    st.caption("Weight of each channel's slice (the grid's kernel times this number):")
    columns = st.columns(3)
    for name in CHANNEL_NAMES:
        st.session_state.setdefault(f"{prefix}.weight_{name[0].lower()}", 1.0)
    weights = [
        column.number_input(
            name,
            -10.0,
            10.0,
            step=0.5,
            key=f"{prefix}.weight_{name[0].lower()}",
            help=f"Multiplies the kernel's slice for the {name.lower()} channel. A CNN learns a "
            "different slice per channel; 0 ignores that channel.",
        )
        for column, name in zip(columns, CHANNEL_NAMES, strict=True)
    ]
    return np.array(weights, dtype=np.float64)


def image_controls() -> tuple[ImageChoice, str, np.ndarray]:
    """The image, and for a colour photo how its channels meet the kernel.

    Returns ``(choice, color, channel_weights)``: ``color`` is one of
    ``COLOR_LABELS`` ("grayscale" for a grey image), ``channel_weights`` the
    three slice weights of the summed mode (ones otherwise).
    """
    st.subheader("Image")
    choice = linked_patch() or image_picker("kernel")
    show_notes(choice)
    color, channel_weights = "grayscale", np.ones(3)
    if choice.pixels.ndim == 3:
        color = st.radio(
            "Colour photo",
            list(COLOR_LABELS),
            format_func=COLOR_LABELS.get,
            key="kernel.color",
            disabled=locked("color"),
            help="Grey: one channel, one output. Same kernel on R, G, B: three outputs, shown "
            "as a colour picture. 3-channel kernel: a CNN filter has one slice per input "
            "channel and adds the three responses into a single map.",
        )
        if color == "summed":
            channel_weights = channel_weight_inputs("kernel")
    return choice, color, channel_weights


def shown_value(key: str, default):
    """The value a widget in a popover must be drawn with: the one the page holds.

    They are drawn only in a run where the popover is open, and that run's message carries
    their default unless the run set them; a default other than the page's value would show
    (and be sent back) instead of it.
    """
    return st.session_state.get(key, default)


def pair(labels, low, high, keys, helps, *, disabled: bool = False, held=False) -> tuple[int, int]:
    """Two integer inputs side by side (rows, cols); ``held``: drawn with the page's values."""
    row = st.container(horizontal=True)
    return tuple(
        row.number_input(
            label,
            low,
            high,
            shown_value(key, low) if held else "min",
            key=key,
            help=tip,
            disabled=disabled,
        )
        for label, key, tip in zip(labels, keys, helps, strict=True)
    )


MORE_SLIDING_KEY = "kernel.sliding_more"  # the popover with padding … ReLU (tests open it)


def sliding_summary(state) -> str:
    """The label of the popover with the sliding options: their current values, so nobody
    has to open it to read them (a projected page shows them at once).

    >>> sliding_summary({"kernel.padding": "same", "kernel.mode": "constant"})
    'stride 1 · same padding · zero fill · dilation 1'
    >>> sliding_summary({"kernel.padding": "explicit", "kernel.pad_rows": 2, "kernel.pad_cols": 0,
    ...     "kernel.mode": "reflect", "kernel.dilation_rows": 2, "kernel.flip": True,
    ...     "kernel.bias": -5.0, "kernel.relu": True, "kernel.stride_cols": 2})
    'stride 1×2 · padding 2×0 · reflect fill · dilation 2×1 · flipped · bias -5 · ReLU'
    >>> sliding_summary({"kernel.padding": "valid", "kernel.mode": "wrap", "kernel.bias": 0.5,
    ...     "kernel.stride_rows": 2, "kernel.stride_cols": 2})
    'stride 2 · valid padding · dilation 1 · bias 0.5'
    """
    padding = state.get("kernel.padding", "same")
    strides = state.get("kernel.stride_rows", 1), state.get("kernel.stride_cols", 1)
    parts = [
        f"stride {strides[0]}" if strides[0] == strides[1] else f"stride {strides[0]}×{strides[1]}"
    ]
    parts.append(f"{padding} padding")
    if padding == "explicit":
        parts[-1] = f"padding {state.get('kernel.pad_rows', 0)}×{state.get('kernel.pad_cols', 0)}"
    if padding != "valid":  # valid padding adds no border, so nothing fills it
        mode = state.get("kernel.mode", "constant")
        parts.append(f"{MODE_LABELS.get(mode, mode).split(' (')[0]} fill")
    rows, cols = state.get("kernel.dilation_rows", 1), state.get("kernel.dilation_cols", 1)
    parts.append(f"dilation {rows}" if rows == cols else f"dilation {rows}×{cols}")
    if state.get("kernel.flip"):
        parts.append("flipped")
    bias = state.get("kernel.bias", 0.0) or 0.0
    if bias:
        parts.append(f"bias {readable(bias)}")
    if state.get("kernel.relu"):
        parts.append("ReLU")
    return " · ".join(parts)


def sliding_controls() -> Sliding:
    """Stride, padding, border fill, dilation, flip, bias and ReLU, as a ``Sliding``.

    They sit in a popover whose label names their values. Its widgets are drawn only while
    it is open: a closed popover then costs the browser nothing (bench/page_load.py; the
    strides were the page's last number boxes on its first screen), and no browser keeps a
    value of them that the page has since changed (a worked example, a link) and would
    send back on the next change.
    """
    st.subheader("Sliding")
    more = folded_popover(
        st,
        sliding_summary(st.session_state),
        key=MORE_SLIDING_KEY,
        keeps=(*STRIDE_KEYS, *MORE_SLIDING_KEYS),
        icon=":material/tune:",
        width="stretch",
        wrap=True,  # every value stays readable in a narrow column (150 % zoom)
        help="Stride, padding, border fill, dilation, flip, bias and ReLU: the label shows "
        "their values.",
    )
    if more is not None:
        with more:
            return Sliding(_strides(), *_more_sliding())
    strides = tuple(int(shown_value(key, 1)) for key in STRIDE_KEYS)
    return Sliding(strides, *_held_sliding())  # shut: drawn nowhere, the values stay


STRIDE_KEYS = ("kernel.stride_rows", "kernel.stride_cols")


def _strides() -> tuple[int, int]:
    return pair(
        ("Stride ↓ rows", "Stride → cols"),
        1,
        MAX_STRIDE,
        STRIDE_KEYS,
        (
            "How many rows the kernel moves down between two outputs.",
            "How many columns it moves right between outputs.",
        ),
        disabled=locked("s"),
        held=True,
    )


MORE_SLIDING_KEYS = (
    "kernel.padding",
    "kernel.pad_rows",
    "kernel.pad_cols",
    "kernel.mode",
    "kernel.dilation_rows",
    "kernel.dilation_cols",
    "kernel.flip",
    "kernel.bias",
    "kernel.relu",
)


def _held_sliding() -> tuple:
    """What ``_more_sliding`` returns, read from the page's values while the popover is shut."""
    value = shown_value
    padding = value("kernel.padding", "same")
    pads = (0, 0)
    if padding == "explicit":
        pads = (int(value("kernel.pad_rows", 0)), int(value("kernel.pad_cols", 0)))
    dilation_rate = (int(value("kernel.dilation_rows", 1)), int(value("kernel.dilation_cols", 1)))
    return (
        padding,
        pads,
        value("kernel.mode", "constant"),
        dilation_rate,
        bool(value("kernel.flip", False)),
        float(value("kernel.bias", 0.0)),
        bool(value("kernel.relu", False)),
    )


def _more_sliding() -> tuple:
    """Padding, its cells, border fill, dilation, flip, bias and ReLU (in this order)."""
    padding = st.radio(
        "Padding",
        PADDING_CHOICES,
        index=PADDING_CHOICES.index(shown_value("kernel.padding", "same")),
        horizontal=True,
        key="kernel.padding",
        disabled=locked("pad"),
        help="valid: no border, the output shrinks. same: just enough border to keep the size "
        "(at stride 1). full: every partial overlap counts, the output grows. explicit: you "
        "choose how many rows and columns to add.",
    )
    pads = (0, 0)
    if padding == "explicit":
        pads = pair(
            ("Pad rows", "Pad cols"),
            0,
            MAX_EXPLICIT_PADDING,
            ("kernel.pad_rows", "kernel.pad_cols"),
            ("Rows added above and below the image.", "Columns added left and right of the image."),
            disabled=locked("p"),
            held=True,
        )
    mode = st.radio(  # a radio: a list costs the browser far more to build (bench/page_load.py)
        "Border fill",
        MODE_CHOICES,
        index=MODE_CHOICES.index(shown_value("kernel.mode", "constant")),
        format_func=MODE_LABELS.get,
        key="kernel.mode",
        horizontal=True,
        disabled=padding == "valid" or locked("mode"),
        help="What the padding cells contain: zeros, copies of the edge pixel, a mirror image "
        "of the inside (with or without repeating the edge), or the opposite side of the "
        "image.",
    )
    dilation_rate = pair(
        ("Dilation ↓", "Dilation →"),
        1,
        MAX_DILATION,
        ("kernel.dilation_rows", "kernel.dilation_cols"),
        (
            "Spacing between kernel rows: 2 skips every other row.",
            "Spacing between kernel columns.",
        ),
        disabled=locked("d"),
        held=True,
    )
    flip = st.toggle(
        "True convolution (flip 180°)",
        bool(shown_value("kernel.flip", False)),
        key="kernel.flip",
        disabled=locked("flip"),
        help="Off: cross-correlation, what CNN layers and OpenCV compute. On: the textbook "
        "convolution, which rotates the kernel by 180° before sliding it.",
    )
    row = st.container(horizontal=True, vertical_alignment="bottom")
    bias = row.number_input(
        "Bias",
        -1000.0,
        1000.0,
        float(shown_value("kernel.bias", 0.0)),
        step=1.0,
        key="kernel.bias",
        disabled=locked("bias"),
        help="A constant added to every output value, as in a CNN neuron.",
    )
    relu = row.toggle(
        "ReLU",
        bool(shown_value("kernel.relu", False)),
        key="kernel.relu",
        disabled=locked("relu"),
        help="Replace negative outputs by 0, as a CNN's activation does.",
    )
    return padding, pads, mode, dilation_rate, flip, bias, relu
