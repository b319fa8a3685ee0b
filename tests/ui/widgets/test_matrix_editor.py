"""ui.widgets.matrix_editor: the stored matrix, its replacement and resizing, and the grid."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import type_into_matrix


def editor_script():
    import streamlit as st

    from ui.widgets.matrix_editor import matrix_editor, resize_matrix, set_matrix

    def load_preset():
        set_matrix("demo", [[7, 8], [9, 10]])

    def grow():
        resize_matrix("demo", (3, 3), [[0.0]])

    st.button("Preset", key="preset", on_click=load_preset)
    st.button("Grow", key="grow", on_click=grow)
    matrix, error = matrix_editor("demo", [[1, 2, 3], [4, 5, 6]], name="kernel", help="Type.")
    st.session_state["result"] = (matrix, error)


def open_editor() -> AppTest:
    at = AppTest.from_function(editor_script, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def result(at: AppTest):
    return at.session_state["result"]


def editor_key(at: AppTest) -> str:
    """The data editor on screen (its key changes whenever the matrix is replaced)."""
    version = at.session_state.get("demo.version", 0)
    return f"demo.editor.{version}"


def edit(at: AppTest, edited_rows: dict) -> AppTest:
    """Seed the data editor's edit state, as the browser sends it, and rerun."""
    type_into_matrix(at, "demo", edited_rows).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_default_is_stored_and_returned_as_floats():
    at = open_editor()
    matrix, error = result(at)
    assert error is None and matrix.dtype == np.float64
    np.testing.assert_array_equal(matrix, [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(at.session_state["demo.values"], matrix)
    assert "Type." in [c.value for c in at.caption]


def test_an_edited_cell_comes_back():
    at = edit(open_editor(), {1: {"2": 60}})
    matrix, error = result(at)
    assert error is None
    np.testing.assert_array_equal(matrix, [[1, 2, 3], [4, 5, 60]])


def test_an_emptied_cell_is_named_in_the_message():
    at = edit(open_editor(), {1: {"0": None}})
    matrix, error = result(at)
    assert matrix is None
    assert error == (
        "Cell (row 1, column 0) of the kernel is empty or not a number: type a number there."
    )


def test_a_preset_replaces_the_values_and_forgets_old_edits():
    at = edit(open_editor(), {0: {"0": 100}})
    old_key = editor_key(at)
    at.button(key="preset").click().run()
    assert editor_key(at) != old_key  # a fresh editor: the old edit state no longer applies
    matrix, _ = result(at)
    np.testing.assert_array_equal(matrix, [[7, 8], [9, 10]])


def test_resizing_keeps_the_top_left_values_and_pads_with_zeros():
    at = open_editor()
    at.button(key="grow").click().run()
    matrix, _ = result(at)
    np.testing.assert_array_equal(matrix, [[1, 2, 3], [4, 5, 6], [0, 0, 0]])


def lazy_script():
    import streamlit as st

    from ui.widgets.matrix_editor import editors_expander, matrix_editor

    with editors_expander("Edit the kernel", "demo.open") as editors:
        matrix, error = matrix_editor(
            "demo", [[1, 2], [3, 4]], name="kernel", help="Type.", shown=editors.open
        )
    st.session_state["result"] = (matrix, error)


def open_lazy(is_open: bool) -> AppTest:
    at = AppTest.from_function(lazy_script, default_timeout=30)
    at.session_state["demo.open"] = is_open
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_closed_expander_draws_no_grid_but_returns_the_matrix():
    at = open_lazy(False)
    assert not at.data_editor and not at.caption
    matrix, error = result(at)
    assert error is None
    np.testing.assert_array_equal(matrix, [[1, 2], [3, 4]])
    at.session_state["demo.open"] = True
    at.run()
    assert len(at.data_editor) == 1 and "Type." in [c.value for c in at.caption]


def test_closing_the_expander_keeps_the_typed_edits():
    at = open_lazy(True)
    at = edit(at, {0: {"1": 20}})
    np.testing.assert_array_equal(result(at)[0], [[1, 20], [3, 4]])
    old_key = editor_key(at)
    at.session_state["demo.open"] = False
    at.run()  # the grid is gone: Streamlit forgets its edits after this run
    np.testing.assert_array_equal(result(at)[0], [[1, 20], [3, 4]])
    np.testing.assert_array_equal(at.session_state["demo.values"], [[1, 20], [3, 4]])
    assert editor_key(at) != old_key  # the grid, opened again, starts from the kept edits
    at.run()
    np.testing.assert_array_equal(result(at)[0], [[1, 20], [3, 4]])
    at.session_state["demo.open"] = True
    at.run()
    np.testing.assert_array_equal(result(at)[0], [[1, 20], [3, 4]])


def test_a_closed_expander_names_a_cell_typed_as_no_number():
    at = edit(open_lazy(False), {1: {"0": None}})
    matrix, error = result(at)
    assert matrix is None
    assert error == (
        "Cell (row 1, column 0) of the kernel is empty or not a number: type a number there."
    )
    np.testing.assert_array_equal(at.session_state["demo.values"], [[1, 2], [3, 4]])
