"""Tests for core.worker.model_description: describing a loaded model for the pages, saying why
a model cannot be inspected, and the one refusal message for files that cannot be loaded.

The small helpers are tested directly (fast); describing real models happens in a worker
process through a `WorkerClient` (slow), as in the app.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.jobs.inspection import LayerInfo, ModelInfo, ModelRejectedError
from core.worker import model_description
from tests.inspect_helpers import MNIST_MODEL

# ---------------------------------------------------------------------------
# Helpers (fast)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            ValueError("Requested the deserialization of a Lambda layer ... safe_mode=False"),
            "This model contains a Lambda layer or other Python code, which this app never "
            "loads (Keras safe_mode). Rebuild it from standard Keras layers and save it again.",
        ),
        (
            TypeError("Could not locate class 'MyBlock'. Make sure custom classes are ...\nmore"),
            "This model uses a layer or function that is not part of Keras (MyBlock): custom "
            "code, which this app never loads. Rebuild it from standard Keras layers and save "
            "it again.",
        ),
        (
            TypeError("Could not deserialize 'keras.layers.FancyConv2D' because it is not ..."),
            "This model uses a layer or function that is not part of Keras (FancyConv2D): "
            "custom code, which this app never loads. Rebuild it from standard Keras layers and "
            "save it again.",
        ),
        (
            ValueError(
                "A total of 3 objects could not be loaded. Example error message for object "
                "<Conv2D name=conv, built=True>:\n\nLayer 'conv' expected 2 variables"
            ),
            "This model's weights do not fit its layers: the weights file inside it belongs to "
            "another network or is damaged. Save the model again with model.save('name.keras') "
            "and upload that file.",
        ),
        (
            OSError("File is not a zip file\nTraceback"),
            "The file could not be loaded as a Keras model (File is not a zip file). Save the "
            "model again with model.save('name.keras') and upload that file.",
        ),
        (
            KeyError(),
            "The file could not be loaded as a Keras model. Save the model again with "
            "model.save('name.keras') and upload that file.",
        ),
    ],
)
def test_each_refusal_says_what_to_do(error, expected):
    assert model_description.refusal_message(error) == expected


def test_the_real_reason_is_found_inside_the_error_keras_wraps_it_in():
    try:
        try:
            raise TypeError("Could not locate class 'Doubler'. Make sure custom classes ...")
        except TypeError as inner:
            raise TypeError(
                "<class 'keras.src.models.functional.Functional'> could not be deserialized"
            ) from inner
    except TypeError as outer:
        message = model_description.refusal_message(outer)
    assert "not part of Keras (Doubler)" in message
    assert "keras.src" not in message and "<class" not in message


def test_a_long_keras_message_is_cut_to_one_short_line_without_module_paths():
    message = model_description.refusal_message(RuntimeError("x" * 1000 + "\nsecond line"))
    assert message.startswith("The file could not be loaded as a Keras model (" + "x" * 300 + ")")
    message = model_description.refusal_message(ValueError("bad in keras.src.saving.lib"))
    assert "(bad in lib)" in message


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), (3, (3, 3)), ((2, 4), (2, 4)), ([5, 1], (5, 1))]
)
def test_pair_or_none_spells_out_square_sizes(value, expected):
    assert model_description.pair_or_none(value) == expected


def layer(name, kind, shape=(4, 4, 2), *inbound, class_name="-", **window) -> LayerInfo:
    return LayerInfo(
        name=name,
        class_name=class_name,
        kind=kind,
        output_shape=shape,
        params=0,
        inbound=inbound,
        **window,
    )


def conv(name, size, *inbound, strides=(1, 1)) -> LayerInfo:
    return layer(
        name,
        "conv",
        (4, 4, 2),
        *inbound,
        class_name="Conv2D",
        kernel_size=(size, size),
        strides=strides,
    )


def test_grad_cam_uses_the_last_convolution_not_a_later_activation():
    layers = annotate(
        layer("input", "input", (8, 8, 1)),
        conv("conv", 3, "input"),
        layer("relu", "activation", (4, 4, 2), "conv"),
        layer("pool", "pooling", (4, 4, 2), "relu"),
        layer("dense", "other", (10,), "pool"),
    )
    info = ModelInfo("m.keras", "m", (8, 8, 1), 10, layers, 0)
    assert model_description.default_cam_layer(info) == "conv"
    only_pooling = ModelInfo("m.keras", "m", (8, 8, 1), 10, (layer("pool", "pooling"),), 0)
    with pytest.raises(ValueError, match="no conv layer to compute Grad-CAM on"):
        model_description.default_cam_layer(only_pooling)


def annotate(*layers) -> tuple[LayerInfo, ...]:
    return model_description.annotate_graph(layers)


def described(*layers) -> dict[str, tuple]:
    return {item.name: (item.depth, item.block, item.branch) for item in annotate(*layers)}


def test_a_chain_has_depths_and_no_branches():
    assert described(
        layer("input", "input"),
        conv("a", 3, "input"),
        layer("relu", "activation", (4, 4, 2), "a"),
        conv("b", 3, "relu"),
    ) == {"input": (0, "", ""), "a": (1, "", ""), "relu": (2, "", ""), "b": (3, "", "")}


def test_a_residual_block_has_a_residual_branch_and_a_shortcut():
    layers = (
        layer("input", "input"),
        conv("conv1", 3, "input", strides=(2, 2)),
        layer("bn1", "normalization", (4, 4, 2), "conv1", class_name="BatchNormalization"),
        conv("conv2", 3, "bn1"),
        conv("shortcut", 1, "input", strides=(2, 2)),
        layer("add", "merge", (4, 4, 2), "conv2", "shortcut", class_name="Add"),
        layer("out", "activation", (4, 4, 2), "add"),
    )
    residual = "residual branch (3×3 conv stride 2 → 3×3 conv)"
    assert described(*layers) == {
        "input": (0, "", ""),
        "conv1": (1, "add", residual),
        "bn1": (2, "add", residual),
        "conv2": (3, "add", residual),
        "shortcut": (1, "add", "shortcut (1×1 conv stride 2)"),
        "add": (4, "", ""),
        "out": (5, "", ""),
    }
    # The deepest conv is the last one, although the shortcut is nearer the output.
    info = ModelInfo("m.keras", "m", (8, 8, 1), 10, annotate(*layers), 0)
    assert info.last_conv.name == "conv2"


def test_an_inception_module_numbers_its_branches_in_the_order_the_merge_reads_them():
    layers = (
        layer("input", "input"),
        conv("stem", 3, "input"),
        conv("reduce", 1, "stem"),
        layer(
            "pool",
            "pooling",
            (4, 4, 2),
            "stem",
            class_name="MaxPooling2D",
            kernel_size=(3, 3),
            strides=(1, 1),
        ),
        conv("one", 1, "stem"),
        conv("three", 3, "reduce"),
        conv("project", 1, "pool"),
        layer("mixed", "merge", (4, 4, 6), "one", "three", "project", class_name="Concatenate"),
        layer("gap", "other", (6,), "mixed"),
    )
    result = described(*layers)
    assert result["one"] == (2, "mixed", "branch 1 (1×1 conv)")
    assert result["reduce"] == (2, "mixed", "branch 2 (1×1 conv → 3×3 conv)")
    assert result["three"] == (3, "mixed", "branch 2 (1×1 conv → 3×3 conv)")
    assert result["pool"] == (2, "mixed", "branch 3 (3×3 max pool → 1×1 conv)")
    assert result["mixed"] == (4, "", "") and result["stem"] == (1, "", "")


def test_an_identity_shortcut_leaves_the_other_input_the_residual_branch():
    result = described(
        layer("input", "input"),
        conv("conv", 3, "input"),
        layer("add", "merge", (4, 4, 2), "input", "conv", class_name="Add"),
    )
    assert result["conv"] == (1, "add", "residual branch (3×3 conv)")


def test_a_fork_inside_a_branch_is_shared_by_the_branches_it_feeds():
    result = described(
        layer("input", "input"),
        conv("reduce", 1, "input"),
        conv("wide", 3, "reduce"),
        conv("tall", 3, "reduce"),
        conv("one", 1, "input"),
        layer("mixed", "merge", (4, 4, 6), "one", "wide", "tall", class_name="Concatenate"),
    )
    assert result["reduce"] == (1, "mixed", "shared by branch 2 and branch 3")
    assert result["wide"] == (2, "mixed", "branch 2 (3×3 conv)")
    assert result["tall"] == (2, "mixed", "branch 3 (3×3 conv)")


def test_nested_blocks_belong_to_the_outer_branch_they_feed():
    result = described(
        layer("input", "input"),
        conv("a", 3, "input"),
        conv("b", 3, "a"),
        layer("inner", "merge", (4, 4, 2), "a", "b", class_name="Add"),
        conv("c", 1, "input"),
        layer("outer", "merge", (4, 4, 4), "inner", "c", class_name="Concatenate"),
    )
    assert result["inner"][1:] == ("outer", "branch 1 (3×3 conv → 3×3 conv)")
    assert result["b"][1:] == ("outer", "branch 1 (3×3 conv → 3×3 conv)")
    assert result["c"][1:] == ("outer", "branch 2 (1×1 conv)")
    assert result["outer"] == (4, "", "")


def test_annotating_keeps_the_order_and_everything_else():
    layers = (layer("input", "input"), conv("b", 3, "a"), conv("a", 3, "input"))
    result = annotate(*layers)
    assert [item.name for item in result] == ["input", "b", "a"]
    assert [item.depth for item in result] == [0, 2, 1]  # b reads a, listed after it
    assert result[1].kernel_size == (3, 3) and result[1].inbound == ("a",)


def test_activation_name_reads_the_function_or_the_object():
    def relu(x):
        return x

    class Fused:
        activation = relu

    class Configured:
        activation = object()

    assert model_description.activation_name(Fused()) == "relu"
    assert model_description.activation_name(Configured()) == "object"
    assert model_description.activation_name(object()) is None


# ---------------------------------------------------------------------------
# Real models, described in a worker (slow)
# ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "message"), [("two_inputs", "2 inputs"), ("vector", "not an image")]
)
def test_models_that_are_not_image_cnns_get_a_message(client, models_dir, name, message):
    info = client.model_info(models_dir / f"{name}.keras")
    assert not info.ok
    assert message in info.problem
    with pytest.raises(ModelRejectedError, match=message):
        client.feature_maps(models_dir / f"{name}.keras", np.zeros((28, 28, 1), np.float32))


@pytest.mark.slow
def test_a_dense_network_is_described_with_a_note_and_runs(client, models_dir):
    info = client.model_info(models_dir / "mlp.keras")
    assert info.ok and info.conv_layers == () and info.map_layers == ()
    assert info.notes == (
        "This model has no convolution layers (a dense network), so it has no filters or "
        "feature maps: only its prediction, saliency and summary can be shown.",
    )
    maps = client.feature_maps(models_dir / "mlp.keras", np.zeros((28, 28, 1), np.float32))
    assert maps.maps == {} and maps.probabilities.shape == (10,)


@pytest.mark.slow
def test_layers_are_described_with_their_windows_and_links(client, models_dir):
    info = client.model_info(models_dir / "branchy.keras")
    assert info.ok and info.input_shape == (32, 32, 3) and info.num_classes == 4
    assert info.class_names == ()  # no sidecar
    strided = info.layer("strided")
    assert (strided.kind, strided.kernel_size, strided.strides) == ("conv", (3, 3), (2, 2))
    assert (strided.padding, strided.filters, strided.activation) == ("valid", 8, "relu")
    assert strided.output_shape == (7, 7, 8) and strided.params == 6 * 9 * 8 + 8
    pool = info.layer("pool")
    assert (pool.kind, pool.kernel_size, pool.strides) == ("pooling", (2, 2), (2, 2))
    assert info.layer("add").inbound == ("left", "right") and info.layer("add").kind == "merge"
    assert [(info.layer(n).block, info.layer(n).branch) for n in ("left", "right", "relu")] == [
        ("add", "branch 1 (3×3 conv)"),
        ("add", "branch 2 (5×5 conv)"),
        ("", ""),
    ]
    assert info.layer("logits").kind == "other" and info.layer("logits").kernel_size is None
    assert [layer.name for layer in info.conv_layers] == ["left", "right", "strided"]


@pytest.mark.slow
def test_an_upload_check_describes_the_model_for_the_store(client, models_dir):
    described = client.check_model_file(MNIST_MODEL)
    assert described["input_shape"] == [28, 28, 1] and described["output_shape"] == [10]
    assert described["total_params"] == 220_234
    assert described["first_conv_layer"] == "conv2d"
    assert {"name": "conv2d", "class_name": "Conv2D"} in described["layers"]
    assert described["notes"] == []
    dense_only = client.check_model_file(models_dir / "mlp.keras")
    assert dense_only["first_conv_layer"] is None
    assert "no convolution layers" in dense_only["notes"][0]
    with pytest.raises(ModelRejectedError, match="2 inputs"):
        client.check_model_file(models_dir / "two_inputs.keras")


@pytest.mark.slow
def test_an_upload_check_refuses_a_lambda_layer_with_the_refusal_message(client, models_dir):
    with pytest.raises(ModelRejectedError) as refused:
        client.check_model_file(models_dir / "lambda.keras")
    assert str(refused.value) == model_description.refusal_message(ValueError("Lambda"))
