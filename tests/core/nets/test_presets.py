"""core.nets.presets: the seeds' networks, with their exact parameter counts, on any data."""

from __future__ import annotations

import pytest

from core.nets.presets import PRESET_INPUT_SHAPES, PRESETS, preset
from core.nets.summary import summarize


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
            "photo_cnn",
        }
    )


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


def test_preset_argument_types():
    with pytest.raises(
        TypeError, match=r"^`num_classes` must be an integer\. Received: num_classes=10\.0\.$"
    ):
        preset("mlp", num_classes=10.0)
    with pytest.raises(TypeError, match=r"^`name` must be one of 'mlp', 'mnist_cnn_a'"):
        preset(None)
    with pytest.raises(ValueError, match="`input_shape` values must be >= 1"):
        preset("mlp", input_shape=(28, 0, 1))


def test_every_preset_ends_with_a_softmax_over_its_default_classes():
    for name in PRESETS:
        spec = preset(name)
        assert spec.layers[-1].activation == "softmax"
        assert spec.num_classes == (2 if name in ("dogs_vs_cats_cnn", "photo_cnn") else 10)
        assert spec.input_shape == PRESET_INPUT_SHAPES[name]


def test_photo_cnn_normalises_each_block_and_pools_globally():
    summary = summarize(preset("photo_cnn"))
    assert summary.total_params == 390_370
    assert summary.non_trainable_params == 2 * (32 + 64 + 128 + 256)  # the moving statistics
    kinds = [layer.type for layer in preset("photo_cnn").layers]
    assert kinds[:4] == ["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D"]
    assert kinds[-3:] == ["GlobalAveragePooling2D", "Dropout", "Dense"]
    # 64 → 32 → 16 → 8 after three pools; global pooling then makes it size-independent.
    assert summary.layers[-4].output_shape == (8, 8, 256)
    adapted = summarize(preset("photo_cnn", input_shape=(96, 96, 3), num_classes=5))
    assert adapted.total_params == 390_370 - 514 + 256 * 5 + 5
