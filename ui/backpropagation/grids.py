"""Numbered HTML grids for the Backpropagation page: values rounded for people, cells marked.

The look of ``ui.widgets.matrix_html`` (its ColorBrewer scales, monospace numbers,
1-px gaps, row and column numbers), plus what the backward pass needs on the whole
input: the cells one weight multiplied (with the gradient over each), the window an
output's gradient goes back through, the zeros stuffed between gradients and cells
not computed yet. Cells grow to fit numbers such as -0.0244 at a legible size.

Numbers are rounded for people (``people``, the project's one formatter
``core.base.numbers.readable``): 3 significant digits, whole numbers plainly, float
noise such as 3.3e-16 as 0.

>>> people(3.3306690738754696e-16), people(-0.44444), people(12.0), people(2 / 3 * 100)
('0', '-0.444', '12', '66.7')
>>> "box-shadow" in marked_table([[1, 2]], marks=[([[True, False]], "#ff7f0e")])
True
"""

from __future__ import annotations

import html
from collections.abc import Callable

import numpy as np

from core.base.numbers import readable as people
from core.base.numbers import readable_all
from ui.widgets.matrix_html import (
    DIVERGING_STOPS,
    LEGIBLE_FONT_PX,
    MAX_CELL_PX,
    MIN_FONT_PX,
    SEQUENTIAL_STOPS,
)
from ui.widgets.matrix_view import HALO_COLOR, HIGHLIGHT_COLOR, WINNER_COLOR

WINDOW = HIGHLIGHT_COLOR  # orange: the window / the cells a weight multiplied


CURRENT = WINNER_COLOR  # red: the cell being computed


MUTED_BACKGROUND = "#f4f4f4"  # inserted zeros: not numbers of the layer


MUTED_TEXT = "#9a9a9a"


BLANK_BACKGROUND = "#fbfbfb"  # not computed yet


HALO_BACKGROUND = "#e3f1e3"  # padding cells: flat pale green, whatever they hold


HALO_TEXT = "#2f6b2f"


FONT_PX = 13


_CHAR_EM = 0.62  # width of one monospace digit, in em


_FONT_FAMILY = "ui-monospace,SFMono-Regular,Menlo,Consolas,monospace"


_INDEX_STYLE = "padding:0 3px;border:0;font-size:11px;color:#777;font-weight:400"


def people_format(values) -> Callable[[float], str]:
    """A ``fmt`` for ``matrix_table``: ``people`` with the matrix's own scale for noise."""
    return readable_all(values)


def signed(value: float) -> str:
    """``people`` with a real minus sign (−), for labels and prose.

    >>> signed(-1.5), signed(2)
    ('−1.5', '2')
    """
    return people(value).replace("-", "−")


def factor(value: float) -> str:
    """A number as a factor in a written sum: negatives in brackets with a real minus.

    >>> factor(-2.5), factor(3)
    ('(−2.5)', '3')
    """
    text = people(value)
    return f"(−{text[1:]})" if text.startswith("-") else text


def written_sum(left, right, *, shown: int = 12) -> str:
    """ "a₁·b₁ + a₂·b₂ + …" in reading order, the first ``shown`` terms, for Markdown.

    >>> written_sum([1, -2, 3], [2, 1, 0])
    '1·2 + (−2)·1 + 3·0'
    """
    pairs = list(zip(np.ravel(left), np.ravel(right), strict=True))
    terms = [f"{factor(a)}·{factor(b)}" for a, b in pairs[:shown]]
    if len(pairs) > shown:
        terms.append(f"… ({len(pairs) - shown} more)")
    return " + ".join(terms)


