"""Tests for core.worker.model_building: Keras models from specs and presets, transfer models,
optimizers, augmentation layers, and saving.

The refusals come before Keras is imported and are fast; the rest build real Keras models in
the test process (marked slow, like the model-store tests that do the same).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from core.jobs.train_config import Augmentation, TrainConfig
from core.nets.gallery import GALLERY_KEYS, network
from core.nets.specs import INPUT_NAME, spec_from_dict
from core.nets.summary import summarize
from core.worker import model_building, training_data
from tests.helpers_training import TRANSFER_RANDOM, tiny_spec_dict


def tiny_data(shape=(8, 8, 1), classes=("top", "bottom")) -> training_data.TrainingData:
    """A few images of ``shape``, enough to build a model for (not to train one)."""
    labels = np.arange(4) % len(classes)
    return training_data.TrainingData(
        x_train=np.zeros((4, *shape), np.float32),
        y_train=labels,
        x_validation=None,
        y_validation=None,
        x_test=np.zeros((2, *shape), np.float32),
        y_test=labels[:2],
        class_names=list(classes),
        evaluated_on="test",
        source="test",
    )


@pytest.fixture(scope="module")
def keras():
    from core.worker.environment import import_keras

    return import_keras()


# ---------------------------------------------------------------------------
# Refusals before Keras (fast)
# ---------------------------------------------------------------------------


def test_the_worker_refuses_grayscale_data_for_a_transfer_model_before_keras():
    data = training_data.TrainingData(
        x_train=np.zeros((4, 40, 40, 1), np.float32),
        y_train=np.array([0, 1, 0, 1]),
        x_validation=None,
        y_validation=None,
        x_test=np.zeros((2, 40, 40, 1), np.float32),
        y_test=np.array([0, 1]),
        class_names=["a", "b"],
        evaluated_on="test",
        source="test",
    )
    with pytest.raises(ValueError, match="this data gives 40×40×1"):
        model_building.build_training_model(None, {"model": dict(TRANSFER_RANDOM)}, data)


@pytest.mark.parametrize(
    ("arguments", "error", "received"),
    [
        ({"input_shape": (16, 16, 3)}, ValueError, "input_shape=(16, 16, 3)"),
        ({"input_shape": (64, 64, 2)}, ValueError, "input_shape=(64, 64, 2)"),
        ({"input_shape": (64.0, 64, 3)}, TypeError, "input_shape=(64.0, 64, 3)"),
        ({"num_classes": 1}, ValueError, "num_classes=1"),
        ({"num_classes": 2.0}, TypeError, "num_classes=2.0"),
        ({"weights": "cifar"}, ValueError, "weights='cifar'"),
        ({"weights": 1}, TypeError, "weights=1"),
        ({"base": "ResNet50"}, ValueError, "base='ResNet50'"),
    ],
)
def test_build_transfer_model_refuses_bad_arguments_naming_them(arguments, error, received):
    arguments = {"input_shape": (64, 64, 3), "num_classes": 2, "weights": None, **arguments}
    with pytest.raises(error, match=re.escape(f"Received: {received}.")):
        model_building.build_transfer_model(**arguments)


# ---------------------------------------------------------------------------
# Keras models (slow: Keras in the test process)
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_spec_builds_the_model_its_summary_describes(keras):
    spec = spec_from_dict(tiny_spec_dict(filters=6))
    model = model_building.build_model(spec)
    summary = summarize(spec)
    assert model.count_params() == summary.total_params
    assert model.input_shape == (None, 8, 8, 1) and model.output_shape == (None, 2)
    assert [layer.name for layer in model.layers] == [layer.name for layer in spec.layers]
    probabilities = np.asarray(model(np.zeros((3, 8, 8, 1), np.float32)))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("key", GALLERY_KEYS)
def test_every_gallery_network_is_the_model_its_summary_describes(keras, key):
    """Output shape and parameters of every layer, and the totals, as Keras counts them."""
    spec = network(key)
    summary = summarize(spec)
    model = model_building.build_model(spec)
    try:
        layers = {layer.name: layer for layer in model.layers}
        layers.pop(INPUT_NAME, None)  # the functional API's InputLayer
        assert sorted(layers) == sorted(row.name for row in summary.layers)
        for row in summary.layers:
            assert tuple(layers[row.name].output.shape[1:]) == row.output_shape, row.name
            assert layers[row.name].count_params() == row.params, row.name
        assert model.count_params() == summary.total_params
        trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
        assert trainable == summary.trainable_params
        assert type(model).__name__ == ("Functional" if spec.has_branches else "Sequential")
    finally:
        del model
        keras.backend.clear_session()


@pytest.mark.slow
def test_vgg16_conv_base_is_keras_applications_vgg16_without_its_top(keras):
    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(224, 224, 3))
    summary = summarize(network("vgg16"))
    assert base.count_params() == summary.params_up_to("block5_pool") == 14_714_688
    assert [layer.name for layer in base.layers[1:]] == [
        row.name for row in summary.layers[: len(base.layers) - 1]
    ]
    del base
    keras.backend.clear_session()


@pytest.mark.slow
def test_a_branched_spec_trains_a_step(keras):
    """The functional model compiles and learns like a Sequential one."""
    spec = network("resnet20", input_shape=(8, 8, 1), num_classes=2)
    model = model_building.build_model(spec)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = [weight.copy() for weight in model.get_weights()]
    model.fit(np.ones((4, 8, 8, 1), np.float32), np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    assert any(
        not np.array_equal(old, new) for old, new in zip(before, model.get_weights(), strict=True)
    )


@pytest.mark.slow
def test_a_preset_is_adapted_to_the_data_and_recorded_as_a_spec(keras):
    config = {"model": {"preset": "mnist_cnn_a"}}
    model = model_building.build_training_model(keras, config, tiny_data(classes="abc"))
    assert model.input_shape == (None, 8, 8, 1) and model.output_shape == (None, 3)
    assert config["model"]["spec"]["input_shape"] == [8, 8, 1]  # what the sidecar records


@pytest.mark.slow
def test_a_model_that_does_not_fit_the_data_is_refused_saying_how(keras):
    spec = {"model": {"spec": tiny_spec_dict()}}
    with pytest.raises(ValueError, match=r"expects images of shape \(8, 8, 1\).*\(9, 9, 1\)"):
        model_building.build_training_model(keras, spec, tiny_data(shape=(9, 9, 1)))
    with pytest.raises(ValueError, match="has 2 outputs but the data set has 3 classes"):
        model_building.build_training_model(
            keras, {"model": {"spec": tiny_spec_dict()}}, tiny_data(classes="abc")
        )


@pytest.mark.slow
def test_a_saved_model_is_trained_further_and_saved_atomically(keras, tmp_path):
    model = model_building.build_model(spec_from_dict(tiny_spec_dict()))
    path = model_building.save_keras_model(model, tmp_path / "model.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]  # no temporary left
    loaded = model_building.build_training_model(
        keras, {"model": {"keras_path": str(path)}}, tiny_data()
    )
    for saved, original in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, original)


@pytest.mark.slow
def test_a_transfer_model_from_random_weights_has_a_frozen_base_and_a_new_head(keras):
    model = model_building.build_transfer_model(
        input_shape=(32, 32, 1), num_classes=4, weights=None
    )
    assert model.input_shape == (None, 32, 32, 1) and model.output_shape == (None, 4)
    trainable = {weight.path.split("/")[0] for weight in model.trainable_weights}
    assert trainable == {"dense"}  # only the head learns
    assert model.get_layer("gray_to_rgb").output.shape[-1] == 3
    assert model_building.first_conv_layer(model).name == "Conv1"  # found inside the base


@pytest.mark.slow
def test_first_conv_layer_is_none_for_a_dense_network(keras):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert model_building.first_conv_layer(model) is None


@pytest.mark.slow
@pytest.mark.parametrize(
    ("optimizer", "kind"), [("sgd", "SGD"), ("rmsprop", "RMSprop"), ("adam", "Adam")]
)
def test_the_optimizer_and_its_cosine_schedule(keras, optimizer, kind):
    config = TrainConfig(optimizer=optimizer, learning_rate=0.1, momentum=0.5)
    made = model_building.make_optimizer(keras, config, total_steps=100)
    assert type(made).__name__ == kind
    # The step size falls along half a cosine to 0 at the last planned batch.
    for step, expected in ((0, 0.1), (50, 0.05), (100, 0.0)):
        made.iterations.assign(step)
        assert float(made.learning_rate) == pytest.approx(expected, abs=1e-7)
    if optimizer == "sgd":
        assert made.momentum == pytest.approx(0.5)
    constant = TrainConfig(
        optimizer=optimizer, learning_rate=0.1, learning_rate_schedule="constant"
    )
    assert float(model_building.make_optimizer(keras, constant, total_steps=100).learning_rate) == (
        pytest.approx(0.1)
    )


@pytest.mark.slow
def test_augmentation_layers_follow_the_settings_in_order(keras):
    assert model_building.augmentation_model(keras, Augmentation()) is None
    augmenter = model_building.augmentation_model(
        keras, Augmentation(flip="vertical", rotation=0.1, translation=0.1, zoom=0.2)
    )
    assert [type(layer).__name__ for layer in augmenter.layers] == [
        "RandomFlip",
        "RandomRotation",
        "RandomTranslation",
        "RandomZoom",
    ]
    only_zoom = model_building.augmentation_model(keras, Augmentation(zoom=0.2))
    assert [type(layer).__name__ for layer in only_zoom.layers] == ["RandomZoom"]


@pytest.mark.slow
def test_augmented_examples_are_seeded_in_range_and_copies_when_inactive(keras):
    image = np.zeros((8, 8, 1), np.float32)
    image[:4] = 1.0
    copies = model_building.augment_examples(image, Augmentation(), count=3, seed=0)
    np.testing.assert_array_equal(copies, np.repeat(image[np.newaxis], 3, axis=0))
    flips = Augmentation(flip="vertical", rotation=0.1)
    versions = model_building.augment_examples(image, flips, count=6, seed=3)
    assert versions.shape == (6, 8, 8, 1) and versions.dtype == np.float32
    assert versions.min() >= 0.0 and versions.max() <= 1.0
    assert len({version.tobytes() for version in versions}) > 1
    again = model_building.augment_examples(image, flips, count=6, seed=3)
    np.testing.assert_array_equal(versions, again)
