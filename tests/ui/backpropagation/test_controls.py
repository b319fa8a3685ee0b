"""ui.backpropagation.controls: setups, the settings the controls return, the matrix editors."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.imaging.seed_examples import CONV_EXAMPLES
from tests.apptest_helpers import type_into_matrix
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.backpropagation.controls import (
    GRADIENT_PATTERN,
    SETUPS,
    BackpropSettings,
    default_gradient,
    default_target,
)


def test_options_are_what_core_conv_backward_takes():
    settings = BackpropSettings(
        strides=(2, 1),
        padding=1,
        padding_choice="explicit",
        dilation_rate=2,
        source="typed",
        bias=0,
    )
    assert settings.options() == {"strides": (2, 1), "padding": 1, "dilation_rate": 2}


def test_default_gradient_repeats_the_pattern_to_any_shape():
    np.testing.assert_array_equal(default_gradient((3, 3)), GRADIENT_PATTERN)
    assert default_gradient((5, 4)).shape == (5, 4)
    np.testing.assert_array_equal(default_gradient((5, 4))[3:, :3], GRADIENT_PATTERN[:2])


def test_default_target_is_near_the_output_but_not_on_it():
    output = CONV_EXAMPLES["ex2"].expected
    target = default_target(output)
    np.testing.assert_array_equal(target, [[10, 10, 15], [10, 15, 20], [10, 5, 15]])
    assert 0 < np.abs(output - target).max() <= 2.5


def controls_script():
    import numpy as np
    import streamlit as st

    from ui.backpropagation.controls import (
        backprop_controls,
        gradient_editor,
        init_state,
        matrix_inputs,
        setup_picker,
    )

    init_state()
    setup_picker()
    settings = backprop_controls()
    st.session_state["settings"] = settings
    inputs, kernel, error = matrix_inputs()
    st.session_state["matrices"] = (inputs, kernel, error)
    shape = st.session_state.get("output_shape", (3, 3))
    st.session_state["gradient"] = gradient_editor(np.zeros(shape) + 12.0, settings.source)


def open_controls() -> AppTest:
    at = AppTest.from_function(controls_script, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def load(at: AppTest, key: str) -> AppTest:
    at.selectbox(key="backprop.example").set_value(key)
    at.button(key="backprop.load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_first_visit_shows_the_slides_example_2_with_a_typed_gradient():
    at = open_controls()
    inputs, kernel, error = at.session_state["matrices"]
    assert error is None
    np.testing.assert_array_equal(inputs, CONV_EXAMPLES["ex2"].image)
    np.testing.assert_array_equal(kernel, CONV_EXAMPLES["ex2"].kernel)
    assert at.session_state["settings"] == BackpropSettings(
        strides=(1, 1),
        padding="valid",
        padding_choice="valid",
        dilation_rate=1,
        source="typed",
        bias=0.0,
    )
    gradient, gradient_error = at.session_state["gradient"]
    assert gradient_error is None
    np.testing.assert_array_equal(gradient, GRADIENT_PATTERN)


@pytest.mark.parametrize("key", sorted(SETUPS))
def test_each_setup_sets_every_control(key):
    setup = SETUPS[key]
    at = load(open_controls(), key)
    settings = at.session_state["settings"]
    assert settings.strides == setup.strides
    assert settings.padding == setup.padding
    assert settings.dilation_rate == setup.dilation_rate
    assert settings.source == setup.source
    np.testing.assert_array_equal(at.session_state["matrices"][0], setup.image)
    assert setup.title in at.caption[0].value


def test_every_control_has_a_tooltip_and_a_backprop_key():
    at = open_controls()
    widgets = [*at.number_input, *at.selectbox, *at.radio, *at.button]
    assert widgets
    for widget in widgets:
        assert widget.help, widget.label
        assert widget.key.startswith("backprop."), widget.key


def test_explicit_padding_returns_the_number_typed():
    at = open_controls()
    at.radio(key="backprop.padding").set_value("explicit").run()
    at.number_input(key="backprop.pad").set_value(2).run()
    settings = at.session_state["settings"]
    assert settings.padding == 2 and settings.padding_choice == "explicit"


def test_the_mse_source_edits_a_target_near_the_output():
    at = open_controls()
    at.radio(key="backprop.source").set_value("mse").run()
    target, error = at.session_state["gradient"]
    assert error is None
    np.testing.assert_array_equal(target, np.full((3, 3), 10.0))  # 12 rounded to a multiple of 5


def test_the_gradient_follows_the_output_shape():
    at = open_controls()
    at.session_state["output_shape"] = (2, 4)
    at.run()
    gradient, _ = at.session_state["gradient"]
    np.testing.assert_array_equal(gradient, default_gradient((2, 4)))


def test_a_cell_that_is_not_a_number_is_named():
    at = open_controls()
    type_into_matrix(at, "backprop.gradient", {1: {"2": None}}).run()
    gradient, error = at.session_state["gradient"]
    assert gradient is None
    assert error == (
        "Cell (row 1, column 2) of the output gradient is empty or not a number: "
        "type a number there."
    )


def test_resizing_the_input_keeps_its_top_left_values():
    at = open_controls()
    at.number_input(key="backprop.in_rows").set_value(6).run()
    inputs, _, _ = at.session_state["matrices"]
    assert inputs.shape == (6, 5)
    np.testing.assert_array_equal(inputs[:5], CONV_EXAMPLES["ex2"].image)


def test_the_bias_box_has_limits_so_1e999_is_refused_not_infinite():
    from ui.widgets.link_params import VALUE_LIMIT

    box = open_controls().number_input(key="backprop.bias")
    assert (box.min, box.max) == (-VALUE_LIMIT, VALUE_LIMIT)
