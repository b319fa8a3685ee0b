"""Read the Plotly charts an AppTest run drew: the figure JSON, and its arrays as numpy."""

from __future__ import annotations

import base64
import json

import numpy as np
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
