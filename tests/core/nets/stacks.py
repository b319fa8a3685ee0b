"""Model specs for the nets tests: every preset on every data set, two unusual stacks, and
specs with branches (residual blocks, Inception modules, flat branches)."""

from __future__ import annotations

from core.nets.blocks import basic_block, bottleneck_block, conv_bn, inception_module
from core.nets.presets import PRESETS, preset
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


def residual_spec() -> ModelSpec:
    """Two basic blocks (identity, then a strided projection) and a bottleneck block."""
    stem = conv_bn("input", 8, 3, name="stem")
    first = basic_block(stem[-1].name, 8, name="a")
    second = basic_block(first[-1].name, 16, strides=2, project=True, name="b")
    third = bottleneck_block(second[-1].name, 4, project=True, name="c")
    head = (global_average_pooling2d(), dense(3, "softmax"))
    return ModelSpec("residual", (12, 10, 3), (*stem, *first, *second, *third, *head))


def inception_spec() -> ModelSpec:
    """An Inception module straight on the input, a pooling, another module, then Flatten."""
    first = inception_module("input", 4, 3, 6, 2, 3, 2, name="mixed_a")
    pool = max_pooling2d(3, 2, "same", name="pool")
    second = inception_module("pool", 5, 2, 4, 2, 2, 3, name="mixed_b")
    return ModelSpec(
        "inception", (11, 9, 1), (*first, pool, *second, flatten(), dense(2, "softmax"))
    )


def two_heads_spec() -> ModelSpec:
    """Flat branches joined by Concatenate and by Add, with Activation layers between."""
    return ModelSpec(
        "two_heads",
        (8, 8, 2),
        (
            conv2d(4, 3, name="features"),
            global_average_pooling2d(name="average"),
            flatten(inputs="features", name="flat"),
            dense(6, "linear", use_bias=False, name="from_flat"),
            dense(6, "tanh", inputs="average", name="from_average"),
            add(["from_flat", "from_average"], name="sum"),
            activation("relu", name="sum_relu"),
            concatenate(["sum_relu", "average"], axis=1, name="joined"),
            dense(3, "softmax", name="out"),
        ),
    )


BRANCHED_SPECS = [
    ("residual-blocks", residual_spec()),
    ("inception-modules", inception_spec()),
    ("flat-branches", two_heads_spec()),
]


BRANCHED_IDS = [label for label, _ in BRANCHED_SPECS]
