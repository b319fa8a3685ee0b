"""The arithmetic behind the Kernel Playground's output: its size, and one pixel's dot product.

``show_size_arithmetic`` prints the output-size formula with this run's
numbers (and warns when the stride misfits); the "Step by step" tab
(``step_by_step``) picks one output pixel, by number or by clicking the
output, and shows patch × kernel = products and their sum.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.base.numbers import plural, readable
from core.ops.output_size import OutputSizeInfo
from core.ops.pixel_explanation import explain_pixel
from ui.kernel_playground.controls import CHANNEL_NAMES
from ui.widgets import page_link
from ui.widgets.axes import integer_axis
from ui.widgets.content_cache import by_content
from ui.widgets.image_view import cell_px, compact_format, input_mapping, window_overlay_html
from ui.widgets.matrix_html import matrices_row, matrix_table
from ui.widgets.number_pick import pick_number
from ui.widgets.tab_charts import plotly_chart

AXIS_NAMES = ("Rows", "Columns")


CLICKABLE_MAX_CELLS = 64 * 64  # larger outputs are picked by number only


PICKER_PX = 220


SHOWN_TERMS = 12  # products written out in the sum before "…"


EXPLANATIONS_KEPT = 128  # step-by-step tables kept by ``explanation_html`` (up to ~50 KB each)


def size_arithmetic_text(sizes: list[OutputSizeInfo]) -> str:
    """The output-size rule, then one line per axis with this run's numbers (Markdown)."""
    lines = []
    for axis_name, info in zip(AXIS_NAMES, sizes, strict=True):
        dilated = ""
        if info.dilation_rate > 1:
            dilated = (
                f" (dilated kernel: k̂ = {info.kernel_size} + ({info.kernel_size} − 1)·"
                f"({info.dilation_rate} − 1) = {info.effective_kernel_size})"
            )
        lines.append(
            f"**{axis_name}:** ⌊({info.input_size} + {info.pad_before} + {info.pad_after} − "
            f"{info.effective_kernel_size}) / {info.strides}⌋ + 1 = **{info.size}**{dilated}"
        )
    return (
        "Output size = ⌊(input + padding before + padding after − kernel) / stride⌋ + 1  \n"
        + "  \n".join(lines)
    )


def stride_warnings(sizes: list[OutputSizeInfo]) -> list[str]:
    """What is wrong with the stride along each axis: larger than the image, or not fitting."""
    warnings = []
    for axis_name, info in zip(AXIS_NAMES, sizes, strict=True):
        axis_name = axis_name.lower()
        padded = info.input_size + info.pad_before + info.pad_after
        if info.strides > padded:
            warnings.append(
                f"The stride along the {axis_name} ({info.strides}) is larger than the padded "
                f"image ({padded}): the kernel fits only once. Use a smaller stride."
            )
        elif not info.exact:
            warnings.append(
                f"The stride does not fit the {axis_name} exactly: ({info.numerator}) / "
                f"{info.strides} + 1 = {readable(info.fractional_size)}, rounded down to "
                f"{info.size}. The last {plural(info.unreached, axis_name[:-1])} "
                f"{'is' if info.unreached == 1 else 'are'} never covered. Change the stride or "
                "the padding to make it fit."
            )
    return warnings


def show_size_arithmetic(sizes: list[OutputSizeInfo]) -> None:
    """The output-size formula with this run's numbers, and warnings when the stride misfits."""
    st.markdown(size_arithmetic_text(sizes))
    for warning in stride_warnings(sizes):
        st.warning(warning)


def show_explanation(patch: np.ndarray, kernel: np.ndarray, products: np.ndarray, padding_mask):
    """Input patch × kernel (as applied) = element-wise products, as three coloured tables.

    HTML rather than Plotly: these numbers change on every kernel edit, and three
    Plotly heatmaps cost the browser about 40 ms per update.
    """
    st.html(explanation_html(patch, kernel, products, np.asarray(padding_mask, dtype=bool)))


@by_content(EXPLANATIONS_KEPT)
def explanation_html(patch, kernel, products, padding) -> str:
    """The three tables of ``show_explanation``, made once per process for the same numbers.

    A lecture room's students all show the lecturer's pixel: one page builds the tables,
    the others reuse them (building them is a twentieth of the page's run).

    >>> html = explanation_html(np.eye(2), np.ones((2, 2)), np.eye(2), np.zeros((2, 2), bool))
    >>> "Products" in html, explanation_html(np.eye(2), np.ones((2, 2)), np.eye(2),
    ...                                      np.zeros((2, 2), bool)) is html
    (True, True)
    """
    fmt = compact_format(np.concatenate([patch.ravel(), kernel.ravel(), products.ravel()]))
    cell = cell_px(kernel.shape)  # a minimum: cells widen to their longest number
    halo = padding if padding.any() else None
    tables = [
        matrix_table(patch, title="Input patch", fmt=fmt, halo=halo, cell_px=cell, indices=True),
        matrix_table(kernel, title="Kernel", fmt=fmt, cell_px=cell, indices=True),
        matrix_table(products, title="Products", fmt=fmt, cell_px=cell, indices=True),
    ]
    return matrices_row(tables, operators=["×", "="])


