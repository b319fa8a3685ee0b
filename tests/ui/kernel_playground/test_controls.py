"""ui.kernel_playground.controls: the image and sliding controls return plain values."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.imaging.images import to_grayscale
from core.ops.convolution import conv2d
from tests.ui.kernel_playground.popovers import unfolded
from ui.kernel_playground.controls import Sliding, grayscale
from ui.widgets.image_input import ImageChoice


def sliding(**changes) -> Sliding:
    values = dict(
        strides=(1, 1),
        padding="same",
        pads=(0, 0),
        mode="constant",
        dilation_rate=(1, 1),
        flip=False,
        bias=0.0,
        relu=False,
    )
    return Sliding(**{**values, **changes})


def test_named_padding_goes_to_conv2d_as_it_is():
    options = sliding(strides=(2, 1), padding="valid", dilation_rate=(1, 2), flip=True)
    assert options.conv_options() == {
        "strides": (2, 1),
        "padding": "valid",
        "mode": "constant",
        "dilation_rate": (1, 2),
        "flip_kernel": True,
    }
    assert options.axis_padding(0) == "valid"


def test_explicit_padding_pads_both_sides_of_each_axis():
    options = sliding(padding="explicit", pads=(2, 0), mode="reflect")
    assert options.conv_options()["padding"] == ((2, 2), (0, 0))
    assert (options.axis_padding(0), options.axis_padding(1)) == (2, 0)
    image = np.arange(20.0).reshape(4, 5)
    output = conv2d(image, np.ones((1, 1)), **options.conv_options())
    np.testing.assert_array_equal(output, np.pad(image, ((2, 2), (0, 0)), mode="reflect"))


def choice_of(pixels: np.ndarray, *, shareable: bool = True) -> ImageChoice:
    return ImageChoice(pixels.astype(np.float32), "synthetic:demo", "demo", shareable=shareable)


def test_grayscale_passes_grey_images_through():
    choice = choice_of(np.arange(6.0).reshape(2, 3))
    assert grayscale(choice) is choice.pixels


@pytest.mark.parametrize("shareable", [True, False])
def test_grayscale_converts_colour_with_the_luma_weights(shareable):
    pixels = np.zeros((2, 2, 3), np.float32)
    pixels[..., 1] = 100.0
    grey = grayscale(choice_of(pixels, shareable=shareable))
    np.testing.assert_allclose(grey, to_grayscale(pixels))
    assert grey[0, 0] == pytest.approx(58.7, abs=0.01)


def controls_script(photo):
    import streamlit as st

    from ui.kernel_playground.controls import image_controls, sliding_controls
    from ui.kernel_playground.link_state import PlaygroundState, widget_values
    from ui.widgets.image_input import set_image

    if "started" not in st.session_state:  # as the page does: every control at its default
        st.session_state.update(widget_values(PlaygroundState()))
        set_image("kernel", photo)
        st.session_state["started"] = True
    st.session_state["image"] = image_controls()
    st.session_state["sliding"] = sliding_controls()


def open_controls(photo: str = "photo:camera.png") -> AppTest:
    at = unfolded(AppTest.from_function(controls_script, args=(photo,), default_timeout=30)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_sliding_controls_start_at_the_defaults():
    at = open_controls()
    assert at.session_state["sliding"] == sliding()
    assert not at.radio(key="kernel.mode").disabled
    assert not [n for n in at.number_input if n.key == "kernel.pad_rows"]
    at.radio(key="kernel.padding").set_value("valid").run()
    assert at.radio(key="kernel.mode").disabled  # no border to fill when padding is valid


def test_every_sliding_control_reaches_the_settings():
    at = open_controls()
    at.number_input(key="kernel.stride_cols").set_value(3)
    at.radio(key="kernel.padding").set_value("explicit").run()
    at.number_input(key="kernel.pad_rows").set_value(4)  # the columns keep their default 1
    at.radio(key="kernel.mode").set_value("wrap")
    at.number_input(key="kernel.dilation_rows").set_value(2)
    at.toggle(key="kernel.flip").set_value(True)
    at.number_input(key="kernel.bias").set_value(-2.5)
    at.toggle(key="kernel.relu").set_value(True).run()
    assert at.session_state["sliding"] == Sliding(
        (1, 3), "explicit", (4, 1), "wrap", (2, 1), True, -2.5, True
    )
    assert all(widget.help for widget in [*at.number_input, *at.radio, *at.toggle])


def test_a_grey_photo_has_no_colour_choice():
    at = open_controls()
    choice, color, weights = at.session_state["image"]
    assert choice.name == "photo:camera.png" and color == "grayscale"
    np.testing.assert_array_equal(weights, [1, 1, 1])
    assert not [r for r in at.radio if r.key == "kernel.color"]


def test_a_colour_photo_offers_the_channel_modes_and_slice_weights():
    at = open_controls("photo:astronaut.png")
    at.radio(key="kernel.color").set_value("summed").run()
    at.number_input(key="kernel.weight_g").set_value(0.0)
    at.number_input(key="kernel.weight_b").set_value(-1.5).run()
    _, color, weights = at.session_state["image"]
    assert color == "summed"
    np.testing.assert_array_equal(weights, [1.0, 0.0, -1.5])
    at.radio(key="kernel.color").set_value("per_channel").run()
    _, color, weights = at.session_state["image"]
    assert color == "per_channel" and not [n for n in at.number_input if "weight" in n.key]
