"""The Backpropagation page, driven through Streamlit's AppTest.

Numbers are read back from the HTML tables the page draws and compared with
``core.ops.conv_backward`` (itself checked against TensorFlow).
"""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.base.paths import PROJECT_ROOT
from core.imaging.seed_examples import CONV_EXAMPLES
from core.ops.conv_backward import conv2d_backward, conv2d_forward, mse_loss_and_gradient
from tests.apptest_helpers import markdown_text, type_into_matrix
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from tests.ui.backpropagation.tables import all_tables, close_to
from ui.backpropagation.controls import GRADIENT_PATTERN, default_gradient, default_target
from ui.backpropagation.link import TAB_NAMES

PAGE = str(PROJECT_ROOT / "app_pages" / "backpropagation.py")

EXAMPLE = CONV_EXAMPLES["ex2"]


def fresh_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_tab(at: AppTest, index: int) -> AppTest:
    """Open a tab as a click does (the page reruns; only the open tab draws its numbers)."""
    at.session_state["backprop.tab"] = TAB_NAMES[index]
    return rerun(at)


def shown_gradients(at: AppTest) -> dict[str, np.ndarray]:
    """The output, ∂L/∂W (descent tab), ∂L/∂X (input tab) and ∂L/∂b's sum (bias tab)."""
    output = next(v for k, v in all_tables(at).items() if k.startswith("Output Y"))
    kernel = all_tables(open_tab(at, 3))["∂L/∂W"]  # the descent tab shows the whole ∂L/∂W
    tables = all_tables(open_tab(at, 2))
    bias_text = markdown_text(open_tab(at, 1))
    open_tab(at, 0)
    return {
        "output": output,
        "kernel": kernel,
        "input": tables["∂L/∂X, scattered back through the windows"],
        "transposed": tables["∂L/∂X from one transposed convolution"],
        "bias_text": bias_text,
    }


def check_against_core(at: AppTest, inputs, kernel, gradient, **options) -> None:
    shown = shown_gradients(at)
    expected = conv2d_backward(inputs, kernel, gradient, **options)
    assert close_to(shown["output"], conv2d_forward(inputs, kernel, **options))
    assert close_to(shown["kernel"], expected.kernel_gradient)
    assert close_to(shown["input"], expected.input_gradient)
    assert close_to(shown["transposed"], expected.input_gradient)
    assert f"= **{expected.bias_gradient:.3g}**" in shown["bias_text"]


def test_a_first_visit_draws_no_grid_and_prints_the_typed_gradient(page):
    assert not page.data_editor  # every grid waits in a closed expander
    assert close_to(all_tables(page)["∂L/∂Y"], GRADIENT_PATTERN)
    page.session_state["backprop.gradient_open"] = True  # as a click on the expander
    at = rerun(page)
    assert [e.key for e in at.data_editor] == ["backprop.gradient.editor.0"]


def test_a_closed_tab_draws_nothing_and_its_controls_keep_their_values(page):
    """A first visit builds the open tab only; a closed tab's controls keep their values."""
    titles = set(all_tables(page))
    assert "Those input cells" in titles  # the weights tab, open
    assert not {"∂L/∂X, scattered back through the windows", "W (now)"} & titles
    assert not page.metric
    assert [s.key for s in page.slider] == ["backprop.w_stepper.step"]
    at = open_tab(page, 3)
    at.number_input(key="backprop.lr").set_value(0.05).run()
    at = open_tab(open_tab(at, 0), 1)  # two runs that do not draw the descent tab
    assert "backprop.lr" not in [n.key for n in at.number_input]
    assert dict(at.query_params)["lr"] == "0.05"
    assert open_tab(at, 3).number_input(key="backprop.lr").value == 0.05


@pytest.fixture()
def page() -> AppTest:
    return fresh_page()


def test_the_page_opens_on_the_slides_example_2(page):
    assert page.title[0].value == "Backpropagation through a convolution"
    assert not page.error and not page.warning
    assert close_to(shown_gradients(page)["output"], EXAMPLE.expected)
    assert [t.label for t in page.tabs] == [
        "∂L/∂W — the weights",
        "∂L/∂b — the bias",
        "∂L/∂X — the input",
        "One step of descent",
    ]


def test_the_default_numbers_equal_core(page):
    check_against_core(page, EXAMPLE.image, EXAMPLE.kernel, GRADIENT_PATTERN)
    expected = conv2d_backward(EXAMPLE.image, EXAMPLE.kernel, GRADIENT_PATTERN)
    # ∂L/∂W[0, 0] written out: the input window at (0, 0) times the gradient
    assert (
        "∂L/∂W[0, 0] = 3·1 + 3·0 + 2·(−1) + 0·2 + 0·0 + 1·0 + 3·0 + 1·(−1) + 2·1 = **2**"
        in markdown_text(page)
    )
    assert expected.kernel_gradient[0, 0] == 2


