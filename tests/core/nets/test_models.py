"""core.nets: specs, presets, the pure-Python summary against Keras, code, JSON, transfer."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from core.base.paths import PROJECT_ROOT
from core.nets.keras_code import to_keras_code
from core.nets.presets import PRESET_INPUT_SHAPES, PRESETS, preset
from core.nets.specs import (
    LAYER_TYPES,
    LayerSpec,
    ModelSpec,
    average_pooling2d,
    batch_normalization,
    conv2d,
    dense,
    dropout,
    flatten,
    global_average_pooling2d,
    max_pooling2d,
    spec_from_dict,
    spec_to_dict,
)
from core.nets.summary import InvalidModelError, summarize
from core.nets.transfer import (
    WeightsUnavailableError,
    imagenet_weights_cached,
    imagenet_weights_path,
    transfer_entry,
    transfer_input_problem,
    transfer_summary_rows,
)
from core.worker.model_building import build_model, build_transfer_model

ROOT = PROJECT_ROOT
# The input shapes of the built-in data sets (MNIST and Fashion-MNIST share one).
DATASET_SHAPES = [(28, 28, 1), (32, 32, 3)]


@pytest.fixture(scope="module")
def keras():
    """Keras, imported once for this module (a few seconds on first use)."""
    import keras

    return keras


def every_layer_type_spec() -> ModelSpec:
    """A stack that uses every layer type and the less common settings."""
    return ModelSpec(
        "everything",
        (30, 26, 3),
        (
            conv2d(8, (3, 5), strides=(2, 1), padding="same", activation="tanh"),
            batch_normalization(),
            average_pooling2d(3, strides=2, padding="same"),
            conv2d(12, 2, activation="sigmoid"),
            max_pooling2d((2, 3), strides=1),
            dropout(0.25),
            global_average_pooling2d(),
            dense(16, "linear"),
            batch_normalization(),
            dense(4, "softmax"),
        ),
    )


def flatten_spec() -> ModelSpec:
    """Flatten after odd sizes, strides larger than the window and 'same' max pooling."""
    return ModelSpec(
        "flattened",
        (27, 31, 1),
        (
            conv2d(6, 4, strides=3),
            max_pooling2d(2, strides=3, padding="same"),
            flatten(),
            dropout(0.1),
            dense(3, "softmax"),
        ),
    )


def all_specs() -> list[tuple[str, ModelSpec]]:
    specs = [(f"{name}-original", preset(name)) for name in PRESETS]
    specs += [
        (f"{name}-{'x'.join(map(str, shape))}", preset(name, input_shape=shape, num_classes=10))
        for name in PRESETS
        for shape in DATASET_SHAPES
    ]
    specs.append(("every-layer-type", every_layer_type_spec()))
    specs.append(("flatten-after-strided-pooling", flatten_spec()))
    return specs


SPECS = all_specs()
SPEC_IDS = [label for label, _ in SPECS]


# --------------------------------------------------------------------------------------------
# Exact numbers from the seed texts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "total"),
    [("mlp", 669_706), ("mnist_cnn_a", 220_234), ("mnist_cnn_b", 93_322), ("cifar10_cnn", 528_054)],
)
def test_seed_parameter_counts_are_exact(name, total):
    assert summarize(preset(name)).total_params == total


def test_mlp_layer_parameters_match_the_seed():
    params = [layer.params for layer in summarize(preset("mlp")).layers]
    assert params == [0, 401_920, 262_656, 5_130]


def test_mnist_cnn_a_layer_parameters_and_flatten_size():
    summary = summarize(preset("mnist_cnn_a"))
    assert [layer.params for layer in summary.layers if layer.params] == [320, 18_496, 200_768, 650]
    assert summary.layers[4].output_shape == (3136,)


def test_mnist_cnn_b_output_shapes_match_the_seed():
    shapes = [layer.output_shape for layer in summarize(preset("mnist_cnn_b")).layers]
    assert shapes[:6] == [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64), (576,)]


def test_cifar10_cnn_flattens_to_1024():
    summary = summarize(preset("cifar10_cnn"))
    assert next(row for row in summary.layers if row.type == "Flatten").output_shape == (1024,)


def test_dogs_vs_cats_cnn_flattens_16_by_16_by_64_into_two_classes():
    summary = summarize(preset("dogs_vs_cats_cnn"))
    assert next(row for row in summary.layers if row.type == "Flatten").output_shape == (
        16 * 16 * 64,
    )
    assert summary.output_shape == (2,)


@pytest.mark.parametrize(("name", "total"), [("lenet5", 61_706), ("tinyvgg", 19_920)])
def test_documented_variants_have_the_documented_parameter_counts(name, total):
    assert summarize(preset(name)).total_params == total
    assert f"{total:,} parameters" in PRESETS[name]


def test_tinyvgg_matches_cnn_explainer_shapes():
    shapes = [layer.output_shape for layer in summarize(preset("tinyvgg")).layers]
    assert shapes[:6] == [
        (62, 62, 10),
        (60, 60, 10),
        (30, 30, 10),
        (28, 28, 10),
        (26, 26, 10),
        (13, 13, 10),
    ]


def test_every_preset_has_a_description_and_an_input_shape():
    assert (
        set(PRESETS)
        == set(PRESET_INPUT_SHAPES)
        == {
            "mlp",
            "mnist_cnn_a",
            "mnist_cnn_b",
            "mnist_cnn_c",
            "cifar10_cnn",
            "dogs_vs_cats_cnn",
            "lenet5",
            "tinyvgg",
        }
    )


# --------------------------------------------------------------------------------------------
# The pure-Python summary against Keras itself
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "spec"), SPECS, ids=SPEC_IDS)
def test_summary_matches_keras(keras, label, spec):
    summary = summarize(spec)
    model = build_model(spec)
    assert model.count_params() == summary.total_params
    assert [layer.name for layer in model.layers] == [row.name for row in summary.layers]
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == [
        row.output_shape for row in summary.layers
    ]
    assert [layer.count_params() for layer in model.layers] == [
        row.params for row in summary.layers
    ]
    non_trainable = sum(int(w.shape.num_elements() or 1) for w in model.non_trainable_weights)
    assert non_trainable == summary.non_trainable_params


@pytest.mark.parametrize(("label", "spec"), SPECS, ids=SPEC_IDS)
def test_keras_code_builds_the_same_model(keras, label, spec, capsys):
    namespace: dict = {}
    exec(compile(to_keras_code(spec), f"<{label}>", "exec"), namespace)
    model = namespace["model"]
    summary = summarize(spec)
    assert model.count_params() == summary.total_params
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == [
        row.output_shape for row in summary.layers
    ]
    assert model.name == spec.name


def test_build_model_ends_with_softmax(keras):
    model = build_model(preset("mnist_cnn_a"))
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert tuple(model.input_shape) == (None, 28, 28, 1)


def test_batch_normalization_parameters_are_split_into_trainable_and_not():
    summary = summarize(every_layer_type_spec())
    row = summary.layers[1]
    assert (row.params, row.non_trainable_params, row.trainable_params) == (32, 16, 16)
    assert summary.trainable_params + summary.non_trainable_params == summary.total_params


def test_summary_counts_multiply_adds():
    layers = summarize(preset("mnist_cnn_a")).layers
    assert layers[0].macs == 28 * 28 * 32 * 3 * 3 * 1
    assert layers[5].macs == 3136 * 64
    assert layers[1].macs == 0  # pooling has no weights


def test_receptive_fields_grow_as_the_textbook_recurrence_says():
    fields = [layer.receptive_field for layer in summarize(preset("mnist_cnn_b")).layers]
    # 3; +1 (pool 2); +2*2 (conv 3 at jump 2); +1*4 (pool 2 at jump 2); +2*4 (conv at jump 4)
    assert fields[:5] == [3, 4, 8, 10, 18]
    assert fields[5] is None  # after Flatten every value sees the whole image


def test_receptive_fields_match_the_gradient_support_in_tensorflow(keras):
    """Independent reference: which input pixels move the centre output of each layer."""
    import tensorflow as tf

    spec = ModelSpec(
        "field",
        (41, 41, 1),
        (
            conv2d(1, 3, activation="linear"),
            average_pooling2d(2),
            conv2d(1, (5, 3), strides=2, activation="linear"),
            average_pooling2d(3, strides=1),
            flatten(),
            dense(2, "softmax"),
        ),
    )
    model = build_model(spec)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([tf.ones_like(w).numpy() for w in layer.weights])
    image = tf.ones((1, 41, 41, 1))
    for index, row in enumerate(summarize(spec).layers[:4]):
        probe = keras.Model(model.inputs, model.layers[index].output)
        with tf.GradientTape() as tape:
            tape.watch(image)
            output = probe(image)
            centre = output[0, output.shape[1] // 2, output.shape[2] // 2, 0]
        support = tf.where(tf.abs(tape.gradient(centre, image))[0, :, :, 0] > 0).numpy()
        extent = tuple(int(v) for v in support.max(axis=0) - support.min(axis=0) + 1)
        assert extent == row.receptive_field_hw, row.name


def test_two_stacked_3x3_convolutions_see_5x5():
    spec = ModelSpec("two", (9, 9, 1), (conv2d(1, 3), conv2d(1, 3), flatten(), dense(2, "softmax")))
    assert summarize(spec).layers[1].receptive_field_hw == (5, 5)


def test_summary_rows_are_ready_for_a_table():
    rows = summarize(preset("mnist_cnn_a")).to_rows()
    assert rows[0]["Output shape"] == "28 × 28 × 32"
    assert rows[0]["Parameters"] == 320
    assert rows[-1]["Receptive field"] == "whole input"


# --------------------------------------------------------------------------------------------
# Invalid stacks name the layer
# --------------------------------------------------------------------------------------------


def test_a_pooling_layer_that_shrinks_the_map_below_1x1_is_named():
    spec = preset("mnist_cnn_b", input_shape=(8, 8, 1))  # 8 → 6 → 3 → 1 → pooling fails
    with pytest.raises(InvalidModelError) as error:
        summarize(spec)
    message = str(error.value)
    assert message.startswith("Layer 4 (max_pooling2d_1) would shrink the 1×1 map below 1×1")
    assert "padding='same'" in message


def test_a_convolution_bigger_than_its_input_is_named():
    spec = ModelSpec("tiny", (4, 4, 1), (conv2d(8, 5), flatten(), dense(2, "softmax")))
    with pytest.raises(InvalidModelError, match=r"Layer 1 \(conv2d\) would shrink the 4×4 map"):
        summarize(spec)


def test_dense_on_a_feature_map_is_refused_with_a_hint():
    spec = ModelSpec("bad", (8, 8, 1), (conv2d(4), dense(2, "softmax")))
    with pytest.raises(
        InvalidModelError, match=r"Layer 2 \(dense\) needs a flat input.*Add Flatten"
    ):
        summarize(spec)


def test_convolution_after_flatten_is_refused():
    spec = ModelSpec("bad", (8, 8, 1), (flatten(), conv2d(4), dense(2, "softmax")))
    with pytest.raises(InvalidModelError, match=r"Layer 2 \(conv2d\) needs a feature map"):
        summarize(spec)


def test_the_output_layer_must_be_a_softmax_dense():
    spec = ModelSpec("bad", (8, 8, 1), (flatten(), dense(10, "relu")))
    with pytest.raises(InvalidModelError, match=r"Layer 2 \(dense\) is the output layer"):
        summarize(spec)


def test_build_model_refuses_an_invalid_stack_before_keras(keras):
    with pytest.raises(InvalidModelError, match="Layer 4"):
        build_model(preset("mnist_cnn_b", input_shape=(8, 8, 1)))


# --------------------------------------------------------------------------------------------
# Layer and model specs: normalisation and validation
# --------------------------------------------------------------------------------------------


def test_layer_spec_normalises_arguments_like_keras():
    layer = LayerSpec(type="conv2d", filters=4, kernel_size=3, padding="SAME")
    assert (layer.type, layer.kernel_size, layer.strides, layer.padding, layer.activation) == (
        "Conv2D",
        (3, 3),
        (1, 1),
        "same",
        "linear",
    )


def test_pooling_strides_default_to_the_pool_size():
    assert max_pooling2d(3).strides == (3, 3)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: conv2d(8, 3, strides=0), r"Received: strides=\(0, 0\)"),
        (lambda: conv2d(0), "Received: filters=0"),
        (lambda: conv2d(8, padding="full"), "Received: padding='full'"),
        (lambda: dense(10, "swish"), "Received: activation='swish'"),
        (lambda: dropout(1.0), "Received: rate=1.0"),
        (
            lambda: LayerSpec("Dense", units=4, kernel_size=3),
            "`kernel_size` does not apply to Dense",
        ),
        (lambda: LayerSpec("Conv3D"), "Received: type='Conv3D'"),
        (lambda: dense(4, name="bad name"), "Received: name='bad name'"),
    ],
)
def test_layer_spec_validation_names_the_argument(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_model_spec_names_layers_like_keras():
    spec = ModelSpec(
        "m", (28, 28, 1), (conv2d(4), conv2d(4), max_pooling2d(), flatten(), dense(2, "softmax"))
    )
    assert [layer.name for layer in spec.layers] == [
        "conv2d",
        "conv2d_1",
        "max_pooling2d",
        "flatten",
        "dense",
    ]


def test_model_spec_refuses_duplicate_layer_names():
    with pytest.raises(ValueError, match="duplicates: \\['x'\\]"):
        ModelSpec("m", (8, 8, 1), (flatten(name="x"), dense(2, "softmax", name="x")))


def test_model_spec_validates_the_input_shape():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(28, 28\)"):
        ModelSpec("m", (28, 28), (flatten(), dense(2, "softmax")))


def test_every_layer_type_is_covered():
    layers = every_layer_type_spec().layers + flatten_spec().layers
    assert {layer.type for layer in layers} == set(LAYER_TYPES)


# --------------------------------------------------------------------------------------------
# Presets adapt to a data set
# --------------------------------------------------------------------------------------------


def test_preset_adapts_the_input_shape_and_the_number_of_classes():
    spec = preset("mnist_cnn_a", input_shape=(32, 32, 3), num_classes=4)
    summary = summarize(spec)
    assert spec.input_shape == (32, 32, 3)
    assert summary.output_shape == (4,)
    assert summary.layers[0].params == 3 * 3 * 3 * 32 + 32


def test_preset_rejects_unknown_names():
    with pytest.raises(ValueError, match="Received: name='resnet50'"):
        preset("resnet50")


def test_preset_rejects_one_class():
    with pytest.raises(ValueError, match="Received: num_classes=1"):
        preset("mlp", num_classes=1)


# --------------------------------------------------------------------------------------------
# JSON round trip
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "spec"), SPECS, ids=SPEC_IDS)
def test_spec_json_round_trip(label, spec):
    assert spec_from_dict(json.loads(json.dumps(spec_to_dict(spec)))) == spec


def test_spec_from_dict_refuses_unknown_layer_keys():
    data = spec_to_dict(preset("mlp"))
    data["layers"][0]["kernel_initializer"] = "zeros"
    with pytest.raises(ValueError, match="Layer 1 must be a dict"):
        spec_from_dict(data)


def test_spec_from_dict_refuses_another_format():
    with pytest.raises(ValueError, match="Received: format='keras'"):
        spec_from_dict({"format": "keras", "name": "m", "input_shape": [1, 1, 1], "layers": []})


# --------------------------------------------------------------------------------------------
# Transfer learning
# --------------------------------------------------------------------------------------------


def test_transfer_model_builds_frozen_with_a_new_head(keras):
    model = build_transfer_model(input_shape=(96, 96, 3), num_classes=3, weights=None)
    assert tuple(model.output.shape) == (None, 3)
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    assert base.trainable is False
    assert [w.path for w in model.trainable_weights] == ["dense/kernel", "dense/bias"]


def test_transfer_model_accepts_small_grayscale_images(keras):
    model = build_transfer_model(input_shape=(32, 32, 1), num_classes=2, weights=None)
    assert tuple(model.input_shape) == (None, 32, 32, 1)
    assert tuple(model.output.shape) == (None, 2)


def test_transfer_model_refuses_inputs_smaller_than_32():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(28, 28, 1\)"):
        build_transfer_model(input_shape=(28, 28, 1), num_classes=10, weights=None)


def test_missing_imagenet_weights_offline_fail_fast_with_instructions(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    attempts = []

    def offline(address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "create_connection", offline)
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailableError) as error:
        build_transfer_model(input_shape=(96, 96, 3), num_classes=2, weights="imagenet")
    assert time.perf_counter() - start < 1
    assert attempts == [("storage.googleapis.com", 443)]
    expected = (
        tmp_path / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"
    )
    assert str(expected) in str(error.value)


def test_imagenet_weights_cached_looks_in_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert not imagenet_weights_cached(input_shape=(160, 160, 3))
    path = imagenet_weights_path(input_shape=(160, 160, 3))
    path.parent.mkdir(parents=True)
    path.touch()
    assert imagenet_weights_cached(input_shape=(160, 160, 3))
    assert imagenet_weights_path(input_shape=(100, 100, 3)).name.endswith("_224_no_top.h5")


# --------------------------------------------------------------------------------------------
# The Streamlit server must never load TensorFlow through this module
# --------------------------------------------------------------------------------------------


def test_specs_summaries_and_code_never_import_tensorflow(tmp_path):
    code = """
