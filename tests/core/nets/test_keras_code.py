"""core.nets.keras_code: the Keras arguments of each layer, and code that builds the same model."""

from __future__ import annotations

import pytest

from core.nets.keras_code import layer_arguments, to_keras_code
from core.nets.specs import (
    ModelSpec,
    activation,
    add,
    average_pooling2d,
    batch_normalization,
    concatenate,
    conv2d,
    dense,
    dropout,
    flatten,
)
from core.nets.summary import InvalidModelError, summarize
from tests.core.nets.stacks import BRANCHED_IDS, BRANCHED_SPECS, SPEC_IDS, SPECS, residual_spec


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


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (
            conv2d(32, 3, name="c"),
            ("Conv2D", {"filters": 32, "kernel_size": (3, 3), "activation": "relu", "name": "c"}),
        ),
        (
            conv2d(8, (3, 5), strides=2, padding="same", activation="linear", name="c"),
            (
                "Conv2D",
                {
                    "filters": 8,
                    "kernel_size": (3, 5),
                    "strides": (2, 2),
                    "padding": "same",
                    "name": "c",
                },
            ),
        ),
        (
            average_pooling2d(2, strides=1, name="p"),
            ("AveragePooling2D", {"pool_size": (2, 2), "strides": (1, 1), "name": "p"}),
        ),
        (dropout(0.5, name="d"), ("Dropout", {"rate": 0.5, "name": "d"})),
        (
            dense(10, "softmax", name="out"),
            ("Dense", {"units": 10, "activation": "softmax", "name": "out"}),
        ),
        (flatten(name="f"), ("Flatten", {"name": "f"})),
        (batch_normalization(name="b"), ("BatchNormalization", {"name": "b"})),
    ],
)
def test_layer_arguments_leave_keras_defaults_out(layer, expected):
    assert layer_arguments(layer) == expected


def test_keras_code_puts_the_first_argument_first_and_quotes_strings():
    spec = ModelSpec(
        "my-model.v2",
        (28, 28, 1),
        (conv2d(4, 3, padding="same"), dropout(0.25), flatten(), dense(10, "softmax")),
    )
    lines = to_keras_code(spec).splitlines()
    assert "        keras.Input(shape=(28, 28, 1))," in lines
    conv = 'layers.Conv2D(4, kernel_size=(3, 3), padding="same", activation="relu", name="conv2d")'
    assert f"        {conv}," in lines
    assert '        layers.Dropout(0.25, name="dropout"),' in lines
    assert '    name="my-model.v2",' in lines
    assert lines[-1] == "model.summary()  # 31,410 parameters"


def test_keras_code_refuses_a_stack_that_cannot_be_built():
    with pytest.raises(InvalidModelError, match=r"Layer 2 \(dense\) needs a flat input"):
        to_keras_code(ModelSpec("bad", (8, 8, 1), (conv2d(4), dense(2, "softmax"))))


# ---------------------------------------------------------------------------
# Branches: the functional API
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "spec"), BRANCHED_SPECS, ids=BRANCHED_IDS)
def test_functional_keras_code_builds_the_same_model(keras, label, spec, capsys):
    namespace: dict = {}
    exec(compile(to_keras_code(spec), f"<{label}>", "exec"), namespace)
    model = namespace["model"]
    summary = summarize(spec)
    assert model.count_params() == summary.total_params
    layers = {layer.name: layer for layer in model.layers}
    for row in summary.layers:
        assert tuple(layers[row.name].output.shape[1:]) == row.output_shape, row.name
        inbound = layers[row.name]._inbound_nodes[0].input_tensors
        sources = [tensor._keras_history.operation.name for tensor in inbound]
        assert sources == list(row.inputs), row.name
    assert model.name == spec.name


def test_a_branched_spec_is_written_with_the_functional_api():
    code = to_keras_code(residual_spec())
    lines = code.splitlines()
    assert "keras.Sequential" not in code
    assert lines[3] == 'inputs = keras.Input(shape=(12, 10, 3), name="input")'
    assert lines[-2] == 'model = keras.Model(inputs, outputs, name="residual")'
    # The block input is read twice (main path and shortcut), so it keeps a name.
    assert 'stem_relu = layers.Activation("relu", name="stem_relu")(x)' in lines
    assert 'x = layers.Add(name="a_add")([x, stem_relu])' in lines
    assert (
        'x = layers.Conv2D(8, kernel_size=(3, 3), padding="same", use_bias=False, '
        'name="a_1_conv")(stem_relu)'
    ) in lines
    assert lines[-3] == 'outputs = layers.Dense(3, activation="softmax", name="dense")(x)'


def test_variable_names_are_valid_python_and_never_clash():
    spec = ModelSpec(
        "clash",
        (8, 8, 1),
        (
            conv2d(2, 3, padding="same", name="a-b.conv"),
            conv2d(2, 3, padding="same", inputs="a-b.conv", name="x"),
            conv2d(2, 3, padding="same", inputs="a-b.conv", name="class"),
            conv2d(2, 3, padding="same", inputs="a-b.conv", name="model"),
            add(["x", "class", "model", "a-b.conv"], name="sum"),
            flatten(),
            dense(2, "softmax"),
        ),
    )
    code = to_keras_code(spec)
    assert "a_b_conv = layers.Conv2D(" in code
    assert "x_1 = layers.Conv2D(" in code and "_class = layers.Conv2D(" in code
    assert 'x = layers.Conv2D(2, kernel_size=(3, 3), padding="same", activation="relu", ' in code
    assert 'layers.Add(name="sum")([x_1, _class, x, a_b_conv])' in code
    compile(code, "<clash>", "exec")


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (activation("relu", name="r"), ("Activation", {"activation": "relu", "name": "r"})),
        (add(["a", "b"], name="s"), ("Add", {"name": "s"})),
        (concatenate(["a", "b"], name="c"), ("Concatenate", {"name": "c"})),
        (concatenate(["a", "b"], axis=3, name="c"), ("Concatenate", {"axis": 3, "name": "c"})),
        (
            conv2d(4, 1, activation="linear", use_bias=False, name="p"),
            ("Conv2D", {"filters": 4, "kernel_size": (1, 1), "use_bias": False, "name": "p"}),
        ),
        (
            dense(3, "linear", use_bias=False, name="d"),
            ("Dense", {"units": 3, "use_bias": False, "name": "d"}),
        ),
    ],
)
def test_layer_arguments_of_the_branch_layers(layer, expected):
    assert layer_arguments(layer) == expected
