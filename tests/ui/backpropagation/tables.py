"""Read back the numbers of the HTML tables that ``ui.backpropagation.grids`` draws.

Each table is a titled ``<table>`` whose cells carry ``title="row r, column c: text"``;
``read_tables`` returns them by title, as float arrays (NaN for cells not computed yet).
"""

from __future__ import annotations

import html
import re

import numpy as np

_TABLE = re.compile(
    r'<div style="display:inline-block">(?:<div style="font-weight:600[^>]*>(.*?)</div>)?'
    r"<table(.*?)</table>",
    re.S,
)
_ROW = re.compile(r'<tr style="height:[^"]*">(.*?)</tr>', re.S)
_CELL = re.compile(r'<td title="row [^,]*, column [^:]*: ([^"]*)"')


def _number(text: str) -> float:
    text = html.unescape(text)
    return float("nan") if text == "not yet" else float(text.replace("−", "-"))


def read_tables(page_html: str) -> dict[str, np.ndarray]:
    """``{title: values}`` for every table in ``page_html`` (later titles win)."""
    tables = {}
    for title, body in _TABLE.findall(page_html):
        rows = [[_number(cell) for cell in _CELL.findall(row)] for row in _ROW.findall(body)]
        tables[html.unescape(title)] = np.array(rows, dtype=np.float64)
    return tables


def all_tables(at) -> dict[str, np.ndarray]:
    """Every table on an AppTest page, by title."""
    tables = {}
    for element in at.get("html"):
        tables.update(read_tables(element.proto.body))
    return tables


def close_to(shown: np.ndarray, expected, digits: int = 3) -> bool:
    """Whether numbers shown to ``digits`` significant digits match ``expected``."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(float(np.abs(expected).max()), 1e-12)
    return shown.shape == expected.shape and bool(
        np.allclose(shown, expected, rtol=10 ** (1 - digits), atol=1e-9 * scale)
    )
