"""ui.pooling.controls: the worked examples, the window settings and the editable input."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.imaging.seed_examples import POOL_EXAMPLES
from core.ops.pooling import pool2d
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.pooling.controls import PoolSettings


def test_pool_options_go_to_every_pooling_function():
    chosen = PoolSettings((3, 2), (1, 2), "same", "average", False)
    assert chosen.pool_options() == {"pool_size": (3, 2), "strides": (1, 2), "padding": "same"}
    image = np.arange(16.0).reshape(4, 4)
    assert pool2d(image, method=chosen.method, **chosen.pool_options()).shape == (4, 2)


def controls_script():
    import streamlit as st

    from ui.pooling.controls import matrix_input, pool_controls

    st.session_state["settings"] = pool_controls()
    st.session_state["input"] = matrix_input()


def open_controls() -> AppTest:
    at = AppTest.from_function(controls_script, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_first_visit_loads_the_first_example():
    at = open_controls()
    key = next(iter(POOL_EXAMPLES))
    example = POOL_EXAMPLES[key]
    assert at.session_state["settings"] == PoolSettings(
        example.pool_size, example.strides, example.padding, example.method, False
    )
    image, error = at.session_state["input"]
    assert error is None
    np.testing.assert_array_equal(image, example.image)
    assert at.session_state["pool.loaded"] == key


@pytest.mark.parametrize("key", sorted(POOL_EXAMPLES))
def test_loading_an_example_sets_the_input_and_the_window(key):
    at = open_controls()
    at.radio(key="pool.method").set_value("average").run()
    at.selectbox(key="pool.example").set_value(key)
    at.button(key="pool.load").click().run()
    example = POOL_EXAMPLES[key]
    chosen = at.session_state["settings"]
    assert (chosen.pool_size, chosen.strides, chosen.method) == (
        example.pool_size,
        example.strides,
        example.method,
    )
    np.testing.assert_array_equal(at.session_state["input"][0], example.image)


def test_every_setting_reaches_the_settings():
    at = open_controls()
    at.number_input(key="pool.size_rows").set_value(3)
    at.number_input(key="pool.stride_cols").set_value(1)
    at.radio(key="pool.padding").set_value("same")
    at.radio(key="pool.method").set_value("average")
    at.toggle(key="pool.backprop").set_value(True).run()
    assert at.session_state["settings"] == PoolSettings((3, 2), (2, 1), "same", "average", True)


def test_the_input_can_be_resized_and_randomised():
    at = open_controls()
    at.number_input(key="pool.in_cols").set_value(6).run()
    image, _ = at.session_state["input"]
    assert image.shape == (4, 6) and (image[:, 4:] == 0).all()
    at.button(key="pool.random").click().run()
    image, _ = at.session_state["input"]
    assert image.shape == (4, 6) and set(np.unique(image)) <= set(range(10))
    assert at.session_state["pool.loaded"] is None


def test_every_control_has_a_tooltip():
    at = open_controls()
    widgets = [*at.number_input, *at.selectbox, *at.radio, *at.toggle, *at.button]
    assert [w.key for w in widgets if not w.help] == []
