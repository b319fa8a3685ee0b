"""ui.backpropagation.optimiser: one step of gradient descent, shown and kept."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from core.imaging.seed_examples import CONV_EXAMPLES
from core.ops.conv_backward import descent_step
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from tests.ui.backpropagation.tables import all_tables, close_to
from ui.backpropagation.optimiser import loss_change_text

EXAMPLE = CONV_EXAMPLES["ex2"]


def test_the_loss_change_is_said_in_words():
    step = descent_step(
        EXAMPLE.image, EXAMPLE.kernel, 0.0, learning_rate=0.01, target=np.full((3, 3), 10.0)
    )
    assert loss_change_text(step).startswith("The loss fell from ")
    overshoot = descent_step(
        EXAMPLE.image, EXAMPLE.kernel, 0.0, learning_rate=1.0, target=np.full((3, 3), 10.0)
    )
    assert loss_change_text(overshoot).startswith("The loss **rose** from ")
    flat = descent_step(
        EXAMPLE.image, EXAMPLE.kernel, 0.0, learning_rate=0.1, target=EXAMPLE.expected
    )
    assert loss_change_text(flat) == "The loss stayed at 0: the gradient is zero."


def optimiser_script():
    import numpy as np
    import streamlit as st

    from core.imaging.seed_examples import CONV_EXAMPLES
    from core.ops.conv_backward import descent_step
    from ui.backpropagation.controls import KERNEL_KEY
    from ui.backpropagation.optimiser import learning_rate_input, show_descent_step
    from ui.widgets.matrix_editor import stored_matrix

    example = CONV_EXAMPLES["ex2"]
    kernel = stored_matrix(KERNEL_KEY, example.kernel)
    st.session_state.setdefault("backprop.bias", 0.0)
    learning_rate = learning_rate_input()
    step = descent_step(
        example.image,
        kernel,
        st.session_state["backprop.bias"],
        learning_rate=learning_rate,
        target=np.full((3, 3), 10.0),
    )
    st.session_state["step"] = step
    show_descent_step(step, learning_rate)


def open_optimiser() -> AppTest:
    at = AppTest.from_function(optimiser_script, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_kernel_moves_against_the_gradient_and_the_loss_falls():
    at = open_optimiser()
    step = at.session_state["step"]
    tables = all_tables(at)
    assert close_to(tables["W (now)"], EXAMPLE.kernel)
    assert close_to(tables["∂L/∂W"], step.gradients.kernel_gradient)
    assert close_to(
        tables["W′ (after the step)"], EXAMPLE.kernel - 0.01 * step.gradients.kernel_gradient
    )
    assert close_to(tables["Output after"], step.output_after)
    before, after = at.metric
    assert float(after.value) < float(before.value)
    assert not at.warning


def test_a_large_learning_rate_warns_that_the_step_overshot():
    at = open_optimiser()
    at.number_input(key="backprop.lr").set_value(1.0).run()
    assert "The step overshot" in at.warning[0].value


def test_keeping_the_step_makes_the_next_one_start_from_there():
    at = open_optimiser()
    first = at.session_state["step"]
    at.button(key="backprop.keep").click().run()
    second = at.session_state["step"]
    np.testing.assert_allclose(second.kernel_before, first.kernel_after)
    assert second.bias_before == first.bias_after
    assert second.loss_before == first.loss_after
    assert second.loss_after < second.loss_before
