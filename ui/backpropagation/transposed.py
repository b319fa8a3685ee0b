"""∂L/∂X two ways, side by side: scattered back through the windows, and a transposed convolution.

The scatter is what the step-by-step view did. The same numbers come from one
convolution: put stride − 1 zeros between the output gradients, pad them with
k̂ − 1 zeros, and slide the kernel rotated by 180° over them. That operation is
a transposed convolution, and Keras' ``Conv2DTranspose`` computes it
(``core.conv2d_transpose``) whenever Keras' arguments can express the layer.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.ops.conv_backward import BackwardSteps
from ui.backpropagation.grids import cell_size, marked_table, plain_table, row_of


def verdict(ok: bool) -> str:
    """A green tick or a red cross (Material icons, so every browser draws them).

    >>> verdict(True)
    ':green[:material/check_circle:]'
    """
    return ":green[:material/check_circle:]" if ok else ":red[:material/cancel:]"


def keras_call_text(steps: BackwardSteps) -> str:
    """The ``core.conv2d_transpose`` call that gives ∂L/∂X, as code.

    >>> from core.ops.conv_backward import conv2d_backward_steps
    >>> keras_call_text(conv2d_backward_steps(np.ones((5, 5)), np.ones((3, 3)), np.ones((2, 2)),
    ...                                       strides=2))
    "conv2d_transpose(dL_dY, W, strides=(2, 2), padding='valid', output_padding=(0, 0))"
    """
    arguments = steps.keras_arguments
    return (
        f"conv2d_transpose(dL_dY, W, strides={steps.geometry.strides}, "
        f"padding='{arguments['padding']}', output_padding={arguments['output_padding']})"
    )


def why_not_keras(steps: BackwardSteps) -> str:
    """Why Keras' ``Conv2DTranspose`` arguments cannot express this layer."""
    if steps.geometry.dilation_rate != (1, 1):
        return (
            "Keras' Conv2DTranspose has no dilation, so it cannot be compared here; the "
            "construction above (with the dilated, flipped kernel) is the transposed "
            "convolution of a dilated layer."
        )
    return (
        "Keras' Conv2DTranspose only knows 'valid' and 'same' padding (with an output "
        "padding smaller than the stride), which cannot describe this padding; the "
        "construction above still can."
    )


def show_transposed_comparison(steps: BackwardSteps) -> None:
    """∂L/∂X scattered and by one transposed convolution side by side, then how the latter works."""
    geometry = steps.geometry
    gradient = steps.gradients.input_gradient
    k_rows, k_cols = geometry.effective_kernel_size
    flipped_gaps = np.ones(steps.flipped_kernel.shape, dtype=bool)
    flipped_gaps[:: geometry.dilation_rate[0], :: geometry.dilation_rate[1]] = False
    flipped_gaps = flipped_gaps[::-1, ::-1]
    via_transposed = steps.padded_input_gradient[geometry.input_slice()]
    st.html(
        row_of(
            [
                plain_table(gradient, title="∂L/∂X, scattered back through the windows"),
                plain_table(via_transposed, title="∂L/∂X from one transposed convolution"),
            ],
            ["="],
        )
    )
    same = np.allclose(via_transposed, gradient)
    st.markdown(
        f"{verdict(same)} "
        + ("The same numbers" if same else "Different numbers")
        + ": sending every output's gradient back through its window **is** a convolution of "
        "the zero-stuffed gradient with the rotated kernel — a *transposed convolution*. "
        "That is why the layer exists: it runs a convolution's backward pass forwards, "
        "to make a small map larger."
    )
    st.markdown(
        "**How:** put stride − 1 zeros between the output gradients, surround them with "
        "k̂ − 1 zeros, and slide the kernel rotated by 180° over them with stride 1."
    )
    halo = geometry.halo_mask()
    stuffed = bool(steps.inserted_zeros().any())
    tables = [
        marked_table(
            steps.transposed_input,
            title="∂L/∂Y, zeros between, padded" if stuffed else "∂L/∂Y, padded",
            halo=steps.transposed_padding(),
            muted=steps.inserted_zeros(),
            cell_px=cell_size(steps.transposed_input.shape, 340),
        ),
        marked_table(
            steps.flipped_kernel,
            title="W rotated by 180°",
            muted=flipped_gaps,
            cell_px=cell_size(steps.flipped_kernel.shape, 200),
        ),
        marked_table(
            steps.padded_input_gradient,
            title="Result" + (" (green: padding, cut away)" if halo.any() else ""),
            halo=halo,
            cell_px=cell_size(steps.padded_input_gradient.shape, 300),
        ),
    ]
    st.html(row_of(tables, ["⋆", "="]))
    notes = []
    if steps.inserted_zeros().any():
        notes.append("grey: the stride − 1 zeros between the output gradients")
    if flipped_gaps.any():
        notes.append("grey in the kernel: the gaps of the dilation")
    notes.append(
        f"green: {k_rows - 1} rows and {k_cols - 1} columns of zeros (k̂ − 1) around the "
        "gradients, so the rotated kernel reaches every input cell"
    )
    st.caption(" · ".join(notes))
    if steps.keras_transpose is None:
        st.caption(why_not_keras(steps))
        return
    keras_same = np.allclose(steps.keras_transpose, gradient)
    st.markdown(
        f"{verdict(keras_same)} `{keras_call_text(steps)}` — Keras' Conv2DTranspose — "
        + ("gives the same ∂L/∂X." if keras_same else "gives different numbers.")
    )
