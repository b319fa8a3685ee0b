"""Small readers of what an AppTest run rendered, shared by the page tests: text, tables,
Plotly charts (the figure JSON and its arrays as numpy) and the pictures it kept."""

from __future__ import annotations

import base64
import contextlib
import html
import json
import re
from unittest import mock

import cv2
import numpy as np
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
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


def formulas(at: AppTest) -> list[str]:
    """Every formula on the page (``ui.widgets.formula``) as its one line of text, in order."""
    return [
        html.unescape(match)
        for element in at.get("html")
        for match in re.findall(
            r'class="cs-formula" role="math" aria-label="([^"]*)"', element.proto.body
        )
    ]


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
        options = getattr(node, "options", None)
        # A choice's value is its option's key; what it shows is in ``options``, formatted.
        if isinstance(value, str) and not isinstance(options, (list, tuple)):
            pieces.append(value)
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


def chart(at: AppTest, key: str) -> dict:
    """The figure (as plotly JSON) of the chart whose widget key is `key`."""
    element = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key))
    return json.loads(element.proto.spec)


def chart_keys(at: AppTest) -> list[str]:
    """The keys of the charts on the page, in order (``"train.curves_chart"``, ...)."""
    return [c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")]


def array(value) -> np.ndarray:
    """A plotly JSON array: a plain list, or ``{"dtype", "bdata", "shape"}`` (base64)."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        if shape is None:
            return flat
        return flat.reshape([int(side) for side in str(shape).split(",")])
    return np.asarray(value)


def keyed_block(at: AppTest, key: str):
    """The container made with ``st.container(key=key)`` (its id ends with the key)."""
    stack = [at._tree]
    while stack:
        node = stack.pop()
        if getattr(getattr(node, "proto", None), "id", "").endswith(f"-{key}"):
            return node
        stack.extend(getattr(node, "children", {}).values())
    raise LookupError(f"no container with key {key!r}")


def elements_in(block, kind: str) -> list:
    """The elements of one kind (``"image"``, ``"html"``, ``"markdown"``) inside ``block``."""
    found, stack = [], [block]
    while stack:
        node = stack.pop()
        if getattr(node, "type", None) == kind:
            found.append(node)
        stack.extend(reversed(list(getattr(node, "children", {}).values())))
    return found


def html_in(block) -> str:
    """The HTML that ``st.html`` drew inside ``block``, all of it."""
    return "".join(element.proto.body for element in elements_in(block, "html"))


@contextlib.contextmanager
def kept_pictures():
    """Keep the bytes of every picture the runs inside send (AppTest keeps only their URLs).

    Yields a dict from file id to bytes, for ``pixels``. Streamlit's own storage still
    stores each file: this only keeps a copy.
    """
    kept: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        if isinstance(path_or_data, bytes):
            kept[file_id] = path_or_data
        return file_id

    with mock.patch.object(MemoryMediaFileStorage, "load_and_get_id", keep):
        yield kept


def pixels(kept: dict[str, bytes], image, index: int = 0) -> np.ndarray:
    """The RGB pixels of picture ``index`` of an ``st.image`` element, from ``kept_pictures``."""
    file_id = image.proto.imgs[index].url.rsplit("/", 1)[-1].split(".")[0]
    decoded = cv2.imdecode(np.frombuffer(kept[file_id], np.uint8), cv2.IMREAD_COLOR)
    return decoded[:, :, ::-1]


def choice_list(at: AppTest, key: str):
    """The radio buttons of a ``ui.widgets.short_choice.choose_one`` control keyed ``key``.

    A short list is a radio row on the page; a long one is opened first (its "All" popover,
    which stays open, as a click leaves it), running the page once more.
    """
    if not any(radio.key == key for radio in at.radio):
        at.session_state[f"{key}_all"] = True
        at.run()
    return at.radio(key=key)


def choose(at: AppTest, key: str, value) -> AppTest:
    """Pick ``value`` for a ``choose_one`` control, as a visitor does (``choice_list``)."""
    choice_list(at, key).set_value(value).run()
    return at


def choice_shown(at: AppTest, key: str) -> str:
    """What a long ``choose_one`` control shows between its ◀ ▶ buttons (its list's label)."""
    (popover,) = [p for p in at.get("popover") if p.proto.popover.id.endswith(f"-{key}_all")]
    return popover.proto.popover.label
