"""ui.widgets.link_fields: the linked fields pages share read and put their state."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import type_into_matrix
from ui.widgets.link_fields import NONE, example_link, image_link, matrix_link, step_link, tab_link
from ui.widgets.link_params import format_value, parse


def test_a_tab_is_written_as_its_slug():
    item = tab_link("tab", "demo.tab", ("First one", "Second & more"), ("first", "second"))
    assert parse(item, "SECOND") == "Second & more"
    assert format_value(item, "Second & more") == "second"
    with pytest.raises(ValueError, match="must be one of first, second"):
        parse(item, "third")


def test_an_example_may_be_none():
    item = example_link("ex", "demo.loaded", "ex1", ("ex1", "ex2"))
    assert item.get({"demo.loaded": None}) == NONE and item.get({}) == "ex1"
    assert parse(item, "none") == NONE
    with pytest.raises(ValueError):
        parse(item, "ex3")


def test_a_step_is_a_whole_number_from_0():
    item = step_link("step", "demo.stepper")
    assert item.keys == ("demo.stepper.step",) and parse(item, "12") == 12
    with pytest.raises(ValueError):
        parse(item, "-1")


def test_image_names():
    item = image_link("demo", sources=("photo", "digit"), digits=10)
    assert parse(item, "photo:coins.png") == "photo:coins.png"
    assert parse(item, "digit:07") == "digit:7"
    for bad in ("photo:nope.png", "digit:10", "digit:-1", "synthetic:impulse", "upload:x"):
        with pytest.raises(ValueError):
            parse(item, bad)
    assert item.get({"demo.source": "digit", "demo.digit": 3}) == "digit:3"
    assert item.get({"demo.source": "upload"}) == "photo:camera.png"  # uploads stay private


def matrix_script():
    import numpy as np
    import streamlit as st

    from ui.widgets.link_fields import matrix_link
    from ui.widgets.matrix_editor import matrix_editor

    item = matrix_link("in", "demo", [[1.0, 2.0]], size_keys=("demo.rows", "demo.cols"))
    if st.button("put", key="put"):
        item.put(np.array([[5.0], [6.0], [7.0]]))
    st.session_state["seen"] = item.get(st.session_state)
    matrix_editor("demo", [[1.0, 2.0]], name="input")


def test_a_matrix_reads_typed_edits_and_puts_values_and_sizes():
    at = AppTest.from_function(matrix_script, default_timeout=30)
    at.run()
    np.testing.assert_array_equal(at.session_state["seen"], [[1, 2]])
    # row 1 does not exist: ignored
    type_into_matrix(at, "demo", {0: {"1": 9.5}, 1: {"0": 3.0}}).run()
    at.run()
    np.testing.assert_array_equal(at.session_state["seen"], [[1, 9.5]])
    at.button(key="put").click().run()
    assert not at.exception
    np.testing.assert_array_equal(at.session_state["seen"], [[5], [6], [7]])
    assert (at.session_state["demo.rows"], at.session_state["demo.cols"]) == (3, 1)


def test_a_matrix_field_keeps_its_default():
    item = matrix_link("k", "demo", [[0.0, 1.0]], max_shape=(2, 2))
    assert format_value(item, item.default) == "0,1"
    with pytest.raises(ValueError, match="at most 2×2"):
        parse(item, "1,2,3")