def cell_size(shape: tuple[int, int], budget: int = 340) -> int:
    """Cell side so a grid of this many columns fits ``budget`` pixels, between 28 and 40.

    Never smaller than 28 px, so numbers stay legible on a projector; a wider grid
    scrolls sideways in its own box (``row_of``).

    >>> cell_size((3, 3)), cell_size((11, 11)), cell_size((30, 30))
    (40, 30, 28)
    """
    return int(min(40, max(28, budget // max(shape[1], 1))))


def value_colors(values: np.ndarray, scale=None) -> np.ndarray:
    """RGB of every cell: diverging blue–white–red when any value is negative, else Blues.

    ``scale``: values that set the colour range (default: ``values`` themselves), so two
    matrices compared side by side (a kernel before and after a step) share one scale.

    >>> value_colors(np.array([[0.0, 1.0]]))[0, 0].round().tolist()
    [247.0, 251.0, 255.0]
    """
    reference = np.asarray(values if scale is None else scale, dtype=np.float64)
    finite = reference[np.isfinite(reference)]
    safe = np.where(np.isfinite(values), values, 0.0)
    if finite.size and finite.min() < 0:
        positions, stops = 0.5 + 0.5 * safe / np.abs(finite).max(), DIVERGING_STOPS
    else:
        low = finite.min() if finite.size else 0.0
        span = (finite.max() - low) if finite.size else 0.0
        positions = (safe - low) / span if span > 0 else np.zeros_like(safe)
        stops = SEQUENTIAL_STOPS
    positions = np.clip(positions, 0.0, 1.0)
    grid = np.linspace(0.0, 1.0, len(stops))
    return np.stack([np.interp(positions, grid, stops[:, i]) for i in range(3)], axis=-1)


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(round(channel)):02x}" for channel in rgb)


def _text_color(rgb) -> str:
    luma = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    return "#fff" if luma < 140 else "#000"


def _mask(mask, shape, name: str) -> np.ndarray:
    if mask is None:
        return np.zeros(shape, dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != shape:
        raise ValueError(
            f"`{name}` must have the matrix's shape {shape}. Received: {name} with shape "
            f"{mask.shape}."
        )
    return mask


def marked_table(
    values,
    *,
    title: str = "",
    marks=(),
    corner_text=None,
    halo=None,
    muted=None,
    blank=None,
    row_labels=None,
    col_labels=None,
    cell_px: int = 36,
    scale=None,
) -> str:
    """A matrix as an HTML table with every value printed and chosen cells marked.

    Args:
        values: (rows, cols) real numbers.
        title: bold caption above the table (plain text).
        marks: ``(mask, colour)`` pairs; each True cell gets an inner outline in that
            colour, 3 px thick (later marks sit inside earlier ones).
        corner_text: (rows, cols) short strings printed small in the top-right corner
            of their cell ("" for none), e.g. "×2" for the factor that multiplies it.
        halo: padding cells: pale green with a dotted outline, left out of the colour
            scale (their values are zeros, or gradient that will be dropped).
        muted: cells that hold zeros the lesson inserted (grey text on light grey).
        blank: cells not computed yet: drawn empty.
        row_labels, col_labels: index numbers along the left and top; default 0, 1, …
        scale: values that set the colour range, shared by matrices compared side by
            side; default the matrix's own values.
        cell_px: side of one cell in pixels; cells grow to fit the longest
            number at 13 px (up to MAX_CELL_PX), and longer texts shrink.

    Returns:
        An HTML string for ``st.html``; each ``<td>`` has the hover title
        "row r, column c: text" with the labels shown.

    Raises:
        ValueError: ``values`` is not a non-empty 2-D matrix, or a mask or text has
            another shape.
    """
    matrix = np.array(values, dtype=np.float64)
    if matrix.ndim != 2 or matrix.size == 0:
        raise ValueError(
            f"`values` must be 2-D and non-empty. Received: values with shape {matrix.shape}."
        )
    shape = matrix.shape
    halo, muted, blank = (
        _mask(halo, shape, "halo"),
        _mask(muted, shape, "muted"),
        _mask(blank, shape, "blank"),
    )
    marks = [(_mask(mask, shape, "marks"), color) for mask, color in marks]
    corners = np.full(shape, "", dtype=object)
    if corner_text is not None:
        corners = np.asarray(corner_text, dtype=object)
        if corners.shape != shape:
            raise ValueError(
                f"`corner_text` must have the matrix's shape {shape}. Received: corner_text "
                f"with shape {corners.shape}."
            )
    coloured = np.where(muted | blank | halo, np.nan, matrix)
    rgb = value_colors(coloured, scale)
    fmt = people_format(np.where(blank, np.nan, matrix))
    texts = [
        ["" if blank[r, c] else fmt(matrix[r, c]) for c in range(shape[1])] for r in range(shape[0])
    ]
    rows = row_labels if row_labels is not None else range(shape[0])
    cols = col_labels if col_labels is not None else range(shape[1])
    rows, cols = list(rows), list(cols)
    font_px = min(FONT_PX, max(LEGIBLE_FONT_PX, round(cell_px / 3)))
    longest = max(len(text) for line in texts for text in line)
    cell_px = max(cell_px, min(MAX_CELL_PX, int(longest * _CHAR_EM * font_px) + 8))
    body = []
    for r in range(shape[0]):
        cells = [f'<th style="{_INDEX_STYLE}">{rows[r]}</th>']
        for c in range(shape[1]):
            text = texts[r][c]
            background, color = _hex(rgb[r, c]), _text_color(rgb[r, c])
            if muted[r, c]:
                background, color = MUTED_BACKGROUND, MUTED_TEXT
            elif blank[r, c]:
                background = BLANK_BACKGROUND
            elif halo[r, c]:
                background, color = HALO_BACKGROUND, HALO_TEXT
            shadows = [
                f"inset 0 0 0 {3 * (index + 1)}px {mark_color}"
                for index, (mask, mark_color) in enumerate(reversed(marks))
                if mask[r, c]
            ]
            style = f"padding:0;border:0;background:{background};color:{color};position:relative"
            if text and len(text) * _CHAR_EM * font_px + 6 > cell_px:
                fitting = int((cell_px - 6) / (_CHAR_EM * len(text)))
                style += f";font-size:{max(MIN_FONT_PX, fitting)}px"
            if shadows:
                style += f";box-shadow:{','.join(shadows)}"
            if halo[r, c]:
                style += f";outline:1px dotted {HALO_COLOR};outline-offset:-2px"
            corner = ""
            if corners[r, c]:
                corner = (
                    '<span style="position:absolute;top:1px;right:2px;font-size:10px;'
                    "line-height:11px;padding:0 1px;border-radius:2px;color:#8a3b00;"
                    f'background:rgba(255,255,255,.85)">{html.escape(str(corners[r, c]))}</span>'
                )
            hover = f"row {rows[r]}, column {cols[c]}: {text or 'not yet'}"
            cells.append(
                f'<td title="{html.escape(hover)}" style="{style}">{html.escape(text)}{corner}</td>'
            )
        body.append(f'<tr style="height:{cell_px}px">{"".join(cells)}</tr>')
    header = f'<tr><th style="{_INDEX_STYLE}"></th>' + "".join(
        f'<th style="{_INDEX_STYLE}">{c}</th>' for c in cols
    )
    index_px = 22
    width = index_px + shape[1] * cell_px + (shape[1] + 2)
    columns = f'<col style="width:{index_px}px">' + f'<col style="width:{cell_px}px">' * shape[1]
    table_style = (
        "border-collapse:separate;border-spacing:1px;table-layout:fixed;margin:0;"
        f"width:{width}px;text-align:center;font:{font_px}px {_FONT_FAMILY}"
    )
    heading = (
        f'<div style="font-weight:600;font-size:13px;margin:0 0 4px">{html.escape(title)}</div>'
        if title
        else ""
    )
    return (
        f'<div style="display:inline-block">{heading}<table style="{table_style}">{columns}'
        f"{header}</tr>{''.join(body)}</table></div>"
    )


def plain_table(values, *, title: str = "", cell_px: int | None = None, scale=None) -> str:
    """A matrix without marks: every value printed, rounded for people, cells coloured."""
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    return marked_table(
        values, title=title, cell_px=cell_px or cell_size(values.shape), scale=scale
    )


def row_of(tables: list[str], operators: list[str] | None = None) -> str:
    """Tables side by side with operators between them, wrapping on narrow screens.

    Like ``matrices_row``, but a table wider than the page scrolls sideways inside
    its own box instead of running under its neighbours.

    >>> row_of(["<table></table>", "<table></table>"], ["="]).count("overflow-x:auto")
    2
    """
    if operators is not None and len(operators) != max(len(tables) - 1, 0):
        raise ValueError(
            f"`operators` must have one entry per gap between tables ({max(len(tables) - 1, 0)})."
            f" Received: operators={operators!r}."
        )
    operator_style = "font-size:20px;font-weight:600;padding:0 2px;white-space:nowrap"
    parts = []
    for index, table in enumerate(tables):
        if index and operators is not None:
            parts.append(f'<div style="{operator_style}">{html.escape(operators[index - 1])}</div>')
        parts.append(f'<div style="max-width:100%;overflow-x:auto">{table}</div>')
    row_style = "display:flex;flex-wrap:wrap;align-items:center;gap:10px 14px"
    return f'<div style="{row_style}">{"".join(parts)}</div>'
