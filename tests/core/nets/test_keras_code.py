"""core.nets.keras_code: the Keras arguments of each layer, and code that builds the same model."""

from __future__ import annotations

import pytest

from core.nets.keras_code import layer_arguments, to_keras_code
from core.nets.specs import (
    ModelSpec,
    average_pooling2d,
    batch_normalization,
    conv2d,
    dense,
    dropout,
    flatten,
)
from core.nets.summary import InvalidModelError, summarize
from tests.core.nets.stacks import SPEC_IDS, SPECS


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
