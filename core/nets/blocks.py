"""The building blocks of famous CNNs as layer specs: ResNet's residual blocks (basic and
bottleneck) and GoogLeNet's Inception module.

Each function returns the block's layers in order, named after `name` the way
`keras.applications` names them (`conv2_block1_1_conv`, ...); the block's output is its
last layer, so the next block reads `layers[-1].name`.

>>> from core.nets.specs import ModelSpec, dense, global_average_pooling2d
>>> from core.nets.summary import summarize
>>> block = basic_block("input", 8, name="block")
>>> head = (global_average_pooling2d(), dense(2, "softmax"))
>>> spec = ModelSpec("one_block", (8, 8, 8), (*block, *head))
>>> spec.has_branches, summarize(spec).layers[-3].output_shape
(True, (8, 8, 8))
"""

from __future__ import annotations

from core.base.checks import check_int
from core.nets.specs import (
    LayerSpec,
    activation,
    add,
    batch_normalization,
    concatenate,
    conv2d,
    max_pooling2d,
)


def conv_bn(
    inputs: str,
    filters: int,
    kernel_size: int,
    *,
    strides: int = 1,
    relu: bool = True,
    name: str,
) -> tuple[LayerSpec, ...]:
    """Conv2D without bias ('same' padding) → BatchNormalization → ReLU (unless `relu=False`).

    The convolution has no bias because the BatchNormalization right after it subtracts the
    mean anyway and adds its own learned shift.

    >>> [layer.name for layer in conv_bn("input", 64, 7, strides=2, name="conv1")]
    ['conv1_conv', 'conv1_bn', 'conv1_relu']
    """
    layers = (
        conv2d(
            filters,
            kernel_size,
            strides=strides,
            padding="same",
            activation="linear",
            use_bias=False,
            inputs=inputs,
            name=f"{name}_conv",
        ),
        batch_normalization(name=f"{name}_bn"),
    )
    return (*layers, activation("relu", name=f"{name}_relu")) if relu else layers


def _shortcut_and_merge(
    inputs: str, main: tuple[LayerSpec, ...], filters: int, strides: int, project: bool, name: str
) -> tuple[LayerSpec, ...]:
    """The shortcut (the input itself, or a 1×1 projection), the Add and the final ReLU."""
    shortcut: tuple[LayerSpec, ...] = ()
    if project:
        shortcut = conv_bn(inputs, filters, 1, strides=strides, relu=False, name=f"{name}_0")
    merged = add([main[-1].name, shortcut[-1].name if shortcut else inputs], name=f"{name}_add")
    return (*main, *shortcut, merged, activation("relu", name=f"{name}_out"))


def basic_block(
    inputs: str, filters: int, *, strides: int = 1, project: bool = False, name: str
) -> tuple[LayerSpec, ...]:
    """ResNet's basic block (ResNet-18/34): two 3×3 convolutions, plus the input.

    Main path: conv 3×3 (`strides`) → BN → ReLU → conv 3×3 → BN. Shortcut: the input itself,
    or with `project=True` a 1×1 convolution with the same strides and `filters` → BN (needed
    when the block halves the map or changes the channels). Then Add → ReLU.

    Args:
        inputs: name of the layer the block reads.
        filters: channels of both convolutions and of the output.
        strides: 2 in the first block of a stage (halves height and width).
        project: whether the shortcut is a projection (else the input is added as it is).
        name: prefix of the layer names, e.g. `"conv3_block1"`.

    >>> [layer.name for layer in basic_block("pool1", 64, name="conv2_block1")][-2:]
    ['conv2_block1_add', 'conv2_block1_out']
    """
    check_int(filters, "filters", minimum=1)
    main = (
        *conv_bn(inputs, filters, 3, strides=strides, name=f"{name}_1"),
        *conv_bn(f"{name}_1_relu", filters, 3, relu=False, name=f"{name}_2"),
    )
    return _shortcut_and_merge(inputs, main, filters, strides, project, name)


def bottleneck_block(
    inputs: str,
    filters: int,
    *,
    strides: int = 1,
    project: bool = False,
    expansion: int = 4,
    name: str,
) -> tuple[LayerSpec, ...]:
    """ResNet's bottleneck block (ResNet-50/101/152): 1×1 squeeze, 3×3, 1×1 expand.

    Main path: conv 1×1 (`filters`) → BN → ReLU → conv 3×3 (`strides`, as torchvision's
    ResNet v1.5 puts it) → BN → ReLU → conv 1×1 (`expansion`·`filters`) → BN. Shortcut: the
    input, or a 1×1 projection to `expansion`·`filters` channels. Then Add → ReLU. The 3×3
    convolution works on 4 times fewer channels than the block carries: that is the saving.

    >>> layers = bottleneck_block("pool1", 64, project=True, name="conv2_block1")
    >>> layers[6].filters, layers[8].filters
    (256, 256)
    """
    check_int(filters, "filters", minimum=1)
    check_int(expansion, "expansion", minimum=1)
    main = (
        *conv_bn(inputs, filters, 1, name=f"{name}_1"),
        *conv_bn(f"{name}_1_relu", filters, 3, strides=strides, name=f"{name}_2"),
        *conv_bn(f"{name}_2_relu", expansion * filters, 1, relu=False, name=f"{name}_3"),
    )
    return _shortcut_and_merge(inputs, main, expansion * filters, strides, project, name)


def inception_module(
    inputs: str,
    filters_1x1: int,
    filters_3x3_reduce: int,
    filters_3x3: int,
    filters_5x5_reduce: int,
    filters_5x5: int,
    filters_pool_proj: int,
    *,
    name: str,
) -> tuple[LayerSpec, ...]:
    """GoogLeNet's Inception module: four branches side by side, joined along the channels.

    Branches (all 'same' padding, ReLU): a 1×1 convolution; a 1×1 "reduce" then a 3×3; a
    1×1 reduce then a 5×5; a 3×3 max pooling (stride 1) then a 1×1 projection. The 1×1
    reductions keep the 3×3 and 5×5 convolutions cheap. The arguments follow the columns of
    table 1 of Szegedy et al. (2014), "Going deeper with convolutions".

    >>> module = inception_module("pool2", 64, 96, 128, 16, 32, 32, name="inception_3a")
    >>> module[-1].type, module[-1].inputs
    ('Concatenate', ('inception_3a_1x1', 'inception_3a_3x3', 'inception_3a_5x5', 'inception_3a_pool_proj'))
    """  # noqa: E501

    def conv(filters: int, kernel_size: int, source: str, suffix: str) -> LayerSpec:
        return conv2d(filters, kernel_size, padding="same", inputs=source, name=f"{name}_{suffix}")

    layers = (
        conv(filters_1x1, 1, inputs, "1x1"),
        conv(filters_3x3_reduce, 1, inputs, "3x3_reduce"),
        conv(filters_3x3, 3, f"{name}_3x3_reduce", "3x3"),
        conv(filters_5x5_reduce, 1, inputs, "5x5_reduce"),
        conv(filters_5x5, 5, f"{name}_5x5_reduce", "5x5"),
        max_pooling2d(3, 1, "same", inputs=inputs, name=f"{name}_pool"),
        conv(filters_pool_proj, 1, f"{name}_pool", "pool_proj"),
    )
    branches = [layers[0].name, layers[2].name, layers[4].name, layers[6].name]
    return (*layers, concatenate(branches, name=f"{name}_output"))
