"""Kernel Playground: slide any kernel over any image and see every number behind the result.

Controls: the image, the kernel grid, and how the kernel slides (stride,
padding, border, dilation, flip). Compute: ``core.ops.convolution.conv2d`` plus a
bias and an optional ReLU. Display: input and output side by side with the
display mapping named, the output-size arithmetic with today's numbers, and
tabs that explain one output pixel, the kernel's frequency response, its
separability, translation equivariance, comparisons, noise filtering and a
shareable link.
"""

from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.imaging.synthetic_images import SYNTHETIC_IMAGES
from core.ops.convolution import conv2d
from core.ops.output_size import describe_output_size
from ui.kernel_playground import kernel_editor, lessons
from ui.kernel_playground.link_state import (
    LECTURE_EXAMPLES,
    MAX_DILATION,
    MAX_EXPLICIT_PADDING,
    MAX_STRIDE,
    PlaygroundState,
    decode_state,
    encode_state,
    state_from_widgets,
    widget_values,
)
from ui.kernel_playground.link_state import MODE_CHOICES as MODES
from ui.kernel_playground.link_state import PADDING_CHOICES as PADDINGS
from ui.widgets import image_view
from ui.widgets.image_input import image_picker, photo_names, set_image, show_notes

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
S = st.session_state

st.title("Kernel Playground")
st.caption(
    "A kernel is a small grid of weights. At every position it covers a patch of the image, "
    "multiplies each pixel by the weight on top of it and adds everything up: that sum is one "
    "output pixel. Change anything below and watch the output follow."
)


def apply_setup(setup: PlaygroundState) -> None:
    """Put every control of the page to ``setup`` (before the widgets are drawn)."""
    set_image("kernel", setup.image, setup.synthetic_size)
    kernel_editor.set_kernel("kernel", setup.kernel_array(), setup.preset)
    S.update(widget_values(setup))
    S["kernel.tab"] = "Step by step"


# ---------------------------------------------------------------- a shared link sets the page up
if "kernel.initialised" not in S:
    images = tuple(f"photo:{n}" for n in photo_names()) + tuple(
        f"synthetic:{k}" for k in SYNTHETIC_IMAGES
    )
    decoded = decode_state(
        st.query_params.to_dict(),
        image_names=images,
        preset_names=tuple(kernel_editor.preset_options()),
    )
    apply_setup(decoded.state)
    S.update({"kernel.initialised": True, "kernel.link_messages": decoded.messages})
else:  # back from another page: Streamlit has forgotten the widgets, so start from defaults
    for key, value in widget_values(PlaygroundState()).items():
        if key not in S:
            S[key] = value
for message in S.get("kernel.link_messages", ()):
    st.warning(f"{message} Check the link, or carry on from here.")
with st.expander("Worked examples from the lecture notes"):
    st.caption("Each button loads the image, kernel and settings of one example.")
    for column, (key, (label, setup)) in zip(
        [*st.columns(4), *st.columns(4)], LECTURE_EXAMPLES.items(), strict=False
    ):
        column.button(
            label,
            key=f"kernel.example.{key}",
            on_click=apply_setup,
            args=(setup,),
            help="Load this example; its numbers match the lecture notes.",
            width="stretch",
        )


# ---------------------------------------------------------------- controls
@dataclass(frozen=True)
class Sliding:
    """How the kernel slides, as set in the "Sliding" column."""

    stride: tuple[int, int]
    padding: str
    pads: tuple[int, int]
    mode: str
    dilation: tuple[int, int]
    flip: bool
    bias: float
    relu: bool

    def conv_options(self) -> dict:
        explicit = ((self.pads[0],) * 2, (self.pads[1],) * 2)
        return dict(
            strides=self.stride,
            padding=explicit if self.padding == "explicit" else self.padding,
            mode=self.mode,
            dilation_rate=self.dilation,
            flip_kernel=self.flip,
        )


def image_controls():
    """The image, and for a colour photo how its channels meet the kernel."""
    st.subheader("Image")
    choice = image_picker("kernel")
    show_notes(choice)
    color, channel_weights = "grayscale", np.ones(3)
    if choice.pixels.ndim == 3:
        color = st.radio(
            "Colour photo",
            list(COLOR_LABELS),
            format_func=COLOR_LABELS.get,
            key="kernel.color",
            help="Grey: one channel, one output. Same kernel on R, G, B: three outputs, shown "
            "as a colour picture. 3-channel kernel: a CNN filter has one slice per input "
            "channel and adds the three responses into a single map.",
        )
        if color == "summed":
            channel_weights = lessons.channel_weight_inputs("kernel")
    return choice, color, channel_weights


def pair(labels, low, high, keys, helps) -> tuple[int, int]:
    """Two integer inputs side by side (rows, cols)."""
    row = st.container(horizontal=True)
    return tuple(
        row.number_input(label, low, high, key=key, help=tip)
        for label, key, tip in zip(labels, keys, helps, strict=True)
    )