@pytest.mark.parametrize(
    ("key", "value", "options"),
    [
        ("backprop.stride_rows", 2, dict(strides=(2, 1))),
        ("backprop.padding", "same", dict(padding="same")),
        ("backprop.dilation", 2, dict(dilation_rate=2)),
    ],
)
def test_changing_stride_padding_or_dilation_updates_the_gradients(page, key, value, options):
    widget = page.radio(key=key) if key == "backprop.padding" else page.number_input(key=key)
    widget.set_value(value)
    at = rerun(page)
    shape = conv2d_forward(EXAMPLE.image, EXAMPLE.kernel, **options).shape
    check_against_core(at, EXAMPLE.image, EXAMPLE.kernel, default_gradient(shape), **options)


def test_stride_2_and_dilation_2_show_where_the_zeros_go(page):
    page.selectbox(key="backprop.example").set_value("stride2")
    page.button(key="backprop.load").click()
    at = rerun(page)
    text = markdown_text(at)
    assert "**Stride (2, 2): zeros between the output gradients.**" in text
    assert all_tables(at)["∂L/∂Y with stride − 1 zeros between"].shape == (5, 5)
    at.selectbox(key="backprop.example").set_value("dilation2")
    at.button(key="backprop.load").click()
    at = rerun(at)
    assert "**Dilation 2: gaps between the weights.**" in markdown_text(at)
    assert all_tables(open_tab(at, 2))["W rotated by 180°"].shape == (5, 5)


def test_the_mse_loss_gives_the_output_gradient_and_the_step_lowers_it(page):
    page.radio(key="backprop.source").set_value("mse")
    at = rerun(page)
    target = default_target(EXAMPLE.expected)
    loss, gradient = mse_loss_and_gradient(EXAMPLE.expected, target)
    tables = all_tables(at)
    assert close_to(tables["∂L/∂Y"], gradient)
    check_against_core(at, EXAMPLE.image, EXAMPLE.kernel, gradient)
    before, after = open_tab(at, 3).metric
    assert before.label == "Loss before (MSE against the target)"
    assert float(before.value) == pytest.approx(loss, rel=5e-3)
    assert float(after.value) < float(before.value)


def test_changing_the_bias_changes_the_output_not_the_gradients(page):
    page.number_input(key="backprop.bias").set_value(1.5)
    at = rerun(page)
    shown = shown_gradients(at)
    assert close_to(shown["output"], EXAMPLE.expected + 1.5)
    expected = conv2d_backward(EXAMPLE.image, EXAMPLE.kernel, GRADIENT_PATTERN)
    assert close_to(shown["input"], expected.input_gradient)


def test_the_steppers_walk_the_weights_and_the_outputs(page):
    page.button(key="backprop.w_stepper.forward").click()
    at = rerun(page)
    assert "**∂L/∂W[0, 1]**" in markdown_text(at)
    at = open_tab(at, 2)
    at.button(key="backprop.x_stepper.last").click()
    at = rerun(at)
    assert "**Output (2, 2)** has gradient **1**." in markdown_text(at)
    expected = conv2d_backward(EXAMPLE.image, EXAMPLE.kernel, GRADIENT_PATTERN)
    assert close_to(all_tables(at)["∂L/∂X after 9 of 9 outputs"], expected.input_gradient)


def test_keeping_a_step_moves_the_kernel(page):
    page.radio(key="backprop.source").set_value("mse")
    at = open_tab(page, 3)
    loss_before = float(at.metric[0].value)
    at.button(key="backprop.keep").click()
    at = rerun(at)
    assert float(at.metric[0].value) < loss_before
    assert not np.allclose(at.session_state["backprop.kernel.values"], EXAMPLE.kernel)


def test_a_cell_that_is_not_a_number_gives_a_message(page):
    at = rerun(type_into_matrix(page, "backprop.input", {2: {"1": None}}))
    assert at.error[0].value == (
        "Cell (row 2, column 1) of the input is empty or not a number: type a number there."
    )
    assert not at.tabs


def test_a_kernel_larger_than_the_input_gives_a_message(page):
    page.number_input(key="backprop.in_rows").set_value(2)
    at = rerun(page)
    assert "The kernel is larger than the padded input along the rows" in at.error[0].value


def test_a_stride_larger_than_the_input_gives_a_warning(page):
    page.number_input(key="backprop.in_cols").set_value(4)
    page.number_input(key="backprop.stride_cols").set_value(5)
    at = rerun(page)
    assert any("column stride (5) is larger than the input" in w.value for w in at.warning)
    inputs = EXAMPLE.image[:, :4]
    check_against_core(at, inputs, EXAMPLE.kernel, default_gradient((3, 1)), strides=(1, 5))
