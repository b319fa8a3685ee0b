"""The step-by-step views of the backward pass: ∂L/∂W, ∂L/∂b and ∂L/∂X.

``show_weight_step`` walks the kernel's weights: the input cells one weight
multiplied (outlined on the whole input, the output gradient over each), their
products and sum. ``show_input_step`` walks the outputs: each sends its
gradient times the kernel back through its window, and the stamps add up to
∂L/∂X. ``show_zeros`` shows where stride and dilation put zeros. Every number
comes from ``core.ops.conv_backward.BackwardSteps``.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.base.numbers import plural
from core.ops.conv_backward import BackwardSteps
from ui.backpropagation.forward import padded_labels
from ui.backpropagation.grids import (
    CURRENT,
    WINDOW,
    cell_size,
    marked_table,
    people,
    plain_table,
    row_of,
    signed,
    written_sum,
)


def every(count: int, noun: str) -> str:
    """ "every row" or "every 2 rows", for the stride in words.

    >>> every(1, "row"), every(2, "column")
    ('every row', 'every 2 columns')
    """
    return f"every {noun}" if count == 1 else f"every {plural(count, noun)}"


def _padded_px(steps: BackwardSteps) -> int:
    return cell_size(steps.geometry.padded_shape, 360)


def weight_position(steps: BackwardSteps, step: int) -> tuple[int, int]:
    """(row, col) of the weight at ``step`` (reading order over the kernel).

    >>> from core.ops.conv_backward import conv2d_backward_steps
    >>> weight_position(conv2d_backward_steps(np.ones((4, 4)), np.ones((2, 3)), np.ones((3, 2))), 4)
    (1, 1)
    """
    return divmod(int(step), steps.kernel.shape[1])


def tap_formula(offset: int, stride: int, letter: str) -> str:
    """The input index a weight meets at output index ``letter``: offset + stride × letter.

    >>> tap_formula(0, 1, "i"), tap_formula(2, 2, "i"), tap_formula(-1, 1, "j")
    ('i', '2 + 2i', 'j − 1')
    """
    term = letter if stride == 1 else f"{stride}{letter}"
    if offset == 0:
        return term
    return f"{offset} + {term}" if offset > 0 else f"{term} − {-offset}"


def computed_so_far(values: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the cells after ``step`` (not computed yet) and of the cell at ``step``.

    >>> blank, current = computed_so_far(np.zeros((2, 2)), 1)
    >>> blank.tolist(), current.tolist()
    ([[False, False], [True, True]], [[False, True], [False, False]])
    """
    order = np.arange(values.size).reshape(values.shape)
    return order > step, order == step


def show_weight_step(steps: BackwardSteps, step: int) -> None:
    """Weight (a, b): its input cells on the whole input, times ∂L/∂Y, summed."""
    geometry = steps.geometry
    row, col = weight_position(steps, step)
    tap_rows, tap_cols = steps.weight_taps(row, col)
    taps = np.zeros(geometry.padded_shape, dtype=bool)
    taps[np.ix_(tap_rows, tap_cols)] = True
    corner = np.full(geometry.padded_shape, "", dtype=object)
    corner[np.ix_(tap_rows, tap_cols)] = np.vectorize(lambda g: f"×{signed(g)}", otypes=[object])(
        steps.output_gradient
    )
    (top, _), (left, _) = geometry.pads
    (sr, sc), (dr, dc) = geometry.strides, geometry.dilation_rate
    value = float(steps.gradients.kernel_gradient[row, col])
    where = f"({tap_formula(row * dr - top, sr, 'i')}, {tap_formula(col * dc - left, sc, 'j')})"
    st.markdown(
        f"**∂L/∂W[{row}, {col}]** — weight ({row}, {col}) lay over input cell {where} when "
        "output (i, j) was computed. Nudging the weight changes each output by the value of "
        "its cell, so its gradient adds up **each of those input cells × the gradient of its "
        "output**."
    )
    blank, current = computed_so_far(steps.kernel, step)
    whole = marked_table(
        steps.padded_input,
        title=f"Input X: the cells weight ({row}, {col}) multiplied, with ∂L/∂Y of their output",
        marks=[(taps, WINDOW)],
        corner_text=corner,
        halo=geometry.halo_mask(),
        cell_px=_padded_px(steps),
        **padded_labels(geometry),
    )
    so_far = marked_table(
        steps.gradients.kernel_gradient,
        title="∂L/∂W so far",
        marks=[(current, CURRENT)],
        blank=blank,
        cell_px=cell_size(steps.kernel.shape, 200),
    )
    st.html(row_of([whole, so_far], ["→"]))
    cells = steps.weight_cells(row, col)
    tables = [
        plain_table(cells, title="Those input cells"),
        plain_table(steps.output_gradient, title="∂L/∂Y"),
        plain_table(steps.weight_products(row, col), title="Products"),
    ]
    st.html(row_of(tables, ["⊙", "="]))
    st.markdown(
        f"∂L/∂W[{row}, {col}] = {written_sum(cells, steps.output_gradient)} = **{people(value)}**"
    )
    st.caption(
        "orange outline: the input cells this weight multiplied; small label: the output "
        "gradient each one is multiplied by. Sliding the output gradient over the input like "
        "a kernel gives every weight's gradient: ∂L/∂W = X ⋆ ∂L/∂Y."
    )


