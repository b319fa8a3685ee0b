"""Convolution Arithmetic: sizes, strides, padding and dilation, one window at a time.

An interactive version of Dumoulin & Visin's "A guide to convolution
arithmetic for deep learning": pick a worked example or type your own
numbers, step the window through every output position, read the size rule
that applies, and see the transposed convolution and the matrix behind both.
"""

import numpy as np
import streamlit as st

from core.arithmetic import (
    conv_geometry,
    conv_relationship,
    matrix_form,
    pad_input,
    transposed_breakdown,
)
from core.convolution import conv2d, explain_pixel
from ui.arithmetic_controls import (
    INPUT_KEY,
    KERNEL_KEY,
    conv_controls,
    example_picker,
    init_state,
)
from ui.arithmetic_view import (
    cell_guess,
    show_matrix_form,
    show_relationships,
    show_step,
    signature,
    size_guess,
    table,
)
from ui.matrix_editor import matrix_editor
from ui.matrix_view import show_matrix
from ui.stepper import current_step, step_through

st.title("Convolution Arithmetic")
st.markdown(
    "How big is the output, and where does each number come from? Slide the kernel over the "
    "input one position at a time, watch padding, strides and dilation change which cells it "
    "covers, and check the size rule from Dumoulin & Visin's guide with your numbers."
)
init_state()
example_picker()
settings = conv_controls()

with st.expander("Edit the input and the kernel", expanded=False):
    left, right = st.columns([3, 2])
    with left:
        image, input_error = matrix_editor(
            INPUT_KEY,
            np.zeros((5, 5)),
            name="input",
            help="Click a cell to type a new value.",
        )
    with right:
        kernel, kernel_error = matrix_editor(KERNEL_KEY, np.ones((3, 3)), name="kernel")

# ---------------------------------------------------------------- refuse what cannot work
for error in (input_error, kernel_error):
    if error:
        st.error(error)
        st.stop()
for axis, stride in zip(("row", "column"), settings.strides, strict=True):
    if stride < 1:
        st.error(
            f"The {axis} stride is {stride}: the window would never move. Set it to 1 or more."
        )
        st.stop()
sig = signature(image, kernel, settings)

# ---------------------------------------------------------------- transposed convolution
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
        st.error(f"{error} (Change the output padding, the stride or the kernel size.)")
        st.stop()
    result = np.maximum(breakdown.output, 0) if settings.relu else breakdown.output
    st.subheader("Output size of the transposed convolution")
    hidden = settings.guess_mode and not size_guess(sig, breakdown.output.shape)
    for label, (formula, substituted, _), relationship in zip(
        ("Rows", "Columns"), breakdown.keras_rules, breakdown.relationships, strict=True
    ):
        st.markdown(f"**{label}** — Keras' Conv2DTranspose rule, and {relationship.label}")
        st.latex(formula if hidden else f"{formula} \\quad\\Rightarrow\\quad {substituted}")
        st.latex(relationship.formula if hidden else relationship.substituted)
        for note in () if hidden else relationship.notes:
            st.caption(note)
    st.subheader("The same result as a direct convolution")
    (pt, pb), (pl, pr) = breakdown.pads
    st.markdown(
        f"1. **Stretch** the input: put s − 1 zeros between neighbouring cells "
        f"(strides {breakdown.strides}).  \n"
        f"2. **Pad** with zeros: k − p − 1 = {pt} rows on top and {pl} columns on the left "
        f"(p = {breakdown.forward_pads[0][0]}, {breakdown.forward_pads[1][0]} is the padding of "
        f"the forward convolution); {pb} rows at the bottom and {pr} columns on the right, "
        "output padding included.  \n"
        "3. **Flip** the kernel by 180° and slide it with stride 1."
    )
    cols = st.columns(3)
    with cols[0]:
        show_matrix(breakdown.image, title="Input", key="arith.t.input")
    with cols[1]:
        show_matrix(breakdown.stretched, title="Stretched", key="arith.t.stretched")
    with cols[2]:
        show_matrix(breakdown.flipped_kernel, title="Flipped kernel", key="arith.t.flipped")
    geometry = breakdown.geometry()
    padded = breakdown.padded
    applied_kernel, flip = breakdown.flipped_kernel, False
    output = breakdown.output
    halo = breakdown.inserted_zeros
    halo_label = "zeros that are not input cells (stretching and padding)"
    kernel_title = "Flipped kernel"
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
    options = dict(
        strides=settings.strides,
        padding=settings.padding,
        mode=settings.border_mode,
        cval=settings.cval,
        dilation_rate=settings.dilation_rate,
    )
    output = conv2d(image, kernel, flip_kernel=settings.flip_kernel, **options)
    result = np.maximum(output, 0) if settings.relu else output
    applied_kernel, flip = kernel, settings.flip_kernel
    halo = geometry.halo_mask()
    halo_label = f"padding cells, filled in '{settings.border_mode}' mode"
    kernel_title = "Kernel (flipped)" if flip else "Kernel"
    st.subheader("Output size")
    hidden = settings.guess_mode and not size_guess(sig, output.shape)
    if not hidden:
        st.markdown(f"The output is **{output.shape[0]} × {output.shape[1]}**.")
    name = settings.padding_choice if settings.padding_choice != "explicit" else None
    show_relationships(
        [conv_relationship(info, padding_name=name) for info in geometry.axes], hidden=hidden
    )

