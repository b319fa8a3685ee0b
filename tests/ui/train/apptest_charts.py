"""Read the Plotly charts an AppTest run drew: the figure JSON, and its arrays as numpy."""

from __future__ import annotations

import base64
import contextlib
import json
from unittest import mock

import cv2
import numpy as np
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest


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
