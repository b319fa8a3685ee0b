"""ui.kernel_playground.kernel_editor: presets, generators, the grid of cells and the buttons."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.ops.kernels import PRESETS, gaussian_kernel, kernel
from tests.apptest_helpers import choice_list
from tests.ui.kernel_playground.popovers import unfolded
from ui.kernel_playground.kernel_editor import (
    CUSTOM,
    GENERATORS,
    cell_text,
    option_label,
    preset_options,
)


def test_options_are_custom_then_presets_then_generators():
    options = preset_options()
    assert options[0] == CUSTOM
    assert options[1 : 1 + len(PRESETS)] == list(PRESETS)
    assert options[-len(GENERATORS) :] == list(GENERATORS)


def test_option_labels():
    assert option_label(CUSTOM) == "Custom (your own values)"
    assert option_label("sobel_bottom") == PRESETS["sobel_bottom"].name
    assert option_label("gen:gabor") == "Gabor (choose θ, λ, σ)"


@pytest.mark.parametrize(
    ("value", "text"), [(1.0, "1"), (-0.0, "-0"), (1 / 3, "0.333333"), (1e-7, "1e-07")]
)
def test_cell_text_uses_six_significant_digits(value, text):
    assert cell_text(value) == text


def editor_script(default_preset):
    import streamlit as st

    from ui.kernel_playground.kernel_editor import kernel_editor

    st.session_state["choice"] = kernel_editor("demo", default_preset=default_preset)


def open_editor(default_preset: str = "sobel_bottom") -> AppTest:
    at = AppTest.from_function(editor_script, args=(default_preset,), default_timeout=30)
    at = unfolded(at).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chosen(at: AppTest):
    return at.session_state["choice"]


def cell(at: AppTest, row: int, col: int):
    """The text box of a cell; a click on the grid first turns its buttons into boxes."""
    key = f"demo.grid.{at.session_state['demo.version']}.{row}.{col}"
    if key not in {box.key for box in at.text_input}:
        at.button(key=f"demo.view.{row}.{col}").click().run()
    return at.text_input(key=key)


def preset_box(at: AppTest):
    return choice_list(at, f"demo.preset_choice.{at.session_state['demo.preset_version']}")


def test_starts_on_the_default_preset_with_one_cell_per_weight():
    at = open_editor("laplacian")
    choice = chosen(at)
    np.testing.assert_array_equal(choice.values, kernel("laplacian"))
    assert (choice.preset, choice.description, choice.errors) == (
        "laplacian",
        PRESETS["laplacian"].description,
        (),
    )
    assert any(c.value.startswith("Sum of the weights: 0.") for c in at.caption)
    # Buttons until a cell is clicked (a first visit builds no text box), then text boxes.
    buttons = [b for b in at.button if b.key.startswith("demo.view.")]
    assert [b.label.lstrip("\\") for b in buttons] == [
        cell_text(v) for v in kernel("laplacian").ravel()
    ]
    assert not at.text_input
    assert cell(at, 1, 1).value == cell_text(kernel("laplacian")[1, 1])
    assert len([box for box in at.text_input if box.key.startswith("demo.grid.")]) == 9
    assert not [b for b in at.button if b.key.startswith("demo.view.")]
    np.testing.assert_array_equal(chosen(at).values, kernel("laplacian"))
    focus = [h.proto.body for h in at.get("html") if "focus()" in h.proto.body]
    assert len(focus) == 1 and "st-key-demo-grid-1-1-1 input" in focus[0]  # the clicked cell
    at.run()
    assert not [h for h in at.get("html") if "focus()" in h.proto.body]  # once, not every run


def test_an_edited_cell_is_used_and_makes_the_kernel_custom():
    at = open_editor()
    cell(at, 0, 0).input("1/4").run()
    expected = kernel("sobel_bottom")
    expected[0, 0] = 0.25
    np.testing.assert_array_equal(chosen(at).values, expected)
    assert chosen(at).preset == CUSTOM and preset_box(at).value == CUSTOM


def test_a_bad_cell_is_reported_and_the_last_good_kernel_stays():
    at = open_editor()
    cell(at, 2, 1).input("two").run()
    assert chosen(at).errors == (
        "Row 2, column 1: 'two' is not a number (use e.g. 2, -0.5 or 1/9).",
    )
    np.testing.assert_array_equal(chosen(at).values, kernel("sobel_bottom"))
    assert any("last good kernel stays in use" in e.value for e in at.error)


def test_choosing_a_generator_builds_its_kernel_and_shows_its_sliders():
    at = open_editor()
    preset_box(at).set_value("gen:gaussian").run()
    np.testing.assert_allclose(chosen(at).values, gaussian_kernel(5, 1.0))
    at.slider(key="demo.sigma").set_value(2.0).run()
    np.testing.assert_allclose(chosen(at).values, gaussian_kernel(5, 2.0))
    assert [s.key for s in at.slider] == ["demo.size", "demo.sigma"]


def test_resizing_keeps_the_middle():
    at = open_editor()
    at.number_input(key=f"demo.cols.{at.session_state['demo.version']}").set_value(1).run()
    np.testing.assert_array_equal(chosen(at).values, kernel("sobel_bottom")[:, 1:2])


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("transpose", kernel("sobel_bottom").T),
        ("rotate", kernel("sobel_bottom")[::-1, ::-1]),
    ],
)
def test_transform_buttons(action, expected):
    at = open_editor()
    at.button(key=f"demo.button.{action}").click().run()
    np.testing.assert_array_equal(chosen(at).values, expected)


def test_normalising_divides_by_the_sum_or_explains_why_it_cannot():
    at = open_editor("box_blur")
    cell(at, 1, 1).input("2").run()
    at.button(key="demo.button.normalise").click().run()
    assert chosen(at).values.sum() == pytest.approx(1.0)
    at = open_editor("sobel_bottom")
    at.button(key="demo.button.normalise").click().run()
    assert any("sums to 0" in w.value for w in at.warning)
    np.testing.assert_array_equal(chosen(at).values, kernel("sobel_bottom"))


def test_randomise_keeps_the_shape_and_rounds_to_one_decimal():
    at = open_editor()
    at.button(key="demo.button.randomise").click().run()
    values = chosen(at).values
    assert values.shape == (3, 3) and chosen(at).preset == CUSTOM
    np.testing.assert_array_equal(values, np.round(values, 1))


def missing_preset_script():
    import streamlit as st

    from ui.kernel_playground.kernel_editor import _on_preset, kernel_editor

    kernel_editor("demo", default_preset="sobel_bottom")
    st.session_state["demo.preset_version"] = 6  # a fresh box not drawn yet
    _on_preset("demo")
    _on_preset("demo", "demo.preset_choice.5")
    st.session_state["after"] = st.session_state["demo.preset"]


def test_a_preset_callback_whose_box_is_gone_does_nothing():
    at = AppTest.from_function(missing_preset_script, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["after"] == "sobel_bottom"


def stale_box_script():
    import streamlit as st

    from ui.kernel_playground.kernel_editor import CUSTOM, _on_preset, kernel_editor, preset_key

    kernel_editor("demo", default_preset="sobel_bottom")
    drawn = preset_key("demo")  # this box still holds "sobel_bottom"
    st.session_state["demo.preset"] = CUSTOM  # a cell edit made the kernel Custom...
    st.session_state["demo.preset_version"] += 1  # ...and the page replaced the box
    _on_preset("demo", drawn)  # the old box's stale value arrives
    st.session_state["after"] = st.session_state["demo.preset"]


def test_a_stale_value_from_a_replaced_box_does_not_load_its_preset():
    at = AppTest.from_function(stale_box_script, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["after"] == CUSTOM  # the user's edited kernel stays


def test_several_quick_preset_changes_end_on_the_last_one():
    at = open_editor()
    preset_box(at).set_value("box_blur").run()
    preset_box(at).set_value("sharpen").run()
    preset_box(at).set_value(CUSTOM).run()
    preset_box(at).set_value("laplacian").run()
    assert not at.exception, [e.value for e in at.exception]
    np.testing.assert_array_equal(chosen(at).values, kernel("laplacian"))
