"""Tests for core.jobs.inspection: layer kinds, the model and layer descriptions, data-set
references, the top-activation results and the errors either side of the pipe raises."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest

from core.jobs.inspection import (
    ACTIVATION_CLASSES,
    CONV_CLASSES,
    POOL_CLASSES,
    DatasetRef,
    Evaluation,
    InferenceError,
    LayerInfo,
    ModelInfo,
    ModelRejectedError,
    ScanResult,
    WorkerCrashedError,
    layer_kind,
)


def layer(name, kind, shape=(4, 4, 2)) -> LayerInfo:
    return LayerInfo(name=name, class_name="-", kind=kind, output_shape=shape, params=0)


# ---------------------------------------------------------------------------
# Layer kinds
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("classes", "kind"),
    [(CONV_CLASSES, "conv"), (POOL_CLASSES, "pooling"), (ACTIVATION_CLASSES, "activation")],
)
def test_every_known_class_has_its_kind(classes, kind):
    assert {layer_kind(name) for name in classes} == {kind}


@pytest.mark.parametrize(
    ("class_name", "kind"),
    [
        ("Conv2D", "conv"),
        ("DepthwiseConv2D", "conv"),
        ("AveragePooling2D", "pooling"),
        ("ReLU", "activation"),
        ("InputLayer", "input"),
        ("Dense", "other"),
        ("GlobalAveragePooling2D", "other"),  # no feature maps come out of it
        ("conv2d", "other"),  # class names, not layer names
    ],
)
def test_layer_kind_of_single_classes(class_name, kind):
    assert layer_kind(class_name) == kind


# ---------------------------------------------------------------------------
# Layer and model descriptions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "shape", "is_map"),
    [
        ("conv", (4, 4, 2), True),
        ("activation", (4, 4, 2), True),
        ("pooling", (2, 2, 2), True),
        ("activation", (10,), False),  # a softmax after a Dense layer
        ("conv", None, False),  # a shared layer with several outputs
        ("other", (4, 4, 2), False),
        ("input", (4, 4, 2), False),
    ],
)
def test_a_layer_is_a_map_when_it_is_a_conv_activation_or_pooling_image(kind, shape, is_map):
    assert layer("x", kind, shape).is_map is is_map


def test_model_info_picks_its_map_and_conv_layers_in_order():
    layers = (
        layer("input", "input"),
        layer("conv", "conv"),
        layer("relu", "activation"),
        layer("pool", "pooling"),
        layer("flatten", "other", (32,)),
        layer("softmax", "activation", (10,)),
    )
    info = ModelInfo("m.keras", "m", (8, 8, 1), 10, layers, 1234)
    assert info.ok
    assert [item.name for item in info.map_layers] == ["conv", "relu", "pool"]
    assert [item.name for item in info.conv_layers] == ["conv"]
    assert info.layer("pool") is layers[3]
    with pytest.raises(ValueError, match=re.escape("a layer of m. Received: layer='x'.")):
        info.layer("x")
    with pytest.raises(TypeError, match=re.escape("`layer` must be a string. Received: layer=3.")):
        info.layer(3)


def test_a_model_with_a_problem_is_not_ok():
    info = ModelInfo("m.keras", "m", (), 0, (), 0, problem="This model has 2 inputs.")
    assert not info.ok


def test_descriptions_are_frozen_and_survive_the_pipe():
    info = ModelInfo("m.keras", "m", (8, 8, 1), 2, (layer("conv", "conv"),), 10, class_names=("a",))
    assert pickle.loads(pickle.dumps(info)) == info
    with pytest.raises(AttributeError):
        info.name = "other"


# ---------------------------------------------------------------------------
# Data-set references
# ---------------------------------------------------------------------------


def test_dataset_reference_carries_the_data_folder():
    """The worker must read the same test images the page shows, wherever they came from."""
    a = DatasetRef.make("mnist", {"target_size": 28}, data_dir="/data/a")
    b = DatasetRef.make("mnist", {"target_size": 28}, data_dir="/data/b")
    assert a != b and a.data_dir == "/data/a"


def test_dataset_references_are_equal_whatever_the_order_of_the_settings():
    a = DatasetRef.make("mnist", {"target_size": 28, "color_mode": "grayscale"}, limit=600)
    b = DatasetRef.make(
        "mnist", {"color_mode": "grayscale", "target_size": 28}, limit=np.int64(600)
    )
    assert a == b and hash(a) == hash(b)  # one cache entry, one scan
    assert a.preprocessing == (("color_mode", "grayscale"), ("target_size", 28))
    assert a.limit == 600 and type(b.limit) is int
    assert a != DatasetRef.make("mnist", {"target_size": 28, "color_mode": "grayscale"})


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"limit": 600.0}, TypeError, "`limit` must be an integer. Received: limit=600.0."),
        ({"limit": -1}, ValueError, "`limit` must be >= 0. Received: limit=-1."),
        ({"preprocessing": "pad"}, TypeError, "`preprocessing` must be a dict. Received: "),
    ],
)
def test_dataset_reference_refuses_bad_arguments_naming_them(arguments, error, message):
    arguments = {"name": "mnist", "preprocessing": {"target_size": 28}, **arguments}
    with pytest.raises(error, match=re.escape(message)):
        DatasetRef.make(**arguments)


# ---------------------------------------------------------------------------
# Top activations
# ---------------------------------------------------------------------------


def scan_result(max_values, mean_values=None) -> ScanResult:
    max_values = np.asarray(max_values, np.float32)
    rows = np.arange(max_values.size, dtype=np.int32).reshape(max_values.shape)
    return ScanResult("conv", max_values, rows, rows + 100, mean_values)


def test_top_examples_are_the_largest_maxima_best_first_with_their_positions():
    result = scan_result([[0.1, 5.0], [0.9, 1.0], [0.5, 3.0], [0.7, 2.0]])
    top = result.top(0, 3)
    assert top.indices.tolist() == [1, 3, 2]
    assert top.scores.tolist() == pytest.approx([0.9, 0.7, 0.5])
    assert top.rows.tolist() == [2, 6, 4]  # the row of filter 0 at images 1, 3, 2
    assert top.cols.tolist() == [102, 106, 104]
    assert (top.layer, top.filter_index) == ("conv", 0)
    assert result.top(1, 10).indices.tolist() == [0, 2, 3, 1]  # k is capped at N


def test_ties_go_to_the_image_whose_whole_map_responds_more():
    maxima = [[1.0], [1.0], [1.0], [0.5]]
    means = np.array([[0.2], [0.6], [0.4], [0.9]], np.float32)
    assert scan_result(maxima, means).top(0, 4).indices.tolist() == [1, 2, 0, 3]
    assert scan_result(maxima).top(0, 4).indices.tolist() == [0, 1, 2, 3]  # stable without means


@pytest.mark.parametrize("filter_index", [-1, 2])
def test_top_refuses_a_filter_the_layer_does_not_have(filter_index):
    message = f"`filter_index` must be between 0 and 1. Received: filter_index={filter_index}."
    with pytest.raises(ValueError, match=re.escape(message)):
        scan_result([[0.1, 0.2]]).top(filter_index)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((1.0,), TypeError, "`filter_index` must be an integer. Received: filter_index=1.0."),
        ((0, 0), ValueError, "`k` must be >= 1. Received: k=0."),
        ((0, 9.0), TypeError, "`k` must be an integer. Received: k=9.0."),
    ],
)
def test_top_refuses_arguments_of_the_wrong_type_or_value(arguments, error, message):
    with pytest.raises(error, match=re.escape(message)):
        scan_result([[0.1, 0.2]]).top(*arguments)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_errors_are_caught_by_what_the_pages_catch():
    assert issubclass(WorkerCrashedError, InferenceError)
    assert issubclass(InferenceError, RuntimeError)
    assert issubclass(ModelRejectedError, ValueError)  # a bad model is a bad argument


def make_evaluation(probabilities, labels) -> Evaluation:
    probabilities = np.asarray(probabilities, dtype=np.float32)
    labels = np.asarray(labels)
    count = probabilities.shape[1]
    confusion = np.zeros((count, count), np.int64)
    np.add.at(confusion, (labels, probabilities.argmax(1)), 1)
    return Evaluation(probabilities, labels, confusion)


EXAMPLE = make_evaluation(
    [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.5, 0.3], [0.05, 0.9, 0.05], [0.3, 0.3, 0.4]],
    [0, 1, 0, 2, 2],
)


def test_evaluation_cells_are_the_images_of_each_true_and_predicted_pair():
    assert EXAMPLE.predicted.tolist() == [0, 1, 1, 1, 2]
    assert EXAMPLE.cell(0, 0).tolist() == [0]
    assert EXAMPLE.cell(2, 1).tolist() == [3]
    assert EXAMPLE.cell(1, 2).tolist() == []
    every = sorted(i for t in range(3) for p in range(3) for i in EXAMPLE.cell(t, p).tolist())
    assert every == list(range(5))  # each image in exactly one cell
    assert sum(len(EXAMPLE.cell(t, p)) for t in range(3) for p in range(3)) == 5
    assert EXAMPLE.accuracy == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="true_class"):
        EXAMPLE.cell(3, 0)


def test_a_cell_lists_its_most_confident_images_first():
    evaluation = make_evaluation([[0.6, 0.4], [0.9, 0.1], [0.8, 0.2]], [1, 1, 1])
    assert evaluation.cell(1, 0).tolist() == [1, 2, 0]


def test_top_losses_are_the_lowest_probabilities_of_the_true_class():
    expected = -np.log([0.7, 0.6, 0.2, 0.05, 0.4])
    np.testing.assert_allclose(EXAMPLE.losses, expected, rtol=1e-6)
    assert EXAMPLE.top_losses(2).tolist() == [3, 2]
    assert EXAMPLE.top_losses(99).tolist() == [3, 2, 4, 1, 0]
    certain = make_evaluation([[1.0, 0.0]], [1])
    assert certain.losses[0] == pytest.approx(-np.log(1e-7))  # clipped as Keras does


def test_predictions_csv_has_a_row_per_image_with_every_class():
    rows = EXAMPLE.predictions_csv(["cat", "dog", "bird"]).splitlines()
    assert rows[0] == "index,true,predicted,confidence,p(cat),p(dog),p(bird)"
    assert rows[3] == "2,cat,dog,0.500000,0.200000,0.500000,0.300000"
    assert len(rows) == 6
    with pytest.raises(ValueError, match="3 names"):
        EXAMPLE.predictions_csv(["cat", "dog"])


def test_confusion_csv_names_rows_and_columns():
    text = EXAMPLE.confusion_csv(["cat", "dog", "bird, small"])
    assert text.splitlines() == [
        'true \\ predicted,cat,dog,"bird, small"',
        "cat,1,1,0",
        "dog,0,1,0",
        '"bird, small",0,1,1',
    ]
