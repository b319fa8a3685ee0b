"""Displays of the Convolution Arithmetic page: size rules, one window step, guesses, matrices.

Each function takes plain values computed by ``core`` and draws them; none
computes a convolution itself except through ``core``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from core.base.numbers import plural
from core.ops.arithmetic import ConvGeometry
from core.ops.arithmetic_forms import (
    MATRIX_MAX_CELLS,
    MatrixForm,
    TransposedBreakdown,
    matrix_form,
)
from core.ops.pixel_explanation import PixelExplanation
from core.ops.transposed import conv2d_transpose
from ui.arithmetic.controls import ConvSettings
from ui.widgets.formula import show_formula
from ui.widgets.matrix_view import format_value, show_matrix
from ui.widgets.window_steps import axis_rules, show_output_so_far, show_window_on_input

# The largest guess of an output value the box takes: beyond any output the page's inputs
# (values up to 1e6, at most 12×12 of them) can give, short of infinity.
GUESS_LIMIT = 1e15

AXIS_LABELS = ("Rows (height)", "Columns (width)")


MATRIX_KEY = "arith.matrix_open"  # whether "Convolution as a matrix" is open


def signature(*parts) -> str:
    """A short fingerprint of the numbers and options, so guesses reset when they change."""
    digest = hashlib.sha1()
    for part in parts:
        digest.update(
            np.asarray(part).tobytes() if isinstance(part, np.ndarray) else repr(part).encode()
        )
    return digest.hexdigest()[:16]


def cell_px(shape: tuple[int, int], budget: int = 440) -> int:
    """Cell size so a grid fits in about ``budget`` pixels, between 22 and 42."""
    return int(min(42, max(22, budget // max(shape))))


def show_relationships(relationships, *, hidden: bool, generic_note: str = "") -> None:
    """One formula per axis (one for both when they agree): the rule, then (unless
    hidden) the numbers filled in."""
    for label, relationship in axis_rules(relationships, AXIS_LABELS):
        st.markdown(f"**{label}** — {relationship.label}")
        if hidden:
            show_formula(relationship.formula)
            st.caption("Numbers hidden until you check your guess of the output size.")
            continue
        show_formula(relationship.formula, relationship.substituted)
        if relationship.notes:
            st.caption("  \n".join(relationship.notes))
    if generic_note:
        st.caption(generic_note)


def size_guess(sig: str, true_shape: tuple[int, int]) -> bool:
    """Ask for the output size; return True once the guess for these settings was checked."""
    checked = st.session_state.setdefault("arith.size_checked", {})
    if sig in checked:
        guess = checked[sig]
        if tuple(guess) == tuple(true_shape):
            st.success(f"Right: the output is {true_shape[0]}×{true_shape[1]}.")
        else:
            st.error(
                f"You said {guess[0]}×{guess[1]}; the output is {true_shape[0]}×{true_shape[1]}. "
                "The rules below show where each number comes from."
            )
        return True
    st.info("Predict the output size first: how many window positions fit along each axis?")
    a, b, c = st.columns([1, 1, 1], vertical_alignment="bottom")
    a.number_input(
        "Output rows?",
        0,
        99,
        1,
        key="arith.size_guess_rows",
        help="Your prediction of the output height.",
    )
    b.number_input(
        "Output columns?",
        0,
        99,
        1,
        key="arith.size_guess_cols",
        help="Your prediction of the output width.",
    )
    c.button(
        "Check size",
        key="arith.size_check",
        help="Compare your prediction with the true output size.",
        on_click=lambda: checked.update(
            {
                sig: (
                    int(st.session_state["arith.size_guess_rows"]),
                    int(st.session_state["arith.size_guess_cols"]),
                )
            }
        ),
    )
    return False


def cell_guess(sig: str, step: int, position, true_value: float) -> bool:
    """Ask for the current output value; return True once it was checked."""
    checked = st.session_state.setdefault("arith.cell_checked", {})
    if (sig, step) in checked:
        guess = checked[(sig, step)]
        if np.isclose(guess, true_value):
            st.success(f"Right: output {position} is {format_value(true_value)}.")
        else:
            st.error(
                f"You said {format_value(guess)}; output {position} is "
                f"{format_value(true_value)}. Check the products below."
            )
        return True
    a, b = st.columns([2, 1], vertical_alignment="bottom")
    guess = a.number_input(
        f"Your value for output {position}",
        min_value=-GUESS_LIMIT,
        max_value=GUESS_LIMIT,
        value=0.0,
        step=1.0,
        key="arith.cell_guess",
        help="Multiply each covered input cell by the kernel tap over it and add everything up.",
    )
    b.button(
        "Check",
        key="arith.cell_check",
        help="Reveal the true value and compare.",
        on_click=lambda: checked.update({(sig, step): float(st.session_state["arith.cell_guess"])}),
    )
    return False


def _factor(value: float) -> str:
    """A number as a factor: negatives in brackets with a real minus sign, "(−4)"."""
    text = format_value(value)
    return f"(−{text[1:]})" if text.startswith("-") else text


def dot_product_text(explanation: PixelExplanation, *, hide_total: bool = False) -> str:
    """ "1·1 + 1·0 + … + 3·(−1) = 4", the taps in reading order."""
    terms = [
        f"{_factor(p)}·{_factor(k)}"
        for p, k in zip(explanation.patch.ravel(), explanation.kernel.ravel(), strict=True)
    ]
    total = "?" if hide_total else format_value(float(explanation.total))
    return " + ".join(terms) + f" = **{total}**"


def show_step(
    *,
    step: int,
    geometry: ConvGeometry,
    padded: np.ndarray,
    explanation: PixelExplanation,
    output: np.ndarray,
    halo: np.ndarray,
    halo_label: str,
    kernel_title: str,
    hide_value: bool,
    key: str,
) -> None:
    """The window on the padded input, the kernel, the products, the sum and the output."""
    row, col = geometry.position(step)
    unreached = geometry.unreached_mask() & ~halo
    (top, _), (left, _) = geometry.pads
    corner = (row * geometry.strides[0] - top, col * geometry.strides[1] - left)
    sr, sc = geometry.strides
    formula = (
        f"({row}·{sr} − {top}, {col}·{sc} − {left})" if top or left else f"({row}·{sr}, {col}·{sc})"
    )
    where = " — a padding cell" if halo[row * sr, col * sc] else ""
    st.markdown(
        f"**Output ({row}, {col})** — its window starts at input cell "
        f"({corner[0]}, {corner[1]}) = output index × stride"
        + (" − padding" if top or left else "")
        + f" = {formula}{where}."
    )
    grid, out_col = st.columns([3, 2])
    weights = np.full(padded.shape, "", dtype=object)
    tap_rows, tap_cols = geometry.taps(row, col)
    weights[np.ix_(tap_rows, tap_cols)] = [
        [f"×{_factor(k)}" for k in kernel_row] for kernel_row in explanation.kernel
    ]
    with grid:
        show_window_on_input(
            padded,
            geometry,
            window=geometry.window_mask(row, col),
            halo=halo,
            key=f"{key}.input",
            corner_text=weights,
            shade=unreached if unreached.any() else None,
            cell_px=cell_px(padded.shape),
        )
        legend = ["orange outline: cells under the window, with the kernel weight over each"]
        if halo.any():
            legend.append(f"green: {halo_label}")
        if unreached.any():
            legend.append("grey: never reached by any window")
        st.caption(" · ".join(legend))
    with out_col:
        show_output_so_far(
            output,
            step,
            key=f"{key}.output",
            hide_current=hide_value,
            cell_px=cell_px(output.shape, 300),
        )
    kernel_col, products_col, sum_col = st.columns([1, 1, 2])
    with kernel_col:
        show_matrix(explanation.kernel, title=kernel_title, key=f"{key}.kernel")
    with products_col:
        if hide_value:
            st.caption("Products hidden until you check your guess.")
        else:
            show_matrix(explanation.products, title="Products", key=f"{key}.products")
    with sum_col:
        st.markdown(
            "Each input cell under the window times the kernel tap on top of it, then "
            "everything added up:\n\nSum of the products: "
            + dot_product_text(explanation, hide_total=hide_value)
        )


def verdict(ok: bool) -> str:
    """A green tick or a red cross (Material icons, so every browser draws them)."""
    return ":green[:material/check_circle:]" if ok else ":red[:material/cancel:]"


def show_transposed_sizes(breakdown: TransposedBreakdown, *, hidden: bool) -> None:
    """Keras' length rule and the paper's relationship for both axes."""
    for label, (formula, substituted, _), relationship in zip(
        ("Rows", "Columns"), breakdown.keras_rules, breakdown.relationships, strict=True
    ):
        st.markdown(f"**{label}** — Keras' Conv2DTranspose rule, and {relationship.label}")
        keras_line = formula if hidden else f"{formula} \\quad\\Rightarrow\\quad {substituted}"
        show_formula(keras_line, relationship.formula if hidden else relationship.substituted)
        if relationship.notes and not hidden:
            st.caption("  \n".join(relationship.notes))


def show_transposed_construction(breakdown: TransposedBreakdown) -> None:
    """Stretch, pad by k − p − 1, flip: the three steps, with the matrices."""
    (top, bottom), (left, right) = breakdown.pads
    forward = (breakdown.forward_pads[0][0], breakdown.forward_pads[1][0])
    st.markdown(
        f"1. **Stretch** the input: put s − 1 zeros between neighbouring cells "
        f"(strides {breakdown.strides}).  \n"
        f"2. **Pad** with zeros: k − p − 1 = {plural(top, 'row')} on top and "
        f"{plural(left, 'column')} on the left (p = {forward[0]}, {forward[1]} is the padding of "
        f"the forward convolution); {plural(bottom, 'row')} at the bottom and "
        f"{plural(right, 'column')} on the right, output padding included.  \n"
        "3. **Flip** the kernel by 180° and slide it with stride 1."
    )
    columns = st.columns(3)
    with columns[0]:
        show_matrix(breakdown.image, title="Input", key="arith.t.input")
    with columns[1]:
        show_matrix(breakdown.stretched, title="Stretched", key="arith.t.stretched")
    with columns[2]:
        show_matrix(breakdown.flipped_kernel, title="Flipped kernel", key="arith.t.flipped")


def _sparse(value: float) -> str:
    return "" if value == 0 else f"{value:g}"


def show_matrix_form(form: MatrixForm, kernel: np.ndarray, strides) -> None:
    """C, y = C x, and Cᵀ y compared with the transposed convolution.

    ``kernel`` is the kernel as applied (already flipped for a true convolution).
    """
    rows, cols = form.matrix.shape
    st.markdown(
        f"Flatten the input row by row into a vector x of {cols} numbers. Every output value "
        f"is a weighted sum of input cells, so the whole convolution is one {rows}×{cols} "
        "matrix C with y = C x: row r of C holds the kernel weights where output r's window "
        "lies, zeros elsewhere (blank cells)."
    )
    show_matrix(
        form.matrix,
        title=f"C ({rows} outputs × {cols} inputs)",
        fmt=_sparse,
        cell_px=max(14, min(26, 900 // cols)),
        key="arith.matrix.c",
    )
    st.markdown(
        "The transposed convolution multiplies by Cᵀ instead: each output value flows back to "
        "the input cells that produced it, weighted by the same kernel taps. That is exactly "
        "how a convolution layer passes gradients back to its input."
    )
    left, right = st.columns(2)
    with left:
        show_matrix(form.output, title="y = C x (the convolution)", key="arith.matrix.y")
    with right:
        show_matrix(form.transposed, title="Cᵀ y (back on the input grid)", key="arith.matrix.ct")
    same_direct = np.allclose(form.transposed, form.direct_transposed)
    st.markdown(
        f"{verdict(same_direct)} Cᵀ y equals stretching y, padding it by k − p − 1 and sliding "
        "the flipped kernel."
    )
    if form.keras_padding is None:
        st.caption(
            "Keras' Conv2DTranspose only knows 'valid' and 'same' padding (and no dilation), so "
            "it cannot express this case; the stretched construction above still can."
        )
        return
    keras_like = conv2d_transpose(
        form.output,
        kernel,
        strides=strides,
        padding=form.keras_padding,
        output_padding=form.keras_output_padding,
    )
    same = keras_like.shape == form.transposed.shape and np.allclose(keras_like, form.transposed)
    st.markdown(
        f"{verdict(same)} "
        + ("It also equals" if same else "It differs from")
        + f" Keras' Conv2DTranspose with padding='{form.keras_padding}' and "
        f"output_padding={form.keras_output_padding}."
    )


def show_transposed_matrix(breakdown: TransposedBreakdown) -> None:
    """Cᵀ of the forward convolution that this transposed convolution undoes."""
    form = matrix_form(
        np.zeros(breakdown.reference.shape),
        breakdown.kernel,
        strides=breakdown.strides,
        padding=breakdown.padding,
    )
    via_matrix = (form.matrix.T @ breakdown.image.ravel()).reshape(breakdown.reference.shape)
    rows, cols = form.matrix.T.shape
    show_matrix(
        form.matrix.T,
        title=f"Cᵀ ({rows} outputs × {cols} inputs) of the matching forward convolution",
        fmt=_sparse,
        cell_px=max(14, min(26, 900 // cols)),
        key="arith.t.ct",
    )
    same = np.allclose(via_matrix, breakdown.reference)
    st.markdown(f"{verdict(same)} Cᵀ x equals the transposed convolution above.")


def matrix_expander(
    image: np.ndarray,
    kernel: np.ndarray,
    output: np.ndarray,
    *,
    settings: ConvSettings,
    halo: np.ndarray,
    breakdown: TransposedBreakdown | None,
) -> None:
    """The convolution (or its transpose) as one matrix, for inputs of up to 36 cells.

    Its content runs only while it is open (``MATRIX_KEY``): a first visit builds none of it.
    """
    expander = st.expander(
        "Convolution as a matrix (inputs up to 6×6)", key=MATRIX_KEY, on_change="rerun"
    )
    if not expander.open:
        return
    with expander:
        forward_shape = output.shape if settings.transposed else image.shape
        cells = forward_shape[0] * forward_shape[1]
        if (
            halo.any()
            and not settings.transposed
            and (settings.border_mode, settings.cval) != ("constant", 0.0)
        ):
            st.info("The matrix view assumes zero padding: set the fill to constant 0.")
        elif cells > MATRIX_MAX_CELLS:
            st.info(
                f"The matrix would have {cells} columns; make the "
                f"{'output' if settings.transposed else 'input'} at most 6×6 (36 cells) to see it."
            )
        elif settings.transposed:
            show_transposed_matrix(breakdown)
        else:
            form = matrix_form(image, kernel, **settings.conv_options())
            shown_kernel = kernel[::-1, ::-1] if settings.flip_kernel else kernel
            show_matrix_form(form, shown_kernel, settings.strides)