def sum_text(products: np.ndarray, total: float, *, bias: float, relu: bool, summed: bool) -> str:
    """The sum of the products written out (the first few terms), then bias and ReLU.

    Numbers are rounded for people (``core.base.numbers.readable``), float noise as 0.

    >>> sum_text(np.array([2.0, -1.0]), 1.0, bias=-3.0, relu=True, summed=False)
    'Sum of the products: (2) + (-1) = **1**; + bias -3 = -2; ReLU → **0**'
    >>> sum_text(np.array([0.1, 0.2, -0.3]), 5.551e-17, bias=0.0, relu=False, summed=False)
    'Sum of the products: (0.1) + (0.2) + (-0.3) = **0**'
    """
    fmt = compact_format(products)
    terms = " + ".join(f"({fmt(p)})" for p in products.ravel()[:SHOWN_TERMS])
    terms += " + …" if products.size > SHOWN_TERMS else ""
    value = float(total) + bias
    final = max(value, 0.0) if relu else value
    over = " (sum over all three channels)" if summed else ""
    return (
        f"Sum of the products{over}: {terms} = **{fmt(float(total))}**"
        + (f"; + bias {readable(bias)} = {fmt(value)}" if bias else "")
        + (f"; ReLU → **{fmt(final)}**" if relu else "")
    )


def window_caption(tap_rows, tap_cols, shape: tuple[int, ...]) -> str:
    """Which input rows and columns the window covers, and how many of them are padding.

    >>> window_caption(np.array([-1, 0, 1]), np.array([4, 5, 6]), (5, 7))
    'The window covers input rows -1 to 1 and columns 4 to 6 (1 row of padding).'
    """
    text = (
        f"The window covers input rows {int(np.min(tap_rows))} to {int(np.max(tap_rows))} and "
        f"columns {int(np.min(tap_cols))} to {int(np.max(tap_cols))}"
    )
    outside = [
        plural(int(np.sum((taps < 0) | (taps >= length))), name)
        for name, taps, length in (
            ("row", np.unique(tap_rows), shape[0]),
            ("column", np.unique(tap_cols), shape[1]),
        )
        if np.any((taps < 0) | (taps >= length))
    ]
    return text + (f" ({' and '.join(outside)} of padding)." if outside else ".")


def _on_output_click() -> None:
    points = st.session_state["kernel.output_click"].selection.get("points", [])
    if points:
        st.session_state["kernel.row"] = int(points[0]["y"])
        st.session_state["kernel.col"] = int(points[0]["x"])


