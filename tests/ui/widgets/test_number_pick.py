"""The number pick: ◀ ▶ buttons, the value in words, and a number input only inside "Go to"."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def pick_script():
    import streamlit as st

    from ui.widgets.number_pick import pick_number

    st.session_state["picked"] = pick_number("Example", "demo", 1, 4, help="Which example.")


def open_pick() -> AppTest:
    at = AppTest.from_function(pick_script).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def words(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def test_shut_it_draws_no_number_input_and_the_buttons_step_within_the_range():
    at = open_pick()
    assert at.number_input == [] and at.session_state["picked"] == 1
    assert words(at) == ["**Example 1 of 4**"]
    assert at.button(key="demo_back").disabled and not at.button(key="demo_next").disabled
    for expected in (2, 3, 4):
        at.button(key="demo_next").click().run()
        assert at.session_state["picked"] == expected
    assert at.button(key="demo_next").disabled and words(at) == ["**Example 4 of 4**"]
    at.button(key="demo_back").click().run()
    assert at.session_state["picked"] == 3 and at.number_input == []


def test_go_to_draws_the_number_input_and_the_value_stays_once_it_is_shut():
    at = open_pick()
    at.session_state["demo_goto"] = True  # as a click on "Go to…" leaves it
    at.run()
    box = at.number_input(key="demo")
    assert (box.value, box.min, box.max, box.label) == (1, 1, 4, "Example")
    box.set_value(3).run()
    assert at.session_state["picked"] == 3
    at.session_state["demo_goto"] = False
    at.run()
    at.run()  # a second run without the input: Streamlit forgets undrawn widgets unless kept
    assert at.number_input == [] and at.session_state["picked"] == 3
    assert words(at) == ["**Example 3 of 4**"]


def test_a_value_out_of_range_or_no_number_comes_back_in_range():
    at = AppTest.from_function(pick_script)
    at.session_state["demo"] = 99  # a link made for a longer list
    at.run()
    assert at.session_state["picked"] == 4 and at.session_state["demo"] == 4
    at.session_state["demo"] = "seven"
    at.run()
    assert at.session_state["picked"] == 1