def sliding_controls() -> Sliding:
    st.subheader("Sliding")
    stride = pair(
        ("Stride ↓ rows", "Stride → cols"),
        1,
        MAX_STRIDE,
        ("kernel.stride_rows", "kernel.stride_cols"),
        (
            "How many rows the kernel moves down between two outputs.",
            "How many columns it moves right between outputs.",
        ),
    )
    padding = st.radio(
        "Padding",
        PADDINGS,
        horizontal=True,
        key="kernel.padding",
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
        )
    mode = st.selectbox(
        "Border fill",
        MODES,
        format_func=MODE_LABELS.get,
        key="kernel.mode",
        disabled=padding == "valid",
        help="What the padding cells contain: zeros, copies of the edge pixel, a mirror image "
        "of the inside (with or without repeating the edge), or the opposite side of the "
        "image.",
    )
    dilation = pair(
        ("Dilation ↓", "Dilation →"),
        1,
        MAX_DILATION,
        ("kernel.dilation_rows", "kernel.dilation_cols"),
        (
            "Spacing between kernel rows: 2 skips every other row.",
            "Spacing between kernel columns.",
        ),
    )
    flip = st.toggle(
        "True convolution (flip 180°)",
        key="kernel.flip",
        help="Off: cross-correlation, what CNN layers and OpenCV compute. On: the textbook "
        "convolution, which rotates the kernel by 180° before sliding it.",
    )
    row = st.container(horizontal=True, vertical_alignment="bottom")
    bias = row.number_input(
        "Bias",
        -1000.0,
        1000.0,
        step=1.0,
        key="kernel.bias",
        help="A constant added to every output value, as in a CNN neuron.",
    )
    relu = row.toggle(
        "ReLU",
        key="kernel.relu",
        help="Replace negative outputs by 0, as a CNN's activation does.",
    )
    return Sliding(stride, padding, pads, mode, dilation, flip, bias, relu)


# ---------------------------------------------------------------- compute
def output_sizes(image: np.ndarray, kernel: np.ndarray, sliding: Sliding):
    """The output-size arithmetic of both axes (raises ValueError when nothing fits)."""
    return [
        describe_output_size(
            image.shape[axis],
            kernel.shape[axis],
            strides=sliding.stride[axis],
            padding=sliding.pads[axis] if sliding.padding == "explicit" else sliding.padding,
            dilation_rate=sliding.dilation[axis],
        )
        for axis in (0, 1)
    ]


def apply_kernel(image: np.ndarray, weights: np.ndarray, sliding: Sliding) -> np.ndarray:
    """The convolution, then the bias and the optional ReLU."""
    output = conv2d(image, weights, **sliding.conv_options())
    if sliding.bias:
        output += sliding.bias
    if sliding.relu:
        np.maximum(output, 0.0, out=output)
    return output


# ---------------------------------------------------------------- display
TAB_NAMES = [
    "Step by step",
    "Frequency response",
    "Separable?",
    "Shift test",
    "Compare kernels",
    "Noise & sharpening",
    "Share & download",
]


def show_tabs(choice, image, chosen, weights, output, sliding, mapping, link_params) -> None:
    """The analysis tabs; only the open one runs."""
    options = sliding.conv_options()
    tabs = st.tabs(TAB_NAMES, key="kernel.tab", on_change="rerun")
    sections = [
        lambda: lessons.step_by_step(
            image, weights, output, options, bias=sliding.bias, relu=sliding.relu
        ),
        lambda: kernel_editor.show_frequency_response(chosen.values),
        lambda: kernel_editor.show_separability(chosen.values),
        lambda: lessons.shift_test(image, chosen.values, sliding.stride),
        lambda: lessons.compare_kernels(image, chosen.values, options, mapping),
        lambda: lessons.noise_and_sharpening(
            choice.pixels, choice.name, shareable=choice.shareable
        ),
        lambda: kernel_editor.share_and_download(link_params, choice, output, mapping),
    ]
    for tab, section in zip(tabs, sections, strict=True):
        if tab.open:
            with tab:
                section()


@st.fragment
def playground() -> None:
    """Controls, output and analysis tabs.

    A fragment: changing a control here reruns and redraws only this part,
    not the app's navigation, the title or the examples above. That keeps
    an edit's round trip short (bench/kernel_page.py measures it).
    """
    image_column, kernel_column, slide_column = st.columns([1.1, 1.1, 1], gap="medium")
    with image_column:
        choice, color, channel_weights = image_controls()
    with kernel_column:
        st.subheader("Kernel")
        chosen = kernel_editor.kernel_editor("kernel")
        flipped_slot = st.container()
    with slide_column:
        sliding = sliding_controls()

    image = choice.pixels if color != "grayscale" else lessons.grayscale(choice)
    weights = chosen.values
    if color == "summed":
        weights = chosen.values[:, :, None] * channel_weights[None, None, :]
    output = None
    try:
        sizes = output_sizes(image, chosen.values, sliding)
        output = apply_kernel(image, weights, sliding)
    except ValueError as error:
        st.error(f"{error} The output cannot be computed with these settings.")

    state = state_from_widgets(
        S,
        image=choice.name if choice.shareable else PlaygroundState().image,
        kernel=chosen.values,
        preset=chosen.preset,
        synthetic_size=S.get("kernel.synthetic_size", 32),
    )
    link_params = encode_state(state)
    kernel_editor.sync_link(link_params)

    if sliding.flip:
        with flipped_slot:
            st.caption("Flipping is on: the kernel actually applied is the grid rotated by 180°:")
            image_view.show_small_matrix(chosen.values[::-1, ::-1])
    left, right = st.columns(2)
    with left:
        image_view.show_image(
            image,
            caption=f"Input: {choice.label}",
            mapping=image_view.input_mapping(image),
            cache_key=(choice.name, color) if choice.shareable else None,
        )
    with right:
        mapping = st.selectbox(
            "Show the output as",
            list(image_view.MAPPING_LABELS),
            format_func=image_view.MAPPING_LABELS.get,
            key="kernel.mapping",
            help="Outputs can be negative or above 255, so the picture needs a rule. Automatic "
            "uses signed colours when there are negatives; the caption says which rule is on.",
        )
        if output is not None:
            image_view.show_image(output, caption="Output", mapping=mapping)
    if output is not None:
        lessons.show_size_arithmetic(sizes)
        show_tabs(choice, image, chosen, weights, output, sliding, mapping, link_params)


playground()
