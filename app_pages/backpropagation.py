"""Backpropagation: the gradients of a convolution layer, one weight and one window at a time.

Start from the gradient of a loss with respect to the layer's output (typed,
or from the mean squared error against a target) and follow it back: the
weight gradient is the input cross-correlated with it, the bias gradient its
sum, and the input gradient every output's gradient sent back through its
window — the same numbers as a transposed convolution. One step of gradient
descent then moves the kernel and lowers the loss.
"""

import streamlit as st

from core.ops.arithmetic import conv_geometry, pad_input
from core.ops.conv_backward import (
    conv2d_backward_steps,
    conv2d_forward,
    descent_step,
    mse_loss_and_gradient,
)
from ui.backpropagation.controls import (
    backprop_controls,
    gradient_editor,
    init_state,
    matrix_inputs,
    setup_picker,
)
from ui.backpropagation.forward import (
    show_forward,
    show_mse,
    show_typed_gradient_note,
    stride_notes,
)
from ui.backpropagation.link import LINK, TAB_NAMES
from ui.backpropagation.optimiser import learning_rate_input, show_descent_step
from ui.backpropagation.steps import (
    show_bias_gradient,
    show_input_step,
    show_weight_step,
    show_zeros,
    weight_position,
)
from ui.backpropagation.transposed import show_transposed_comparison
from ui.widgets.closed_tabs import is_open, keep
from ui.widgets.presentation import main_picture
from ui.widgets.stepper import step_through

st.title("Backpropagation through a convolution")
st.markdown(
    "Training needs to know how the loss changes when each weight changes. Start from "
    "**∂L/∂Y**, the gradient of the loss with respect to the layer's output, and follow it "
    "back through Y = X ⋆ W + b: to the weights (**∂L/∂W**), the bias (**∂L/∂b**) and the "
    "input (**∂L/∂X**, which the layer below needs). Then take one step downhill."
)
LINK.start()  # a shared link sets every control; the address follows every change
main_picture(  # presentation mode: the step-by-step of the open tab, fitted to the screen
    *(".st-key-backprop-w_stepper-first", ".st-key-backprop-x_stepper-first"),
    fit=('.st-key-backprop-tab [data-testid="stHtml"]',),
)
init_state()
setup_picker()
settings = backprop_controls()
inputs, kernel, matrix_error = matrix_inputs()

# ---------------------------------------------------------------- refuse what cannot work
if matrix_error:
    st.error(matrix_error)
    st.stop()
try:
    geometry = conv_geometry(inputs.shape, kernel.shape, **settings.options())
    output = conv2d_forward(inputs, kernel, settings.bias, **settings.options())
except ValueError as error:
    st.error(str(error))
    st.stop()

# ---------------------------------------------------------------- forward pass
st.subheader("1 · The forward pass")
show_forward(pad_input(inputs, geometry.pads), kernel, settings.bias, output, geometry)
for note in stride_notes(geometry):
    st.warning(note)

# ---------------------------------------------------------------- where ∂L/∂Y comes from
st.subheader("2 · The output gradient ∂L/∂Y")
matrix, gradient_error = gradient_editor(output, settings.source)
if gradient_error:
    st.error(gradient_error)
    st.stop()
if settings.source == "mse":
    target = matrix
    loss, gradient = mse_loss_and_gradient(output, target)
    show_mse(output, target, gradient, loss)
else:
    target, gradient = None, matrix
    show_typed_gradient_note(gradient)
steps = conv2d_backward_steps(inputs, kernel, gradient, **settings.options())

# ---------------------------------------------------------------- the three gradients
# Only the open tab draws anything (opening another reruns the page); the closed tabs'
# controls keep their values: a first visit builds one tab, not four.
tabs = st.tabs(TAB_NAMES, key="backprop.tab", on_change="rerun")
with tabs[0]:
    if is_open(tabs[0]):
        st.markdown(
            "**∂L/∂W = X ⋆ ∂L/∂Y**: the input cross-correlated with the output gradient. Step "
            "through the weights to see which input cells each one met."
        )
        show_zeros(steps)
        step_through(
            "backprop.w_stepper",
            kernel.size,
            lambda step: show_weight_step(steps, step),
            label="Weight",
            help="Drag to pick a weight of the kernel (reading order).",
            format_step=lambda step: (
                f"Weight {weight_position(steps, step)}, {step + 1} of {kernel.size}"
            ),
        )
    else:
        keep(["backprop.w_stepper.step"])
with tabs[1]:
    if is_open(tabs[1]):
        show_bias_gradient(steps)
with tabs[2]:
    if is_open(tabs[2]):
        st.markdown(
            "**∂L/∂X**: every output sends its gradient back through the window it came from, "
            "times the weights. Step through the outputs and watch the stamps add up."
        )
        step_through(
            "backprop.x_stepper",
            steps.geometry.num_steps,
            lambda step: show_input_step(steps, step),
            label="Output position",
            help="Drag to pick the output whose gradient goes back (reading order).",
            format_step=lambda step: (
                f"Output {steps.geometry.position(step)}, {step + 1} of {steps.geometry.num_steps}"
            ),
        )
        st.subheader("The same numbers as a transposed convolution")
        show_transposed_comparison(steps)
    else:
        keep(["backprop.x_stepper.step"])
with tabs[3]:
    if is_open(tabs[3]):
        st.markdown(
            "Move every weight a little **against** its gradient: W′ = W − η ∂L/∂W and "
            "b′ = b − η ∂L/∂b. For a small enough learning rate η the loss goes down."
        )
        learning_rate = learning_rate_input()
        step = descent_step(
            inputs,
            kernel,
            settings.bias,
            learning_rate=learning_rate,
            target=target,
            output_gradient=None if settings.source == "mse" else gradient,
            **settings.options(),
        )
        show_descent_step(step, learning_rate)
    else:
        keep(["backprop.lr"])
LINK.finish()  # names linked values the page could not use; keeps the address current
