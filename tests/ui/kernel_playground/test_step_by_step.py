"""ui.kernel_playground.step_by_step: the output-size arithmetic and one pixel's dot product."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.imaging.synthetic_images import WORKED_EXAMPLES
from core.ops.kernels import kernel
from core.ops.output_size import describe_output_size
from tests.ui.kernel_playground.popovers import unfolded
from ui.kernel_playground.step_by_step import (
    clickable_figure,
    size_arithmetic_text,
    stride_warnings,
    sum_text,
)


def sizes(image_shape, kernel_size, **options):
    return [
        describe_output_size(
            image_shape[axis],
            kernel_size,
            strides=options.get("strides", (1, 1))[axis],
            padding=options.get("padding", "valid"),
            dilation_rate=options.get("dilation_rate", (1, 1))[axis],
        )
        for axis in (0, 1)
    ]


def test_the_size_formula_is_filled_in_per_axis():
    text = size_arithmetic_text(sizes((4, 6), 3, strides=(1, 2)))
    lines = text.split("  \n")
    assert lines[0].startswith("Output size = ⌊(input + padding before")
    assert lines[1] == "**Rows:** ⌊(4 + 0 + 0 − 3) / 1⌋ + 1 = **2**"
    assert lines[2] == "**Columns:** ⌊(6 + 0 + 0 − 3) / 2⌋ + 1 = **2**"


def test_a_dilated_kernel_shows_its_effective_size():
    text = size_arithmetic_text(sizes((32, 32), 3, dilation_rate=(2, 1)))
    assert "= **28** (dilated kernel: k̂ = 3 + (3 − 1)·(2 − 1) = 5)" in text
    assert text.count("dilated kernel") == 1  # only the rows are dilated


def test_stride_warnings_say_which_axis_misfits_and_why():
    assert stride_warnings(sizes((4, 6), 3)) == []
    (misfit,) = stride_warnings(sizes((4, 6), 3, strides=(1, 2)))
    assert misfit.startswith("The stride does not fit the columns exactly: (3) / 2 + 1 = 2.5")
    assert "The last 1 column is never covered." in misfit
    too_big = stride_warnings(sizes((4, 6), 3, strides=(9, 1)))
    assert too_big == [
        "The stride along the rows (9) is larger than the padded image (4): the kernel fits "
        "only once. Use a smaller stride."
    ]


def test_the_sum_writes_out_the_first_twelve_products():
    products = np.arange(1.0, 17.0)
    text = sum_text(products, products.sum(), bias=0.0, relu=False, summed=False)
    assert text == (
        "Sum of the products: (1) + (2) + (3) + (4) + (5) + (6) + (7) + (8) + (9) + (10) + (11) "
        "+ (12) + … = **136**"
    )


def test_the_sum_adds_the_bias_then_applies_relu():
    text = sum_text(np.array([-3.0]), -3.0, bias=1.0, relu=True, summed=True)
    assert text == (
        "Sum of the products (sum over all three channels): (-3) = **-3**; + bias 1 = -2; "
        "ReLU → **0**"
    )


def test_the_clickable_figure_frames_the_chosen_cell():
    values = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, 6.0]])
    figure = clickable_figure(values, 1, 2)
    heatmap, markers = figure.data
    assert heatmap.colorscale[0][1] != heatmap.colorscale[-1][1] and heatmap.zmid == 0
    assert heatmap.text.tolist() == [["1", "-2", "3"], ["4", "5", "6"]]
    assert len(markers.x) == 6  # one invisible marker per cell: what a click selects
    (frame,) = figure.layout.shapes
    assert (frame.x0, frame.x1, frame.y0, frame.y1) == (1.5, 2.5, 0.5, 1.5)


def test_large_outputs_get_no_numbers_in_the_cells():
    figure = clickable_figure(np.zeros((20, 20)), 0, 0)
    assert figure.data[0].text is None
    assert figure.data[0].zmid is None  # nothing negative: grey, not signed


def step_script(image, weights, options, bias, relu):
    from core.ops.convolution import conv2d
    from ui.kernel_playground.step_by_step import step_by_step

    output = conv2d(image, weights, **options) + bias
    step_by_step(image, weights, output, options, bias=bias, relu=relu)


def arithmetic_script(sizes):
    from ui.kernel_playground.step_by_step import show_size_arithmetic

    show_size_arithmetic(sizes)


def test_show_size_arithmetic_prints_the_formula_and_warns():
    at = AppTest.from_function(arithmetic_script, args=(sizes((4, 6), 3, strides=(1, 2)),))
    at.run(timeout=30)
    assert at.markdown[0].value.startswith("Output size = ")
    assert [w.value for w in at.warning] == stride_warnings(sizes((4, 6), 3, strides=(1, 2)))
    assert len(at.warning) == 1


def open_step(weights=None, *, options=None, bias=0.0, relu=False) -> AppTest:
    image = WORKED_EXAMPLES["example4"].astype(float)
    weights = kernel("sobel_bottom") if weights is None else weights
    options = options or {"padding": "valid"}
    at = unfolded(AppTest.from_function(step_script, args=(image, weights, options, bias, relu)))
    at.run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    return at


def sum_line(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("Sum of the products"))


def test_step_by_step_explains_worked_example_4():
    at = open_step()
    assert sum_line(at).endswith("= **19**")
    assert "The output image holds 19 at row 0, column 0." in [c.value for c in at.caption]
    at.number_input(key="kernel.row").set_value(1)
    at.number_input(key="kernel.col").set_value(3).run()
    assert sum_line(at).endswith("= **57**")
    assert at.get("plotly_chart")  # a 2×4 output can be clicked


def test_the_pickers_stay_inside_the_output():
    at = open_step()
    assert (at.number_input(key="kernel.row").max, at.number_input(key="kernel.col").max) == (1, 3)


def test_the_arrows_step_the_explained_pixel_and_stop_at_the_edge():
    at = open_step()
    at.button(key="kernel.col_next").click().run()
    image = WORKED_EXAMPLES["example4"].astype(float)
    expected = (image[0:3, 1:4] * kernel("sobel_bottom")).sum()  # row 0, column 1
    assert sum_line(at).endswith(f"= **{expected:g}**")
    assert "**Output column 1 (columns 0–3)**" in [m.value for m in at.markdown]
    at.button(key="kernel.row_next").click().run()
    assert at.button(key="kernel.row_next").disabled  # the last of the 2 rows
    assert not at.button(key="kernel.row_back").disabled


def test_padding_cells_are_pointed_out():
    at = open_step(options={"padding": "same"})
    assert any("are padding" in c.value for c in at.caption)
    assert sum_line(at).endswith("= **20**")


def test_bias_and_relu_follow_the_sum():
    at = open_step(bias=-30.0, relu=True)
    assert sum_line(at).endswith("= **19**; + bias -30 = -11; ReLU → **0**")


def test_a_colour_image_offers_a_channel():
    image = np.stack([WORKED_EXAMPLES["example4"].astype(float)] * 3, axis=2)
    weights = kernel("sobel_bottom")[:, :, None] * np.array([1.0, 0.0, 2.0])
    at = AppTest.from_function(step_script, args=(image, weights, {"padding": "valid"}, 0.0, False))
    at.run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    assert "(sum over all three channels)" in sum_line(at)
    at.selectbox(key="kernel.explain_channel").set_value(2).run()
    assert "The output image holds 57 at row 0, column 0." in [c.value for c in at.caption]


def overlays(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.get("html") if "cs-window-overlay" in h.proto.body]


def window_box(overlay: str) -> tuple[float, float, float, float]:
    """top, left, height, width (CSS px) of the drawn window."""
    import re

    style = re.search(r'<div class="cs-window" style="([^"]*)"', overlay).group(1)
    values = dict(re.findall(r"(top|left|height|width):(-?[\d.]+)px", style))
    return tuple(float(values[name]) for name in ("top", "left", "height", "width"))


def test_the_window_is_drawn_where_it_sits_on_the_whole_input():
    at = open_step()
    (first,) = overlays(at)
    at.number_input(key="kernel.row").set_value(1)
    at.number_input(key="kernel.col").set_value(3).run()
    (moved,) = overlays(at)
    top0, left0, height, width = window_box(first)
    top1, left1, height1, width1 = window_box(moved)
    assert (height, width) == (height1, width1) and height == width  # a 3×3 window
    cell = width / 3
    assert (top1 - top0, left1 - left0) == pytest.approx((cell, 3 * cell))
    assert "input rows 1 to 3 and columns 3 to 5." in moved


def test_the_window_reaches_into_the_dashed_padding():
    at = open_step(options={"padding": "same"})
    (overlay,) = overlays(at)
    assert "dashed" in overlay
    top, left, _, _ = window_box(overlay)
    assert (top, left) == (0.0, 0.0)  # the padded frame's corner: the window starts on padding
    assert "(1 row and 1 column of padding)" in overlay


def test_the_clickable_output_has_only_real_whole_ticks_and_a_frame():
    figure = clickable_figure(np.zeros((5, 5)), 0, 0)
    assert list(figure.layout.xaxis.tickvals) == [0, 1, 2, 3, 4]
    assert list(figure.layout.yaxis.range) == [4.5, -0.5]  # no phantom row −1 or 5
    assert list(figure.layout.xaxis.range) == [-0.5, 4.5]
    assert figure.layout.xaxis.showline and figure.layout.xaxis.mirror


def test_float_noise_in_the_sum_prints_as_zero():
    products = np.array([0.1, 0.2, -0.3])
    text = sum_text(products, products.sum(), bias=0.0, relu=False, summed=False)
    assert text.endswith("= **0**") and "e-" not in text


def test_a_shared_image_draws_its_window_picture_once_per_window_position(monkeypatch):
    from ui.kernel_playground import step_by_step as module

    module.shared_window_overlay.clear()
    image = np.arange(64.0).reshape(8, 8)
    drawn = []
    real = module.window_overlay_html
    monkeypatch.setattr(
        module, "window_overlay_html", lambda *args, **kw: drawn.append(1) or real(*args, **kw)
    )
    key = ("synthetic:ramp", image.shape)
    first = module.shared_window_overlay(key, image, (1, 2, 3), (2, 3, 4))
    again = module.shared_window_overlay(key, image, (1, 2, 3), (2, 3, 4))  # another edit
    moved = module.shared_window_overlay(key, image, (2, 3, 4), (2, 3, 4))
    assert len(drawn) == 2  # the repeated window came from the cache
    assert first == again == module.window_overlay(image, np.array([1, 2, 3]), np.array([2, 3, 4]))
    assert moved != first and "input rows 2 to 4 and columns 2 to 4." in moved
