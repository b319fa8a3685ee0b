"""Model specs for the nets tests: every preset on every data set, and two unusual stacks."""

from __future__ import annotations

from core.nets.presets import PRESETS, preset
from core.nets.specs import (
    ModelSpec,
    average_pooling2d,
    batch_normalization,
    conv2d,
    dense,
    dropout,
    flatten,
    global_average_pooling2d,
    max_pooling2d,
)

# The input shapes of the built-in data sets (MNIST and Fashion-MNIST share one).
DATASET_SHAPES = [(28, 28, 1), (32, 32, 3)]


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
