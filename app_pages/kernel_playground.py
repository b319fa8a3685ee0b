"""Kernel Playground: slide any kernel over any image and see every number behind the result.

Controls: the image, the kernel grid, and how the kernel slides (stride,
padding, border, dilation, flip). Compute: ``core.ops.convolution.conv2d`` plus a
bias and an optional ReLU. Display: input and output side by side with the
display mapping named, the output-size arithmetic with today's numbers, and
tabs that explain one output pixel, the kernel's frequency response, its
separability, translation equivariance, comparisons, noise filtering and a
shareable link.
"""

import numpy as np
import streamlit as st

from core.ops.output_size import describe_output_size
from ui.kernel_playground import kernel_editor, setups
from ui.kernel_playground.controls import Sliding, grayscale, image_controls, sliding_controls
from ui.kernel_playground.link import LINK
from ui.kernel_playground.output import output_cache_key, output_image
from ui.kernel_playground.step_by_step import show_size_arithmetic
from ui.kernel_playground.tabs import show_tabs
from ui.room.offers import offer_pixel_question
from ui.widgets import image_view
from ui.widgets.presentation import main_picture
from ui.widgets.short_choice import choose_one

st.title("Kernel Playground")
st.caption(
    "A kernel is a small grid of weights. At every position it covers a patch of the image, "
    "multiplies each pixel by the weight on top of it and adds everything up: that sum is one "
    "output pixel. Change anything below and watch the output follow."
)
# A shared link sets the page up on the first run (a warning names any bad parameter).
setups.restore_setup()
setups.lecture_example_buttons()
main_picture(".st-key-kernel-mapping__row")  # presentation mode starts with input and output


# ---------------------------------------------------------------- compute
def output_sizes(image: np.ndarray, kernel: np.ndarray, sliding: Sliding):
    """The output-size arithmetic of both axes (raises ValueError when nothing fits)."""
    return [
        describe_output_size(
            image.shape[axis],
            kernel.shape[axis],
            strides=sliding.strides[axis],
            padding=sliding.axis_padding(axis),
            dilation_rate=sliding.dilation_rate[axis],
        )
        for axis in (0, 1)
    ]


@st.fragment
def playground() -> None:
    """Controls, output and analysis tabs.

    A fragment: changing a control here reruns and redraws only this part,
    not the app's navigation, the title or the examples above. That keeps
    an edit's round trip short (bench/kernel_page.py measures it).
    """
    LINK.enforce_locks()  # a link's locked controls keep their values
    # ------------------------------------------------------------ controls
    image_column, kernel_column, slide_column = st.columns([1.1, 1.1, 1], gap="medium")
    with image_column:
        choice, color, channel_weights = image_controls()
    with kernel_column:
        st.subheader("Kernel")
        chosen = kernel_editor.kernel_editor("kernel")
        flipped_slot = st.container()
    with slide_column:
        sliding = sliding_controls()

    # ------------------------------------------------------------ compute
    image = choice.pixels if color != "grayscale" else grayscale(choice)
    weights = chosen.values
    if color == "summed":
        weights = chosen.values[:, :, None] * channel_weights[None, None, :]
    output = None
    try:
        sizes = output_sizes(image, chosen.values, sliding)
        output_key = output_cache_key(choice, color, weights, sliding)
        output = output_image(image, weights, sliding, output_key)
    except ValueError as error:
        st.error(f"{error} The output cannot be computed with these settings.")

    LINK.sync()  # the address shows every change at once
    offer_pixel_question(image, weights, sliding)  # the lecture room's question

    # ------------------------------------------------------------ display
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
        mapping = choose_one(
            "Show the output as",
            list(image_view.MAPPING_LABELS),
            format_func=image_view.MAPPING_LABELS.get,
            key="kernel.mapping",
            help="Outputs can be negative or above 255, so the picture needs a rule. Automatic "
            "uses signed colours when there are negatives; the caption says which rule is on.",
        )
        if output is not None:
            image_view.show_image(
                output,
                caption="Output",
                mapping=mapping,
                cache_key=None if output_key is None else ("output", output_key),
            )
    if output is not None:
        show_size_arithmetic(sizes)
        show_tabs(choice, image, chosen, weights, output, sliding, mapping, LINK.params())
    LINK.finish()  # and what the open tab changed (a clicked pixel); names unusable values


playground()
