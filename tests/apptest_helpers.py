"""Small readers of what an AppTest run rendered, shared by the page tests."""

from __future__ import annotations

import html
import re

import numpy as np
from streamlit.testing.v1 import AppTest


def markdown_text(at: AppTest) -> str:
    """Every st.markdown (and st.write of a string) on the page, one per line."""
    return "\n".join(m.value for m in at.markdown)


def result_tables(at: AppTest) -> list[np.ndarray]:
    """The whole results on the page (``ui.widgets.matrix_view.show_result``), as numbers."""
    tables = []
    for element in at.get("html"):
        if element.proto.body.startswith('<div class="cs-result">'):
            cells = re.findall(r'<td title="row (\d+), column (\d+): ([^"]*)"', element.proto.body)
            values = np.zeros(
                (1 + max(int(r) for r, _, _ in cells), 1 + max(int(c) for _, c, _ in cells))
            )
            for row, col, text in cells:
                values[int(row), int(col)] = float(html.unescape(text))
            tables.append(values)
    return tables


def matrix_tables(at: AppTest) -> list[str]:
    """The HTML of every small matrix on the page (``ui.widgets.matrix_html.matrix_table``)."""
    return [h.proto.body for h in at.get("html") if 'class="cs-matrix"' in h.proto.body]


def _nodes(node):
    """Every block and element under ``node``, depth first."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def _html_words(body: str) -> str:
    """What a reader sees of an HTML string: no styles, tags or attributes."""
    import html as html_module
    import re

    body = re.sub(r"<style[^>]*>.*?</style>", " ", body, flags=re.DOTALL | re.IGNORECASE)
    return html_module.unescape(re.sub(r"<[^>]+>", " ", body))


def _plotly_words(spec: str) -> list[str]:
    """Titles, tick labels, annotations, trace names and cell texts of a Plotly figure."""
    import json

    figure = json.loads(spec)
    words: list[str] = []

    def take(value) -> None:
        if isinstance(value, str):
            words.append(value)
        elif isinstance(value, dict):
            for key in ("text", "title", "ticktext", "name"):
                if key in value:
                    take(value[key])
        elif isinstance(value, list):
            for item in value:
                take(item)

    layout = figure.get("layout", {})
    for key, value in layout.items():
        if key.startswith(("xaxis", "yaxis", "title", "annotations", "coloraxis")):
            take(value)
    for trace in figure.get("data", []):
        take(trace.get("name"))
        take(trace.get("text"))
    return words


def screen_text(at: AppTest) -> str:
    """Every text a person can read on the page, one piece a line.

    Titles, markdown, captions and alerts; widget labels, tooltips and options; metrics;
    tab and expander labels; HTML (tags and styles left out); and the titles, tick labels,
    annotations and cell texts of Plotly charts.
    """
    pieces: list[str] = []
    for node in _nodes(at._tree):
        for attribute in ("label", "help", "placeholder"):
            value = getattr(node, attribute, None)
            if isinstance(value, str):
                pieces.append(value)
        kind = type(node).__name__
        value = getattr(node, "value", None) if kind not in ("Dataframe", "Html", "Code") else None
        if isinstance(value, str):
            pieces.append(value)
        options = getattr(node, "options", None)
        if isinstance(options, (list, tuple)):
            pieces.extend(str(option) for option in options)
        proto = getattr(node, "proto", None)
        body = getattr(proto, "body", None)
        if kind == "Html" and isinstance(body, str):
            pieces.append(_html_words(body))
        spec = getattr(proto, "spec", None)
        if isinstance(spec, str) and spec.startswith("{"):
            pieces.extend(_plotly_words(spec))
        for block in ("tab", "expandable"):
            if proto is not None and hasattr(proto, "HasField"):
                try:
                    if proto.HasField(block):
                        pieces.append(getattr(proto, block).label)
                except ValueError:
                    pass
        for name in ("delta",):
            extra = getattr(node, name, None)
            if isinstance(extra, str):
                pieces.append(extra)
    return "\n".join(piece for piece in pieces if piece)


def type_into_matrix(at: AppTest, key: str, edited_rows: dict) -> AppTest:
    """Edit cells of a matrix editor (``ui.widgets.matrix_editor``) as the browser sends it:
    ``edited_rows`` is ``{row: {"column": value}}``. The grid's key carries a version that
    changes whenever the matrix is replaced. Call ``at.run()`` after it."""
    version = at.session_state.get(f"{key}.version", 0)
    at.session_state[f"{key}.editor.{version}"] = {
        "edited_rows": edited_rows,
        "added_rows": [],
        "deleted_rows": [],
    }
    return at
