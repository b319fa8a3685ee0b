"""Annotated heatmaps of small matrices: every value printed, chosen cells marked.

Used wherever a lesson shows the numbers themselves (an input patch, a kernel,
the element-wise products, an output map): Convolution Arithmetic, Pooling and
the Kernel Playground's step-by-step dot product.

``matrix_figure`` builds a Plotly figure and never touches Streamlit, so it can
be tested on its own; ``show_matrix`` draws the same matrix, marks and labels as an
HTML table (``ui.widgets.matrix_html``), whose cells keep a legible size however
narrow the column is.

Marks, each a boolean mask with the matrix's shape (``None`` = no marks):

- ``highlight``: a thick outline, e.g. the cells under the sliding window;
- ``winner``: a second, thicker outline in another colour, e.g. the cell that
  wins a max-pooling window or the output cell being written;
- ``halo``: padding cells, tinted (green by default) with a dotted outline so
  they read as "not part of the image" whatever their fill value;
- ``shade``: a grey veil, e.g. rows/columns that no window ever reaches.

Cells whose value is NaN are drawn blank with ``hidden_text`` ("?") in them:
that is how the predict-then-reveal mode hides an answer.

>>> fig = matrix_figure([[1, 2], [3, 4]], highlight=[[True, False], [False, False]])
>>> [t for t in fig.data[0].text.ravel()]
['1', '2', '3', '4']
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import plotly.graph_objects as go

from core.base.numbers import readable_all
from ui.widgets.matrix_html import (
    HALO_COLOR,
    HIGHLIGHT_COLOR,
    WINNER_COLOR,
    format_value,
    matrix_table,
)

SHADE_COLOR = "rgba(90, 90, 90, 0.55)"  # grey veil: unreached cells


SEQUENTIAL_SCALE = "Blues"


DIVERGING_SCALE = "RdBu_r"


CELL_PX = 42


_MAX_DOTTED_HALO = 400  # beyond this many padding cells, the tint alone marks them


_MARGIN = {"l": 34, "r": 10, "t": 36, "b": 10}


def _mask(mask, shape: tuple[int, int], name: str) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != shape:
        raise ValueError(
            f"`{name}` must have the matrix's shape {shape}. Received: {name} with shape "
            f"{mask.shape}"
        )
    return mask


def _cell_rectangles(mask: np.ndarray, **shape_style) -> list[dict]:
    """One rectangle shape (a plain dict) per True cell of ``mask``; cells sit on integers.

    The caller sets them all at once: ``fig.add_shape`` validates each call and
    costs milliseconds, which adds up to seconds for a few hundred cells.
    """
    return [
        {
            "type": "rect",
            "x0": col - 0.5,
            "x1": col + 0.5,
            "y0": row - 0.5,
            "y1": row + 0.5,
            **shape_style,
        }
        for row, col in zip(*np.nonzero(mask), strict=True)
    ]


def _corner_annotations(corner_text, shape: tuple[int, int]) -> list[dict]:
    """Small labels in the top-right corner of cells (plain dicts, set in one update)."""
    if corner_text is None:
        return []
    corner_text = np.asarray(corner_text, dtype=object)
    if corner_text.shape != shape:
        raise ValueError(
            f"`corner_text` must have the matrix's shape {shape}. Received: corner_text with "
            f"shape {corner_text.shape}"
        )
    return [
        {
            "x": col + 0.46,
            "y": row - 0.46,
            "xanchor": "right",
            "yanchor": "top",
            "text": str(corner_text[row, col]),
            "showarrow": False,
            "font": {"size": 9, "color": "#d35400"},
        }
        for row, col in np.argwhere(corner_text != "")
        if corner_text[row, col]
    ]


def _tint(mask: np.ndarray, rows, cols, color: str, opacity: float, name: str) -> go.Heatmap:
    """A one-colour, see-through layer over the True cells of ``mask``."""
    return go.Heatmap(
        z=np.where(mask, 1.0, None).tolist(),
        x=cols,
        y=rows,
        colorscale=[[0, color], [1, color]],
        showscale=False,
        opacity=opacity,
        hoverinfo="skip",
        xgap=1,
        ygap=1,
        name=name,
    )


def _index_axis(positions: list[int], labels) -> dict:
    """A fixed axis that numbers the cells: one grey tick per position, no grid, no zoom."""
    return {
        "tickmode": "array",
        "tickvals": positions,
        "ticktext": [str(label) for label in (labels if labels is not None else positions)],
        "tickfont": {"size": 10, "color": "#888"},
        "showgrid": False,
        "zeroline": False,
        "fixedrange": True,
        "constrain": "domain",
    }


def matrix_figure(
    values,
    *,
    title: str = "",
    highlight=None,
    highlight_color: str = HIGHLIGHT_COLOR,
    winner=None,
    winner_color: str = WINNER_COLOR,
    halo=None,
    halo_color: str = HALO_COLOR,
    shade=None,
    shade_color: str = SHADE_COLOR,
    fmt: str | Callable[[float], str] | None = None,
    colorscale: str | list | None = None,
    zmid: float | None = None,
    zmin: float | None = None,
    zmax: float | None = None,
    show_colorbar: bool = False,
    hidden_text: str = "?",
    text=None,
    corner_text=None,
    row_labels=None,
    col_labels=None,
    cell_px: int = CELL_PX,
) -> go.Figure:
    """An annotated heatmap of a small 2-D matrix with every value written in its cell.

    Args:
        values: (rows, cols) array-like of real numbers; NaN cells are drawn
            empty with ``hidden_text``.
        title: text above the matrix.
        highlight: bool mask of cells to outline in ``highlight_color``.
        winner: bool mask of cells to outline more thickly in ``winner_color``.
        halo: bool mask of padding cells, tinted with ``halo_color``.
        shade: bool mask of cells veiled in ``shade_color`` (e.g. unreached).
        fmt: format string such as "{:.2f}", or a function float → str; default
            ``core.base.numbers.readable`` (whole numbers plainly, 3 significant digits).
        colorscale: Plotly colour scale; default "Blues", or the diverging
            "RdBu_r" centred on 0 when the matrix has negative values.
        zmid: value at the middle of the colour scale (diverging maps).
        zmin, zmax: fix the colour range (e.g. to compare several matrices).
        show_colorbar: draw the colour bar (say what the colours mean).
        hidden_text: what NaN cells show.
        corner_text: optional (rows, cols) array of short strings printed small
            in each cell's top-right corner ("" = nothing), e.g. "×2" for the
            kernel weight lying over an input cell.
        text: optional (rows, cols) array of strings printed instead of the
            formatted values (e.g. "" for cells not computed yet).
        row_labels, col_labels: tick labels; default 0, 1, 2, ...
        cell_px: pixel size of one cell.

    Returns:
        ``plotly.graph_objects.Figure`` with the heatmap as ``fig.data[0]``
        (its ``text`` holds the printed strings of the visible cells; NaN
        cells' text is drawn as layout annotations), one see-through heatmap
        trace per tint (``name`` "halo" / "shade") and one rectangle shape per
        outlined cell.

    Raises:
        ValueError: ``values`` is not 2-D or empty, or a mask has another shape.

    >>> matrix_figure([[-1, 0.5]]).data[0].text.tolist()
    [['-1', '0.5']]
    """
    z = np.array(values, dtype=np.float64)
    if z.ndim != 2 or z.size == 0:
        raise ValueError(
            f"`values` must be a non-empty 2-D matrix. Received: values with shape {z.shape}"
        )
    shape = z.shape
    masks = {
        name: _mask(mask, shape, name)
        for name, mask in (
            ("highlight", highlight),
            ("winner", winner),
            ("halo", halo),
            ("shade", shade),
        )
    }
    hidden = np.isnan(z)
    if text is None:
        text = np.array(
            [
                [
                    hidden_text if hidden[r, c] else format_value(z[r, c], fmt)
                    for c in range(shape[1])
                ]
                for r in range(shape[0])
            ],
            dtype=object,
        )
    else:
        text = np.asarray(text, dtype=object)
        if text.shape != shape:
            raise ValueError(
                f"`text` must have the matrix's shape {shape}. Received: text with shape "
                f"{text.shape}"
            )
    finite = z[~hidden]
    if colorscale is None:
        negative = finite.size > 0 and finite.min() < 0
        colorscale = DIVERGING_SCALE if negative else SEQUENTIAL_SCALE
        if negative and zmid is None and zmin is None and zmax is None:
            zmid = 0.0
    rows = list(range(shape[0]))
    cols = list(range(shape[1]))
    heatmap = go.Heatmap(
        z=np.where(hidden, None, z).tolist(),
        x=cols,
        y=rows,
        text=np.where(hidden, "", text),
        texttemplate="%{text}",
        textfont={"size": 13 if max(len(str(t)) for t in text.ravel()) <= 4 else 10},
        colorscale=colorscale,
        zmid=zmid,
        zmin=zmin,
        zmax=zmax,
        showscale=show_colorbar,
        xgap=1,
        ygap=1,
        hoverongaps=False,
        hovertemplate="row %{y}, col %{x}: %{text}<extra></extra>",
    )
    fig = go.Figure(heatmap)
    # Plotly prints text on empty (NaN) cells only sometimes (never when a whole
    # matrix is empty), so hidden cells always get their text as annotations instead.
    fig.update_layout(
        annotations=[
            {
                "x": col,
                "y": row,
                "text": str(text[row, col]),
                "showarrow": False,
                "font": {"size": 15, "color": "#444"},
            }
            for row, col in zip(*np.nonzero(hidden), strict=True)
            if text[row, col]
        ]
        + _corner_annotations(corner_text, shape)
    )
    # Tints are drawn as one overlay heatmap each (not one shape per cell): a stretched
    # transposed-convolution input can have thousands of padding cells.
    for name, color, opacity in (("halo", halo_color, 0.35), ("shade", shade_color, 1.0)):
        if masks[name] is not None and masks[name].any():
            fig.add_trace(_tint(masks[name], rows, cols, color, opacity, name))
    shapes: list[dict] = []
    if masks["halo"] is not None and masks["halo"].sum() <= _MAX_DOTTED_HALO:
        shapes += _cell_rectangles(
            masks["halo"], line={"color": halo_color, "width": 1, "dash": "dot"}
        )
    if masks["highlight"] is not None:
        shapes += _cell_rectangles(masks["highlight"], line={"color": highlight_color, "width": 3})
    if masks["winner"] is not None:
        shapes += _cell_rectangles(masks["winner"], line={"color": winner_color, "width": 5})
    fig.update_layout(shapes=shapes)
    fig.update_xaxes(side="top", range=[-0.5, shape[1] - 0.5], **_index_axis(cols, col_labels))
    fig.update_yaxes(
        autorange=False,
        range=[shape[0] - 0.5, -0.5],  # row 0 on top, as in a printed matrix
        scaleanchor="x",
        scaleratio=1,
        **_index_axis(rows, row_labels),
    )
    colorbar_px = 70 if show_colorbar else 0
    top = _MARGIN["t"] + (22 if title else 0)
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 14}} if title else None,
        width=_MARGIN["l"] + _MARGIN["r"] + cell_px * shape[1] + colorbar_px,
        height=top + _MARGIN["b"] + cell_px * shape[0],
        margin={**_MARGIN, "t": top},
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
    )
    return fig


PLOTLY_CONFIG = {"displayModeBar": False, "staticPlot": False, "scrollZoom": False}


_GREY_SCALES = ("Greys_r", "gray", "greys_r")


def table_options(options: dict) -> dict:
    """``matrix_figure``'s options as ``ui.widgets.matrix_html.matrix_table`` takes them.

    Outline colours and the colour bar stay the house ones; a grey colour scale
    ("Greys_r", "gray") becomes the black-to-white pixel scale.

    >>> sorted(table_options({"title": "x", "colorscale": "Greys_r", "zmid": 0}).items())
    [('colors', 'greys'), ('indices', True), ('title', 'x')]
    """
    kept = {
        name: value
        for name, value in options.items()
        if name
        in {
            "title",
            "highlight",
            "winner",
            "halo",
            "shade",
            "fmt",
            "zmin",
            "zmax",
            "hidden_text",
            "text",
            "corner_text",
            "row_labels",
            "col_labels",
            "cell_px",
        }
    }
    if options.get("colorscale") in _GREY_SCALES:
        kept["colors"] = "greys"
    return {**kept, "indices": True}


def show_matrix(values, *, key: str | None = None, container=None, **options) -> str:
    """Draw a small matrix with every value printed, as an HTML table; returns the HTML.

    Takes ``matrix_figure``'s options (``table_options`` says which matter) and draws
    ``ui.widgets.matrix_html.matrix_table``: cells are as wide as their longest
    number at a legible font, framed by a grid line, and a matrix wider than its
    column scrolls sideways in its own box instead of shrinking its numbers (a
    Plotly heatmap stretched to a narrow column drew 3-digit numbers over each
    other). ``key`` names the element (CSS class ``st-key-<key>``); ``container``
    is any Streamlit container (default the main area).
    """
    import streamlit as st

    table = matrix_table(values, **table_options(options))
    target = container if container is not None else st
    holder = target.container(key=key) if key else target.container()
    holder.html(table)
    return table


RESULT_CLASS = "cs-result"
"""CSS class around a whole result drawn by ``show_result`` (tests read it back)."""


RESULT_DIGITS = 6  # a whole result is read, not glanced at: more digits than a step's cells


def result_html(values) -> str:
    """A whole result matrix: every value, its row and column numbers, cells coloured.

    >>> html = result_html([[9.0, 4.0], [10.75, 13.25]])
    >>> html.startswith('<div class="cs-result">'), "row 1, column 0: 10.75" in html
    (True, True)
    """
    table = matrix_table(values, fmt=readable_all(values, digits=RESULT_DIGITS), indices=True)
    return f'<div class="{RESULT_CLASS}">{table}</div>'


def show_result(values) -> str:
    """Draw ``result_html`` (an HTML table, not a data grid: a grid's script costs a first
    visit about a second of the browser's time, bench/page_load.py); returns the HTML."""
    import streamlit as st

    html = result_html(values)
    st.html(html)
    return html
