"""ui.backpropagation.transposed: ∂L/∂X scattered and as one transposed convolution."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from tests.ui.backpropagation.tables import all_tables, close_to
from tests.ui.backpropagation.test_steps import make_steps
from ui.backpropagation.transposed import keras_call_text, verdict, why_not_keras


def test_verdict_is_a_tick_or_a_cross():
    assert verdict(True) == ":green[:material/check_circle:]"
    assert verdict(False) == ":red[:material/cancel:]"


def test_the_keras_call_names_strides_padding_and_output_padding():
    steps = make_steps("7x7", strides=2, padding="same")
    assert keras_call_text(steps) == (
        "conv2d_transpose(dL_dY, W, strides=(2, 2), padding='same', output_padding=(0, 0))"
    )


def test_why_keras_cannot_express_a_layer():
    assert "no dilation" in why_not_keras(make_steps("7x7", dilation_rate=2))
    assert "only knows 'valid' and 'same'" in why_not_keras(make_steps(padding="full"))


def comparison_script(image_name, options):
    from tests.ui.backpropagation.test_steps import make_steps
    from ui.backpropagation.transposed import show_transposed_comparison

    show_transposed_comparison(make_steps(image_name, **options))


def render(image_name: str = "ex2", **options) -> AppTest:
    at = AppTest.from_function(
        comparison_script, args=(image_name, options), default_timeout=30
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_both_ways_give_the_same_numbers_side_by_side():
    steps = make_steps()
    at = render()
    tables = all_tables(at)
    expected = steps.gradients.input_gradient
    assert close_to(tables["∂L/∂X, scattered back through the windows"], expected)
    assert close_to(tables["∂L/∂X from one transposed convolution"], expected)
    assert close_to(tables["W rotated by 180°"], steps.kernel[::-1, ::-1])
    text = "\n".join(m.value for m in at.markdown)
    assert text.startswith(verdict(True) + " The same numbers")
    assert "conv2d_transpose(dL_dY, W, strides=(1, 1), padding='valid'" in text


def test_stride_2_puts_grey_zeros_between_the_gradients():
    steps = make_steps("7x7", strides=2)
    at = render("7x7", strides=2)
    padded = all_tables(at)["∂L/∂Y, zeros between, padded"]
    assert close_to(padded, steps.transposed_input)
    assert padded.shape == (9, 9)  # 5 stuffed + 2·(3 − 1)
    assert close_to(padded[2:7:2, 2:7:2], steps.output_gradient)
    assert "grey: the stride − 1 zeros between the output gradients" in at.caption[0].value


def test_dilation_2_uses_the_dilated_rotated_kernel_and_says_why_keras_is_not_compared():
    at = render("7x7", dilation_rate=2)
    rotated = all_tables(at)["W rotated by 180°"]
    assert rotated.shape == (5, 5)
    assert (rotated[1::2] == 0).all()
    assert "no dilation" in at.caption[-1].value
    assert "∂L/∂Y, padded" in all_tables(at)  # stride 1: nothing stuffed in between
    assert verdict(True) in at.markdown[0].value


def test_same_padding_marks_the_result_cells_that_are_cut_away():
    at = render(padding="same")
    tables = all_tables(at)
    result = tables["Result (green: padding, cut away)"]
    assert result.shape == (7, 7)
    assert np.isfinite(result).all()
