"""ui.widgets.window_steps: the pieces Convolution Arithmetic and Pooling share."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ui.widgets.window_steps import (
    axis_rules,
    padded_axis_labels,
    progressive_output,
    stride_problem,
    table,
)


@pytest.mark.parametrize(
    ("strides", "expected"),
    [
        ((1, 1), None),
        ((3, 2), None),
        ((0, 1), "The row stride is 0: the window would never move. Set it to 1 or more."),
        ((1, -2), "The column stride is -2: the window would never move. Set it to 1 or more."),
        ((0, 0), "The row stride is 0: the window would never move. Set it to 1 or more."),
    ],
)
def test_stride_problem_names_the_first_axis_that_never_moves(strides, expected):
    assert stride_problem(strides) == expected


def test_axis_rules_say_a_rule_once_only_when_both_axes_agree():
    from core.ops.arithmetic import pool_relationship
    from core.ops.output_size import describe_output_size

    square = [pool_relationship(describe_output_size(4, 2, strides=2))] * 2
    assert axis_rules(square, ("Rows", "Columns")) == [("Rows and columns", square[0])]
    uneven = [pool_relationship(describe_output_size(n, 2, strides=2)) for n in (4, 6)]
    assert axis_rules(uneven, ("Rows", "Columns")) == [("Rows", uneven[0]), ("Columns", uneven[1])]


def test_table_keeps_the_values_and_names_columns_by_number():
    frame = table(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    assert frame.columns.tolist() == ["0", "1", "2"]
    assert frame.index.tolist() == [0, 1]
    np.testing.assert_array_equal(frame.to_numpy(), [[1, 2, 3], [4, 5, 6]])


def test_padded_labels_count_padding_cells_negative():
    labels = padded_axis_labels((5, 3), ((2, 1), (0, 0)))
    assert labels == {"row_labels": [-2, -1, 0, 1, 2], "col_labels": [0, 1, 2]}


def test_progressive_output_writes_cells_in_reading_order():
    output = np.arange(1.0, 7.0).reshape(2, 3)
    values, text = progressive_output(output, 3)
    assert np.isnan(values[1, 1:]).all() and values[1, 0] == 4
    assert text.tolist() == [["1", "2", "3"], ["4", "", ""]]
    assert text.dtype == object


def test_progressive_output_can_hide_the_current_cell():
    output = np.array([[-1.5, 2.0], [0.0, 7.0]])
    values, text = progressive_output(output, 2, hide_current=True)
    assert text.tolist() == [["-1.5", "2"], ["?", ""]]
    assert np.isnan(values[1, 0]) and values[0, 1] == 2
    assert output[1, 0] == 0.0  # the output itself is left alone


def picker_script():
    import numpy as np
    import streamlit as st

    from ui.widgets.matrix_editor import stored_matrix
    from ui.widgets.window_steps import (
        example_picker,
        random_input_button,
        show_table,
        size_inputs,
    )

    class Example:
        def __init__(self, title):
            self.title = title

    def load(key):
        st.session_state["demo.loaded"] = key
        st.session_state["demo.in_rows"], st.session_state["demo.in_cols"] = (2, 3)

    st.session_state.setdefault("demo.in_rows", 3)
    st.session_state.setdefault("demo.in_cols", 3)
    stored_matrix("demo.input", np.arange(9.0).reshape(3, 3))
    example_picker(
        "demo",
        {"a": Example("First"), "b": Example("Second")},
        load,
        select_help="Pick one.",
        button_help="Load it.",
    )
    size_inputs(
        st.columns(2),
        "demo.input",
        "demo",
        labels=("Rows", "Columns"),
        helps=("How many rows.", "How many columns."),
        maximum=6,
    )
    random_input_button("demo.input", "demo")
    show_table(st.session_state["demo.input.values"])


def open_picker() -> AppTest:
    at = AppTest.from_function(picker_script, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def stored(at: AppTest) -> np.ndarray:
    return at.session_state["demo.input.values"]


def test_example_picker_lists_titles_and_loads_the_chosen_key():
    at = open_picker()
    box = at.selectbox(key="demo.example")
    assert box.options == ["First", "Second"] and box.help == "Pick one."
    box.set_value("b")
    at.button(key="demo.load").click().run()
    assert at.session_state["demo.loaded"] == "b"
    assert at.button(key="demo.load").help == "Load it."


def test_each_example_is_one_click_away_and_picking_one_loads_it():
    at = open_picker()
    buttons = [at.button(key=f"demo.example.{key}") for key in ("a", "b")]
    assert [button.label for button in buttons] == ["1", "2"]  # no slide number: their place
    assert buttons[1].help == "Load Second. Key: 2."
    buttons[1].click().run()
    assert at.session_state["demo.loaded"] == "b"
    assert at.selectbox(key="demo.example").value == "b"  # the list shows what is loaded
    at.selectbox(key="demo.example").set_value("a").run()  # no second click needed
    assert at.session_state["demo.loaded"] == "a"


def test_size_inputs_resize_the_matrix_keeping_the_top_left_corner():
    at = open_picker()
    at.session_state["demo.loaded"] = "a"
    at.number_input(key="demo.in_cols").set_value(4).run()
    np.testing.assert_array_equal(stored(at), [[0, 1, 2, 0], [3, 4, 5, 0], [6, 7, 8, 0]])
    assert at.session_state["demo.loaded"] is None  # no longer the example as loaded
    at.number_input(key="demo.in_rows").set_value(1).run()
    np.testing.assert_array_equal(stored(at), [[0, 1, 2, 0]])
    assert at.number_input(key="demo.in_rows").max == 6


def test_random_button_fills_the_input_with_digits_at_its_size():
    at = open_picker()
    at.number_input(key="demo.in_rows").set_value(5).run()
    at.button(key="demo.random").click().run()
    values = stored(at)
    assert values.shape == (5, 3)
    assert set(np.unique(values)) <= set(range(10))
    assert at.dataframe[0].value.shape == (5, 3)


def stepping_script():
    import numpy as np
    import streamlit as st

    from ui.widgets.window_steps import show_output_so_far, step_through_outputs

    output = np.array([[1.0, 2.0], [3.0, 4.0]])

    def render(step):
        st.markdown(f"rendered {step}")
        show_output_so_far(output, step, key="demo.output")

    step_through_outputs("demo.stepper", output.size, render, help="Move the window.")


def test_step_through_outputs_captions_the_position_and_renders_it():
    at = AppTest.from_function(stepping_script, default_timeout=30).run()
    assert not at.exception
    assert "Position 1 of 4" in [c.value for c in at.caption]
    assert "rendered 0" in [m.value for m in at.markdown]
    slider = at.slider(key="demo.stepper.step")
    assert slider.label == "Output position" and slider.help == "Move the window."
    slider.set_value(2).run()
    assert "Position 3 of 4" in [c.value for c in at.caption]
    assert "rendered 2" in [m.value for m in at.markdown]


def test_example_labels_letter_a_number_the_slides_give_twice():
    from ui.widgets.window_steps import example_labels

    titles = ["1 · a", "4 · b", "4 · c", "Max pool", "4b · d"]
    # "Max pool" is example 4 by its place; the slides' own "4b" keeps its label
    assert example_labels(titles) == ["1", "4a", "4c", "4d", "4b"]


def buttons_only_script():
    import streamlit as st

    from ui.widgets.window_steps import example_picker

    class Example:
        def __init__(self, title):
            self.title = title

    def load(key):
        st.session_state["demo.loaded"] = key

    example_picker(
        "demo",
        {"a": Example("1 · First"), "b": Example("2 · Second")},
        load,
        label="Examples:",
        with_list=False,
    )


def test_without_the_list_the_label_leads_the_row_of_buttons():
    at = AppTest.from_function(buttons_only_script, default_timeout=30).run()
    assert not at.selectbox and [b.key for b in at.button] == ["demo.example.a", "demo.example.b"]
    assert at.markdown[0].value == "**Examples:**"
    at.button(key="demo.example.b").click().run()
    assert at.session_state["demo.loaded"] == "b"
