"""The seeds' named networks as layer specs (MLP, the three MNIST CNNs, CIFAR-10, cats vs dogs,
LeNet-5, TinyVGG) and the photo CNN that learns best from a few thousand photos, adapted to any
input shape and number of classes."""

from __future__ import annotations

from core.base.checks import check_choice, check_int
from core.nets.specs import (
    LayerSpec,
    ModelSpec,
    activation,
    average_pooling2d,
    batch_normalization,
    conv2d,
    dense,
    dropout,
    flatten,
    global_average_pooling2d,
    max_pooling2d,
)

PRESETS: dict[str, str] = {
    "mlp": (
        "MLP: Flatten → Dense 512 relu → Dense 512 relu → Dense 10 softmax on 28×28×1; "
        "669,706 parameters. The baseline that shows why CNNs win."
    ),
    "mnist_cnn_a": (
        "MNIST CNN A: Conv2D 32 3×3 same → MaxPool 2 → Conv2D 64 3×3 same → MaxPool 2 → "
        "Flatten → Dense 64 → Dense 10 on 28×28×1; 220,234 parameters (about 99.2% on MNIST)."
    ),
    "mnist_cnn_b": (
        "MNIST CNN B: Conv2D 32 3×3 valid → MaxPool 2 → Conv2D 64 → MaxPool 2 → Conv2D 64 → "
        "Flatten → Dense 64 → Dense 10 on 28×28×1; 93,322 parameters."
    ),
    "mnist_cnn_c": (
        "MNIST CNN C (book): Conv2D 64 5×5 same → MaxPool 2 → Conv2D 128 5×5 same → MaxPool 2 → "
        "Flatten → Dense 1024 → Dropout 0.5 → Dense 10 on 28×28×1; 6,640,394 parameters."
    ),
    "cifar10_cnn": (
        "CIFAR-10 CNN: Conv2D 16/32/64 2×2 same, each with MaxPool 2 → Dropout 0.3 → Flatten → "
        "Dense 500 → Dropout 0.4 → Dense 10 on 32×32×3; 528,054 parameters."
    ),
    "dogs_vs_cats_cnn": (
        "Dogs vs cats CNN: Conv2D 32 3×3 same → MaxPool 2 → Conv2D 64 → Conv2D 64 (same) → "
        "MaxPool 2 → Flatten → Dense 512 → Dropout 0.5 → Dense 2 on 64×64×3; 8,446,466 parameters."
    ),
    "lenet5": (
        "LeNet-5 (Keras version): Conv2D 6 5×5 same tanh → AvgPool 2 → Conv2D 16 5×5 valid tanh → "
        "AvgPool 2 → Flatten → Dense 120 tanh → Dense 84 tanh → Dense 10 on 28×28×1; 61,706 "
        "parameters (the 'same' first layer makes 28×28 behave like the original 32×32)."
    ),
    "tinyvgg": (
        "TinyVGG (CNN Explainer): two blocks of Conv2D 10 3×3 valid relu ×2 → MaxPool 2, "
        "then Flatten → Dense 10 softmax on 64×64×3; 19,920 parameters."
    ),
    "photo_cnn": (
        "Photo CNN: four blocks of Conv2D 3×3 same (32, 64, 128, 256 filters) → BatchNorm → "
        "ReLU, MaxPool 2 after the first three, then GlobalAveragePooling → Dropout 0.3 → "
        "Dense 2 on 64×64×3; 390,370 parameters. Made for your own photos: batch "
        "normalization and global pooling let it learn from a few thousand images (cats vs "
        "dogs from 1,000 of each: see README, Training from the command line)."
    ),
}

# Presets made for two classes of photos; the others default to 10 classes.
TWO_CLASS_PRESETS = ("dogs_vs_cats_cnn", "photo_cnn")
# The photo CNN's filters per block (a MaxPool 2 follows every block but the last).
PHOTO_CNN_FILTERS = (32, 64, 128, 256)


PRESET_INPUT_SHAPES: dict[str, tuple[int, int, int]] = {
    "mlp": (28, 28, 1),
    "mnist_cnn_a": (28, 28, 1),
    "mnist_cnn_b": (28, 28, 1),
    "mnist_cnn_c": (28, 28, 1),
    "cifar10_cnn": (32, 32, 3),
    "dogs_vs_cats_cnn": (64, 64, 3),
    "lenet5": (28, 28, 1),
    "tinyvgg": (64, 64, 3),
    "photo_cnn": (64, 64, 3),
}


