"""Small readers of what an AppTest run rendered, shared by the page tests."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest


def markdown_text(at: AppTest) -> str:
    """Every st.markdown (and st.write of a string) on the page, one per line."""
    return "\n".join(m.value for m in at.markdown)


def result_tables(at: AppTest) -> list[np.ndarray]:
    """The read-only tables on the page (the editable data_editors are left out)."""
    return [df.value.to_numpy() for df in at.dataframe if df.editing_mode == "read_only"]


def matrix_tables(at: AppTest) -> list[str]:
    """The HTML of every small matrix on the page (``ui.widgets.matrix_html.matrix_table``)."""
    return [h.proto.body for h in at.get("html") if 'class="cs-matrix"' in h.proto.body]
