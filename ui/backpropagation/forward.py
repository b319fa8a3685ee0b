"""The forward pass and the output gradient, as the Backpropagation page shows them.

``show_forward`` draws X ⋆ W + b = Y on the padded input; ``stride_notes``
says in words when the stride is larger than the input or leaves cells
unreached (they get no gradient); ``show_mse`` shows where the MSE's output
gradient comes from, 2 (Y − T) / n. Every number comes from ``core``.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.base.numbers import plural
from core.ops.arithmetic import ConvGeometry
from ui.backpropagation.grids import cell_size, marked_table, people, plain_table, row_of

AXES = ("rows", "columns")


def padded_labels(geometry: ConvGeometry) -> dict[str, list[int]]:
    """Index labels of the padded grid that number the input's own cells from 0.

    >>> from core.ops.arithmetic import conv_geometry
    >>> padded_labels(conv_geometry((2, 2), (3, 3), padding="same"))
    {'row_labels': [-1, 0, 1, 2], 'col_labels': [-1, 0, 1, 2]}
    """
    (top, _), (left, _) = geometry.pads
    rows, cols = geometry.padded_shape
    return {
        "row_labels": [r - top for r in range(rows)],
        "col_labels": [c - left for c in range(cols)],
    }


def stride_notes(geometry: ConvGeometry) -> list[str]:
    """Warnings for strides larger than the padded input and for cells no window reaches.

    >>> from core.ops.arithmetic import conv_geometry
    >>> stride_notes(conv_geometry((3, 6), (3, 3), strides=(4, 2)))[0][:47]
    'The row stride (4) is larger than the input (3 '
    """
    notes = []
    for axis, info in enumerate(geometry.axes):
        name, padded = AXES[axis], info.input_size + info.pad_before + info.pad_after
        if info.strides > padded:
            notes.append(
                f"The {name[:-1]} stride ({info.strides}) is larger than the input "
                f"({info.input_size} {name} + {info.pad_before + info.pad_after} of padding): "
                f"the window fits only once along the {name}, so only one output gets a "
                f"gradient along them. Use a stride of at most {padded}."
            )
        elif info.unreached:
            notes.append(
                f"The stride does not fit the {name} exactly: the last "
                f"{plural(info.unreached, name[:-1])} {'is' if info.unreached == 1 else 'are'} "
                f"never under the window, so {'its' if info.unreached == 1 else 'their'} "
                "gradient ∂L/∂X is 0."
            )
    return notes


def show_forward(
    padded_input: np.ndarray,
    kernel: np.ndarray,
    bias: float,
    output: np.ndarray,
    geometry: ConvGeometry,
) -> None:
    """X (padded) ⋆ W + b = Y as tables in one row, with a caption on the options."""
    halo = geometry.halo_mask()
    tables = [
        marked_table(
            padded_input,
            title="Input X" + (" (padded with zeros)" if halo.any() else ""),
            halo=halo,
            cell_px=cell_size(padded_input.shape, 300),
            **padded_labels(geometry),
        ),
        plain_table(kernel, title="Kernel W"),
        plain_table(output, title=f"Output Y ({output.shape[0]}×{output.shape[1]})"),
    ]
    st.html(row_of(tables, ["⋆", f"+ {people(bias)} =" if bias else "="]))
    (sr, sc), (dr, dc) = geometry.strides, geometry.dilation_rate
    details = [f"strides ({sr}, {sc})"]
    if (dr, dc) != (1, 1):
        details.append(f"dilation {dr}: the taps lie {dr} cells apart")
    if halo.any():
        details.append("green: zero padding")
    st.caption(
        "⋆ is cross-correlation, what CNN layers compute: each output is the sum of the "
        "input cells under the window times the weights over them, plus the bias. "
        + " · ".join(details)
        + "."
    )


def show_mse(output: np.ndarray, target: np.ndarray, gradient: np.ndarray, loss: float) -> None:
    """L = mean((Y − T)²), then Y − T and ∂L/∂Y = 2 (Y − T) / n as tables."""
    n = output.size
    st.markdown(
        f"**L = mean((Y − T)²) = {people(loss)}**, averaged over the n = {n} outputs. Each "
        f"output's own term is (y − t)² / {n}, so its gradient is **2 (y − t) / {n}**: "
        "positive where the output is too large, negative where it is too small."
    )
    tables = [
        plain_table(output, title="Output Y"),
        plain_table(target, title="Target T"),
        plain_table(output - target, title="Y − T"),
        plain_table(gradient, title="∂L/∂Y"),
    ]
    st.html(row_of(tables, ["−", "=", f"× 2/{n} →"]))


def show_typed_gradient_note(gradient: np.ndarray) -> None:
    """The typed gradient as a table, and what it stands for: the loss L = Σ ∂L/∂Y ⊙ Y."""
    st.html(row_of([plain_table(gradient, title="∂L/∂Y")], None))
    st.markdown(
        "Each number says how much the loss would change if that output grew by a little: "
        "a **positive** gradient means *lower this output*, a **negative** one *raise it*, "
        "and **0** means the loss does not care about it."
    )
    st.caption(
        "Any typed gradient is the gradient of the loss L = Σ ∂L/∂Y ⊙ Y (a weighted sum of "
        f"the outputs); here it adds up to {people(float(gradient.sum()))}."
    )
