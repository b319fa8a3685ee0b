"""Convolution Arithmetic: sizes, strides, padding and dilation, one window at a time.

An interactive version of Dumoulin & Visin's "A guide to convolution
arithmetic for deep learning": pick a worked example or type your own
numbers, step the window through every output position, read the size rule
that applies, and see the transposed convolution and the matrix behind both.
"""

import numpy as np
import streamlit as st

from core.ops.arithmetic import conv_geometry, conv_relationship, pad_input
from core.ops.arithmetic_forms import transposed_breakdown
from core.ops.convolution import conv2d
from core.ops.pixel_explanation import explain_pixel
from ui.arithmetic.controls import conv_controls, example_picker, init_state, matrix_inputs
from ui.arithmetic.link import LINK
from ui.arithmetic.views import (
    cell_guess,
    matrix_expander,
    show_relationships,
    show_step,
    show_transposed_construction,
    show_transposed_sizes,
    signature,
    size_guess,
    verdict,
)
from ui.widgets.matrix_view import show_result
from ui.widgets.presentation import main_picture
from ui.widgets.window_steps import step_through_outputs, stride_problem

st.title("Convolution Arithmetic")
st.markdown(
    "How big is the output, and where does each number come from? Slide the kernel over the "
    "input one position at a time, watch padding, strides and dilation change which cells it "
    "covers, and check the size rule from Dumoulin & Visin's guide with your numbers."
)
LINK.start()  # a shared link sets every control; the address follows every change
main_picture(
    ".st-key-arith-stepper-first", fit=(".st-key-arith-view-input", ".st-key-arith-view-output")
)
init_state()
example_picker()
settings = conv_controls()
image, kernel, matrix_error = matrix_inputs()

# ---------------------------------------------------------------- refuse what cannot work
problem = matrix_error or stride_problem(settings.strides)
if problem:
    st.error(problem)
    st.stop()
sig = signature(image, kernel, settings)

# ---------------------------------------------------------------- compute (all through core)
if settings.transposed:
    try:
        breakdown = transposed_breakdown(
            image,
            kernel,
            strides=settings.strides,
            padding=settings.padding_choice,
            output_padding=settings.output_padding,
        )
    except ValueError as error:
        hint = "" if "Change" in str(error) else " Change the output padding or the stride."
        st.error(f"{error}{hint}")
        st.stop()
    geometry, padded, output = breakdown.geometry(), breakdown.padded, breakdown.output
    applied_kernel, flip, halo = breakdown.flipped_kernel, False, breakdown.inserted_zeros
    halo_label, kernel_title = (
        "zeros that are not input cells (stretching, padding)",
        "Flipped kernel",
    )
else:
    try:
        geometry = conv_geometry(
            image.shape,
            kernel.shape,
            strides=settings.strides,
            padding=settings.padding,
            dilation_rate=settings.dilation_rate,
        )
    except ValueError as error:
        st.error(str(error))
        st.stop()
    padded = pad_input(image, geometry.pads, mode=settings.border_mode, cval=settings.cval)
    output = conv2d(
        image, kernel, mode=settings.border_mode, cval=settings.cval, **settings.conv_options()
    )
    applied_kernel, flip, halo = kernel, settings.flip_kernel, geometry.halo_mask()
    halo_label = f"padding cells, filled in '{settings.border_mode}' mode"
    kernel_title = "Kernel (flipped)" if flip else "Kernel"
result = np.maximum(output, 0) if settings.relu else output

# ---------------------------------------------------------------- output size
st.subheader("Output size" + (" of the transposed convolution" if settings.transposed else ""))
hidden = settings.guess_mode and not size_guess(sig, output.shape)
if not hidden:
    st.markdown(f"The output is **{output.shape[0]} × {output.shape[1]}**.")
if settings.transposed:
    show_transposed_sizes(breakdown, hidden=hidden)
    st.subheader("The same result as a direct convolution")
    show_transposed_construction(breakdown)
else:
    name = None if settings.padding_choice == "explicit" else settings.padding_choice
    show_relationships(
        [conv_relationship(info, padding_name=name) for info in geometry.axes], hidden=hidden
    )

# ---------------------------------------------------------------- step through
st.subheader("Step through")
if hidden:
    st.info("Check your prediction of the output size above, then step through the windows.")
    st.stop()


def render(step: int) -> None:
    at_end = step == geometry.num_steps - 1
    if settings.guess_mode and at_end and st.session_state.get("arith.revealed") != sig:
        st.session_state["arith.revealed"] = sig
        st.rerun()  # the whole app, so the result below appears too
    row, col = geometry.position(step)
    explanation = explain_pixel(
        padded,
        applied_kernel,
        row,
        col,
        strides=geometry.strides,
        dilation_rate=geometry.dilation_rate,
        flip_kernel=flip,
    )
    hide = settings.guess_mode and not cell_guess(sig, step, (row, col), float(output[row, col]))
    show_step(
        step=step,
        geometry=geometry,
        padded=padded,
        explanation=explanation,
        output=output,
        halo=halo,
        halo_label=halo_label,
        kernel_title=kernel_title,
        hide_value=hide,
        key="arith.view",
    )


step_through_outputs(
    "arith.stepper",
    geometry.num_steps,
    render,
    help="Drag to move the window to any output position (reading order).",
)

# ---------------------------------------------------------------- whole result
st.subheader("The whole result")
if settings.guess_mode and st.session_state.get("arith.revealed") != sig:
    st.caption("Hidden in predict mode until you step to the last position.")
else:
    show_result(output)
    if settings.relu:
        st.markdown("After ReLU (negatives become 0):")
        show_result(result)
    if settings.transposed:
        same = np.allclose(breakdown.output, breakdown.reference)
        st.markdown(
            f"{verdict(same)} "
            + ("Identical to" if same else "Differs from")
            + " Keras' Conv2DTranspose layer on the original input."
        )

matrix_expander(
    image,
    kernel,
    output,
    settings=settings,
    halo=halo,
    breakdown=breakdown if settings.transposed else None,
)
LINK.finish()  # names linked values the page could not use; keeps the address current