def show_zeros(steps: BackwardSteps) -> None:
    """Where stride and dilation put zeros in ∂L/∂W's correlation (nothing at 1 and 1)."""
    geometry = steps.geometry
    (sr, sc), (dr, dc) = geometry.strides, geometry.dilation_rate
    if (sr, sc) != (1, 1):
        stuffed = steps.stuffed_gradient
        muted = np.ones(stuffed.shape, dtype=bool)
        muted[::sr, ::sc] = False
        st.markdown(
            f"**Stride ({sr}, {sc}): zeros between the output gradients.** The outputs were "
            f"computed only every {every(sr, 'row')} and {every(sc, 'column')}, so as a kernel "
            "sliding over the "
            "input, the output gradient has its values that far apart, with zeros (grey) for "
            "the positions the window skipped."
        )
        st.html(
            row_of(
                [
                    plain_table(steps.output_gradient, title="∂L/∂Y"),
                    marked_table(
                        stuffed,
                        title="∂L/∂Y with stride − 1 zeros between",
                        muted=muted,
                        cell_px=cell_size(stuffed.shape, 300),
                    ),
                ],
                ["→"],
            )
        )
    if (dr, dc) != (1, 1):
        dilated = steps.dilated_kernel_gradient
        taps = np.zeros(dilated.shape, dtype=bool)
        taps[::dr, ::dc] = True
        st.markdown(
            f"**Dilation {dr}: gaps between the weights.** The dilated kernel spans "
            f"{dilated.shape[0]}×{dilated.shape[1]} cells, but only every {dr}th is a weight. "
            "Correlating X with ∂L/∂Y at every position gives a gradient for each cell of "
            "that span; the weights keep the outlined ones, the gaps (grey) are not weights "
            "and are thrown away."
        )
        st.html(
            row_of(
                [
                    marked_table(
                        dilated,
                        title="X ⋆ ∂L/∂Y over the dilated span",
                        marks=[(taps, WINDOW)],
                        muted=~taps,
                        cell_px=cell_size(dilated.shape, 300),
                    ),
                    plain_table(steps.gradients.kernel_gradient, title="∂L/∂W"),
                ],
                ["→"],
            )
        )


def show_bias_gradient(steps: BackwardSteps) -> None:
    """∂L/∂b = Σ ∂L/∂Y, written out."""
    gradient = steps.output_gradient
    st.markdown(
        "The bias is added to **every** output, so nudging it by a little moves every output "
        "by the same little: its gradient is the sum of all the output gradients."
    )
    st.html(row_of([plain_table(gradient, title="∂L/∂Y")], None))
    terms = " + ".join(people(g) if g >= 0 else f"(−{people(-g)})" for g in gradient.ravel())
    st.markdown(f"∂L/∂b = Σ ∂L/∂Y = {terms} = **{people(steps.gradients.bias_gradient)}**")


def show_input_step(steps: BackwardSteps, step: int) -> None:
    """Output (i, j) sends ∂L/∂Y[i, j] × W back through its window; the stamps add up."""
    geometry = steps.geometry
    row, col = geometry.position(step)
    g = float(steps.output_gradient[row, col])
    window = geometry.window_mask(row, col)
    halo = geometry.halo_mask()
    labels = padded_labels(geometry)
    (top, _), (left, _) = geometry.pads
    start = (row * geometry.strides[0] - top, col * geometry.strides[1] - left)
    st.markdown(
        f"**Output ({row}, {col})** has gradient **{people(g)}**. Its window started at input "
        f"cell {start}; every cell under it was multiplied by one weight, so it receives "
        f"{people(g)} × that weight. Stamps from overlapping windows add up."
    )
    blank, current = computed_so_far(steps.output_gradient, step)
    px = _padded_px(steps)
    tables = [
        marked_table(
            steps.output_gradient,
            title="∂L/∂Y",
            marks=[(current, CURRENT)],
            cell_px=cell_size(steps.output_gradient.shape, 160),
        ),
        marked_table(
            steps.contribution(row, col),
            title=f"This output's stamp: {people(g)} × W",
            marks=[(window, WINDOW)],
            blank=~window,
            halo=halo,
            cell_px=px,
            **labels,
        ),
        marked_table(
            steps.input_gradient_after(step),
            title=f"∂L/∂X after {step + 1} of {geometry.num_steps} outputs",
            marks=[(window, WINDOW)],
            halo=halo,
            cell_px=px,
            **labels,
        ),
    ]
    st.html(row_of(tables, ["→", "→"]))
    notes = ["orange outline: the window of this output"]
    if halo.any():
        notes.append(
            "green: padding cells — what lands there is dropped, they are not part of the input"
        )
    st.caption(" · ".join(notes))
