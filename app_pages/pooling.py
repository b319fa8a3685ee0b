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
from ui.pooling.controls import matrix_input, pool_controls
from ui.pooling.link import LINK, TAB_NAMES
from ui.pooling.steps import show_pool_step
from ui.pooling.views import (
    LESSON_KEYS,
    global_pooling_lesson,
    repeated_pooling_lesson,
    translation_lesson,
)
from ui.widgets.closed_tabs import is_open, keep
from ui.widgets.formula import show_formula
from ui.widgets.matrix_view import show_result
from ui.widgets.presentation import main_picture
from ui.widgets.window_steps import axis_rules, step_through_outputs, stride_problem

st.title("Pooling")
st.markdown(
    "A pooling layer slides a window over each feature map, like a convolution, but has no "
    "weights: it keeps the **largest** value of the window (max pooling) or its **mean** "
    "(average pooling). The map gets smaller, and small shifts of the input matter less."
)
LINK.start()  # a shared link sets every control; the address follows every change
main_picture(
    ".st-key-pool-stepper-first", fit=(".st-key-pool-view-input", ".st-key-pool-view-output")
)
# Keyed so the open tab is in the link. The first tab always runs (the last one needs it);
# a closed lesson tab draws nothing, its controls keep their values, and opening it reruns
# the page: a first visit builds one tab, not four.
matrix_tab, image_tab, shift_tab, global_tab = st.tabs(TAB_NAMES, key="pool.tab", on_change="rerun")

with matrix_tab:
    settings = pool_controls()
    image, problem = matrix_input()
    problem = problem or stride_problem(settings.strides)
    geometry = None
    if not problem:
        try:
            geometry = conv_geometry(
                image.shape,
                settings.pool_size,
                strides=settings.strides,
                padding=settings.padding,
            )
            pooled = pool2d(image, method=settings.method, **settings.pool_options())
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
        rules = [pool_relationship(info, padding_name=settings.padding) for info in geometry.axes]
        for label, relationship in axis_rules(rules, ("Rows", "Columns")):  # one if the same
            st.markdown(f"**{label}** — {relationship.label}")
            show_formula(
                f"{relationship.formula} \\quad\\Rightarrow\\quad {relationship.substituted}"
            )
            for note in relationship.notes:
                st.caption(note)

        winners = None
        if method == "max":
            winners = max_pool_argmax(image, **settings.pool_options())
        upstream = np.arange(1.0, pooled.size + 1).reshape(pooled.shape)
        gradient = None
        if settings.backprop:
            gradient = pool2d_gradient(image, upstream, method=method, **settings.pool_options())

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

        step_through_outputs(
            "pool.stepper",
            geometry.num_steps,
            render,
            help="Drag to move the pooling window to any output position.",
        )
        st.subheader("The whole result")
        show_result(pooled)

with image_tab:
    if is_open(image_tab):
        st.markdown(
            "Each 2×2 max pooling with stride 2 halves the height and the width: a quarter of "
            "the values survive. Three poolings leave one value in 64, yet the strong responses "
            "are still there."
        )
        repeated_pooling_lesson()
    else:
        keep(LESSON_KEYS["image"])

with shift_tab:
    if is_open(shift_tab):
        st.markdown(
            "Move the input a few pixels. A stride-1 convolution map moves with it, so compared "
            "cell by cell it changes a lot. After max pooling, a strong response that stays "
            "inside its window gives the same maximum: the pooled map changes much less."
        )
        translation_lesson()
    else:
        keep(LESSON_KEYS["shift"])

with global_tab:
    if is_open(global_tab):
        global_pooling_lesson(None if problem else image)
    else:
        keep(LESSON_KEYS["global"])
LINK.finish()  # names linked values the page could not use; keeps the address current
