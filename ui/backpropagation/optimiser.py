"""One step of gradient descent on the Backpropagation page: the kernel moves, the loss falls.

``learning_rate_input`` reads η; ``show_descent_step`` draws W − η ∂L/∂W = W′,
the bias, the loss before and after and both outputs, and offers a button that
keeps the new kernel and bias (so a class can take step after step). The step
itself is ``core.ops.conv_backward.descent_step``.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.ops.conv_backward import DescentStep
from ui.backpropagation.controls import KERNEL_KEY, STEPPERS
from ui.backpropagation.grids import people, plain_table, row_of
from ui.widgets.matrix_editor import set_matrix

LOSS_NAMES = {
    "mse": "MSE against the target",
    "linear": "L = Σ ∂L/∂Y ⊙ Y (the loss of the typed gradient)",
}


def learning_rate_input() -> float:
    """The learning rate η (key ``backprop.lr``)."""
    st.session_state.setdefault("backprop.lr", 0.01)
    column, _ = st.columns([1, 2])
    return float(
        column.number_input(
            "Learning rate η",
            min_value=0.0001,
            max_value=10.0,
            step=0.005,
            format="%.4f",
            key="backprop.lr",
            help="How far to move against the gradient. Small: the loss falls a little. "
            "Too large: the step overshoots and the loss rises.",
        )
    )


def keep_step(step: DescentStep) -> None:
    """Callback: make the stepped kernel and bias the layer's own."""
    set_matrix(KERNEL_KEY, step.kernel_after)
    st.session_state["backprop.bias"] = float(step.bias_after)
    st.session_state["backprop.loaded"] = None
    for stepper in STEPPERS:
        st.session_state[f"{stepper}.step"] = 0


def loss_change_text(step: DescentStep) -> str:
    """One sentence on how the loss changed.

    >>> import numpy as np
    >>> from core.ops.conv_backward import descent_step
    >>> loss_change_text(descent_step([[1.0, 2.0]], [[1.0]], 0.0, learning_rate=0.1,
    ...                               target=[[0.0, 0.0]]))
    'The loss fell from 2.5 to 0.265 (−89.4 %).'
    """
    before, after = step.loss_before, step.loss_after
    if after < before:
        change = f" (−{people(100 * (before - after) / abs(before))} %)" if before else ""
        return f"The loss fell from {people(before)} to {people(after)}{change}."
    if after == before:
        return f"The loss stayed at {people(before)}: the gradient is zero."
    return f"The loss **rose** from {people(before)} to {people(after)}."


def show_descent_step(step: DescentStep, learning_rate: float) -> None:
    """W − η ∂L/∂W = W′, b′, the loss before/after and the outputs before/after."""
    eta = people(learning_rate)
    kernels = np.concatenate([step.kernel_before.ravel(), step.kernel_after.ravel()])
    outputs = np.concatenate([step.output_before.ravel(), step.output_after.ravel()])
    st.html(
        row_of(
            [
                plain_table(step.kernel_before, title="W (now)", scale=kernels),
                plain_table(step.gradients.kernel_gradient, title="∂L/∂W"),
                plain_table(step.kernel_after, title="W′ (after the step)", scale=kernels),
            ],
            [f"− {eta} ×", "="],
        )
    )
    st.markdown(
        f"Bias: b′ = b − η ∂L/∂b = {people(step.bias_before)} − {eta} × "
        f"{people(step.gradients.bias_gradient)} = **{people(step.bias_after)}**"
    )
    before, after = st.columns(2)
    before.metric(f"Loss before ({LOSS_NAMES[step.loss_name]})", people(step.loss_before))
    after.metric(
        "Loss after one step",
        people(step.loss_after),
        delta=people(step.loss_after - step.loss_before),
        delta_color="inverse",
        help="A negative change (green) means the step helped.",
    )
    message = loss_change_text(step)
    if step.loss_after > step.loss_before:
        st.warning(
            f"{message} The step overshot: the learning rate is too large for this loss. "
            "Try a smaller η."
        )
    else:
        st.markdown(message)
    st.html(
        row_of(
            [
                plain_table(step.output_before, title="Output before", scale=outputs),
                plain_table(step.output_after, title="Output after", scale=outputs),
            ],
            ["→"],
        )
    )
    if step.loss_name == "linear":
        st.caption(
            "With a typed gradient the loss is L = Σ ∂L/∂Y ⊙ Y, whose gradient is exactly what "
            "you typed. It falls by η (‖∂L/∂W‖² + (∂L/∂b)²) on every step and never stops: "
            "a real loss (try MSE) flattens out near its minimum."
        )
    st.button(
        "Keep the new kernel and bias",
        key="backprop.keep",
        on_click=keep_step,
        args=(step,),
        icon=":material/check:",
        help="Make W′ and b′ the layer's weights, so the next step starts from here.",
    )
