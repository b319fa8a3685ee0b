"""A short list is a row of radio buttons, a long one ◀ ▶ and a list in a popover, one key."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import choice_shown
from ui.widgets.short_choice import RADIO_AT_MOST


def choice_script(count: int):
    import streamlit as st

    from ui.widgets.short_choice import choose_one

    st.session_state["chosen"] = choose_one(
        "Layer", [f"conv{i}" for i in range(count)], key="layer", help="Which layer."
    )


@pytest.mark.parametrize("count", [1, RADIO_AT_MOST])
def test_a_few_options_are_a_horizontal_radio(count):
    at = AppTest.from_function(choice_script, args=(count,)).run()
    assert at.selectbox == [] and at.radio(key="layer").options == [
        f"conv{i}" for i in range(count)
    ]
    assert at.radio(key="layer").proto.horizontal and at.radio(key="layer").help == "Which layer."
    at.radio(key="layer").set_value(f"conv{count - 1}").run()
    assert at.session_state["chosen"] == f"conv{count - 1}"


def test_more_options_step_with_buttons_and_a_value_set_by_key_is_used():
    at = AppTest.from_function(choice_script, args=(RADIO_AT_MOST + 2,))
    at.session_state["layer"] = "conv3"  # as a link sets it
    at.run()
    assert at.radio == [] and at.selectbox == []  # the list waits in the shut popover
    assert at.session_state["chosen"] == "conv3"
    assert choice_shown(at, "layer") == "conv3"
    assert ":small[Layer]" in [m.value for m in at.markdown]
    at.button(key="layer_next").click().run()
    assert at.session_state["chosen"] == "conv4"
    assert at.button(key="layer_next").help == "Next: conv5."
    at.button(key="layer_next").click().run()
    assert at.session_state["chosen"] == "conv5" and at.button(key="layer_next").disabled
    for _ in range(RADIO_AT_MOST + 1):
        at.button(key="layer_back").click().run()
    assert at.session_state["chosen"] == "conv0" and at.button(key="layer_back").disabled


def test_a_stale_value_falls_back_to_the_first_option():
    at = AppTest.from_function(choice_script, args=(RADIO_AT_MOST + 2,))
    at.session_state["layer"] = "conv99"  # from another model's list
    at.run()
    assert not at.exception and at.session_state["chosen"] == "conv0"


def test_the_open_list_is_a_column_of_radio_buttons_under_the_same_key():
    at = AppTest.from_function(choice_script, args=(RADIO_AT_MOST + 2,))
    at.session_state["layer_all"] = True  # the popover open, as a click leaves it
    at.session_state["layer"] = "conv2"
    at.run()
    listed = at.radio(key="layer")
    assert listed.options == [f"conv{i}" for i in range(RADIO_AT_MOST + 2)]
    assert listed.value == "conv2" and not listed.proto.horizontal
    listed.set_value("conv5").run()
    assert at.session_state["chosen"] == "conv5"
    at.session_state["layer_all"] = False  # shut again: the value stays
    at.run()
    assert at.session_state["chosen"] == "conv5" and at.radio == []


def defaulted_script(count: int):
    import streamlit as st

    from ui.widgets.short_choice import choose_one

    options = [f"conv{i}" for i in range(count)]
    st.session_state["chosen"] = choose_one(
        "Layer", options, key="layer", help="Which layer.", default=options[-1]
    )


@pytest.mark.parametrize("count", [RADIO_AT_MOST, RADIO_AT_MOST + 2])
def test_a_stale_value_of_either_kind_falls_back_to_the_default(count):
    at = AppTest.from_function(defaulted_script, args=(count,)).run()
    assert at.session_state["chosen"] == f"conv{count - 1}"  # the default, nothing chosen yet
    stale = AppTest.from_function(defaulted_script, args=(count,))
    stale.session_state["layer"] = "conv99"  # from another model's list
    stale.run()
    assert not stale.exception and stale.session_state["chosen"] == f"conv{count - 1}"
