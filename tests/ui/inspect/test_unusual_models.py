"""The Inspect sections with models that are not ordinary CNNs, through AppTest.

A diverged model: the small network of `tests.ui.inspect.small_network` whose second
convolution's weights are NaN, so its ``conv2`` maps and its probabilities are NaN while
``conv`` and ``pool`` are fine. Every section shows what it can and says, in words, what
it cannot; nothing is drawn from NaN or printed as "nan". A dense network (no maps at all)
gets its prediction and saliency, and a plain note in every section about maps.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
from streamlit.testing.v1 import AppTest

from core.jobs.inspection import FilterWeights, LayerInfo
from tests.apptest_helpers import markdown_text
from tests.ui.inspect.small_network import (
    ArrayWorker,
    edge_image,
    feature_maps,
    model_info,
    weights,
)
from ui.inspect.inputs import InputSample
from ui.inspect.layer_sections import not_numbers

SAMPLE = InputSample(edge_image(), "edge")


def nan_info():
    return model_info(nan_layers=("conv2",))


def nan_maps():
    maps = feature_maps(edge_image())
    return dataclasses.replace(
        maps,
        maps={**maps.maps, "conv2": np.full_like(maps.maps["conv2"], np.nan)},
        probabilities=np.full_like(maps.probabilities, np.nan),
    )


def nan_worker() -> ArrayWorker:
    w = weights()
    broken = np.full_like(w.conv2, np.nan)
    return ArrayWorker(more_filters={"conv2": FilterWeights("conv2", broken, w.conv2_bias)})


def dense_info():
    layers = (
        LayerInfo("input", "InputLayer", "input", (8, 8, 1), 0),
        LayerInfo("flatten", "Flatten", "other", (64,), 0, inbound=("input",)),
        LayerInfo("dense", "Dense", "other", (3,), 64 * 3 + 3, "softmax", inbound=("flatten",)),
    )
    return model_info(layers=layers, total_params=195)


def dense_maps():
    maps = feature_maps(edge_image())
    return dataclasses.replace(maps, maps={}, pre_activations={})


def run(section: str, client, info, maps, **state) -> AppTest:
    def script(section, client, info, maps, sample):
        from ui.inspect import layer_sections, model_sections

        path = "/models/small.keras"
        if section == "prediction":
            model_sections.input_and_prediction(sample, maps, ["a", "b", "c"])
        elif section == "filters":
            layer_sections.filters(client, path, info)
        elif section == "maps":
            layer_sections.feature_maps(client, path, info, maps)
        elif section == "pooling":
            layer_sections.pooling(info, maps)
        elif section == "field":
            model_sections.receptive_field(info, sample, maps)
        elif section == "attributions":
            model_sections.attributions(client, path, info, sample, maps, ["a", "b", "c"])
        elif section == "top":
            from tests.ui.inspect.test_model_sections import small_test_set

            model_sections.top_examples(client, path, info, small_test_set())

    at = AppTest.from_function(script, args=(section, client, info, maps, SAMPLE))
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    return at


def words(at: AppTest) -> str:
    parts = [markdown_text(at)]
    for elements in (at.caption, at.error, at.warning, at.info):
        parts.extend(element.value for element in elements)
    parts.extend(expander.label for expander in at.expander)
    return "\n".join(parts)


def assert_no_raw_nan(at: AppTest) -> None:
    assert not re.search(r"\bnan\b|\binf\b", words(at)), words(at)


NAN_WORDS = "This model's weights hold NaN or infinite values"


def test_not_numbers_finds_nan_and_infinity():
    assert not_numbers(np.array([1.0, np.inf])) and not_numbers(np.array([np.nan]))
    assert not not_numbers(np.zeros((2, 2)))


def test_the_layers_after_a_nan_layer_are_all_affected():
    assert nan_info().nan_affected == {"conv2", "flatten", "dense"}
    assert model_info().nan_affected == frozenset()


def test_nan_probabilities_give_a_message_instead_of_a_prediction():
    at = run("prediction", ArrayWorker(), nan_info(), nan_maps())
    assert_no_raw_nan(at)
    assert "Prediction" not in markdown_text(at)
    assert at.warning[0].value.startswith(NAN_WORDS + ", so its prediction can't be shown")
    assert at.caption[0].value.startswith("edge: 8×8×1")  # the input is still shown


def test_nan_maps_are_named_and_the_maps_before_them_still_drawn():
    at = run("maps", nan_worker(), nan_info(), nan_maps(), **{"inspect.enlarge_layer": "conv2"})
    assert_no_raw_nan(at)
    warnings = [item.value for item in at.warning]
    assert warnings[0].startswith(NAN_WORDS + " (in conv2), so the maps of conv2 can't be shown")
    assert warnings[1].startswith(NAN_WORDS + " (in conv2), so map 0 of conv2 can't be shown")
    assert len(at.get("image")) == 2  # the mosaics of conv and pool
    at = run("maps", nan_worker(), nan_info(), nan_maps(), **{"inspect.enlarge_layer": "pool"})
    assert_no_raw_nan(at)  # pool's map is drawn beside conv's filter, both numbers


def test_an_enlarged_map_beside_a_nan_filter_names_the_filter():
    maps = feature_maps(edge_image())
    maps.maps["conv2"] = maps.maps["conv2"] + 0  # finite maps, NaN kernel (a damaged file)
    at = run("maps", nan_worker(), nan_info(), maps, **{"inspect.enlarge_layer": "conv2"})
    assert any(
        item.value.startswith(NAN_WORDS + " (in conv2), so filter 0 of conv2 can't be shown")
        for item in at.warning
    )


def test_pooling_before_the_nan_is_shown_and_a_nan_pool_is_named():
    at = run("pooling", ArrayWorker(), nan_info(), nan_maps())
    assert_no_raw_nan(at)
    assert not at.warning and "ReLU replaced" in " ".join(c.value for c in at.caption)
    maps = nan_maps()
    maps.maps["pool"] = np.full_like(maps.maps["pool"], np.nan)
    at = run("pooling", ArrayWorker(), nan_info(), maps)
    assert at.warning[0].value.startswith(NAN_WORDS + " (in conv2), so what pool does")


def test_a_nan_unit_of_the_receptive_field_is_said_to_be_no_number():
    at = run("field", ArrayWorker(), nan_info(), nan_maps(), **{"inspect.rf_layer": "conv2"})
    assert_no_raw_nan(at)
    assert "(value not a number: this model's weights hold NaN)" in markdown_text(at)


def test_no_saliency_or_grad_cam_is_asked_for_with_nan_probabilities():
    client = ArrayWorker()
    at = run("attributions", client, nan_info(), nan_maps())
    assert client.requests == []
    assert at.warning[0].value.startswith(NAN_WORDS + " (in conv2), so saliency and Grad-CAM")


def test_a_dense_network_says_what_does_not_apply_and_shows_saliency():
    client = ArrayWorker()
    for section, expected in [
        ("filters", "This model has no convolution layers, so it has no filters to show"),
        ("maps", "there are no feature maps to show"),
        ("pooling", "This model has no pooling layer."),
        ("field", "there is no receptive field to trace"),
    ]:
        at = run(section, client, dense_info(), dense_maps())
        assert expected in at.info[0].value, section
    assert client.requests == []
    at = run("attributions", client, dense_info(), dense_maps())
    assert [request[0] for request in client.requests] == ["saliency"]
    assert "**Saliency**" in markdown_text(at)
    assert at.info[0].value.startswith("No Grad-CAM")


def test_the_top_nine_search_is_not_offered_for_a_layer_after_the_nan():
    client = ArrayWorker()
    at = run("top", client, nan_info(), nan_maps(), **{"inspect.top_layer": "conv2"})
    assert at.warning[0].value.startswith(
        NAN_WORDS + " (in conv2), so the images that excite conv2 most can't be shown"
    )
    assert not at.button and client.requests == []
    at = run("top", client, nan_info(), nan_maps(), **{"inspect.top_layer": "pool"})
    assert not at.warning and at.button(key="inspect.top_go")
    at = run("top", client, dense_info(), dense_maps())
    assert "no feature maps to show" in at.info[0].value
