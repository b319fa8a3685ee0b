"""ui.backpropagation.forward: the forward pass, stride warnings and where ∂L/∂Y comes from."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from core.imaging.seed_examples import CONV_EXAMPLES
from core.ops.arithmetic import conv_geometry
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from tests.ui.backpropagation.tables import all_tables, close_to
from ui.backpropagation.forward import padded_labels, stride_notes


def test_padded_labels_number_the_input_cells_from_0():
    geometry = conv_geometry((4, 3), (3, 3), padding="full")
    labels = padded_labels(geometry)
    assert labels["row_labels"] == [-2, -1, 0, 1, 2, 3, 4, 5]
    assert labels["col_labels"][:3] == [-2, -1, 0]


def test_a_stride_larger_than_the_input_is_explained():
    notes = stride_notes(conv_geometry((3, 6), (3, 3), strides=(4, 1)))
    assert len(notes) == 1
    assert notes[0].startswith("The row stride (4) is larger than the input (3 rows + 0 of")
    assert "Use a stride of at most 3." in notes[0]


def test_unreached_rows_are_said_to_get_no_gradient():
    notes = stride_notes(conv_geometry((6, 5), (3, 3), strides=2))
    assert notes == [
        "The stride does not fit the rows exactly: the last 1 row is never under the "
        "window, so its gradient ∂L/∂X is 0."
    ]
    assert stride_notes(conv_geometry((5, 5), (3, 3))) == []


def forward_script(kind):
    import numpy as np

    from core.imaging.seed_examples import CONV_EXAMPLES
    from core.ops.arithmetic import conv_geometry, pad_input
    from core.ops.conv_backward import conv2d_forward, mse_loss_and_gradient
    from ui.backpropagation.forward import show_forward, show_mse, show_typed_gradient_note

    example = CONV_EXAMPLES["ex2"]
    padding = "same" if kind == "same" else "valid"
    geometry = conv_geometry(example.image.shape, example.kernel.shape, padding=padding)
    output = conv2d_forward(example.image, example.kernel, 1.0, padding=padding)
    show_forward(pad_input(example.image, geometry.pads), example.kernel, 1.0, output, geometry)
    if kind == "mse":
        target = np.zeros_like(output)
        loss, gradient = mse_loss_and_gradient(output, target)
        show_mse(output, target, gradient, loss)
    else:
        show_typed_gradient_note(np.ones(output.shape))


def render(kind: str) -> AppTest:
    at = AppTest.from_function(forward_script, args=(kind,), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_forward_pass_shows_input_kernel_bias_and_output():
    at = render("typed")
    tables = all_tables(at)
    example = CONV_EXAMPLES["ex2"]
    assert close_to(tables["Input X"], example.image)
    assert close_to(tables["Kernel W"], example.kernel)
    assert close_to(tables["Output Y (3×3)"], example.expected + 1.0)
    assert ">+ 1 =</div>" in at.get("html")[0].proto.body
    assert "adds up to 9" in at.caption[-1].value


def test_same_padding_shows_the_zeros_around_the_input():
    at = render("same")
    tables = all_tables(at)
    padded = tables["Input X (padded with zeros)"]
    assert padded.shape == (7, 7) and (padded[0] == 0).all()
    assert "green: zero padding" in at.caption[0].value


def test_mse_shows_the_loss_and_the_gradient_2_y_minus_t_over_n():
    at = render("mse")
    output = CONV_EXAMPLES["ex2"].expected + 1.0
    tables = all_tables(at)
    assert close_to(tables["∂L/∂Y"], 2 * output / 9)
    loss = np.mean(output**2)
    assert f"**L = mean((Y − T)²) = {loss:.3g}**" in at.markdown[0].value
