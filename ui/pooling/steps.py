"""One step of the Pooling page's small-matrix lesson: the window, its arithmetic, the gradient.

``show_pool_step`` draws the input with the window (and the winning cell of
max pooling), the output written so far and the window's arithmetic;
with backpropagation on, ``show_backprop`` shows where this output's gradient
lands on the input. Every number comes from ``core.ops.pooling``.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.base.numbers import plural
from core.ops.arithmetic import ConvGeometry
from ui.widgets.matrix_view import format_value, show_matrix
from ui.widgets.window_steps import show_output_so_far, show_window_on_input


def window_text(values: np.ndarray, method: str, result: float) -> str:
    """ "max(10, 12, 6, 8) = 12" or "(10 + 12 + 6 + 8) / 4 = 9"."""
    items = [format_value(v) for v in values]
    if method == "max":
        return f"max({', '.join(items)}) = **{format_value(result)}**"
    return f"({' + '.join(items)}) / {len(items)} = **{format_value(result)}**"


def show_pool_step(
    *,
    step: int,
    geometry: ConvGeometry,
    image: np.ndarray,
    output: np.ndarray,
    winners: np.ndarray | None,
    method: str,
    gradient: np.ndarray | None,
    upstream,
) -> None:
    """Input with the window (and winner), the window's arithmetic, the output so far."""
    row, col = geometry.position(step)
    (top, _), (left, _) = geometry.pads
    halo = geometry.halo_mask()
    padded = np.full(geometry.padded_shape, np.nan)
    padded[geometry.input_slice()] = image
    window = geometry.window_mask(row, col)
    winner = None
    if winners is not None:
        winner = np.zeros(geometry.padded_shape, dtype=bool)
        winner[winners[row, col, 0] + top, winners[row, col, 1] + left] = True
    text = np.where(halo, "pad", np.vectorize(format_value, otypes=[object])(np.nan_to_num(padded)))
    grid, out_col = st.columns([3, 2])
    with grid:
        show_window_on_input(
            padded,
            geometry,
            window=window,
            halo=halo,
            key="pool.view.input",
            winner=winner,
            text=text,
            shade=(geometry.unreached_mask() & ~halo) if not halo.any() else None,
        )
        st.caption(
            "orange: the window · red: the winning cell"
            if winner is not None
            else "orange: the window"
        )
    with out_col:
        show_output_so_far(output, step, key="pool.view.output")
    current = np.arange(output.size).reshape(output.shape) == step
    values = padded[window & ~halo]
    st.markdown(f"Output ({row}, {col}): " + window_text(values, method, output[row, col]))
    if gradient is not None:
        g = float(upstream[row, col])
        if method == "max":
            r, c = winners[row, col]
            st.markdown(
                f"Backprop: the gradient {format_value(g)} of output ({row}, {col}) goes "
                f"**entirely** to input cell ({r}, {c}), the winner; the other cells get 0."
            )
        else:
            share = g / values.size
            st.markdown(
                f"Backprop: the gradient {format_value(g)} of output ({row}, {col}) is "
                f"**shared** by its {plural(values.size, 'real cell')}: {format_value(share)} "
                "each."
            )
        if winner is not None:
            targets = winner[geometry.input_slice()]
        else:
            targets = (window & ~halo)[geometry.input_slice()]
        show_backprop(gradient, upstream, current=current, targets=targets)


def show_backprop(
    gradient: np.ndarray, upstream: np.ndarray, *, current: np.ndarray, targets: np.ndarray
) -> None:
    """The upstream gradient and where it lands on the input; this step's part outlined."""
    st.markdown("**Backpropagation**")
    left, right = st.columns([2, 3])
    with left:
        show_matrix(
            upstream,
            title="Gradient arriving at each output",
            winner=current,
            key="pool.grad.up",
        )
    with right:
        show_matrix(
            gradient,
            title="Gradient on the input (all outputs)",
            highlight=targets,
            key="pool.grad.input",
        )
    st.caption(
        "Each output's gradient is numbered 1, 2, 3, … so you can follow it; the orange "
        "outline shows where this output's gradient lands. Cells reached by several windows "
        "receive the sum; cells that never win (max) get 0."
    )
