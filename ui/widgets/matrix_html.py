"""Small matrices as plain HTML tables: every value printed, cells coloured by value.

The Kernel Playground redraws its matrices (input patch, kernel, element-wise
products) on every keystroke. As Plotly heatmaps (``ui.widgets.matrix_view``) each
update costs about 40 ms of browser time; an HTML table shown with ``st.html``
costs almost nothing, so the page stays well under its 250 ms budget.

The look follows ``ui.widgets.matrix_view.matrix_figure`` (whose colours are defined here):
the diverging "RdBu_r" scale centred on 0 when any value is negative, "Blues" otherwise; padding
cells (``halo``) tinted green with a dotted outline; NaN cells blank with
``hidden_text`` in them; the window (``highlight``), the current cell (``winner``)
and unreached cells (``shade``) marked. Colours are interpolated over fixed
ColorBrewer stops, so this module needs numpy only, and it never imports Streamlit.

Readable on a projector: every cell is framed by a thin grey line (a white cell on
the white page still shows), the font never drops below ``LEGIBLE_FONT_PX`` while a
cell can grow to ``MAX_CELL_PX``, and cells are always wide enough for their longest
number (``fit_cells``), so no number is clipped or runs into its neighbour.

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

from core.base.numbers import readable, readable_all
from ui.widgets.content_cache import by_content

HIGHLIGHT_COLOR = "#ff7f0e"  # orange: the window


TABLES_KEPT = 256  # tables ``matrix_table`` keeps for every session (a few KB each)


WINNER_COLOR = "#d62728"  # red: the winning / current cell


HALO_COLOR = "#2ca02c"  # green: padding cells


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


GREY_STOPS = np.array([(0, 0, 0), (255, 255, 255)], dtype=np.float64)  # 0 black, 255 white


DIVERGING_STOPS.flags.writeable = False


GREY_STOPS.flags.writeable = False


SEQUENTIAL_STOPS.flags.writeable = False


HIDDEN_BACKGROUND = (242, 242, 242)  # NaN cells: a blank, light-grey square


HIDDEN_TEXT_COLOR = "#444"


HALO_OPACITY = 0.35  # as the halo overlay in ui.widgets.matrix_view


DARK_LUMA = 140  # below this background luma (0–255) the text turns white


OPERATOR_PX = 22


LEGIBLE_FONT_PX = 12  # numbers never print smaller while a cell may still grow


MIN_FONT_PX = 10  # the floor once a cell is at MAX_CELL_PX (very long texts only)


MAX_FONT_PX = 16


MAX_CELL_PX = 84  # cells grow up to this to fit their longest number


GRID_LINE = "#d0d0d0"  # the thin frame around every cell


SHADE_RGB = (150, 150, 150)  # unreached cells: blended towards this grey


CELL_CSS = (  # what every cell shares, once per table instead of in every <td>
    "<style>.cs-matrix td{padding:0;border:0;white-space:nowrap;overflow:hidden;"
    f"box-shadow:0 0 0 1px {GRID_LINE}}}</style>"
)


_CELL_PADDING_PX = 8  # room left and right of the longest number, both sides together


_CHAR_WIDTH_EM = 0.62  # width of one monospace digit, in em (DejaVu Sans Mono: 0.602)


_INDEX_PX = 11  # the row and column numbers around a table


_MIN_INDEX_COLUMN_PX = 18


_FONT_FAMILY = "ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace"


def text_width_px(text: str, font_px: float) -> int:
    """Width of ``text`` in a monospace font of ``font_px`` pixels (rounded up).

    >>> text_width_px("255", 12), text_width_px("", 12)
    (23, 0)
    """
    return int(np.ceil(len(text) * _CHAR_WIDTH_EM * font_px))


def fit_cells(texts, cell_px: int = 40) -> tuple[int, int, int]:
    """Cell width, cell height and font size (px) that print every text whole.

    The font follows the cell (a third of it, between ``LEGIBLE_FONT_PX`` and
    ``MAX_FONT_PX``); a cell too narrow for its longest text grows, up to
    ``MAX_CELL_PX``; past that the font shrinks (never below ``MIN_FONT_PX``) and the
    cell still grows as much as needed: a number is never clipped.

    >>> fit_cells(["1", "0"], 42), fit_cells(["255"], 22), fit_cells(["-0.0244"], 34)
    ((42, 42, 14), (31, 22, 12), (61, 34, 12))
    """
    longest = max((len(str(text)) for text in texts), default=1)
    font = int(min(MAX_FONT_PX, max(LEGIBLE_FONT_PX, round(cell_px / 3))))
    needed = longest * _CHAR_WIDTH_EM * font + _CELL_PADDING_PX
    if needed > MAX_CELL_PX:
        fitting = (MAX_CELL_PX - _CELL_PADDING_PX) / (_CHAR_WIDTH_EM * longest)
        font = int(max(MIN_FONT_PX, min(font, fitting)))
        needed = longest * _CHAR_WIDTH_EM * font + _CELL_PADDING_PX
    width = int(max(cell_px, np.ceil(needed)))
    return width, int(max(cell_px, font + _CELL_PADDING_PX)), font


def format_value(value: float, fmt: str | Callable[[float], str] | None = None) -> str:
    """Format one cell: ``fmt`` is a format string or a function; -0 prints as 0.

    The default is the project's formatter for people (``core.base.numbers.readable``):
    whole numbers plainly, 3 significant digits, float noise as 0.

    >>> format_value(-0.0), format_value(2.5), format_value(1 / 3, "{:.2f}"), format_value(1 / 3)
    ('0', '2.5', '0.33', '0.333')
    """
    value = float(value) + 0.0  # turns -0.0 into 0.0
    if fmt is None:
        return readable(value)
    if callable(fmt):
        return fmt(value)
    return fmt.format(value)


def _hex_to_rgb(color: str) -> np.ndarray:
    color = color.lstrip("#")
    return np.array([int(color[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def _rgb_to_hex(rgb) -> str:
    return "#" + "".join(f"{int(round(channel)):02x}" for channel in rgb)


def _validated(values) -> np.ndarray:
    """The matrix as float64, checked to be 2-D and non-empty."""
    matrix = np.array(values, dtype=np.float64)
    if matrix.ndim != 2 or matrix.size == 0:
        raise ValueError(
            f"`values` must be 2-D and non-empty. Received: values with shape {matrix.shape}"
        )
    return matrix


def _shaped(array, shape: tuple[int, int], name: str, dtype=bool) -> np.ndarray:
    """A mask or text array of the matrix's shape (all False / "" when ``None``)."""
    if array is None:
        return np.zeros(shape, dtype=bool) if dtype is bool else np.full(shape, "", dtype=object)
    array = np.asarray(array, dtype=dtype)
    if array.shape != shape:
        raise ValueError(
            f"`{name}` must have the matrix's shape {shape}. Received: {name} with shape "
            f"{array.shape}"
        )
    return array


