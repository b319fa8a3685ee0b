"""The Convolution Arithmetic page, driven through Streamlit's AppTest.

Numbers are read back from what the page renders (tables, markdown, formulas);
expected values come from ``core.imaging.seed_examples`` (the slides) and ``core``.
"""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.base.paths import PROJECT_ROOT
from core.imaging.seed_examples import CONV_EXAMPLES
from core.ops.transposed import conv2d_transpose
from tests.apptest_helpers import formulas, markdown_text, result_tables, type_into_matrix
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.arithmetic.views import MATRIX_KEY

PAGE = str(PROJECT_ROOT / "app_pages" / "convolution_arithmetic.py")


def fresh_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def load_example(at: AppTest, key: str) -> AppTest:
    at.selectbox(key="arith.example").set_value(key)
    at.button(key="arith.load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def step_to(at: AppTest, step: int) -> AppTest:
    at.slider(key="arith.stepper.step").set_value(step).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture()
def page() -> AppTest:
    return fresh_page()


@pytest.mark.parametrize("key", sorted(CONV_EXAMPLES))
def test_each_worked_example_reproduces_the_slide(page, key):
    example = CONV_EXAMPLES[key]
    at = load_example(page, key)
    assert not at.error, [e.value for e in at.error]
    tables = result_tables(at)
    assert tables[0].shape == example.expected_shape
    rows, cols = example.expected_shape
    assert f"The output is **{rows} × {cols}**." in markdown_text(at)
    if example.expected is not None:
        np.testing.assert_array_equal(tables[0], example.expected)
    if example.expected_relu is not None:
        np.testing.assert_array_equal(tables[1], example.expected_relu)


def test_example_4_first_value_is_shown_as_a_dot_product(page):
    at = load_example(page, "ex4")
    text = markdown_text(at)
    assert "10·(−1) + 12·(−2) + 3·(−1) + 6·0 + 8·0 + 4·0 + 22·1 + 12·2 + 10·1" in text
    assert "= **19**" in text


def test_stepping_moves_the_window_and_writes_each_value(page):
    at = load_example(page, "ex1")
    expected = CONV_EXAMPLES["ex1"].expected
    assert "**Output (0, 0)**" in markdown_text(at)
    at.button(key="arith.stepper.forward").click().run()
    assert at.session_state["arith.stepper.step"] == 1
    assert "**Output (0, 1)**" in markdown_text(at)
    assert f"= **{expected[0, 1]:g}**" in markdown_text(at)
    at.button(key="arith.stepper.last").click().run()
    assert "**Output (2, 2)**" in markdown_text(at)
    at.button(key="arith.stepper.back").click().run()
    assert at.session_state["arith.stepper.step"] == 7
    for step in range(9):
        step_to(at, step)
        row, col = divmod(step, 3)
        assert f"= **{expected[row, col]:g}**" in markdown_text(at)


def test_play_advances_one_position_per_run_and_stops_at_the_end(page):
    at = load_example(page, "ex4_strides")  # 2×2 output: 4 positions
    at.button(key="arith.stepper.play").click().run()
    assert at.session_state["arith.stepper.playing"] is True
    first = at.session_state["arith.stepper.step"]
    at.run()
    assert at.session_state["arith.stepper.step"] == first + 1
    for _ in range(6):
        at.run()
    assert at.session_state["arith.stepper.step"] == 3
    assert at.session_state["arith.stepper.playing"] is False
    assert not at.exception


def test_strides_1_2_relationship_and_floor(page):
    at = load_example(page, "ex5_stride2")
    assert "⌊3.5⌋ + 1 = 4" in "\n".join(formulas(at))
    assert "4.5" in "\n".join(c.value for c in at.caption)


def test_same_padding_on_even_input_shows_keras_uneven_split(page):
    at = load_example(page, "ex4")
    at.number_input(key="arith.stride_rows").set_value(2)
    at.number_input(key="arith.stride_cols").set_value(2)
    at.radio(key="arith.padding").set_value("same").run()
    captions = "\n".join(c.value for c in at.caption)
    # rows: 4 input rows, stride 2 -> ceil(4/2)=2 outputs, total padding 1: 0 before, 1 after
    assert "0 before and 1 after" in captions
    assert result_tables(at)[0].shape == (2, 3)


def test_transposed_mode_equals_conv2d_transpose(page):
    at = load_example(page, "ex1")
    at.radio(key="arith.mode").set_value("Transposed convolution")
    at.number_input(key="arith.stride_rows").set_value(2)
    at.number_input(key="arith.stride_cols").set_value(2).run()
    assert not at.exception and not at.error
    example = CONV_EXAMPLES["ex1"]
    expected = conv2d_transpose(example.image, example.kernel, strides=2)
    np.testing.assert_array_equal(result_tables(at)[0], expected)
    assert expected.shape == (11, 11)
    text = markdown_text(at)
    assert ":green[:material/check_circle:] Identical to" in text
    assert "k − p − 1 = 2 rows on top" in text
    shown = "\n".join(formulas(at))
    assert "5 · 2 + max(3 − 2, 0) = 11" in shown
    assert "2(5 − 1) + 3 = 11" in shown  # Relationship 12


def test_transposed_mode_with_output_padding(page):
    at = load_example(page, "ex4_strides")
    at.radio(key="arith.mode").set_value("Transposed convolution")
    at.number_input(key="arith.stride_rows").set_value(2).run()
    at.radio(key="arith.padding").set_value("same")
    at.checkbox(key="arith.use_output_padding").check().run()
    at.number_input(key="arith.out_pad_rows").set_value(1).run()
    example = CONV_EXAMPLES["ex4_strides"]
    expected = conv2d_transpose(
        example.image, example.kernel, strides=(2, 2), padding="same", output_padding=(1, 0)
    )
    np.testing.assert_array_equal(result_tables(at)[0], expected)
    shown = "\n".join(formulas(at))
    assert "+ output_padding" in shown
    assert "(4 − 1) · 2 + 3 − 2 · 1 + 1 = 8" in shown


def test_output_padding_not_smaller_than_stride_is_refused(page):
    at = load_example(page, "ex1")
    at.radio(key="arith.mode").set_value("Transposed convolution").run()
    at.checkbox(key="arith.use_output_padding").check().run()
    at.number_input(key="arith.out_pad_rows").set_value(1).run()
    assert not at.exception
    assert any("output_padding" in e.value and "stride" in e.value for e in at.error)


def test_transposed_combination_keras_refuses_is_refused_on_the_page(page):
    at = load_example(page, "ex4_strides")  # 4×6 input, 3×3 kernel
    at.radio(key="arith.mode").set_value("Transposed convolution").run()
    at.number_input(key="arith.k_rows").set_value(4)
    at.number_input(key="arith.stride_cols").set_value(1)
    at.radio(key="arith.padding").set_value("same")
    at.checkbox(key="arith.use_output_padding").check().run()
    assert not at.exception
    assert any("not the transpose of any convolution" in e.value for e in at.error)


def test_guess_mode_hides_size_and_value_until_checked(page):
    at = load_example(page, "ex2")
    at.toggle(key="arith.guess").set_value(True).run()
    text = markdown_text(at)
    assert "The output is" not in text
    shown = formulas(at)
    assert shown and "= 3" not in "\n".join(shown)  # the formula is shown, the numbers are not
    # no stepping (its slider would give the size away) and no result yet
    assert not [s for s in at.slider if s.key == "arith.stepper.step"]
    assert not result_tables(at)
    assert any("Check your prediction of the output size" in i.value for i in at.info)
    # a wrong size guess is revealed with the true size
    at.number_input(key="arith.size_guess_rows").set_value(2)
    at.number_input(key="arith.size_guess_cols").set_value(3)
    at.button(key="arith.size_check").click().run()
    assert any("the output is 3×3" in e.value for e in at.error)
    assert "The output is **3 × 3**." in markdown_text(at)
    # now the first value is hidden behind its own guess
    assert "= **?**" in markdown_text(at) and "= **12**" not in markdown_text(at)
    assert any("Products hidden" in c.value for c in at.caption)
    assert not result_tables(at)  # the whole result waits for the last position
    at.number_input(key="arith.cell_guess").set_value(12.0)
    at.button(key="arith.cell_check").click().run()
    assert any("Right: output (0, 0) is 12" in s.value for s in at.success)
    assert "= **12**" in markdown_text(at)
    # the next position is hidden again; a wrong guess shows the true value
    at.button(key="arith.stepper.forward").click().run()
    assert "= **?**" in markdown_text(at)
    at.number_input(key="arith.cell_guess").set_value(5.0)
    at.button(key="arith.cell_check").click().run()
    assert any("You said 5; output (0, 1) is 12" in e.value for e in at.error)
    at.button(key="arith.stepper.last").click().run()
    np.testing.assert_array_equal(result_tables(at)[0], CONV_EXAMPLES["ex2"].expected)


def test_guess_mode_in_transposed_mode(page):
    at = load_example(page, "ex4_strides")
    at.radio(key="arith.mode").set_value("Transposed convolution")
    at.toggle(key="arith.guess").set_value(True).run()
    assert "The output is" not in markdown_text(at)
    at.number_input(key="arith.size_guess_rows").set_value(6)
    at.number_input(key="arith.size_guess_cols").set_value(13)  # 6·2 + max(3 − 2, 0)
    at.button(key="arith.size_check").click().run()
    assert any("Right: the output is 6×13." in s.value for s in at.success)


@pytest.mark.parametrize(
    ("widget", "value", "fragment"),
    [
        ("arith.stride_rows", 0, "row stride is 0"),
        ("arith.stride_cols", 0, "column stride is 0"),
        ("arith.k_rows", 5, "kernel 5 > input 4"),
        ("arith.dilation", 3, "dilated to 7"),
    ],
)
def test_impossible_settings_are_refused_with_a_message(page, widget, value, fragment):
    at = load_example(page, "ex4")  # 4×6 input, 3×3 kernel
    at.number_input(key=widget).set_value(value).run()
    assert not at.exception
    assert any(fragment in e.value for e in at.error), [e.value for e in at.error]


def test_empty_cell_is_refused_naming_the_cell(page):

    at = load_example(page, "ex1")
    type_into_matrix(at, "arith.input", {2: {"1": None}}).run()
    assert not at.exception
    assert any("Cell (row 2, column 1) of the input" in e.value for e in at.error)


def test_edited_cell_changes_the_result(page):
    at = load_example(page, "ex1")
    type_into_matrix(at, "arith.input", {0: {"0": 5}}).run()
    assert result_tables(at)[0][0, 0] == 4 + 4  # the corner tap of the X kernel sees +4


def open_matrix_view(at: AppTest) -> AppTest:
    """Open "Convolution as a matrix" as a click does (its content runs only while open)."""
    at.session_state[MATRIX_KEY] = True
    return at


def test_matrix_view_confirms_transpose_identities(page):
    at = load_example(open_matrix_view(page), "ex1")
    text = markdown_text(at)
    assert ":green[:material/check_circle:] Cᵀ y equals stretching y" in text
    assert ":green[:material/check_circle:] It also equals Keras' Conv2DTranspose" in text


def test_random_input_and_resize_keep_the_page_working(page):
    at = page
    at.number_input(key="arith.in_rows").set_value(7).run()
    at.button(key="arith.random").click().run()
    assert not at.exception and not at.error
    values = at.session_state["arith.input.values"]
    assert values.shape == (7, 5) and values.min() >= 0 and values.max() <= 9
    assert result_tables(at)[0].shape == (5, 3)


def test_single_output_position_needs_no_slider(page):
    at = load_example(page, "ex1")
    at.number_input(key="arith.k_rows").set_value(5)
    at.number_input(key="arith.k_cols").set_value(5).run()
    assert not at.exception and not at.error
    assert result_tables(at)[0].shape == (1, 1)
    assert any("the only position" in c.value for c in at.caption)


def test_explicit_padding_1_matrix_view_is_checked_against_keras_same(page):
    at = load_example(open_matrix_view(page), "ex4_padded")
    assert "It also equals Keras' Conv2DTranspose with padding='same'" in markdown_text(at)


def test_every_control_has_a_tooltip(page):
    at = load_example(page, "ex1")
    at.radio(key="arith.mode").set_value("Transposed convolution").run()
    at.checkbox(key="arith.use_output_padding").check().run()
    at.toggle(key="arith.guess").set_value(True).run()
    widgets = [
        *at.button,
        *at.number_input,
        *at.selectbox,
        *at.radio,
        *at.checkbox,
        *at.toggle,
        *at.slider,
    ]
    assert len(widgets) > 20
    missing = [w.key or w.label for w in widgets if not w.help]
    assert not missing