import sys
from core.nets import keras_code, presets, specs, summary, transfer
for name in presets.PRESETS:
    spec = presets.preset(name, input_shape=(32, 32, 3), num_classes=5)
    summary.summarize(spec)
    keras_code.to_keras_code(spec)
    specs.spec_from_dict(specs.spec_to_dict(spec))
transfer.imagenet_weights_cached()
print(sorted(k for k in sys.modules if k.split(".")[0] in ("tensorflow", "keras")))
"""
    environment = {**os.environ, "KERAS_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------------
# Transfer learning as data (the page's summary and the job's request)
# --------------------------------------------------------------------------------------------


def test_transfer_entry_is_json_safe_and_validated():
    assert transfer_entry(weights=None) == {"transfer": "MobileNetV2", "weights": None}
    assert json.loads(json.dumps(transfer_entry())) == transfer_entry()
    with pytest.raises(ValueError, match="Received: weights='imagenet21k'"):
        transfer_entry(weights="imagenet21k")
    with pytest.raises(ValueError, match="Received: base='VGG16'"):
        transfer_entry("VGG16")


@pytest.mark.parametrize(
    ("shape", "ok"),
    [((32, 32, 3), True), ((224, 160, 3), True), ((64, 64, 1), False), ((31, 64, 3), False)],
)
def test_transfer_input_problem_needs_rgb_of_at_least_32(shape, ok):
    problem = transfer_input_problem(shape)
    assert (problem is None) == ok
    if not ok:
        assert "×".join(map(str, shape)) in problem and "RGB" in problem


@pytest.mark.slow
@pytest.mark.parametrize(("shape", "num_classes"), [((32, 32, 3), 2), ((100, 100, 3), 5)])
def test_transfer_summary_rows_match_keras(keras, shape, num_classes):
    model = build_transfer_model(input_shape=shape, num_classes=num_classes, weights=None)
    rows = transfer_summary_rows(shape, num_classes)
    by_name = {layer.name: layer for layer in model.layers}
    for row in rows:
        layer = by_name[row["Layer"]]
        output = tuple(layer.output.shape[1:])
        assert " × ".join(map(str, output)) == row["Output shape"], row["Layer"]
        assert layer.count_params() == row["Parameters"], row["Layer"]
    assert sum(row["Parameters"] for row in rows) == model.count_params()
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert sum(row["Trainable"] for row in rows) == trainable
