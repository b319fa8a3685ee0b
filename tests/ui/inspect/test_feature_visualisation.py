"""ui.inspect.feature_visualisation: the input a filter likes most, beside the top-9, through
AppTest with a real worker on the bundled MNIST model (slow), and its plain helpers."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.jobs.inspection import LayerInfo, ModelInfo
from tests.app_pages.test_screen_words import problems
from tests.apptest_helpers import elements_in, kept_pictures, pixels, screen_text
from tests.inspect_helpers import MNIST_MODEL


def _info() -> ModelInfo:
    layers = (
        LayerInfo("conv", "Conv2D", "conv", (6, 6, 4), 40),
        LayerInfo("pool", "MaxPooling2D", "pooling", (3, 3, 4), 0),
        LayerInfo("flat", "Flatten", "other", (36,), 0),
    )
    return ModelInfo("m", "m", (8, 8, 1), 2, layers, 40)


def chosen_script(state, info):
    import streamlit as st

    from ui.inspect.feature_visualisation import chosen_unit

    st.session_state.update(state)
    st.write(repr(chosen_unit(info)))


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({}, ("conv", 0)),
        ({"inspect.top_layer": "pool", "inspect.top_filter": 3}, ("pool", 3)),
        ({"inspect.top_layer": "gone", "inspect.top_filter": 3}, ("conv", 3)),
        ({"inspect.top_layer": "pool", "inspect.top_filter": 4}, ("pool", 0)),
        ({"inspect.top_layer": "flat"}, ("conv", 0)),
    ],
)
def test_the_unit_follows_the_top_9_picks_and_falls_back_to_their_defaults(state, expected):
    at = AppTest.from_function(chosen_script, args=(state, _info()))
    at.run(timeout=60)  # the first run imports the page's modules
    assert not at.exception
    assert at.markdown[0].value == repr(expected)


def visualisation_script(client, layer, channel):
    import streamlit as st

    from tests.inspect_helpers import MNIST_MODEL
    from ui.inspect.feature_visualisation import feature_visualisation

    st.session_state.setdefault("inspect.top_layer", layer)
    st.session_state.setdefault("inspect.top_filter", channel)
    info = client.model_info(MNIST_MODEL)
    feature_visualisation(client, str(MNIST_MODEL), info)


@pytest.mark.slow
def test_the_picture_is_the_worker_result_for_the_picked_filter_and_seed(client):
    with kept_pictures() as kept:
        at = AppTest.from_function(visualisation_script, args=(client, "conv2d_1", 3))
        at.run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    assert at.markdown[0].value == "**What filter 3 of conv2d_1 likes most**"
    expected = client.feature_visualisation(MNIST_MODEL, "conv2d_1", 3, seed=0)
    shown = pixels(kept, elements_in(at._tree, "image")[0])
    assert shown.shape == (224, 224, 3)  # 28 pixels, 8 screen pixels each
    grey = np.round(np.clip(expected.image[:, :, 0], 0, 1) * 255)
    np.testing.assert_allclose(shown[::8, ::8, 0], grey, atol=8)  # PNG is lossless; JPEG not
    caption = at.caption[0].value
    assert "Made from faint grey noise by gradient ascent" in caption
    assert f"{expected.steps} steps in" in caption and "times as much" in caption
    assert problems(screen_text(at)) == []  # no code names, raw floats or wrong plurals
    # Another start: another picture, and the page says nothing went wrong.
    at.number_input(key="inspect.dream_seed").set_value(1).run(timeout=120)
    assert not at.exception and not at.error
    assert at.caption[0].value != caption


@pytest.mark.slow
def test_a_model_without_that_layer_gets_no_picture_and_no_traceback(client):
    # A stale pick from another model falls back to the first map layer.
    at = AppTest.from_function(visualisation_script, args=(client, "block9", 99))
    at.run(timeout=120)
    assert not at.exception
    assert at.markdown[0].value == "**What filter 0 of conv2d likes most**"
