"""ui.pooling.steps: one pooling window, its arithmetic and where its gradient goes."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.imaging.seed_examples import POOL_EXAMPLES
from tests.apptest_helpers import matrix_tables
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.pooling.steps import window_text


def test_window_text_for_max_and_average():
    values = np.array([10.0, 12.0, 6.0, 8.0])
    assert window_text(values, "max", 12.0) == "max(10, 12, 6, 8) = **12**"
    assert window_text(values, "average", 9.0) == "(10 + 12 + 6 + 8) / 4 = **9**"
    assert window_text(np.array([-0.0, 1.5]), "average", 0.75) == "(0 + 1.5) / 2 = **0.75**"


def step_script(image, step, method, padding, pool_size, backprop):
    import numpy as np

    from core.ops.arithmetic import conv_geometry
    from core.ops.pooling import max_pool_argmax, pool2d, pool2d_gradient
    from ui.pooling.steps import show_pool_step

    options = dict(pool_size=pool_size, strides=pool_size, padding=padding)
    geometry = conv_geometry(image.shape, pool_size, strides=pool_size, padding=padding)
    output = pool2d(image, method=method, **options)
    winners = max_pool_argmax(image, **options) if method == "max" else None
    upstream = np.arange(1.0, output.size + 1).reshape(output.shape)
    gradient = pool2d_gradient(image, upstream, method=method, **options) if backprop else None
    show_pool_step(
        step=step,
        geometry=geometry,
        image=image,
        output=output,
        winners=winners,
        method=method,
        gradient=gradient,
        upstream=upstream,
    )


def open_step(step=0, method="max", padding="valid", pool_size=(2, 2), backprop=False, image=None):
    image = POOL_EXAMPLES["pool_a_stride2"].image if image is None else image
    args = (image, step, method, padding, pool_size, backprop)
    at = AppTest.from_function(step_script, args=args).run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    return at


def text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


@pytest.mark.parametrize("step", range(4))
def test_each_step_writes_its_window_and_maximum(step):
    at = open_step(step)
    row, col = divmod(step, 2)
    expected = POOL_EXAMPLES["pool_a_stride2"].expected[row, col]
    assert f"Output ({row}, {col}): max(" in text(at)
    assert text(at).endswith(f"= **{expected:g}**")
    assert at.caption[0].value == "orange: the window · red: the winning cell"


def test_average_pooling_has_no_winner():
    at = open_step(method="average")
    assert "Output (0, 0): (10 + 12 + 6 + 8) / 4 = **9**" in text(at)
    assert at.caption[0].value == "orange: the window"


def test_backprop_sends_a_max_gradient_to_the_winner_only():
    at = open_step(step=1, backprop=True)
    assert "the gradient 2 of output (0, 1) goes **entirely** to input cell" in text(at)
    assert "**Backpropagation**" in text(at)
    assert len(matrix_tables(at)) == 4  # input, output so far, both gradients


def test_backprop_shares_an_average_gradient_over_the_real_cells():
    image = np.arange(9.0).reshape(3, 3)
    at = open_step(step=3, method="average", padding="same", backprop=True, image=image)
    assert "Output (1, 1): (8) / 1 = **8**" in text(at)
    assert "**shared** by its 1 real cell: 4 each" in text(at)
