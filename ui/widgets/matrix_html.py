"""Small matrices as plain HTML tables: every value printed, cells coloured by value.

The Kernel Playground redraws its matrices (input patch, kernel, element-wise
products) on every keystroke. As Plotly heatmaps (``ui.widgets.matrix_view``) each
update costs about 40 ms of browser time; an HTML table shown with ``st.html``
costs almost nothing, so the page stays well under its 250 ms budget.

The look follows ``ui.widgets.matrix_view.matrix_figure``: the diverging "RdBu_r"
scale centred on 0 when any value is negative, "Blues" otherwise; padding
cells (``halo``) tinted green with a dotted outline; NaN cells blank with
``hidden_text`` in them. Colours are interpolated over fixed ColorBrewer stops,
so this module needs numpy only, and it never imports Streamlit.

>>> table = matrix_table([[1, -0.0, 2.5]])
>>> [cell.split(">")[-1] for cell in table.split("</td>")[:-1]]
['1', '0', '2.5']
>>> matrices_row([table, table], operators=["="]).count("<table")
2
"""

from __future__ import annotations

import html
from collections.abc import Callable

import numpy as np

from ui.widgets.matrix_view import HALO_COLOR, format_value

# ColorBrewer stops, low → high, as Plotly's "RdBu_r" and "Blues" (read-only).
DIVERGING_STOPS = np.array(
    [
        (5, 48, 97),
        (33, 102, 172),
        (67, 147, 195),
        (146, 197, 222),
        (209, 229, 240),
        (247, 247, 247),
        (253, 219, 199),
        (244, 165, 130),
        (214, 96, 77),
        (178, 24, 43),
        (103, 0, 31),
    ],
    dtype=np.float64,
)


SEQUENTIAL_STOPS = np.array(
    [
        (247, 251, 255),
        (222, 235, 247),
        (198, 219, 239),
        (158, 202, 225),
        (107, 174, 214),
        (66, 146, 198),
        (33, 113, 181),
        (8, 81, 156),
        (8, 48, 107),
    ],
    dtype=np.float64,
)


DIVERGING_STOPS.flags.writeable = False


SEQUENTIAL_STOPS.flags.writeable = False


HIDDEN_BACKGROUND = (242, 242, 242)  # NaN cells: a blank, light-grey square


HIDDEN_TEXT_COLOR = "#444"


HALO_OPACITY = 0.35  # as the halo overlay in ui.widgets.matrix_view


DARK_LUMA = 140  # below this background luma (0–255) the text turns white


OPERATOR_PX = 22


_FIT_CHARS = 5  # texts longer than this get a smaller font


_CHAR_WIDTH_EM = 0.62  # width of one monospace digit, in em


_MIN_FONT_PX = 7


_INDEX_PX = 10  # the row and column numbers around a table


_INDEX_COLUMN_PX = 18


_FONT_FAMILY = "ui-monospace,SFMono-Regular,Menlo,Consolas,monospace"


