"""ui.widgets.stepper: the slider, the move buttons and play/pause, through AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui.widgets.stepper import MOVE_BUTTONS


def stepper_script(num_steps: int):
    import streamlit as st

    from ui.widgets.stepper import step_through

    step_through(
        "demo",
        num_steps,
        lambda step: st.markdown(f"at step {step}"),
        label="Position",
        help="Where the window is.",
        format_step=lambda step: f"caption {step}",
    )


def open_stepper(num_steps: int = 5, **state) -> AppTest:
    at = AppTest.from_function(stepper_script, args=(num_steps,), default_timeout=30)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_step(at: AppTest) -> int:
    (text,) = [m.value for m in at.markdown if m.value.startswith("at step ")]
    assert f"caption {text.split()[-1]}" in [c.value for c in at.caption]
    return int(text.split()[-1])


def click(at: AppTest, name: str) -> AppTest:
    at.button(key=f"demo.{name}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_starts_at_the_first_step_with_back_buttons_disabled():
    at = open_stepper()
    assert shown_step(at) == 0
    assert at.button(key="demo.first").disabled and at.button(key="demo.back").disabled
    assert not at.button(key="demo.forward").disabled
    slider = at.slider(key="demo.step")
    assert (slider.label, slider.min, slider.max, slider.help) == (
        "Position",
        0,
        4,
        "Where the window is.",
    )


def test_move_buttons_move_and_stay_inside_the_range():
    at = open_stepper()
    assert shown_step(click(at, "forward")) == 1
    assert shown_step(click(at, "last")) == 4
    assert at.button(key="demo.forward").disabled and at.button(key="demo.last").disabled
    assert shown_step(click(at, "back")) == 3
    assert shown_step(click(at, "first")) == 0


def test_every_button_has_an_icon_and_a_tooltip():
    at = open_stepper()
    for name, icon, tip in MOVE_BUTTONS:
        button = at.button(key=f"demo.{name}")
        assert button.help == tip and icon.startswith(":material/")
    assert at.button(key="demo.play").help.startswith("Animate the whole pass")


def test_the_slider_jumps_to_any_step():
    at = open_stepper()
    at.slider(key="demo.step").set_value(3).run()
    assert shown_step(at) == 3


@pytest.mark.parametrize(("stored", "expected"), [(99, 4), (-3, 0), ("junk", 0)])
def test_a_stored_step_out_of_range_is_clamped(stored, expected):
    at = open_stepper(**{"demo.step": stored})
    assert shown_step(at) == expected


def test_play_advances_one_step_per_run_and_stops_at_the_end():
    at = open_stepper(num_steps=3)
    click(at, "play")
    assert at.session_state["demo.playing"] is True
    assert at.button(key="demo.play").label == "Pause"
    for _ in range(6):
        at.run()
    assert shown_step(at) == 2
    assert at.session_state["demo.playing"] is False
    assert at.button(key="demo.play").label == "Play"


def test_play_at_the_end_replays_from_the_start():
    at = open_stepper(num_steps=3, **{"demo.step": 2})
    click(at, "play")
    assert at.session_state["demo.step"] in (0, 1)
    assert at.session_state["demo.playing"] is True


def test_a_single_step_has_no_slider_and_cannot_play():
    at = open_stepper(num_steps=1)
    assert not [s for s in at.slider if s.key == "demo.step"]
    assert "Position: the only position." in [c.value for c in at.caption]
    assert at.button(key="demo.play").disabled
    assert shown_step(at) == 0
