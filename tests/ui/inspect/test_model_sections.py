"""ui.inspect.model_sections: prediction, receptive field, saliency and Grad-CAM, top images,
summary — through AppTest, on the small numpy CNN of `tests.ui.inspect.small_network`.

Its receptive fields, worked by hand: ``conv`` (3×3 same) sees 3×3 pixels; ``pool`` (2×2,
stride 2) sees 4×4 with units 2 pixels apart; ``conv2`` (3×3 valid on the pooled map) sees
4 + (3 − 1)·2 = 8×8, and its unit ``i`` covers input rows ``[2i − 1, 2i + 7)``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.data.preprocessing import Preprocessing
from core.jobs.inspection import DatasetRef, LayerInfo
from tests.apptest_helpers import (
    chart,
    chart_keys,
    elements_in,
    html_in,
    kept_pictures,
    keyed_block,
    markdown_text,
    pixels,
)
from tests.ui.inspect.small_network import (
    CLASS_NAMES,
    PATH,
    ArrayWorker,
    branched_info,
    branched_maps,
    branched_worker,
    edge_image,
    feature_maps,
    model_info,
)
from ui.inspect import inputs  # not `TestSet` itself: pytest would try to collect it
from ui.inspect.inputs import InputSample
from ui.inspect.model_sections import class_names_for
from ui.widgets.bar_list import HIGHLIGHT_COLOR

PROBABILITIES = feature_maps(edge_image()).probabilities  # 89.2%, 10.4%, 0.4%


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def small_test_set(count: int = 12) -> inputs.TestSet:
    labels = np.arange(count) % 3
    raw = np.zeros((count, 8, 8), np.uint8)
    images = np.zeros((count, 8, 8, 1), np.float32)
    settings = vars(Preprocessing(target_size=8))
    return inputs.TestSet(
        "mnist",
        CLASS_NAMES,
        raw,
        images,
        labels,
        "a test",
        DatasetRef.make("mnist", settings, limit=count),
    )


# ---------------------------------------------------------------------------
# Class names and paths
# ---------------------------------------------------------------------------


def test_class_names_come_from_the_model_then_its_sidecar_then_the_test_set():
    test = small_test_set()
    assert class_names_for(model_info(class_names=("a", "b", "c")), {}, test) == ["a", "b", "c"]
    assert class_names_for(model_info(), {"class_names": [7, 8, 9]}, test) == ["7", "8", "9"]
    assert class_names_for(model_info(), {}, test) == list(CLASS_NAMES)
    assert class_names_for(model_info(), {}, None) == ["0", "1", "2"]


def test_class_names_of_the_wrong_length_are_skipped():
    too_few = {"class_names": ["cat", "dog"]}
    assert class_names_for(model_info(class_names=("x",)), too_few, None) == ["0", "1", "2"]


# ---------------------------------------------------------------------------
# Input and prediction
# ---------------------------------------------------------------------------


def prediction_script(sample, maps):
    from ui.inspect.model_sections import input_and_prediction

    input_and_prediction(sample, maps, ["zero", "one", "two"])


def open_prediction(true_class) -> AppTest:
    sample = InputSample(edge_image(), "test image #3 (zero)", true_class)
    at = AppTest.from_function(prediction_script, args=(sample, feature_maps(edge_image())))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize(
    ("true_class", "verdict"),
    [(0, " :green[— correct]"), (1, " :red[— wrong]"), (None, "")],
)
def test_the_prediction_is_judged_only_when_the_true_class_is_known(true_class, verdict):
    at = open_prediction(true_class)
    assert markdown_text(at) == f"**Prediction: zero** ({PROBABILITIES[0]:.1%}){verdict}"


def test_the_input_is_described_beside_the_probabilities():
    with kept_pictures() as kept:
        at = open_prediction(1)
    assert captions(at)[0] == (
        "test image #3 (zero): 8×8×1, values 0.00 to 1.00 (0 = black, 1 = white), each pixel "
        "drawn as a square."
    )
    assert chart_keys(at) == []  # a picture and printed bars: no Plotly to load
    (image,) = elements_in(keyed_block(at, "inspect.input_chart"), "image")
    shown = pixels(kept, image)
    assert shown.shape == (256, 256, 3)  # 8×8 pixels, 32 screen pixels each
    grey = np.round(edge_image()[:, :, 0] * 255)
    np.testing.assert_array_equal(shown[16::32, 16::32, 0], grey)
    page = html_in(keyed_block(at, "inspect.prediction_chart"))
    labels = re.findall(r"nowrap\">([^<]*)</div>", page)
    assert labels == ["zero", "one ✓", "two"]
    assert re.findall(r">(\d+\.\d%)</div>", page) == [f"{p:.1%}" for p in PROBABILITIES]
    widths = [float(w) for w in re.findall(r"width:([\d.]+)%", page)]
    np.testing.assert_allclose(widths, 100 * PROBABILITIES, atol=0.05)
    assert page.count(HIGHLIGHT_COLOR) == 1  # the predicted class


# ---------------------------------------------------------------------------
# Receptive field
# ---------------------------------------------------------------------------


def field_script(info, sample, maps):
    from ui.inspect.model_sections import receptive_field

    receptive_field(info, sample, maps)


def open_field(info=None, maps=None) -> AppTest:
    sample = InputSample(edge_image(), "edge")
    maps = feature_maps(sample.image) if maps is None else maps
    at = AppTest.from_function(field_script, args=(info or model_info(), sample, maps))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_deepest_map_starts_at_its_strongest_unit_and_sees_8_by_8_pixels():
    at = open_field()
    assert at.selectbox(key="inspect.rf_layer").value == "conv2"
    conv2 = feature_maps(edge_image()).maps["conv2"][:, :, 0]
    strongest = np.unravel_index(int(np.argmax(conv2)), conv2.shape)
    assert at.slider(key="inspect.rf_row_conv2").value == strongest[0]
    assert at.slider(key="inspect.rf_col_conv2").value == strongest[1]
    at.slider(key="inspect.rf_row_conv2").set_value(1)
    at.slider(key="inspect.rf_col_conv2").set_value(0).run()
    text = markdown_text(at)
    assert f"Unit (1, 0) of map 0 in **conv2** (value {conv2[1, 0]:.3f})" in text
    assert "depends on a **8×8** window of the input." in text
    assert "At the border only 7×7 of it lies on the image" in text  # rows [1, 9), cols [-1, 7)
    assert "Neighbouring units are 2 pixels apart." in text


def test_the_outline_is_drawn_on_the_pixels_the_unit_sees():
    at = open_field()
    at.slider(key="inspect.rf_row_conv2").set_value(1)
    at.slider(key="inspect.rf_col_conv2").set_value(0).run()
    figure = chart(at, "inspect.rf_figure")
    frame, dotted, solid = figure["layout"]["shapes"]  # the picture's frame first
    assert (frame["x0"], frame["y0"]) == (-0.5, -0.5)
    assert (solid["y0"], solid["y1"], solid["x0"], solid["x1"]) == (0.5, 7.5, -0.5, 6.5)
    assert (dotted["y0"], dotted["y1"], dotted["x0"], dotted["x1"]) == (0.5, 8.5, -1.5, 6.5)
    assert figure["layout"]["title"]["text"] == "conv2[1, 0] sees this"


def test_the_table_grows_the_field_layer_by_layer():
    table = open_field().dataframe[0].value
    assert table[["layer", "receptive field", "jump", "map size"]].to_dict("records") == [
        {"layer": "input", "receptive field": "1×1", "jump": 1, "map size": "8×8"},
        {"layer": "conv", "receptive field": "3×3", "jump": 1, "map size": "8×8"},
        {"layer": "pool", "receptive field": "4×4", "jump": 2, "map size": "4×4"},
        {"layer": "conv2", "receptive field": "8×8", "jump": 2, "map size": "2×2"},
    ]
    assert set(table["branch"]) == {""} and set(table["note"]) == {""}  # a plain chain


def test_a_unit_inside_the_image_needs_no_border_note():
    at = open_field()
    at.selectbox(key="inspect.rf_layer").set_value("pool").run()
    at.slider(key="inspect.rf_row_pool").set_value(1)
    at.slider(key="inspect.rf_col_pool").set_value(2).run()
    text = markdown_text(at)
    assert "in **pool**" in text and "depends on a **4×4** window" in text
    assert "At the border" not in text  # rows [1, 5), cols [3, 7)
    solid = chart(at, "inspect.rf_figure")["layout"]["shapes"][-1]
    assert (solid["y0"], solid["x0"]) == (0.5, 2.5)


def test_a_sequential_model_without_its_input_layer_listed_has_the_same_table():
    at = open_field(model_info(layers=model_info().layers[1:]))  # as Keras lists Sequential
    assert not at.exception and not at.info
    assert list(at.dataframe[0].value["receptive field"]) == ["1×1", "3×3", "4×4", "8×8"]


def test_behind_merges_the_field_is_the_union_of_the_branches_and_says_so():
    at = open_field(branched_info(), branched_maps())
    assert at.selectbox(key="inspect.rf_layer").value == "pool"
    at.slider(key="inspect.rf_row_pool").set_value(1)
    at.slider(key="inspect.rf_col_pool").set_value(1).run()
    assert not at.exception and not at.error
    text = markdown_text(at)
    assert "depends on a **8×8** window of the input." in text
    assert (
        "This is a **maximum over branches**: add joins windows of 5×5 (a_relu) and 3×3 "
        "(stem); mixed joins windows of 5×5 (tower_1) and 7×7 (tower_3)."
    ) in text
    table = at.dataframe[0].value
    assert list(table["layer"]) == [
        "input",
        "stem",
        "a1",
        "bn",
        "a_relu",
        "add",
        "tower_3",
        "mixed",
        "pool",
    ]
    assert list(table["receptive field"]) == [
        "1×1",
        "3×3",
        "5×5",
        "5×5",
        "5×5",
        "5×5",
        "7×7",
        "7×7",
        "8×8",
    ]
    assert table.iloc[6]["branch"] == "branch 2 of mixed"
    assert table.iloc[7]["note"] == "union of its inputs' windows: 5×5 via tower_1, 7×7 via tower_3"
    # pool unit 1 reads mixed units 2 and 3, which see input rows [2 − 3, 3 + 3] = [−1, 6].
    _, dotted, solid = chart(at, "inspect.rf_figure")["layout"]["shapes"]
    assert (dotted["y0"], dotted["x0"], dotted["y1"], dotted["x1"]) == (-1.5, -1.5, 6.5, 6.5)
    assert (solid["y0"], solid["x0"], solid["y1"], solid["x1"]) == (-0.5, -0.5, 6.5, 6.5)


def test_a_layer_inside_a_branch_follows_its_own_branch():
    at = open_field(branched_info(), branched_maps())
    at.selectbox(key="inspect.rf_layer").set_value("tower_1").run()
    text = markdown_text(at)
    assert "depends on a **5×5** window" in text  # 1×1 after the 5×5 of add
    assert "maximum over branches" in text  # add, before it, joined 5×5 and 3×3
    assert list(at.dataframe[0].value["layer"])[-2:] == ["add", "tower_1"]
    assert "tower_1 (branch 1 of mixed)" in at.selectbox(key="inspect.rf_layer").options


def test_a_layer_that_resizes_the_map_has_no_field_and_the_page_says_why():
    layers = tuple(
        layer
        if layer.name != "conv2"
        else LayerInfo(
            "conv2",
            "Conv2DTranspose",
            "conv",
            (8, 8, 4),
            0,
            kernel_size=(2, 2),
            strides=(2, 2),
            padding="valid",
            inbound=("pool",),
        )
        for layer in model_info().layers
    )
    maps = feature_maps(edge_image())
    maps.maps["conv2"] = np.ones((8, 8, 4), np.float32)
    at = open_field(model_info(layers=layers), maps)
    assert not at.exception and not at.error
    assert [i.value for i in at.info] == [
        "The receptive field of conv2 cannot be worked out here: conv2 (Conv2DTranspose) "
        "changes the map from (4, 4) to (8, 8) in a way this page does not model."
    ]


# ---------------------------------------------------------------------------
# Saliency and Grad-CAM
# ---------------------------------------------------------------------------


def attributions_script(client, sample, maps, info):
    from ui.inspect.model_sections import attributions

    attributions(client, "/models/small.keras", info, sample, maps, ["a", "b", "c"])


def open_attributions(client, info=None, maps=None) -> AppTest:
    sample = InputSample(edge_image(), "edge")
    maps = feature_maps(sample.image) if maps is None else maps
    at = AppTest.from_function(
        attributions_script, args=(client, sample, maps, info or model_info())
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_predicted_class_is_explained_at_the_last_conv_layer_by_default():
    client = ArrayWorker()
    at = open_attributions(client)
    assert at.selectbox(key="inspect.cam_class").options == ["the predicted class", "a", "b", "c"]
    assert at.selectbox(key="inspect.cam_layer").options == [
        "conv",
        "pool",
        "conv2 — last convolution",
    ]
    assert client.requests == [("saliency", PATH, 0), ("grad_cam", PATH, 0, "conv2")]
    assert [m.value for m in at.markdown] == ["**Input**", "**Saliency**", "**Grad-CAM (conv2)**"]
    assert len(at.get("image")) == 3
    assert captions(at)[0].startswith(
        f"Explaining **a** (probability {PROBABILITIES[0]:.1%}; the gradients are of its logit, "
        "the score before softmax)."
    )
    assert captions(at)[0].endswith(
        "the conv2 maps weighted by their average gradient, ReLU, upsampled from 2×2. Both "
        "scaled to 0–1, hot = more."
    )


def test_another_class_and_layer_are_asked_for():
    client = ArrayWorker()
    at = open_attributions(client)
    at.selectbox(key="inspect.cam_class").set_value(2)
    at.selectbox(key="inspect.cam_layer").set_value("conv").run()
    assert client.requests[-2:] == [("saliency", PATH, 2), ("grad_cam", PATH, 2, "conv")]
    assert captions(at)[0].startswith(f"Explaining **c** (probability {PROBABILITIES[2]:.1%};")
    assert "**Grad-CAM (conv)**" in markdown_text(at)


def test_grad_cam_defaults_to_the_last_convolution_and_works_inside_a_branch():
    client = branched_worker()
    at = open_attributions(client, branched_info(), branched_maps())
    layer = at.selectbox(key="inspect.cam_layer")
    assert layer.value == "tower_1"  # the deepest conv; tower_3 is as deep but listed earlier
    assert "tower_1 (branch 1 of mixed) — last convolution" in layer.options
    assert "mixed" in layer.options and "a_relu (residual branch of add)" in layer.options
    assert client.requests[-1] == ("grad_cam", PATH, 1, "tower_1")
    assert captions(at)[-1] == (
        "tower_1 lies in a branch (branch 1 of mixed): this Grad-CAM sees only the evidence "
        "that flows through that branch. Pick mixed (or a layer after it) for all branches "
        "together."
    )
    layer.set_value("mixed").run()
    assert client.requests[-1] == ("grad_cam", PATH, 1, "mixed")
    assert not any("lies in a branch" in c for c in captions(at))


@pytest.mark.parametrize("failing", ["saliency", "grad_cam"])
def test_a_failed_attribution_is_an_error_and_no_pictures(failing):
    at = open_attributions(ArrayWorker(failing=(failing,)))
    assert [e.value for e in at.error] == [f"The worker could not answer {failing}."]
    assert not at.get("image") and not at.caption


# ---------------------------------------------------------------------------
# Top 9 images
# ---------------------------------------------------------------------------


def top_script(client, test, info=None):
    from tests.ui.inspect.small_network import model_info
    from ui.inspect.model_sections import top_examples

    top_examples(client, "/models/small.keras", info or model_info(), test)


def open_top(client, test=None, info=None) -> AppTest:
    test = small_test_set() if test is None else test
    at = AppTest.from_function(top_script, args=(client, test, info)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def gallery(at: AppTest) -> list[str]:
    (images,) = at.get("image")
    return [image.caption for image in images.proto.imgs]


def test_without_a_test_set_there_is_nothing_to_search():
    at = AppTest.from_function(top_script, args=(ArrayWorker(), None)).run()
    assert [i.value for i in at.info] == [
        "Needs a test set of images like the model's training data."
    ]


def test_before_a_search_the_button_says_how_many_images_it_will_search():
    client = ArrayWorker()
    at = open_top(client)
    assert at.button(key="inspect.top_go").label == "Find the top 9 among 12 test images"
    assert captions(at)[0].startswith("Zeiler & Fergus looked for the images")
    assert client.requests == []  # nothing searched until asked


def test_the_search_shows_the_nine_strongest_images_with_their_scores():
    client = ArrayWorker()
    at = open_top(client)
    at.button(key="inspect.top_go").click().run()
    assert client.requests == [("scan_activations", PATH, "conv", small_test_set().reference)]
    assert gallery(at) == [f"#{i} {CLASS_NAMES[i % 3]}: {i:.2f}" for i in range(11, 2, -1)]
    assert captions(at)[0].startswith("Searched in 1.5 s.")
    at.run()
    assert at.button(key="inspect.top_go").disabled  # done: another filter needs no search


def test_another_filter_of_the_same_search_is_instant():
    client = ArrayWorker()
    at = open_top(client)
    at.button(key="inspect.top_go").click().run()
    at.number_input(key="inspect.top_filter").set_value(1).run()
    assert len(client.requests) == 1
    assert gallery(at)[0] == "#11 two: 22.00"


def test_a_running_search_shows_its_progress_then_its_result():
    client = ArrayWorker(scan_steps=3)
    at = open_top(client)
    at.button(key="inspect.top_go").click().run()
    (bar,) = at.get("progress")
    assert (bar.proto.value, bar.proto.text) == (25, "Searched 3 of 12 images…")
    assert not at.get("image")
    scan = client.scans["conv"]
    scan.done, scan.result = 12, client.scan_result("conv", 12)  # the worker finishes
    at.run()
    assert not at.get("progress")
    assert gallery(at)[0] == "#11 two: 11.00"


def test_the_search_works_for_a_layer_inside_a_branch():
    client = branched_worker()
    at = open_top(client, info=branched_info())
    at.selectbox(key="inspect.top_layer").set_value("tower_3").run()
    at.number_input(key="inspect.top_filter").set_value(2).run()
    at.button(key="inspect.top_go").click().run()
    assert not at.exception and not at.error
    assert client.requests[-1][:3] == ("scan_activations", PATH, "tower_3")
    assert gallery(at)[0] == "#11 two: 33.00"
    assert "orange box" in captions(at)[0]
    (images,) = at.get("image")
    assert len(images.proto.imgs) == 9


def test_a_failed_search_is_an_error_and_can_be_tried_again():
    client = ArrayWorker(scan_error="out of memory")
    at = open_top(client)
    at.button(key="inspect.top_go").click().run()
    assert [e.value for e in at.error] == ["The search failed: out of memory"]
    assert not at.button(key="inspect.top_go").disabled


# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------


def summary_script(metadata):
    from tests.ui.inspect.small_network import model_info
    from ui.inspect.model_sections import summary

    summary(model_info(), metadata)


def open_summary(metadata) -> AppTest:
    at = AppTest.from_function(summary_script, args=(metadata,)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_summary_counts_parameters_and_those_in_convolutions():
    at = open_summary({})
    table = at.dataframe[0].value
    assert list(table["layer"]) == ["input", "conv", "pool", "conv2", "flatten", "dense"]
    assert list(table["parameters"]) == [0, 40, 0, 74, 0, 27]
    assert markdown_text(at) == (
        "**141 parameters**, of which 114 in convolution layers. Input (8, 8, 1), 3 classes."
    )
    assert not any(c.startswith("Trained on") for c in captions(at))


@pytest.mark.parametrize(
    ("metadata", "text"),
    [
        ({"dataset": "fashion_mnist"}, "Trained on Fashion-MNIST."),
        (
            {"dataset": "mnist", "metrics": {"test_accuracy": 0.9912}},
            "Trained on MNIST; test accuracy 99.12%.",
        ),
        ({"dataset": "pets", "metrics": {"test_accuracy": None}}, "Trained on pets."),
    ],
)
def test_what_the_model_was_trained_on_is_said(metadata, text):
    assert captions(open_summary(metadata))[0] == text