def _hex_to_rgb(color: str) -> np.ndarray:
    color = color.lstrip("#")
    return np.array([int(color[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def _rgb_to_hex(rgb) -> str:
    return "#" + "".join(f"{int(round(channel)):02x}" for channel in rgb)


def _validated(values, halo) -> tuple[np.ndarray, np.ndarray]:
    """The matrix as float64 and the halo mask (all False when ``None``), shapes checked."""
    matrix = np.array(values, dtype=np.float64)
    if matrix.ndim != 2 or matrix.size == 0:
        raise ValueError(
            f"`values` must be 2-D and non-empty. Received: values with shape {matrix.shape}"
        )
    if halo is None:
        return matrix, np.zeros(matrix.shape, dtype=bool)
    halo = np.asarray(halo, dtype=bool)
    if halo.shape != matrix.shape:
        raise ValueError(
            f"`halo` must have the matrix's shape {matrix.shape}. Received: halo with shape "
            f"{halo.shape}"
        )
    return matrix, halo


def _scale_positions(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each cell sits on its colour scale (0–1) and the stops of that scale.

    Diverging (symmetric ±max|x|, 0 in the middle) as soon as one finite value
    is negative, so a sign is never hidden; otherwise min → max on "Blues".
    Infinite cells take the scale's end; NaN cells get 0 (they are drawn blank).
    """
    finite = matrix[np.isfinite(matrix)]
    safe = np.where(np.isfinite(matrix), matrix, 0.0)
    if finite.size and finite.min() < 0:
        positions = 0.5 + 0.5 * safe / np.abs(finite).max()
        stops = DIVERGING_STOPS
    else:
        low = finite.min() if finite.size else 0.0
        span = (finite.max() - low) if finite.size else 0.0
        positions = (safe - low) / span if span > 0 else np.zeros_like(safe)
        stops = SEQUENTIAL_STOPS
    positions = np.where(np.isposinf(matrix), 1.0, np.where(np.isneginf(matrix), 0.0, positions))
    return np.clip(positions, 0.0, 1.0), stops


def _interpolate(positions: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """RGB (0–255) of each position, linear between equally spaced stops."""
    stop_positions = np.linspace(0.0, 1.0, len(stops))
    channels = [np.interp(positions, stop_positions, stops[:, i]) for i in range(3)]
    return np.stack(channels, axis=-1)


def _backgrounds(matrix: np.ndarray, halo: np.ndarray) -> np.ndarray:
    """Cell colours (rows, cols, 3): value colour, grey when hidden, halo green blended in."""
    rgb = _interpolate(*_scale_positions(matrix))
    rgb[np.isnan(matrix)] = HIDDEN_BACKGROUND
    tint = HALO_OPACITY * _hex_to_rgb(HALO_COLOR)
    rgb[halo] = (1 - HALO_OPACITY) * rgb[halo] + tint
    return rgb


def _text_color(rgb) -> str:
    """White on dark backgrounds, black on light ones (Rec. 709 luma), so numbers stay legible."""
    luma = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    return "#fff" if luma < DARK_LUMA else "#000"


def _cell_text(value: float, fmt, hidden_text: str) -> str:
    if np.isnan(value):
        return hidden_text
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return format_value(value, fmt)


def _font_px(text: str, cell_px: int, base_px: int) -> int:
    """The base size, or smaller for long texts so they fit inside one cell."""
    if len(text) <= _FIT_CHARS:
        return base_px
    fitting = int(cell_px / (_CHAR_WIDTH_EM * len(text)))
    return max(_MIN_FONT_PX, min(base_px, fitting))


def _cell(text: str, row: int, col: int, rgb, *, hidden: bool, halo: bool, cell_px: int) -> str:
    """One ``<td>``: colours, the dotted halo outline and a hover title, all inline."""
    base_px = max(_MIN_FONT_PX, round(cell_px / 3))
    color = HIDDEN_TEXT_COLOR if hidden else _text_color(rgb)
    style = f"padding:0;border:0;background:{_rgb_to_hex(rgb)};color:{color}"
    font_px = _font_px(text, cell_px, base_px)
    if font_px != base_px:
        style += f";font-size:{font_px}px"
    if halo:
        style += f";outline:1px dotted {HALO_COLOR};outline-offset:-2px"
    escaped = html.escape(text)
    return f'<td title="row {row}, column {col}: {escaped}" style="{style}">{escaped}</td>'


def matrix_table(
    values,
    *,
    title: str = "",
    fmt: str | Callable[[float], str] = "{:g}",
    halo=None,
    cell_px: int = 40,
    hidden_text: str = "?",
    indices: bool = False,
) -> str:
    """One matrix as an HTML ``<table>``: every value printed in its cell, cells coloured by value.

    Colours: the diverging "RdBu_r" (blue < 0 < red, white at 0, symmetric
    ±max|x|) when any finite value is negative, else "Blues" from the minimum
    (lightest) to the maximum (darkest); a constant matrix is all light. Text
    is white on dark cells and black on light ones. All styles are inline, so
    the string is self-contained (a 15×15 table is under 30 KB).

    Args:
        values: (rows, cols) array-like of real numbers. NaN cells are drawn
            blank with ``hidden_text``; ±inf print as "inf"/"-inf" and take
            the colour of the scale's end.
        title: bold caption above the table (escaped, so plain text only).
        fmt: format string such as "{:g}" / "{:.2f}", or a function float → str.
        halo: bool mask (rows, cols) of padding cells, tinted green with a
            dotted outline; ``None`` = no padding.
        cell_px: side of one square cell in pixels.
        hidden_text: what NaN cells show (also in their hover title).
        indices: print the zero-based row and column numbers along the top
            and left, as the step-by-step text and error messages count them.

    Returns:
        An HTML string for ``st.html``: a ``<div>`` holding the title and the
        table. Each ``<td>`` has ``title="row r, column c: text"`` (zero-based).

    Raises:
        ValueError: ``values`` is not a non-empty 2-D matrix, ``halo`` has
            another shape, or ``cell_px`` is below 8.

    >>> "<td" in matrix_table([[3]]) and ">3</td>" in matrix_table([[3]])
    True
    """
    if cell_px < 8:
        raise ValueError(f"`cell_px` must be >= 8. Received: cell_px={cell_px}")
    matrix, halo = _validated(values, halo)
    backgrounds = _backgrounds(matrix, halo)
    rows, cols = matrix.shape
    index_style = f"padding:0 2px;border:0;font-size:{_INDEX_PX}px;color:#888;font-weight:400"
    row_label = (lambda r: f'<th style="{index_style}">{r}</th>') if indices else (lambda r: "")
    body = "".join(
        f'<tr style="height:{cell_px}px">'
        + row_label(r)
        + "".join(
            _cell(
                _cell_text(matrix[r, c], fmt, hidden_text),
                r,
                c,
                backgrounds[r, c],
                hidden=bool(np.isnan(matrix[r, c])),
                halo=bool(halo[r, c]),
                cell_px=cell_px,
            )
            for c in range(cols)
        )
        + "</tr>"
        for r in range(rows)
    )
    spacing_px = 1  # the white gaps between cells, as xgap/ygap in the Plotly view
    width_px = cols * cell_px + (cols + 1) * spacing_px
    columns = f'<col style="width:{cell_px}px">' * cols
    if indices:
        header = "".join(f'<th style="{index_style}">{c}</th>' for c in range(cols))
        body = f'<tr><th style="{index_style}"></th>{header}</tr>' + body
        width_px += _INDEX_COLUMN_PX + spacing_px
        columns = f'<col style="width:{_INDEX_COLUMN_PX}px">' + columns
    table_style = (
        f"border-collapse:separate;border-spacing:{spacing_px}px;table-layout:fixed;"
        f"width:{width_px}px;margin:0;text-align:center;"
        f"font:{max(_MIN_FONT_PX, round(cell_px / 3))}px {_FONT_FAMILY}"
    )
    heading = (
        f'<div style="font-weight:600;font-size:13px;margin:0 0 4px">{html.escape(title)}</div>'
        if title
        else ""
    )
    return (
        f'<div style="display:inline-block">{heading}'
        f'<table style="{table_style}">{columns}{body}</table></div>'
    )


def matrices_row(tables: list[str], *, operators: list[str] | None = None) -> str:
    """Several tables side by side in one flex row, with operator symbols between them.

    The row wraps on narrow screens and centres everything vertically, so
    ``patch × kernel = products`` reads as one equation.

    Args:
        tables: HTML strings, e.g. from ``matrix_table`` (inserted as they are).
        operators: ``len(tables) - 1`` short texts such as "×" or "=" (escaped);
            ``None`` = tables only.

    Raises:
        ValueError: ``operators`` does not have one entry per gap between tables.

    >>> matrices_row(["<table></table>", "<table></table>"], operators=["="]).count("=</div>")
    1
    """
    if operators is not None and len(operators) != max(len(tables) - 1, 0):
        raise ValueError(
            f"`operators` must have one entry per gap between tables ({max(len(tables) - 1, 0)})."
            f" Received: {len(operators)} operators for {len(tables)} tables"
        )
    operator_style = f"font-size:{OPERATOR_PX}px;font-weight:600;padding:0 2px"
    parts: list[str] = []
    for index, table in enumerate(tables):
        if index and operators is not None:
            parts.append(f'<div style="{operator_style}">{html.escape(operators[index - 1])}</div>')
        parts.append(f"<div>{table}</div>")
    row_style = "display:flex;flex-wrap:wrap;align-items:center;gap:12px"
    return f'<div style="{row_style}">{"".join(parts)}</div>'
