"""core.nets.blocks: residual blocks and the Inception module, counted by hand."""

from __future__ import annotations

import pytest

from core.nets.blocks import basic_block, bottleneck_block, conv_bn, inception_module
from core.nets.specs import ModelSpec, dense, global_average_pooling2d
from core.nets.summary import summarize

HEAD = (global_average_pooling2d(name="gap"), dense(2, "softmax", name="out"))


def rows_of(input_shape, block) -> dict:
    spec = ModelSpec("block", input_shape, (*block, *HEAD))
    return {row.name: row for row in summarize(spec).layers}


def test_conv_bn_is_a_convolution_without_bias_then_batch_norm_then_relu():
    layers = conv_bn("input", 16, 3, strides=2, name="stem")
    assert [layer.type for layer in layers] == ["Conv2D", "BatchNormalization", "Activation"]
    conv = layers[0]
    assert (conv.use_bias, conv.padding, conv.strides, conv.activation) == (
        False,
        "same",
        (2, 2),
        "linear",
    )
    assert [layer.type for layer in conv_bn("input", 16, 3, relu=False, name="s")][-1] == (
        "BatchNormalization"
    )


def test_an_identity_basic_block_adds_its_input_to_two_3x3_convolutions():
    rows = rows_of((8, 8, 16), basic_block("input", 16, name="b"))
    assert rows["b_add"].inputs == ("b_2_bn", "input")
    assert rows["b_1_conv"].params == rows["b_2_conv"].params == 3 * 3 * 16 * 16
    assert rows["b_out"].output_shape == (8, 8, 16)
    block_params = sum(row.params for name, row in rows.items() if name.startswith("b_"))
    assert block_params == 2 * (3 * 3 * 16 * 16 + 4 * 16)


def test_a_projection_block_halves_the_map_and_matches_the_channels():
    rows = rows_of((8, 8, 16), basic_block("input", 32, strides=2, project=True, name="b"))
    assert rows["b_0_conv"].params == 16 * 32  # 1×1, no bias
    assert rows["b_0_conv"].inputs == ("input",)
    assert rows["b_add"].inputs == ("b_2_bn", "b_0_bn")
    assert rows["b_out"].output_shape == (4, 4, 32)


def test_a_bottleneck_block_squeezes_then_expands_four_times():
    rows = rows_of((8, 8, 64), bottleneck_block("input", 16, strides=2, project=True, name="c"))
    assert [rows[f"c_{i}_conv"].output_shape for i in (1, 2, 3, 0)] == [
        (8, 8, 16),
        (4, 4, 16),  # the stride sits on the 3×3 convolution (ResNet v1.5)
        (4, 4, 64),
        (4, 4, 64),
    ]
    assert [rows[f"c_{i}_conv"].params for i in (1, 2, 3, 0)] == [
        64 * 16,
        3 * 3 * 16 * 16,
        16 * 64,
        64 * 64,
    ]


def test_a_block_without_a_needed_projection_cannot_add():
    with pytest.raises(ValueError, match=r"\(b_add\) adds inputs of different shapes"):
        rows_of((8, 8, 16), basic_block("input", 32, strides=2, name="b"))


def test_inception_3a_gives_256_channels_as_in_the_paper():
    module = inception_module("input", 64, 96, 128, 16, 32, 32, name="inception_3a")
    rows = rows_of((28, 28, 192), module)
    assert rows["inception_3a_output"].output_shape == (28, 28, 64 + 128 + 32 + 32)
    weights = sum(
        row.params - row.output_shape[-1] for row in rows.values() if row.type == "Conv2D"
    )
    # 1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool projection (biases left out).
    by_hand = 192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32
    assert weights == by_hand == 163_328


def test_the_inception_branches_all_read_the_module_input():
    module = inception_module("pool", 1, 2, 3, 4, 5, 6, name="m")
    readers = {layer.name: layer.inputs for layer in module if layer.inputs != (None,)}
    assert readers["m_1x1"] == readers["m_3x3_reduce"] == readers["m_5x5_reduce"] == ("pool",)
    assert readers["m_pool"] == ("pool",)
    assert readers["m_pool_proj"] == ("m_pool",)


def test_block_arguments_are_checked():
    with pytest.raises(ValueError, match=r"Received: filters=0\.$"):
        basic_block("input", 0, name="b")
    with pytest.raises(TypeError, match=r"Received: expansion=2\.0\.$"):
        bottleneck_block("input", 4, expansion=2.0, name="b")
