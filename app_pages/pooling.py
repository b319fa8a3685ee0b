"""Pooling: shrink a feature map by keeping the maximum (or the mean) of each window.

Step through max and average pooling on a small matrix (the slides' examples
are presets), follow the gradient back through it, pool a photo's feature map
again and again at true size, measure how pooling hides small shifts, and end
with global pooling, where one window covers the whole map.
"""

import numpy as np
import streamlit as st

from core.ops.arithmetic import conv_geometry, pool_relationship
from core.ops.pooling import max_pool_argmax, pool2d, pool2d_gradient
from ui.pooling.views import (
    INPUT_KEY,
    global_pooling_lesson,
    pool_controls,
    repeated_pooling_lesson,
    show_pool_step,
    table,
    translation_lesson,
)
from ui.widgets.matrix_editor import matrix_editor
from ui.widgets.stepper import step_through

st.title("Pooling")
st.markdown(
    "A pooling layer slides a window over each feature map, like a convolution, but has no "
    "weights: it keeps the **largest** value of the window (max pooling) or its **mean** "
    "(average pooling). The map gets smaller, and small shifts of the input matter less."
)
matrix_tab, image_tab, shift_tab, global_tab = st.tabs(
    ["Small matrix", "Pooling a photo", "Translation invariance", "Global pooling"]
)

with matrix_tab:
    settings = pool_controls()
    with st.expander("Edit the input", expanded=False):
        image, input_error = matrix_editor(
            INPUT_KEY,
            np.zeros((4, 4)),
            name="input",
            help="Click a cell to type a new value; change the size above.",
        )
    problem = input_error
    for axis, stride in zip(("row", "column"), settings.strides, strict=True):
        if stride < 1 and not problem:
            problem = (
                f"The {axis} stride is {stride}: the window would never move. Set it to 1 or more."
            )
    geometry = None
    if not problem:
        try:
            geometry = conv_geometry(
                image.shape,
                settings.pool_size,
                strides=settings.strides,
                padding=settings.padding,
            )
            pooled = pool2d(
                image,
                pool_size=settings.pool_size,
                strides=settings.strides,
                padding=settings.padding,
                method=settings.method,
            )
        except ValueError as error:
            (ph, pw), (ih, iw) = settings.pool_size, image.shape
            problem = (
                f"The {ph}×{pw} pooling window does not fit in the {ih}×{iw} input. Make the "
                f"window at most {ih}×{iw}, make the input larger, or use padding 'same'. "
                f"({error})"
            )
    if problem:
        st.error(problem)
    else:
        method = settings.method
        st.subheader("Output size")
        st.markdown(f"The output is **{pooled.shape[0]} × {pooled.shape[1]}**.")
        for label, info in zip(("Rows", "Columns"), geometry.axes, strict=True):
            relationship = pool_relationship(info, padding_name=settings.padding)
            st.markdown(f"**{label}** — {relationship.label}")
            st.latex(f"{relationship.formula} \\quad\\Rightarrow\\quad {relationship.substituted}")
            for note in relationship.notes:
                st.caption(note)

        winners = None
        if method == "max":
            winners = max_pool_argmax(
                image,
                pool_size=settings.pool_size,
                strides=settings.strides,
                padding=settings.padding,
            )
        upstream = np.arange(1.0, pooled.size + 1).reshape(pooled.shape)
        gradient = None
        if settings.backprop:
            gradient = pool2d_gradient(
                image,
                upstream,
                pool_size=settings.pool_size,
                strides=settings.strides,
                padding=settings.padding,
                method=method,
            )

        st.subheader("Step through")

        def render(step: int) -> None:
            show_pool_step(
                step=step,
                geometry=geometry,
                image=image,
                output=pooled,
                winners=winners,
                method=method,
                gradient=gradient,
                upstream=upstream,
            )

        step_through(
            "pool.stepper",
            geometry.num_steps,
            render,
            label="Output position",
            help="Drag to move the pooling window to any output position.",
            format_step=lambda s: f"Position {s + 1} of {geometry.num_steps}",
        )
        st.subheader("The whole result")
        st.dataframe(table(pooled), hide_index=False)

with image_tab:
    st.markdown(
        "Each 2×2 max pooling with stride 2 halves the height and the width: a quarter of the "
        "values survive. Three poolings leave one value in 64, yet the strong responses are "
        "still there."
    )
    repeated_pooling_lesson()

with shift_tab:
    st.markdown(
        "Move the input a few pixels. A stride-1 convolution map moves with it, so compared "
        "cell by cell it changes a lot. After max pooling, a strong response that stays "
        "inside its window gives the same maximum: the pooled map changes much less."
    )
    translation_lesson()

with global_tab:
    global_pooling_lesson(None if problem else image)