def _scale_positions(
    matrix: np.ndarray, zmin: float | None = None, zmax: float | None = None, colors: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """Where each cell sits on its colour scale (0–1) and the stops of that scale.

    Diverging (symmetric ±max|x|, 0 in the middle) as soon as one finite value
    is negative, so a sign is never hidden; otherwise min → max on "Blues";
    ``colors="greys"`` maps ``zmin`` (black) → ``zmax`` (white), as pixels are seen.
    ``zmin``/``zmax`` fix the ends (a matrix that fills up keeps its colours).
    Infinite cells take the scale's end; NaN cells get 0 (they are drawn blank).
    """
    finite = matrix[np.isfinite(matrix)]
    safe = np.where(np.isfinite(matrix), matrix, 0.0)
    low = zmin if zmin is not None else (finite.min() if finite.size else 0.0)
    high = zmax if zmax is not None else (finite.max() if finite.size else 0.0)
    if colors == "greys":
        stops = GREY_STOPS
        positions = (safe - low) / (high - low) if high > low else np.zeros_like(safe)
    elif min(low, finite.min() if finite.size else 0.0) < 0:
        extent = max(abs(low), abs(high), np.abs(finite).max() if finite.size else 0.0)
        positions = 0.5 + 0.5 * safe / extent
        stops = DIVERGING_STOPS
    else:
        span = high - low
        positions = (safe - low) / span if span > 0 else np.zeros_like(safe)
        stops = SEQUENTIAL_STOPS
    positions = np.where(np.isposinf(matrix), 1.0, np.where(np.isneginf(matrix), 0.0, positions))
    return np.clip(positions, 0.0, 1.0), stops


def _interpolate(positions: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """RGB (0–255) of each position, linear between equally spaced stops."""
    stop_positions = np.linspace(0.0, 1.0, len(stops))
    channels = [np.interp(positions, stop_positions, stops[:, i]) for i in range(3)]
    return np.stack(channels, axis=-1)


def _backgrounds(matrix, halo, shade, *, zmin=None, zmax=None, colors="auto") -> np.ndarray:
    """Cell colours (rows, cols, 3): value colour, grey when hidden, halo green, shade grey."""
    rgb = _interpolate(*_scale_positions(matrix, zmin, zmax, colors))
    rgb[np.isnan(matrix)] = HIDDEN_BACKGROUND
    tint = HALO_OPACITY * _hex_to_rgb(HALO_COLOR)
    rgb[halo] = (1 - HALO_OPACITY) * rgb[halo] + tint
    rgb[shade] = 0.45 * rgb[shade] + 0.55 * np.array(SHADE_RGB, dtype=np.float64)
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


def _cell(text: str, label: str, rgb, *, hidden: bool, marks: dict, corner: str) -> str:
    """One ``<td>``: colours, the grid line, marks as inset outlines and a hover title."""
    color = HIDDEN_TEXT_COLOR if hidden else _text_color(rgb)
    style = f"background:{_rgb_to_hex(rgb)};color:{color}"
    shadows = []
    if marks.get("winner"):
        shadows.append(f"inset 0 0 0 {6 if marks.get('highlight') else 4}px {WINNER_COLOR}")
    if marks.get("highlight"):
        shadows.append(f"inset 0 0 0 3px {HIGHLIGHT_COLOR}")
    if shadows:  # the marks, then the grid line every cell has (CELL_CSS)
        style += f";box-shadow:{','.join([*shadows, f'0 0 0 1px {GRID_LINE}'])}"
    if marks.get("halo"):
        style += f";outline:1px dotted {HALO_COLOR};outline-offset:-2px"
    escaped = html.escape(text)
    if corner:
        style += ";position:relative"
        escaped += (
            # inside the window's 3-px outline, on a light patch so it reads on dark cells
            '<span style="position:absolute;top:3px;right:3px;font-size:10px;line-height:10px;'
            "padding:0 1px;border-radius:2px;background:rgba(255,255,255,.85);"
            f'color:#8a3b00">{html.escape(corner)}</span>'
        )
    return f'<td title="{html.escape(label)}: {html.escape(text)}" style="{style}">{escaped}</td>'


@by_content(TABLES_KEPT)  # a lecture room's pages all draw the same tables at once
def matrix_table(
    values,
    *,
    title: str = "",
    fmt: str | Callable[[float], str] | None = None,
    halo=None,
    cell_px: int = 40,
    hidden_text: str = "?",
    indices: bool = False,
    highlight=None,
    winner=None,
    shade=None,
    text=None,
    corner_text=None,
    row_labels=None,
    col_labels=None,
    zmin: float | None = None,
    zmax: float | None = None,
    colors: str = "auto",
) -> str:
    """One matrix as an HTML ``<table>``: every value printed in its cell, cells coloured by value.

    Colours: the diverging "RdBu_r" (blue < 0 < red, white at 0, symmetric
    ±max|x|) when any finite value is negative, else "Blues" from the minimum
    (lightest) to the maximum (darkest); a constant matrix is all light. Text
    is white on dark cells and black on light ones. All styles are inline, so
    the string is self-contained (a 15×15 table is under 40 KB).

    Args:
        values: (rows, cols) array-like of real numbers. NaN cells are drawn
            blank with ``hidden_text``; ±inf print as "inf"/"-inf" and take
            the colour of the scale's end.
        title: bold caption above the table (escaped, so plain text only).
        fmt: format string such as "{:.2f}", or a function float → str; default
            ``core.base.numbers.readable`` with the matrix's largest value as scale
            (whole numbers plainly, 3 significant digits, float noise as 0).
        halo: bool mask (rows, cols) of padding cells, tinted green with a
            dotted outline; ``None`` = no padding.
        cell_px: the cells' least side in pixels; a cell grows wider to hold its
            longest text (``fit_cells``).
        hidden_text: what NaN cells show (also in their hover title).
        indices: print the zero-based row and column numbers along the top
            and left, as the step-by-step text and error messages count them.
        highlight: bool mask of cells outlined in orange (the window).
        winner: bool mask of cells outlined more thickly in red (the current or
            winning cell).
        shade: bool mask of cells veiled in grey (never reached by a window).
        text: (rows, cols) strings printed instead of the formatted values
            ("" for a cell not written yet).
        corner_text: (rows, cols) short strings printed small in the top-right
            corner ("" for none), e.g. "×2" for the kernel weight over a cell.
        row_labels, col_labels: numbers printed along the left and top (default
            0, 1, …; giving either turns the labels on).
        zmin, zmax: fix the ends of the colour scale.
        colors: "auto" (as above) or "greys" (``zmin`` black to ``zmax`` white, as
            pixels look).

    Returns:
        An HTML string for ``st.html``: a ``<div>`` holding the title and the
        table. Each ``<td>`` has ``title="row r, column c: text"``.

    Raises:
        ValueError: ``values`` is not a non-empty 2-D matrix, a mask or text
            has another shape, or ``cell_px`` is below 8.

    >>> "<td" in matrix_table([[3]]) and ">3</td>" in matrix_table([[3]])
    True
    """
    if cell_px < 8:
        raise ValueError(f"`cell_px` must be >= 8. Received: cell_px={cell_px}")
    matrix = _validated(values)
    shape = matrix.shape
    masks = {
        name: _shaped(mask, shape, name)
        for name, mask in (
            ("halo", halo),
            ("highlight", highlight),
            ("winner", winner),
            ("shade", shade),
        )
    }
    corners = _shaped(corner_text, shape, "corner_text", dtype=object)
    if fmt is None:
        fmt = readable_all(matrix)
    if text is None:
        texts = np.array(
            [[_cell_text(v, fmt, hidden_text) for v in line] for line in matrix], dtype=object
        )
    else:
        texts = _shaped(text, shape, "text", dtype=object)
    backgrounds = _backgrounds(
        matrix, masks["halo"], masks["shade"], zmin=zmin, zmax=zmax, colors=colors
    )
    width, height, font_px = fit_cells([str(t) for t in texts.ravel()], cell_px)
    rows, cols = shape
    labelled = indices or row_labels is not None or col_labels is not None
    row_names = list(row_labels) if row_labels is not None else list(range(rows))
    col_names = list(col_labels) if col_labels is not None else list(range(cols))
    body = "".join(
        f'<tr style="height:{height}px">'
        + (f'<th style="{_index_style()}">{row_names[r]}</th>' if labelled else "")
        + "".join(
            _cell(
                str(texts[r, c]),
                f"row {row_names[r]}, column {col_names[c]}",
                backgrounds[r, c],
                hidden=bool(np.isnan(matrix[r, c])),
                marks={name: bool(mask[r, c]) for name, mask in masks.items()},
                corner=str(corners[r, c] or ""),
            )
            for c in range(cols)
        )
        + "</tr>"
        for r in range(rows)
    )
    spacing_px = 1  # the gaps between cells, where each cell's grid line is drawn
    width_px = cols * width + (cols + 1) * spacing_px
    columns = f'<col style="width:{width}px">' * cols
    if labelled:
        header = "".join(f'<th style="{_index_style()}">{c}</th>' for c in col_names)
        body = f'<tr><th style="{_index_style()}"></th>{header}</tr>' + body
        index_px = max(
            _MIN_INDEX_COLUMN_PX,
            text_width_px(max((str(r) for r in row_names), key=len), _INDEX_PX) + 6,
        )
        width_px += index_px + spacing_px
        columns = f'<col style="width:{index_px}px">' + columns
    table_style = (
        f"border-collapse:separate;border-spacing:{spacing_px}px;table-layout:fixed;"
        f"width:{width_px}px;margin:0;text-align:center;font:{font_px}px {_FONT_FAMILY}"
    )
    heading = (
        f'<div style="font-weight:600;font-size:14px;margin:0 0 4px">{html.escape(title)}</div>'
        if title
        else ""
    )
    return (
        f'<div class="cs-matrix" style="display:inline-block;max-width:100%;overflow-x:auto">'
        f'{CELL_CSS}{heading}<table style="{table_style}">{columns}{body}</table></div>'
    )


def _index_style() -> str:
    return (
        f"padding:0 2px;border:0;font-size:{_INDEX_PX}px;color:#777;font-weight:400;"
        "white-space:nowrap"
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
        parts.append(f'<div style="max-width:100%;overflow-x:auto">{table}</div>')
    row_style = "display:flex;flex-wrap:wrap;align-items:center;gap:12px"
    return f'<div style="{row_style}">{"".join(parts)}</div>'
