"""ui.arithmetic.controls: the worked examples, the controls and the settings they return."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.imaging.seed_examples import CONV_EXAMPLES
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.arithmetic.controls import MODES, ConvSettings


def settings(**changes) -> ConvSettings:
    values = dict(
        mode=MODES[0],
        strides=(1, 2),
        padding=1,
        padding_choice="explicit",
        border_mode="reflect",
        cval=0.0,
        dilation_rate=2,
        flip_kernel=True,
        relu=False,
        output_padding=None,
        guess_mode=False,
    )
    return ConvSettings(**{**values, **changes})


def test_conv_options_are_what_conv2d_and_matrix_form_share():
    assert settings().conv_options() == {
        "strides": (1, 2),
        "padding": 1,
        "dilation_rate": 2,
        "flip_kernel": True,
    }


def test_the_mode_says_whether_the_convolution_is_transposed():
    assert not settings().transposed
    assert settings(mode=MODES[1]).transposed


def controls_script():
    import streamlit as st

    from ui.arithmetic.controls import conv_controls, example_picker, init_state, matrix_inputs

    init_state()
    example_picker()
    st.session_state["settings"] = conv_controls()
    st.session_state["matrices"] = matrix_inputs()


def open_controls() -> AppTest:
    at = AppTest.from_function(controls_script, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def load(at: AppTest, key: str) -> AppTest:
    at.selectbox(key="arith.example").set_value(key)
    at.button(key="arith.load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_first_visit_shows_worked_example_1():
    at = open_controls()
    example = CONV_EXAMPLES["ex1"]
    image, kernel, error = at.session_state["matrices"]
    assert error is None
    np.testing.assert_array_equal(image, example.image)
    np.testing.assert_array_equal(kernel, example.kernel)
    assert at.session_state["settings"] == settings(
        strides=(1, 1),
        padding="valid",
        padding_choice="valid",
        border_mode="constant",
        dilation_rate=1,
        flip_kernel=False,
    )
    assert f"Showing **{example.title}**" in at.caption[0].value


@pytest.mark.parametrize("key", ["ex3", "ex4_strides", "ex4_padded"])
def test_loading_an_example_sets_every_control(key):
    at = load(open_controls(), key)
    example = CONV_EXAMPLES[key]
    chosen = at.session_state["settings"]
    assert chosen.strides == example.strides
    assert chosen.padding == example.padding
    assert chosen.padding_choice == (
        example.padding if isinstance(example.padding, str) else "explicit"
    )
    assert (chosen.flip_kernel, chosen.relu) == (example.flip_kernel, example.relu)
    np.testing.assert_array_equal(at.session_state["matrices"][0], example.image)
    assert at.session_state["arith.stepper.step"] == 0


def test_resizing_the_input_forgets_the_example_caption():
    at = open_controls()
    at.number_input(key="arith.in_rows").set_value(3).run()
    assert at.session_state["matrices"][0].shape == (3, 5)
    assert not [c for c in at.caption if c.value.startswith("Showing")]


def test_the_transposed_mode_turns_off_what_it_cannot_use():
    at = load(open_controls(), "ex3")
    at.radio(key="arith.mode").set_value(MODES[1]).run()
    chosen = at.session_state["settings"]
    assert chosen.transposed and chosen.flip_kernel is False and chosen.dilation_rate == 1
    assert at.radio(key="arith.padding").options == ["valid", "same"]
    assert at.number_input(key="arith.dilation").disabled
    at.checkbox(key="arith.use_output_padding").check().run()
    at.number_input(key="arith.out_pad_rows").set_value(1).run()
    assert at.session_state["settings"].output_padding == (1, 0)


def test_explicit_padding_reads_p():
    at = open_controls()
    at.radio(key="arith.padding").set_value("explicit").run()
    at.number_input(key="arith.pad").set_value(2).run()
    chosen = at.session_state["settings"]
    assert (chosen.padding, chosen.padding_choice) == (2, "explicit")


def test_every_control_has_a_tooltip():
    at = open_controls()
    widgets = [*at.number_input, *at.selectbox, *at.checkbox, *at.toggle, *at.radio, *at.button]
    assert len(widgets) > 15
    assert [w.key for w in widgets if not w.help] == []


def test_the_fill_value_box_has_limits_so_1e999_is_refused_not_infinite():
    from ui.widgets.link_params import VALUE_LIMIT

    box = open_controls().number_input(key="arith.cval")
    assert (box.min, box.max) == (-VALUE_LIMIT, VALUE_LIMIT)
