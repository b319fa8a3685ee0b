"""Famous CNNs as layer specs: AlexNet, VGG16, GoogLeNet, ResNet-18 and a CIFAR ResNet-20.

They are written with this project's layer specs (`core.nets.specs`, `core.nets.blocks`), so
the same plain-Python summary gives their shapes, parameters, multiply-adds and receptive
fields, and `build_model` builds them in Keras (a test checks every one against Keras).
The parameter counts are exact:

- VGG16 at 224×224×3 with 1000 classes: 138,357,544; its convolutional base (up to
  `block5_pool`, `keras.applications.VGG16(include_top=False)`): 14,714,688.
- ResNet-18 at 224×224×3 with 1000 classes: 11,689,512 trainable parameters (torchvision's
  count), plus 9,600 moving means and variances of its BatchNormalization layers.
- AlexNet at 227×227×3 with 1000 classes: 62,378,344 (one tower, no grouped convolutions).

>>> from core.nets.summary import summarize
>>> summarize(famous("vgg16")).params_up_to("block5_pool")
14714688
"""

from __future__ import annotations

from core.base.checks import check_choice, check_int
from core.nets.blocks import basic_block, conv_bn, inception_module
from core.nets.specs import (
    LayerSpec,
    ModelSpec,
    conv2d,
    dense,
    dropout,
    flatten,
    global_average_pooling2d,
    max_pooling2d,
)

FAMOUS: dict[str, str] = {
    "alexnet": (
        "AlexNet (Krizhevsky, Sutskever & Hinton, 2012): five convolutions (11×11 stride 4, "
        "5×5, three 3×3) with three max poolings, then Dense 4096 → 4096 → 1000 with dropout, "
        "on 227×227×3; 62,378,344 parameters."
    ),
    "vgg16": (
        "VGG16 (Simonyan & Zisserman, 2014): thirteen 3×3 convolutions in five blocks of "
        "64 → 128 → 256 → 512 → 512 filters, each block ending in a 2×2 max pooling, then "
        "Dense 4096 → 4096 → 1000 on 224×224×3; 138,357,544 parameters, 14,714,688 of them "
        "in the convolutional base."
    ),
    "googlenet": (
        "GoogLeNet / Inception v1 (Szegedy et al., 2014): a stem of convolutions, nine "
        "Inception modules (1×1, 3×3, 5×5 and pooling branches side by side), global average "
        "pooling, Dropout 0.4 and Dense 1000 on 224×224×3; 6,998,552 parameters."
    ),
    "resnet18": (
        "ResNet-18 (He et al., 2015): a 7×7 stride-2 convolution and max pooling, eight basic "
        "residual blocks of 64 → 128 → 256 → 512 filters, global average pooling and Dense 1000 "
        "on 224×224×3; 11,689,512 trainable parameters."
    ),
    "resnet20": (
        "ResNet-20 for CIFAR-10 (He et al., 2015): a 3×3 convolution, nine basic residual "
        "blocks of 16 → 32 → 64 filters (1×1 projections where the size changes), global "
        "average pooling and Dense 10 on 32×32×3; 272,474 trainable parameters."
    ),
}


FAMOUS_INPUT_SHAPES: dict[str, tuple[int, int, int]] = {
    "alexnet": (227, 227, 3),
    "vgg16": (224, 224, 3),
    "googlenet": (224, 224, 3),
    "resnet18": (224, 224, 3),
    "resnet20": (32, 32, 3),
}


FAMOUS_NUM_CLASSES: dict[str, int] = {
    "alexnet": 1000,
    "vgg16": 1000,
    "googlenet": 1000,
    "resnet18": 1000,
    "resnet20": 10,
}


# The last layer of VGG16's convolutional base (what `include_top=False` keeps).
VGG16_CONV_BASE_END = "block5_pool"


def _alexnet(num_classes: int) -> tuple[LayerSpec, ...]:
    return (
        conv2d(96, 11, strides=4, name="conv1"),
        max_pooling2d(3, 2, name="pool1"),
        conv2d(256, 5, padding="same", name="conv2"),
        max_pooling2d(3, 2, name="pool2"),
        conv2d(384, 3, padding="same", name="conv3"),
        conv2d(384, 3, padding="same", name="conv4"),
        conv2d(256, 3, padding="same", name="conv5"),
        max_pooling2d(3, 2, name="pool5"),
        flatten(name="flatten"),
        dense(4096, name="fc6"),
        dropout(0.5, name="drop6"),
        dense(4096, name="fc7"),
        dropout(0.5, name="drop7"),
        dense(num_classes, "softmax", name="fc8"),
    )


def _vgg16(num_classes: int) -> tuple[LayerSpec, ...]:
    layers: list[LayerSpec] = []
    for block, (filters, convolutions) in enumerate(
        [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)], start=1
    ):
        for number in range(1, convolutions + 1):
            layers.append(conv2d(filters, 3, padding="same", name=f"block{block}_conv{number}"))
        layers.append(max_pooling2d(2, name=f"block{block}_pool"))
    return (
        *layers,
        flatten(name="flatten"),
        dense(4096, name="fc1"),
        dense(4096, name="fc2"),
        dense(num_classes, "softmax", name="predictions"),
    )


