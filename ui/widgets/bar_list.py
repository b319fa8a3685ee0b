"""Horizontal bars as a few lines of HTML: class probabilities, images per class.

A Plotly bar chart makes the browser load and draw Plotly, seconds on a first visit
(bench/page_load.py); ten bars with their numbers printed need none of it. Every value is
printed beside its bar, so nothing hides behind a hover.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import streamlit as st

BAR_COLOR = "#4c78a8"

HIGHLIGHT_COLOR = "#ff7f0e"


def bars_html(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    texts: Sequence[str],
    top: float | None = None,
    highlight: int | None = None,
) -> str:
    """One row per value: its label, a bar as long as ``value / top``, and ``texts[i]``.

    Args:
        values: non-negative numbers (NaN and negatives draw no bar).
        labels: one per value, shown as plain text (escaped).
        texts: the printed value of each bar.
        top: the value of a full-width bar; the largest value when None.
        highlight: index of the bar drawn in orange (e.g. the predicted class).

    >>> page = bars_html([0.25, 1.0], ["cat", "<dog>"], texts=["25%", "100%"], top=1.0)
    >>> "width:25.0%" in page, "&lt;dog&gt;" in page
    (True, True)
    """
    values = np.asarray(values, dtype=np.float64)
    if not len(values) == len(labels) == len(texts):
        raise ValueError(
            f"`values`, `labels` and `texts` must have the same length. Received: "
            f"{len(values)}, {len(labels)} and {len(texts)}."
        )
    finite = values[np.isfinite(values)]
    top = float(top) if top else (float(finite.max()) if finite.size else 0.0)
    rows = []
    for index, (value, label, text) in enumerate(zip(values, labels, texts, strict=True)):
        share = value / top if top > 0 and np.isfinite(value) and value > 0 else 0.0
        color = HIGHLIGHT_COLOR if index == highlight else BAR_COLOR
        rows.append(
            f'<div style="text-align:right;overflow:hidden;text-overflow:ellipsis;'
            f'white-space:nowrap">{html.escape(str(label))}</div>'
            '<div style="background:#f0f2f6;height:16px;border-radius:2px">'
            f'<div style="width:{min(share, 1.0) * 100:.1f}%;height:100%;background:{color};'
            'border-radius:2px"></div></div>'
            f'<div style="font-variant-numeric:tabular-nums">{html.escape(str(text))}</div>'
        )
    return (
        '<div style="display:grid;grid-template-columns:minmax(3em,max-content) 1fr '
        'max-content;gap:4px 8px;align-items:center;font-size:0.85rem">' + "".join(rows) + "</div>"
    )


def show_bars(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    texts: Sequence[str],
    key: str,
    top: float | None = None,
    highlight: int | None = None,
) -> None:
    """``bars_html`` in a container with ``key`` (its CSS class ``st-key-…`` names it)."""
    with st.container(key=key):
        st.html(bars_html(values, labels, texts=texts, top=top, highlight=highlight))
