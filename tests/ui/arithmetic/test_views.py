"""ui.arithmetic.views: size rules, one window step, predict-then-reveal and the matrix form."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.imaging.seed_examples import CONV_EXAMPLES
from core.ops.pixel_explanation import explain_pixel
from tests.apptest_helpers import formulas, matrix_tables
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.arithmetic.views import cell_px, dot_product_text, signature, verdict


def test_signature_changes_with_any_number_or_option():
    image = np.zeros((3, 3))
    base = signature(image, "valid", (1, 1))
    assert base == signature(image.copy(), "valid", (1, 1)) and len(base) == 16
    changed = image.copy()
    changed[1, 1] = 1
    assert signature(changed, "valid", (1, 1)) != base
    assert signature(image, "same", (1, 1)) != base
    assert signature(image, "valid", (1, 2)) != base


@pytest.mark.parametrize(
    ("shape", "budget", "px"), [((3, 3), 440, 42), ((12, 12), 440, 36), ((30, 30), 440, 22)]
)
def test_cells_fit_the_budget_between_22_and_42_pixels(shape, budget, px):
    assert cell_px(shape, budget) == px


def test_the_dot_product_is_written_tap_by_tap_with_signed_factors():
    example = CONV_EXAMPLES["ex4"]
    explanation = explain_pixel(example.image, example.kernel, 0, 0, padding="valid")
    text = dot_product_text(explanation)
    assert text.startswith("10·(−1) + 12·(−2) + 3·(−1) + 6·0")
    assert text.endswith(" = **19**")
    assert dot_product_text(explanation, hide_total=True).endswith(" = **?**")


def test_verdict_is_a_tick_or_a_cross():
    assert verdict(True) == ":green[:material/check_circle:]"
    assert verdict(False) == ":red[:material/cancel:]"


def guess_script(kind, sig):
    import streamlit as st

    from ui.arithmetic.views import cell_guess, size_guess

    if kind == "size":
        st.session_state["answered"] = size_guess(sig, (3, 4))
    else:
        st.session_state["answered"] = cell_guess(sig, 2, (0, 2), 12.0)


def open_guess(kind: str, sig: str = "abc") -> AppTest:
    at = AppTest.from_function(guess_script, args=(kind, sig), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_size_guess_is_asked_then_judged():
    at = open_guess("size")
    assert at.session_state["answered"] is False
    at.number_input(key="arith.size_guess_rows").set_value(3)
    at.number_input(key="arith.size_guess_cols").set_value(4)
    at.button(key="arith.size_check").click().run()
    assert at.session_state["answered"] is True
    assert at.success[0].value == "Right: the output is 3×4."


def test_a_wrong_size_guess_shows_both_sizes():
    at = open_guess("size")
    at.button(key="arith.size_check").click().run()
    assert at.error[0].value.startswith("You said 1×1; the output is 3×4.")


def test_a_cell_guess_is_judged_once_and_remembered():
    at = open_guess("cell")
    at.number_input(key="arith.cell_guess").set_value(11.0)
    at.button(key="arith.cell_check").click().run()
    assert at.error[0].value.startswith("You said 11; output (0, 2) is 12.")
    at.run()
    assert at.session_state["answered"] is True and len(at.error) == 1


def step_script(example_key, step, hide):
    import numpy as np

    from core.imaging.seed_examples import CONV_EXAMPLES
    from core.ops.arithmetic import conv_geometry, pad_input
    from core.ops.convolution import conv2d
    from core.ops.pixel_explanation import explain_pixel
    from ui.arithmetic.views import show_step

    example = CONV_EXAMPLES[example_key]
    options = dict(strides=example.strides, padding=example.padding)
    geometry = conv_geometry(example.image.shape, example.kernel.shape, **options)
    padded = pad_input(example.image, geometry.pads)
    output = conv2d(example.image, example.kernel, **options)
    row, col = geometry.position(step)
    explanation = explain_pixel(padded, example.kernel, row, col, strides=geometry.strides)
    show_step(
        step=step,
        geometry=geometry,
        padded=padded,
        explanation=explanation,
        output=np.asarray(output),
        halo=geometry.halo_mask(),
        halo_label="padding cells",
        kernel_title="Kernel",
        hide_value=hide,
        key="demo",
    )


def open_step(example_key: str, step: int, hide: bool = False) -> AppTest:
    at = AppTest.from_function(step_script, args=(example_key, step, hide)).run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_step_says_where_its_window_starts_and_sums_the_products():
    at = open_step("ex4_strides", 3)
    text = "\n".join(m.value for m in at.markdown)
    assert "**Output (1, 1)** — its window starts at input cell (1, 2)" in text
    assert "= (1·1, 1·2)." in text
    assert text.rstrip().endswith(f"= **{CONV_EXAMPLES['ex4_strides'].expected[1, 1]:g}**")
    assert len(matrix_tables(at)) == 4  # input, output so far, kernel, products


def test_a_padded_step_names_the_padding_in_the_formula_and_the_legend():
    at = open_step("ex4_padded", 0)
    text = "\n".join(m.value for m in at.markdown)
    assert "starts at input cell (-1, -1) = output index × stride − padding" in text
    assert "— a padding cell" in text
    assert any("green: padding cells" in c.value for c in at.caption)


def test_a_hidden_value_hides_the_products_and_the_sum():
    at = open_step("ex1", 0, hide=True)
    assert any("Products hidden" in c.value for c in at.caption)
    assert any(m.value.endswith("= **?**") for m in at.markdown)
    assert len(matrix_tables(at)) == 3


def relationships_script(hidden):
    from core.ops.arithmetic import conv_relationship
    from core.ops.output_size import describe_output_size
    from ui.arithmetic.views import show_relationships

    axes = [describe_output_size(10, 3, strides=2), describe_output_size(5, 3)]
    show_relationships([conv_relationship(info) for info in axes], hidden=hidden)


@pytest.mark.parametrize("hidden", [False, True])
def test_relationships_show_the_rule_and_the_numbers_unless_hidden(hidden):
    at = AppTest.from_function(relationships_script, args=(hidden,)).run(timeout=30)
    assert [m.value.split(" — ")[0] for m in at.markdown] == [
        "**Rows (height)**",
        "**Columns (width)**",
    ]
    shown = formulas(at)
    assert ("⌊3.5⌋ + 1 = 4" in "\n".join(shown)) is not hidden
    assert len(shown) == 2  # one block per axis: the rule, and the numbers below it
    assert all(("; " in line) is not hidden for line in shown)  # a second line: the numbers


def same_axes_script():
    from core.ops.arithmetic import conv_relationship
    from core.ops.output_size import describe_output_size
    from ui.arithmetic.views import show_relationships

    axes = [describe_output_size(5, 3, strides=2), describe_output_size(5, 3, strides=2)]
    show_relationships([conv_relationship(info) for info in axes], hidden=False)


def test_axes_with_the_same_rule_and_numbers_show_it_once():
    at = AppTest.from_function(same_axes_script).run(timeout=30)
    assert [m.value.split(" — ")[0] for m in at.markdown] == [
        "**Rows and columns (height and width)**"
    ]
    shown = formulas(at)
    assert len(shown) == 1 and "⌊" in shown[0]


def matrix_script(image, kernel, transposed, border_mode):
    import numpy as np

    from core.ops.arithmetic_forms import transposed_breakdown
    from core.ops.convolution import conv2d
    from ui.arithmetic.controls import MODES, ConvSettings
    from ui.arithmetic.views import matrix_expander, show_transposed_construction

    settings = ConvSettings(
        MODES[1] if transposed else MODES[0],
        (2, 2) if transposed else (1, 1),
        "valid",
        "valid",
        border_mode,
        0.0,
        1,
        False,
        False,
        None,
        False,
    )
    breakdown = None
    if transposed:
        breakdown = transposed_breakdown(image, kernel, strides=(2, 2))
        output = breakdown.output
        show_transposed_construction(breakdown)
    else:
        output = conv2d(image, kernel, padding="valid")
    halo = np.zeros(output.shape if transposed else image.shape, bool)
    halo[0, 0] = border_mode != "constant"  # a padded input, filled other than with zeros
    matrix_expander(image, kernel, output, settings=settings, halo=halo, breakdown=breakdown)


def open_matrix(
    image, kernel=None, *, transposed=False, border_mode="constant", is_open=True
) -> AppTest:
    from ui.arithmetic.views import MATRIX_KEY

    kernel = np.ones((2, 2)) if kernel is None else kernel
    at = AppTest.from_function(matrix_script, args=(image, kernel, transposed, border_mode))
    at.session_state[MATRIX_KEY] = is_open  # as a click on the expander
    at.run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_matrix_form_agrees_with_the_transposed_convolution():
    at = open_matrix(np.arange(9.0).reshape(3, 3))
    text = "\n".join(m.value for m in at.markdown)
    assert "one 4×9" in text
    assert text.count(verdict(True)) == 2 and verdict(False) not in text


def test_the_closed_matrix_expander_builds_nothing():
    at = open_matrix(np.arange(9.0).reshape(3, 3), is_open=False)
    assert at.expander[0].label == "Convolution as a matrix (inputs up to 6×6)"
    assert not at.markdown and not at.get("html") and not at.info


def test_the_matrix_form_is_refused_for_large_inputs():
    at = open_matrix(np.zeros((7, 7)))
    assert at.info[0].value.startswith("The matrix would have 49 columns; make the input")


def test_the_transposed_matrix_rebuilds_the_result():
    at = open_matrix(np.array([[1.0, 2.0], [3.0, 4.0]]), transposed=True)
    text = "\n".join(m.value for m in at.markdown)
    assert "**Stretch** the input" in text and "(strides (2, 2))" in text
    assert f"{verdict(True)} Cᵀ x equals the transposed convolution above." in text


def test_the_matrix_form_needs_zero_padding():
    at = open_matrix(np.zeros((3, 3)), border_mode="reflect")
    assert at.info[0].value == "The matrix view assumes zero padding: set the fill to constant 0."


def test_the_cell_guess_box_has_limits_beyond_any_output_the_page_can_give():
    from ui.arithmetic.views import GUESS_LIMIT
    from ui.widgets.link_params import VALUE_LIMIT

    box = open_guess("cell").number_input(key="arith.cell_guess")
    assert (box.min, box.max) == (-GUESS_LIMIT, GUESS_LIMIT)
    assert GUESS_LIMIT > VALUE_LIMIT**2 * 12 * 12  # the largest input times kernel, 12×12 taps