def _preset_layers(name: str, num_classes: int) -> tuple[LayerSpec, ...]:
    output = dense(num_classes, "softmax")
    if name == "mlp":
        return (flatten(), dense(512), dense(512), output)
    if name == "mnist_cnn_a":
        return (
            conv2d(32, 3, padding="same"),
            max_pooling2d(2),
            conv2d(64, 3, padding="same"),
            max_pooling2d(2),
            flatten(),
            dense(64),
            output,
        )
    if name == "mnist_cnn_b":
        return (
            conv2d(32, 3),
            max_pooling2d(2),
            conv2d(64, 3),
            max_pooling2d(2),
            conv2d(64, 3),
            flatten(),
            dense(64),
            output,
        )
    if name == "mnist_cnn_c":
        return (
            conv2d(64, 5, padding="same"),
            max_pooling2d(2),
            conv2d(128, 5, padding="same"),
            max_pooling2d(2),
            flatten(),
            dense(1024),
            dropout(0.5),
            output,
        )
    if name == "cifar10_cnn":
        return (
            conv2d(16, 2, padding="same"),
            max_pooling2d(2),
            conv2d(32, 2, padding="same"),
            max_pooling2d(2),
            conv2d(64, 2, padding="same"),
            max_pooling2d(2),
            dropout(0.3),
            flatten(),
            dense(500),
            dropout(0.4),
            output,
        )
    if name == "dogs_vs_cats_cnn":
        return (
            conv2d(32, 3, padding="same"),
            max_pooling2d(2),
            conv2d(64, 3, padding="same"),
            conv2d(64, 3, padding="same"),
            max_pooling2d(2),
            flatten(),
            dense(512),
            dropout(0.5),
            output,
        )
    if name == "lenet5":
        return (
            conv2d(6, 5, padding="same", activation="tanh"),
            average_pooling2d(2),
            conv2d(16, 5, activation="tanh"),
            average_pooling2d(2),
            flatten(),
            dense(120, "tanh"),
            dense(84, "tanh"),
            output,
        )
    if name == "photo_cnn":
        return (*_photo_blocks(), global_average_pooling2d(), dropout(0.3), output)
    # tinyvgg
    return (
        conv2d(10, 3),
        conv2d(10, 3),
        max_pooling2d(2),
        conv2d(10, 3),
        conv2d(10, 3),
        max_pooling2d(2),
        flatten(),
        output,
    )


def _photo_blocks() -> tuple[LayerSpec, ...]:
    """Conv2D (no bias: the BatchNormalization after it adds its own shift) → BN → ReLU."""
    layers: list[LayerSpec] = []
    for index, filters in enumerate(PHOTO_CNN_FILTERS):
        layers += [
            conv2d(filters, 3, padding="same", activation="linear", use_bias=False),
            batch_normalization(),
            activation("relu"),
        ]
        if index < len(PHOTO_CNN_FILTERS) - 1:
            layers.append(max_pooling2d(2))
    return tuple(layers)


def preset(
    name: str,
    *,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
) -> ModelSpec:
    """The spec of a preset architecture, optionally adapted to another data set.

    Args:
        name: one of `PRESETS`.
        input_shape: `(H, W, C)`; None keeps the original (`PRESET_INPUT_SHAPES[name]`).
        num_classes: units of the output Dense layer, >= 2; None keeps the original.

    Returns:
        A `ModelSpec` named after the preset. It may not fit a very small `input_shape`:
        `summarize` then raises `InvalidModelError` naming the layer.

    Example:

    >>> from core.nets.summary import summarize
    >>> spec = preset("cifar10_cnn", input_shape=(28, 28, 1), num_classes=10)
    >>> summarize(spec).layers[-1].output_shape
    (10,)
    """
    check_choice(name, "name", tuple(PRESETS))
    if num_classes is None:
        num_classes = 2 if name in TWO_CLASS_PRESETS else 10
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    shape = PRESET_INPUT_SHAPES[name] if input_shape is None else input_shape
    return ModelSpec(name=name, input_shape=shape, layers=_preset_layers(name, num_classes))
