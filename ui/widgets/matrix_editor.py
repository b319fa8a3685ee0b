"""An editable small matrix (``st.data_editor``) whose contents a preset can replace.

The numbers live in session state under ``f"{key}.values"`` (a float array);
the editor's own state is keyed by a version number, so loading a preset or
resizing bumps the version and the grid shows the new numbers instead of
stale edits. ``matrix_editor`` returns the edited matrix, or the message
that says which cell to fix.

The grid is the costliest thing a page can draw on a first visit (its script loads
apart, bench/page_load.py): pages keep their grids in an ``editors_expander``, whose
content runs only while it is open, and call ``matrix_editor(..., shown=False)`` while it
is closed, which returns the same matrix without drawing the grid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st


def _version_key(key: str) -> str:
    return f"{key}.version"


def editor_key(key: str) -> str:
    """Session key of the data editor currently on screen (tests seed edits through it)."""
    return f"{key}.editor.{st.session_state.get(_version_key(key), 0)}"


def set_matrix(key: str, values) -> None:
    """Replace the stored matrix (a preset, random numbers, a resize) and reset edits."""
    st.session_state[f"{key}.values"] = np.array(values, dtype=np.float64)
    st.session_state[_version_key(key)] = st.session_state.get(_version_key(key), 0) + 1


def stored_matrix(key: str, default) -> np.ndarray:
    """The stored matrix, initialised from ``default`` on first use."""
    if f"{key}.values" not in st.session_state:
        st.session_state[f"{key}.values"] = np.array(default, dtype=np.float64)
    return st.session_state[f"{key}.values"]


def current_matrix(key: str, default, state=None) -> np.ndarray:
    """The matrix as the user sees it: the stored one with the grid's typed edits applied.

    ``state`` is the session state to read (``st.session_state`` when ``None``). An edit
    that is not a finite number (a cleared cell) leaves the stored value.
    """
    state = st.session_state if state is None else state
    values = np.array(state.get(f"{key}.values", default), dtype=np.float64)
    version = state.get(_version_key(key), 0)
    edits = state.get(f"{key}.editor.{version}") or {}
    for row, cells in (edits.get("edited_rows") or {}).items():
        for col, value in (cells or {}).items():
            try:
                r, c, number = int(row), int(col), float(value)
            except (TypeError, ValueError):
                continue
            if 0 <= r < values.shape[0] and 0 <= c < values.shape[1] and np.isfinite(number):
                values[r, c] = number
    return values


def _typed_matrix(key: str, default) -> np.ndarray:
    """The stored matrix with the grid's edits applied; a cell typed as no number is NaN."""
    values = np.array(st.session_state.get(f"{key}.values", default), dtype=np.float64)
    edits = st.session_state.get(editor_key(key)) or {}
    for row, cells in (edits.get("edited_rows") or {}).items():
        for col, value in (cells or {}).items():
            r, c = int(row), int(col)
            if 0 <= r < values.shape[0] and 0 <= c < values.shape[1]:
                try:
                    values[r, c] = float(value)
                except (TypeError, ValueError):
                    values[r, c] = np.nan
    return values


def _checked(matrix: np.ndarray, name: str) -> tuple[np.ndarray | None, str | None]:
    bad = np.argwhere(~np.isfinite(matrix))
    if bad.size:
        row, col = bad[0]
        return None, (
            f"Cell (row {row}, column {col}) of the {name} is empty or not a number: "
            "type a number there."
        )
    return matrix, None


def editors_expander(label: str, key: str):
    """An expander whose content runs only while it is open (so no grid is drawn closed).

    ``key`` holds whether it is open; ``.open`` tells the page which way to call
    ``matrix_editor``.
    """
    return st.expander(label, expanded=False, key=key, on_change="rerun")


def resize_matrix(key: str, shape: tuple[int, int], default) -> None:
    """Keep the overlapping top-left values, fill new cells with 0."""
    old = stored_matrix(key, default)
    new = np.zeros(shape)
    rows, cols = min(shape[0], old.shape[0]), min(shape[1], old.shape[1])
    new[:rows, :cols] = old[:rows, :cols]
    set_matrix(key, new)


def matrix_editor(
    key: str,
    default,
    *,
    name: str,
    help: str | None = None,  # noqa: A002
    shown: bool = True,
) -> tuple[np.ndarray | None, str | None]:
    """Draw the editable grid; return ``(matrix, None)`` or ``(None, error message)``.

    ``name`` ("input", "kernel") is used in the error message, e.g.
    "Cell (row 2, column 0) of the kernel is empty: type a number there."
    With ``shown=False`` (its expander is closed) no grid is drawn: the grid's last edits,
    which Streamlit forgets once the grid is gone, are kept in the stored matrix, and the
    same matrix or message comes back.
    """
    values = stored_matrix(key, default)
    if not shown:
        typed = _typed_matrix(key, default)
        matrix, error = _checked(typed, name)
        if matrix is not None and not np.array_equal(matrix, values):
            set_matrix(key, matrix)  # the next grid (a new version) starts from the edits
        return matrix, error
    frame = pd.DataFrame(values, columns=[str(c) for c in range(values.shape[1])])
    column_config = {
        str(c): st.column_config.NumberColumn(str(c), format="%g", width="small")
        for c in range(values.shape[1])
    }
    edited = st.data_editor(
        frame,
        key=editor_key(key),
        column_config=column_config,
        num_rows="fixed",
        hide_index=False,
        width="content",
    )
    if help:
        st.caption(help)
    matrix = pd.DataFrame(edited).apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    return _checked(matrix, name)
