"""Tests for core.worker.model_description: describing a loaded model for the pages, saying why
a model cannot be inspected, and the one refusal message for files that cannot be loaded.

The small helpers are tested directly (fast); describing real models happens in a worker
process through a `WorkerClient` (slow), as in the app.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.jobs.inspection import LayerInfo, ModelInfo, ModelRejectedError
from core.worker import model_description
from tests.inspect_helpers import MNIST_MODEL

# ---------------------------------------------------------------------------
# Helpers (fast)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            ValueError("Requested the deserialization of a Lambda layer ... safe_mode=False"),
            "This model contains a Lambda layer or other Python code, which this app never "
            "loads (Keras safe_mode). Rebuild it from standard Keras layers and save it again.",
        ),
        (
            TypeError("Could not locate class 'MyBlock'. Make sure custom classes are ...\nmore"),
            "This model uses a custom layer or function that is not part of Keras, so it "
            "cannot be loaded safely here. Keras says: Could not locate class 'MyBlock'. "
            "Make sure custom classes are ...",
        ),
        (
            OSError("File is not a zip file\nTraceback"),
            "The file could not be loaded as a Keras model: File is not a zip file",
        ),
        (KeyError(), "The file could not be loaded as a Keras model: KeyError"),
    ],
)
def test_each_refusal_says_what_to_do(error, expected):
    assert model_description.refusal_message(error) == expected


def test_a_long_keras_message_is_cut_to_one_short_line():
    message = model_description.refusal_message(RuntimeError("x" * 1000 + "\nsecond line"))
    assert message == "The file could not be loaded as a Keras model: " + "x" * 300


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), (3, (3, 3)), ((2, 4), (2, 4)), ([5, 1], (5, 1))]
)
def test_pair_or_none_spells_out_square_sizes(value, expected):
    assert model_description.pair_or_none(value) == expected


def layer(name, kind, shape=(4, 4, 2)) -> LayerInfo:
    return LayerInfo(name=name, class_name="-", kind=kind, output_shape=shape, params=0)


def test_grad_cam_uses_the_last_conv_or_activation_map():
    layers = (
        layer("conv", "conv"),
        layer("relu", "activation"),
        layer("pool", "pooling"),
        layer("dense", "other", (10,)),
    )
    info = ModelInfo("m.keras", "m", (8, 8, 1), 10, layers, 0)
    assert model_description.default_cam_layer(info) == "relu"
    only_pooling = ModelInfo("m.keras", "m", (8, 8, 1), 10, (layer("pool", "pooling"),), 0)
    with pytest.raises(ValueError, match="no conv layer to compute Grad-CAM on"):
        model_description.default_cam_layer(only_pooling)


def test_activation_name_reads_the_function_or_the_object():
    def relu(x):
        return x

    class Fused:
        activation = relu

    class Configured:
        activation = object()

    assert model_description.activation_name(Fused()) == "relu"
    assert model_description.activation_name(Configured()) == "object"
    assert model_description.activation_name(object()) is None


# ---------------------------------------------------------------------------
# Real models, described in a worker (slow)
# ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "message"),
    [("mlp", "no convolution layers"), ("two_inputs", "2 inputs"), ("vector", "not an image")],
)
def test_models_that_are_not_image_cnns_get_a_message(client, models_dir, name, message):
    info = client.model_info(models_dir / f"{name}.keras")
    assert not info.ok
    assert message in info.problem
    with pytest.raises(ModelRejectedError, match=message):
        client.feature_maps(models_dir / f"{name}.keras", np.zeros((28, 28, 1), np.float32))


@pytest.mark.slow
def test_layers_are_described_with_their_windows_and_links(client, models_dir):
    info = client.model_info(models_dir / "branchy.keras")
    assert info.ok and info.input_shape == (32, 32, 3) and info.num_classes == 4
    assert info.class_names == ()  # no sidecar
    strided = info.layer("strided")
    assert (strided.kind, strided.kernel_size, strided.strides) == ("conv", (3, 3), (2, 2))
    assert (strided.padding, strided.filters, strided.activation) == ("valid", 8, "relu")
    assert strided.output_shape == (7, 7, 8) and strided.params == 6 * 9 * 8 + 8
    pool = info.layer("pool")
    assert (pool.kind, pool.kernel_size, pool.strides) == ("pooling", (2, 2), (2, 2))
    assert info.layer("add").inbound == ("left", "right")
    assert info.layer("logits").kind == "other" and info.layer("logits").kernel_size is None
    assert [layer.name for layer in info.conv_layers] == ["left", "right", "strided"]


@pytest.mark.slow
def test_an_upload_check_describes_the_model_for_the_store(client, models_dir):
    described = client.check_model_file(MNIST_MODEL)
    assert described["input_shape"] == [28, 28, 1] and described["output_shape"] == [10]
    assert described["total_params"] == 220_234
    assert described["first_conv_layer"] == "conv2d"
    assert {"name": "conv2d", "class_name": "Conv2D"} in described["layers"]
    dense_only = client.check_model_file(models_dir / "mlp.keras")
    assert dense_only["first_conv_layer"] is None


@pytest.mark.slow
def test_an_upload_check_refuses_a_lambda_layer_with_the_refusal_message(client, models_dir):
    with pytest.raises(ModelRejectedError) as refused:
        client.check_model_file(models_dir / "lambda.keras")
    assert str(refused.value) == model_description.refusal_message(ValueError("Lambda"))