# ---------------------------------------------------------------- step through
st.subheader("Step through")


def render(step: int) -> None:
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


step_through(
    "arith.stepper",
    geometry.num_steps,
    render,
    label="Output position",
    help="Drag to move the window to any output position (reading order).",
    format_step=lambda s: f"Position {s + 1} of {geometry.num_steps}",
)

# ---------------------------------------------------------------- whole result
revealed = not settings.guess_mode or current_step("arith.stepper", geometry.num_steps) == (
    geometry.num_steps - 1
)
st.subheader("The whole result")
if not revealed:
    st.caption("Hidden in predict mode until you step to the last position.")
else:
    st.dataframe(table(output), hide_index=False)
    if settings.relu:
        st.markdown("After ReLU (negatives become 0):")
        st.dataframe(table(result), hide_index=False)
    if settings.transposed:
        same = np.allclose(breakdown.output, breakdown.reference)
        st.write(
            ("✅ Identical to" if same else "❌ Differs from")
            + " `core.conv2d_transpose` (Keras' Conv2DTranspose) on the original input."
        )

with st.expander("Convolution as a matrix (inputs up to 6×6)"):
    zero_fill = settings.border_mode == "constant" and settings.cval == 0
    forward_input = breakdown.reference.shape if settings.transposed else image.shape
    if not zero_fill and halo.any():
        st.info("The matrix view assumes zero padding: set the fill to constant 0.")
    elif forward_input[0] * forward_input[1] > 36:
        st.info(
            f"The matrix would have {forward_input[0] * forward_input[1]} columns; make the "
            + ("output" if settings.transposed else "input")
            + " at most 6×6 (36 cells) to see it."
        )
    elif settings.transposed:
        form = matrix_form(
            np.zeros(forward_input),
            kernel,
            strides=settings.strides,
            padding=settings.padding_choice,
        )
        via_matrix = (form.matrix.T @ image.ravel()).reshape(forward_input)
        show_matrix(
            form.matrix.T,
            title="Cᵀ of the matching forward convolution",
            fmt=lambda v: "" if v == 0 else f"{v:g}",
            cell_px=22,
            key="arith.t.ct",
        )
        same = np.allclose(via_matrix, breakdown.reference)
        st.write(("✅" if same else "❌") + " Cᵀ x equals the transposed convolution above.")
    else:
        show_matrix_form(
            matrix_form(
                image,
                kernel,
                strides=settings.strides,
                padding=settings.padding,
                dilation_rate=settings.dilation_rate,
                flip_kernel=settings.flip_kernel,
            ),
            kernel_is_flipped=settings.flip_kernel,
        )
