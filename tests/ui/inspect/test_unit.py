"""ui.inspect.unit: which layers can be explained, the clickable map, reading a click and the
link to the Kernel Playground (read back with the playground's own decoder). The section
itself runs on the real worker in tests/app_pages/test_page_inspect_network.py."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.jobs.inspection import LayerInfo, ModelInfo
from core.nets.unit_explanation import explain_unit
from core.ops.convolution import conv2d
from ui.inspect.unit import (
    add_click_targets,
    clickable_map_figure,
    explainable_layers,
    input_span,
    playground_link,
)
from ui.kernel_playground.link import LINK
from ui.kernel_playground.link_state import decode_state


def conv(name, class_name="Conv2D", inbound=("input",), **options) -> LayerInfo:
    return LayerInfo(name, class_name, "conv", (6, 6, 2), 20, inbound=inbound, **options)


def test_only_plain_convolutions_with_one_source_are_explained():
    layers = (
        LayerInfo("input", "InputLayer", "input", (8, 8, 1), 0),
        conv("a", inbound=("input", "input", "input")),  # one source, called three times
        conv("b", "DepthwiseConv2D"),
        conv("c", "SeparableConv2D"),
        conv("d", inbound=("a", "b")),
        conv("e", "Conv2DTranspose"),
        conv("f", inbound=("a",)),
    )
    info = ModelInfo("m.keras", "m", (8, 8, 1), 2, layers, 100)
    assert [layer.name for layer in explainable_layers(info)] == ["a", "f"]


def test_every_cell_of_the_map_is_a_click_target_at_its_centre():
    plane = np.arange(12.0).reshape(3, 4)
    figure = clickable_map_figure(plane, 1, 2, title="map")
    targets = figure.data[1]
    assert list(zip(targets.y, targets.x, strict=True))[:5] == [
        (0, 0),
        (0, 1),
        (0, 2),
        (0, 3),
        (1, 0),
    ]
    assert len(targets.x) == 12
    (outline,) = figure.layout.shapes
    assert (outline.x0, outline.x1, outline.y0, outline.y1) == (1.5, 2.5, 0.5, 1.5)
    assert figure.layout.clickmode == "event+select"


def test_click_targets_shrink_with_the_map():
    small, large = (go_figure(), go_figure())
    add_click_targets(small, (4, 4), hover="x")
    add_click_targets(large, (60, 60), hover="x")
    assert small.data[0].marker.size > large.data[0].marker.size >= 3


def go_figure():
    import plotly.graph_objects as go

    return go.Figure()


def click_script():
    import streamlit as st

    from ui.inspect.unit import clicked_cell

    st.session_state.setdefault("events", [])
    st.session_state["events"].append(clicked_cell("chart"))


def test_a_click_is_read_once():
    at = AppTest.from_function(click_script)
    at.run()
    at.session_state["chart"] = {"selection": {"points": [{"x": 3, "y": 1}]}}
    at.run()
    at.run()  # the same selection again: not a new click
    at.session_state["chart"] = {"selection": {"points": [{"x": 0, "y": 2}]}}
    at.run()
    assert at.session_state["events"] == [None, (1, 3), None, (2, 0)]


@pytest.mark.parametrize(
    ("options", "channels", "expected"),
    [
        (
            dict(strides=(2, 1), padding="valid", dilation_rate=(1, 2)),
            1,
            dict(strides=(2, 1), padding="valid", dilation=(1, 2), bias=0.25, relu=True),
        ),
        (
            dict(strides=(1, 1), padding="same", dilation_rate=(1, 1)),
            3,  # one slice of three: the bias and ReLU belong to the sum of all three
            dict(strides=(1, 1), padding="same", dilation=(1, 1), bias=0.0, relu=False),
        ),
    ],
)
def test_the_playground_link_carries_one_slice_of_the_filter(options, channels, expected):
    rng = np.random.default_rng(0)
    kernels = rng.normal(size=(3, 2, channels, 2))
    layer = LayerInfo(
        "c", "Conv2D", "conv", (4, 4, 2), 10, activation="relu", kernel_size=(3, 2), **options
    )
    unit = explain_unit(
        rng.normal(size=(9, 9, channels)),
        kernels,
        np.array([0.5, 0.25]),
        row=0,
        col=0,
        filter_index=1,
        strides=options["strides"],
        padding=options["padding"],
        dilation_rate=options["dilation_rate"],
        activation="relu",
    )
    link = playground_link(unit, layer, channels - 1)
    assert urlsplit(link).path == "kernel_playground"
    decoded = decode_state(dict(parse_qsl(urlsplit(link).query)))
    assert decoded.messages == ()
    np.testing.assert_allclose(
        decoded.state.kernel_array(), kernels[:, :, channels - 1, 1], rtol=1e-9
    )
    for name, value in expected.items():
        assert getattr(decoded.state, name) == value, name


def test_a_filter_the_playground_cannot_hold_gives_no_link():
    layer = LayerInfo("c", "Conv2D", "conv", (4, 4, 1), 10, kernel_size=(17, 17))
    unit = explain_unit(
        np.zeros((20, 20, 1)), np.ones((17, 17, 1, 1)), row=0, col=0, filter_index=0
    )
    assert playground_link(unit, layer, 0) is None


def playground_output(link: str) -> tuple[np.ndarray, tuple[int, int]]:
    """What the Kernel Playground computes from the link (its own link decoder, ``conv2d``,
    bias and ReLU as the page applies them), and the pixel the step-by-step opens on."""
    values, problems, _ = LINK.check(dict(parse_qsl(urlsplit(link).query)))
    assert problems == []
    defaults = {item.name: item.default for item in LINK.fields}
    setting = {**defaults, **values}
    output = conv2d(
        np.array(setting["in"]),
        setting["k"],
        strides=setting["s"],
        padding=setting["pad"],
        dilation_rate=setting["d"],
    )
    output = output + setting["bias"]
    if setting["relu"]:
        output = np.maximum(output, 0.0)
    return output, setting["px"]


@pytest.mark.parametrize(
    "options",
    [
        dict(strides=(1, 1), padding="same", dilation_rate=(1, 1), kernel_size=(3, 3)),
        dict(strides=(2, 2), padding="same", dilation_rate=(1, 1), kernel_size=(4, 3)),
        dict(strides=(1, 2), padding="valid", dilation_rate=(2, 3), kernel_size=(3, 2)),
        dict(strides=(2, 1), padding="same", dilation_rate=(2, 2), kernel_size=(3, 3)),
    ],
)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("unit_at", ["corner", "middle"])
def test_the_patch_in_the_link_makes_the_playground_compute_the_unit(options, channels, unit_at):
    """Round trip: unit → link → the playground's decoder → conv2d at the linked pixel equals
    the channel's sum (one input channel: the unit's value, bias and ReLU included), also
    where the patch lies on the zero padding, for even kernels, strides and dilation."""
    rng = np.random.default_rng(7)
    layer_input = rng.normal(size=(11, 10, channels)).astype(np.float32)
    kernel_size = options["kernel_size"]
    kernels = rng.normal(size=(*kernel_size, channels, 2))
    layer = LayerInfo("c", "Conv2D", "conv", (4, 4, 2), 10, activation="relu", **options)
    row, col = (0, 0) if unit_at == "corner" else (2, 1)
    unit = explain_unit(
        layer_input,
        kernels,
        np.array([0.5, -0.75]),
        row=row,
        col=col,
        filter_index=1,
        strides=options["strides"],
        padding=options["padding"],
        dilation_rate=options["dilation_rate"],
        activation="relu",
    )
    for channel in range(channels):
        link = playground_link(unit, layer, channel, layer_input)
        assert "in=" in link
        output, pixel = playground_output(link)
        expected = unit.value if channels == 1 else unit.channel_sums[channel]
        np.testing.assert_allclose(output[pixel], expected, rtol=1e-7, atol=1e-7)


def test_the_span_holds_the_dilated_taps_and_zeros_on_the_padding():
    layer_input = np.arange(1.0, 26.0).reshape(5, 5, 1)
    unit = explain_unit(
        layer_input,
        np.ones((2, 2, 1, 1)),
        row=0,
        col=0,
        filter_index=0,
        padding="same",
        dilation_rate=2,
    )
    span = input_span(unit, layer_input, 0)  # "same", 2×2 dilated 2: rows −1 … 1
    np.testing.assert_array_equal(span, [[0, 0, 0], [0, 1, 2], [0, 6, 7]])
    np.testing.assert_array_equal(span[::2, ::2], unit.patch[:, :, 0])


def test_a_patch_too_large_for_a_link_leaves_the_patch_out():
    layer = LayerInfo(
        "c", "Conv2D", "conv", (4, 4, 1), 10, kernel_size=(3, 3), dilation_rate=(8, 8)
    )
    layer_input = np.ones((20, 20, 1))
    unit = explain_unit(
        layer_input, np.ones((3, 3, 1, 1)), row=0, col=0, filter_index=0, dilation_rate=8
    )
    link = playground_link(unit, layer, 0, layer_input)
    assert "in=" not in link and "d=8%2C8" in link  # 17×17: the playground's own images


@pytest.mark.slow
@pytest.mark.usefixtures("inspect_environment")
def test_the_pages_link_reproduces_the_models_own_output_in_the_playground():
    """End to end on the Inspect page with the real worker: the link button's address, read
    by the playground's decoder and computed by ``conv2d``, gives the model's own value for
    the unit (a first layer: one input channel, bias and ReLU included)."""
    from core.base.numbers import readable
    from tests.conftest import ROOT
    from tests.inspect_helpers import open_tab

    app = AppTest.from_file(str(ROOT / "app_pages" / "inspect_network.py"), default_timeout=240)
    app.run()
    open_tab(app, "maps")  # "Explain one unit" is in the Feature maps tab
    assert not app.exception, [item.value for item in app.exception]
    (button,) = app.get("link_button")
    assert "in=" in button.proto.url
    output, pixel = playground_output(button.proto.url)
    shown = f"The model's own output for this unit: {readable(float(output[pixel]))};"
    assert any(caption.value.startswith(shown) for caption in app.caption), shown