# Table 1 of "Going deeper with convolutions": #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5,
# pool proj; None marks the max poolings between the stages.
_INCEPTION_MODULES = (
    ("3a", (64, 96, 128, 16, 32, 32)),
    ("3b", (128, 128, 192, 32, 96, 64)),
    None,
    ("4a", (192, 96, 208, 16, 48, 64)),
    ("4b", (160, 112, 224, 24, 64, 64)),
    ("4c", (128, 128, 256, 24, 64, 64)),
    ("4d", (112, 144, 288, 32, 64, 64)),
    ("4e", (256, 160, 320, 32, 128, 128)),
    None,
    ("5a", (256, 160, 320, 32, 128, 128)),
    ("5b", (384, 192, 384, 48, 128, 128)),
)


def _googlenet(num_classes: int) -> tuple[LayerSpec, ...]:
    layers: list[LayerSpec] = [
        conv2d(64, 7, strides=2, padding="same", name="conv1_7x7_s2"),
        max_pooling2d(3, 2, "same", name="pool1_3x3_s2"),
        conv2d(64, 1, name="conv2_3x3_reduce"),
        conv2d(192, 3, padding="same", name="conv2_3x3"),
        max_pooling2d(3, 2, "same", name="pool2_3x3_s2"),
    ]
    stage = 3
    for module in _INCEPTION_MODULES:
        if module is None:
            layers.append(max_pooling2d(3, 2, "same", name=f"pool{stage}_3x3_s2"))
            stage += 1
            continue
        label, filters = module
        layers.extend(inception_module(layers[-1].name, *filters, name=f"inception_{label}"))
    return (
        *layers,
        global_average_pooling2d(name="pool5_7x7_s1"),
        dropout(0.4, name="pool5_drop"),
        dense(num_classes, "softmax", name="loss3_classifier"),
    )


def _resnet(
    stem: tuple[LayerSpec, ...], stages: list[tuple[int, int]], num_classes: int, first: int
) -> tuple[LayerSpec, ...]:
    """Stem, then per stage `(filters, blocks)` basic blocks; every stage but the first
    starts with a stride-2 block whose shortcut is a projection."""
    layers = list(stem)
    for stage, (filters, blocks) in enumerate(stages, start=first):
        for block in range(1, blocks + 1):
            downsample = block == 1 and stage > first
            layers.extend(
                basic_block(
                    layers[-1].name,
                    filters,
                    strides=2 if downsample else 1,
                    project=downsample,
                    name=f"conv{stage}_block{block}",
                )
            )
    return (
        *layers,
        global_average_pooling2d(name="avg_pool"),
        dense(num_classes, "softmax", name="predictions"),
    )


def _resnet18(num_classes: int) -> tuple[LayerSpec, ...]:
    stem = (
        *conv_bn("input", 64, 7, strides=2, name="conv1"),
        max_pooling2d(3, 2, "same", name="pool1_pool"),
    )
    return _resnet(stem, [(64, 2), (128, 2), (256, 2), (512, 2)], num_classes, first=2)


def _resnet20(num_classes: int) -> tuple[LayerSpec, ...]:
    stem = conv_bn("input", 16, 3, name="conv1")
    return _resnet(stem, [(16, 3), (32, 3), (64, 3)], num_classes, first=2)


_BUILDERS = {
    "alexnet": _alexnet,
    "vgg16": _vgg16,
    "googlenet": _googlenet,
    "resnet18": _resnet18,
    "resnet20": _resnet20,
}


def famous(
    name: str,
    *,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
) -> ModelSpec:
    """The spec of a famous network, optionally adapted to another input and class count.

    Args:
        name: one of `FAMOUS`.
        input_shape: `(H, W, C)`; None keeps the original (`FAMOUS_INPUT_SHAPES[name]`).
        num_classes: units of the output Dense layer, >= 2; None keeps the original
            (`FAMOUS_NUM_CLASSES[name]`: 1000 ImageNet classes, 10 for ResNet-20).

    Returns:
        A `ModelSpec` named after the network. A small `input_shape` may not fit (AlexNet's
        11×11 stride-4 convolution needs more than 32×32): `summarize` then raises
        `InvalidModelError` naming the layer.

    Example:

    >>> from core.nets.summary import summarize
    >>> summarize(famous("resnet20", input_shape=(28, 28, 1))).layers[-1].output_shape
    (10,)
    """
    check_choice(name, "name", tuple(FAMOUS))
    classes = FAMOUS_NUM_CLASSES[name] if num_classes is None else num_classes
    classes = check_int(classes, "num_classes", minimum=2)
    shape = FAMOUS_INPUT_SHAPES[name] if input_shape is None else input_shape
    return ModelSpec(name=name, input_shape=shape, layers=_BUILDERS[name](classes))
