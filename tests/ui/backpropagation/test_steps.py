"""ui.backpropagation.steps: ∂L/∂W weight by weight, ∂L/∂b, ∂L/∂X output by output, the zeros."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.imaging.seed_examples import CONV_EXAMPLES
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from tests.ui.backpropagation.tables import all_tables, close_to
from ui.backpropagation.controls import GRADIENT_PATTERN
from ui.backpropagation.grids import WINDOW
from ui.backpropagation.steps import (
    computed_so_far,
    tap_formula,
    weight_position,
)


def make_steps(image_name: str = "ex2", **options):
    """The page's setups: the slides' example 2 (5×5) or the 7×7 input, its default ∂L/∂Y."""
    from core.imaging.seed_examples import CONV_EXAMPLES
    from core.ops.arithmetic import conv_geometry
    from core.ops.conv_backward import conv2d_backward_steps
    from ui.backpropagation.controls import INPUT_7X7, default_gradient

    kernel = CONV_EXAMPLES["ex2"].kernel
    image = CONV_EXAMPLES["ex2"].image if image_name == "ex2" else INPUT_7X7
    shape = conv_geometry(image.shape, kernel.shape, **options).output_shape
    return conv2d_backward_steps(image, kernel, default_gradient(shape), **options)


def test_weights_are_walked_in_reading_order():
    steps = make_steps()
    assert [weight_position(steps, s) for s in (0, 2, 3, 8)] == [(0, 0), (0, 2), (1, 0), (2, 2)]


def test_tap_formulas_read_like_index_arithmetic():
    assert tap_formula(0, 1, "i") == "i"
    assert tap_formula(1, 1, "j") == "1 + j"
    assert tap_formula(4, 2, "i") == "4 + 2i"
    assert tap_formula(-1, 2, "j") == "2j − 1"


def test_cells_after_the_step_are_not_computed_yet():
    blank, current = computed_so_far(np.zeros((2, 3)), 3)
    assert blank.tolist() == [[False, False, False], [False, True, True]]
    assert current.sum() == 1 and current[1, 0]


def steps_script(view, step, image_name, options):
    from tests.ui.backpropagation.test_steps import make_steps
    from ui.backpropagation import steps as views

    steps = make_steps(image_name, **options)
    if view == "weight":
        views.show_weight_step(steps, step)
    elif view == "input":
        views.show_input_step(steps, step)
    elif view == "bias":
        views.show_bias_gradient(steps)
    else:
        views.show_zeros(steps)


def render(view: str, step: int = 0, image_name: str = "ex2", **options) -> AppTest:
    at = AppTest.from_function(
        steps_script, args=(view, step, image_name, options), default_timeout=30
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("step", [0, 4, 8])
def test_each_weight_gradient_is_its_input_cells_times_the_output_gradient(step):
    steps = make_steps()
    row, col = weight_position(steps, step)
    at = render("weight", step)
    tables = all_tables(at)
    cells = steps.weight_cells(row, col)
    assert close_to(tables["Those input cells"], cells)
    assert close_to(tables["Products"], cells * GRADIENT_PATTERN)
    expected = steps.gradients.kernel_gradient
    so_far = tables["∂L/∂W so far"]
    assert close_to(so_far.ravel()[: step + 1], expected.ravel()[: step + 1])
    assert np.isnan(so_far.ravel()[step + 1 :]).all()
    text = "\n".join(m.value for m in at.markdown)
    assert f"∂L/∂W[{row}, {col}] = " in text
    assert text.rstrip().endswith(f"**{expected[row, col]:g}**")


def test_the_weight_view_outlines_the_cells_on_the_whole_input_with_the_gradient_over_each():
    at = render("weight", 0, "7x7", strides=2)
    body = next(h.proto.body for h in at.get("html") if "Input X: the cells" in h.proto.body)
    assert body.count(f"inset 0 0 0 3px {WINDOW}") == 9  # 3×3 outputs: nine cells, 2 apart
    assert ">×−1</span>" in body
    assert "(2i, 2j)" in at.markdown[0].value


def test_the_bias_gradient_is_the_sum_of_the_output_gradient():
    at = render("bias")
    text = at.markdown[-1].value
    assert text == ("∂L/∂b = Σ ∂L/∂Y = 1 + 0 + (−1) + 2 + 0 + 0 + 0 + (−1) + 1 = **2**")


@pytest.mark.parametrize("step", [0, 4, 8])
def test_each_output_stamps_its_gradient_times_the_kernel_on_its_window(step):
    steps = make_steps()
    at = render("input", step)
    tables = all_tables(at)
    row, col = steps.geometry.position(step)
    g = GRADIENT_PATTERN[row, col]
    stamp = tables[f"This output's stamp: {g:g} × W"]
    window = steps.geometry.window_mask(row, col)
    assert close_to(stamp[window].reshape(3, 3), g * CONV_EXAMPLES["ex2"].kernel)
    assert np.isnan(stamp[~window]).all()
    after = tables[f"∂L/∂X after {step + 1} of 9 outputs"]
    assert close_to(after, steps.input_gradient_after(step))


def test_the_last_stamp_completes_the_input_gradient_and_padding_is_named():
    steps = make_steps(padding="same")
    at = render("input", 24, padding="same")
    after = all_tables(at)["∂L/∂X after 25 of 25 outputs"]
    assert close_to(after, steps.padded_input_gradient)
    assert close_to(after[steps.geometry.input_slice()], steps.gradients.input_gradient)
    assert "what lands there is dropped" in at.caption[0].value


def test_stride_2_shows_the_zero_stuffed_gradient():
    at = render("zeros", 0, "7x7", strides=2)
    tables = all_tables(at)
    stuffed = tables["∂L/∂Y with stride − 1 zeros between"]
    assert stuffed.shape == (5, 5)
    assert close_to(stuffed[::2, ::2], GRADIENT_PATTERN)
    assert (stuffed[1::2] == 0).all()
    assert "Stride (2, 2): zeros between the output gradients." in at.markdown[0].value


def test_dilation_2_shows_the_gaps_thrown_away():
    steps = make_steps("7x7", dilation_rate=2)
    at = render("zeros", 0, "7x7", dilation_rate=2)
    tables = all_tables(at)
    span = tables["X ⋆ ∂L/∂Y over the dilated span"]
    assert close_to(span, steps.dilated_kernel_gradient)
    assert close_to(span[::2, ::2], steps.gradients.kernel_gradient)
    assert "Dilation 2" in at.markdown[0].value


def test_no_zeros_to_show_at_stride_1_and_dilation_1():
    at = render("zeros")
    assert not at.markdown and not at.get("html")
