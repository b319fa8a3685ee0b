"""core.nets.famous: AlexNet, VGG16, GoogLeNet and the ResNets, with their exact counts.

The counts are the published ones (SEEDS.md for VGG16's convolutional base; torchvision for
ResNet-18); tests/core/worker/test_model_building.py checks every network against Keras.
"""

from __future__ import annotations

import pytest

from core.nets.famous import FAMOUS, FAMOUS_INPUT_SHAPES, VGG16_CONV_BASE_END, famous
from core.nets.summary import InvalidModelError, summarize


def test_vgg16_conv_base_has_the_seeds_14_714_688_parameters():
    summary = summarize(famous("vgg16"))
    assert summary.params_up_to(VGG16_CONV_BASE_END) == 14_714_688
    assert summary.layers[17].name == "block5_pool"
    assert summary.layers[17].output_shape == (7, 7, 512)


def test_vgg16_has_138_357_544_parameters_and_15_5_billion_multiply_adds():
    summary = summarize(famous("vgg16"))
    assert summary.total_params == 138_357_544
    assert summary.total_macs == 15_470_264_320
    assert [row.params for row in summary.layers if row.type == "Dense"] == [
        102_764_544,
        16_781_312,
        4_097_000,
    ]


def test_resnet18_has_torchvisions_11_689_512_trainable_parameters():
    summary = summarize(famous("resnet18"))
    assert summary.trainable_params == 11_689_512
    # Keras also counts BatchNormalization's moving mean and variance: 2 × 4,800 channels.
    assert summary.non_trainable_params == 9_600
    assert summary.total_params == 11_699_112
    assert sum(row.type == "Add" for row in summary.layers) == 8


def test_resnet18_halves_the_map_at_each_stage():
    rows = {row.name: row for row in summarize(famous("resnet18")).layers}
    assert rows["conv1_relu"].output_shape == (112, 112, 64)
    assert rows["pool1_pool"].output_shape == (56, 56, 64)
    assert [rows[f"conv{stage}_block2_out"].output_shape for stage in (2, 3, 4, 5)] == [
        (56, 56, 64),
        (28, 28, 128),
        (14, 14, 256),
        (7, 7, 512),
    ]
    assert "conv2_block1_0_conv" not in rows  # the first stage keeps the shape: identity


def test_alexnet_has_62_378_344_parameters_and_a_6x6x256_map_before_the_dense_layers():
    summary = summarize(famous("alexnet"))
    assert summary.total_params == 62_378_344
    rows = {row.name: row for row in summary.layers}
    assert rows["conv1"].output_shape == (55, 55, 96)
    assert rows["pool5"].output_shape == (6, 6, 256)


def test_googlenet_modules_have_the_papers_output_channels():
    summary = summarize(famous("googlenet"))
    outputs = [row for row in summary.layers if row.name.endswith("_output")]
    assert [row.output_shape[-1] for row in outputs] == [
        256,
        480,
        512,
        512,
        512,
        528,
        832,
        832,
        1024,
    ]
    assert [row.output_shape[:2] for row in outputs] == [(28, 28)] * 2 + [(14, 14)] * 5 + [
        (7, 7)
    ] * 2
    assert summary.total_params == 6_998_552


def test_resnet20_is_the_papers_network_plus_two_projections():
    summary = summarize(famous("resnet20"))
    rows = {row.name: row for row in summary.layers}
    projections = sum(
        row.trainable_params for name, row in rows.items() if "_0_" in name
    )  # 1×1 convolutions and their batch norms
    assert projections == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    assert summary.trainable_params - projections == 269_722  # "0.27M" in the paper
    assert summary.output_shape == (10,)


def test_every_famous_network_has_branches_where_it_should():
    assert {name for name in FAMOUS if famous(name).has_branches} == {
        "googlenet",
        "resnet18",
        "resnet20",
    }


@pytest.mark.parametrize("name", sorted(FAMOUS))
def test_every_famous_network_keeps_its_input_and_ends_with_a_softmax(name):
    spec = famous(name)
    assert spec.input_shape == FAMOUS_INPUT_SHAPES[name]
    assert spec.layers[-1].activation == "softmax"
    assert summarize(spec).total_params > 0
    assert f"{summarize(spec).trainable_params:,}" in FAMOUS[name]


def test_famous_networks_adapt_to_other_data():
    spec = famous("resnet20", input_shape=(28, 28, 1), num_classes=4)
    summary = summarize(spec)
    assert summary.layers[0].params == 3 * 3 * 1 * 16
    assert summary.output_shape == (4,)


def test_a_network_too_big_for_the_image_says_which_layer():
    with pytest.raises(InvalidModelError, match=r"^Layer 8 \(pool5\) would shrink"):
        summarize(famous("alexnet", input_shape=(64, 64, 3)))


def test_famous_arguments_are_checked():
    with pytest.raises(ValueError, match=r"Received: name='resnet50'\.$"):
        famous("resnet50")
    with pytest.raises(ValueError, match=r"Received: num_classes=1\.$"):
        famous("vgg16", num_classes=1)
    with pytest.raises(TypeError, match=r"^`name` must be one of 'alexnet'"):
        famous(None)