def clickable_figure(values: np.ndarray, row: int, col: int) -> go.Figure:
    """The output as a heatmap with an invisible marker per cell and the chosen one framed."""
    rows, cols = values.shape
    cell = max(6, min(40, 420 // max(rows, cols)))
    signed = bool((values < 0).any())
    labelled = max(rows, cols) <= 12
    grid_rows, grid_cols = np.mgrid[0:rows, 0:cols]
    fig = go.Figure(
        go.Heatmap(
            z=values,
            colorscale="RdBu_r" if signed else "gray",
            zmid=0 if signed else None,
            text=np.vectorize(compact_format(values))(values) if labelled else None,
            texttemplate="%{text}" if labelled else None,
            hoverinfo="skip",
            showscale=False,
        )
    )
    # Heatmaps cannot be selected by clicking; an invisible marker on every cell can.
    fig.add_scatter(
        x=grid_cols.ravel(),
        y=grid_rows.ravel(),
        mode="markers",
        marker={"size": cell, "symbol": "square", "opacity": 0.01},
        hovertemplate="row %{y}, column %{x}<extra></extra>",
    )
    fig.add_shape(
        type="rect",
        x0=col - 0.5,
        x1=col + 0.5,
        y0=row - 0.5,
        y1=row + 0.5,
        line={"color": "#ff7f0e", "width": 3},
    )
    # Axes that fit the data: exactly the cells (no phantom −1 or n), whole-number ticks
    # only, and a thin frame so white cells still end on the white page.
    frame = {"showline": True, "mirror": True, "linecolor": "#9a9a9a", "linewidth": 1}
    fig.update_xaxes(
        showgrid=False, zeroline=False, fixedrange=True, side="top", **integer_axis(cols), **frame
    )
    fig.update_yaxes(
        showgrid=False,
        zeroline=False,
        fixedrange=True,
        **integer_axis(rows, reversed_=True),
        **frame,
    )
    fig.update_layout(
        width=cell * cols + 60,
        height=cell * rows + 50,
        margin={"l": 40, "r": 10, "t": 30, "b": 10},
        clickmode="event+select",
        dragmode=False,
        showlegend=False,
    )
    return fig


def clickable_output(values: np.ndarray, row: int, col: int) -> None:
    """The output as a heatmap: click a cell to explain it (small outputs only)."""
    st.caption("Click any output pixel to see how it was computed (orange frame).")
    plotly_chart(
        clickable_figure(values, row, col),
        key="kernel.output_click",
        on_select=_on_output_click,
        selection_mode="points",
        width="content",
        theme=None,
        config={"displayModeBar": False},
        export_title="Output (click a pixel)",
    )


def _pixel_pickers(rows: int, cols: int):
    """The output pixel's row and column, each stepped with ◀ ▶; returns them and their row.

    ◀ ▶ and a "Go to…" popover rather than number boxes: the first number box on a page
    costs a first visit about a fifth of a bare page (``bench/widget_cost.py``).
    """
    pickers = st.container(gap="small")  # one row per axis: neither wraps at 150 %
    picked = []
    for key, label, axis, limit, tip in (
        (
            "kernel.row",
            "Output row",
            "rows",
            rows,
            "Which output pixel to explain: its row (0 is the top).",
        ),
        ("kernel.col", "Output column", "columns", cols, "Its column (0 is the left)."),
    ):
        with pickers:
            picked.append(
                pick_number(
                    label,
                    key,
                    0,
                    limit - 1,
                    help=tip,
                    describe=lambda value, label=label, axis=axis, last=limit - 1: (
                        f"{label} {value} ({axis} 0–{last})"
                    ),
                )
            )
    return picked[0], picked[1], pickers


def window_overlay(image: np.ndarray, tap_rows, tap_cols) -> str:
    """The input with the window drawn where it sits, and which cells it covers (HTML)."""
    caption = window_caption(tap_rows, tap_cols, image.shape)
    return window_overlay_html(
        image, tap_rows, tap_cols, mapping=input_mapping(image), caption=caption
    )


@by_content(64)
def shared_window_overlay(image_key, _image: np.ndarray, tap_rows: tuple, tap_cols: tuple) -> str:
    """``window_overlay`` of a shared image (``image_key`` names it), drawn once per process.

    A kernel edit leaves the window where it was, so every edit in every student's session
    would encode the same picture again (10–20 ms for a 512-pixel photo).
    """
    return window_overlay(_image, np.asarray(tap_rows), np.asarray(tap_cols))


@st.fragment
def step_by_step(
    image, weights, output, options, *, bias: float, relu: bool, image_key=None
) -> None:
    """Pick one output pixel and show the dot product that produced it.

    ``image_key`` (hashable) names a shared image whose window picture may be reused.
    """
    rows, cols = output.shape[:2]
    row, col, pickers = _pixel_pickers(rows, cols)
    detail = explain_pixel(image, weights, row, col, **options)
    patch, kernel, products = detail.patch, detail.kernel, detail.products
    channel = None
    if patch.ndim == 3:
        channel = pickers.selectbox(
            "Channel",
            range(patch.shape[2]),
            format_func=CHANNEL_NAMES.__getitem__,
            key="kernel.explain_channel",
            help="Colour channel whose numbers are shown.",
            width=PICKER_PX,
        )
        patch, products = patch[:, :, channel], products[:, :, channel]
        kernel = kernel[:, :, channel] if kernel.ndim == 3 else kernel
    if options.get("flip_kernel"):
        st.caption("The kernel below is already rotated by 180° (true convolution).")
    where, picked = st.columns(2, gap="medium")
    with where:
        st.caption("Where the window sits on the input (orange frame).")
        if image_key is None:
            st.html(window_overlay(image, detail.rows, detail.cols))
        else:
            taps = tuple(map(int, detail.rows[:, 0])), tuple(map(int, detail.cols[0]))
            st.html(shared_window_overlay(image_key, image, *taps))
    with picked:
        if rows * cols <= CLICKABLE_MAX_CELLS:
            plane = output if output.ndim == 2 else output[:, :, channel]
            clickable_output(plane, row, col)
        else:
            st.caption(
                "Pick the pixel with the row and column above. On a test pattern of up to "
                "64×64 you can click the output instead."
            )
    show_explanation(patch, kernel, products, detail.is_padding)
    total = detail.total if np.ndim(detail.total) == 0 else detail.total[channel]
    st.markdown(sum_text(products, total, bias=bias, relu=relu, summed=weights.ndim == 3))
    shown = output[row, col]
    shown = shown[channel] if np.ndim(shown) else shown
    st.caption(f"The output image holds {readable(shown)} at row {row}, column {col}.")
    if detail.is_padding.any():
        st.caption("Green cells with a dotted outline are padding: they lie outside the image.")
    page_link.sync()  # this fragment reruns alone: the picked pixel goes into the address now
