"""A short list is a row of radio buttons, a long one a select box, under the same key."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

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


def test_more_options_are_a_select_box_and_a_value_set_by_key_is_used():
    at = AppTest.from_function(choice_script, args=(RADIO_AT_MOST + 1,))
    at.session_state["layer"] = "conv3"  # as a link sets it
    at.run()
    assert at.radio == [] and at.selectbox(key="layer").value == "conv3"
    assert at.session_state["chosen"] == "conv3"
