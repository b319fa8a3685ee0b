"""core.jobs.model_comparison: matching two models' layers, and one input for both."""

from __future__ import annotations

from core.jobs.inspection import LayerInfo, ModelInfo
from core.jobs.model_comparison import LayerMatch, input_mismatch, match_layers


def model(*layers: tuple[str, str], shape=(28, 28, 1)) -> ModelInfo:
    """A model of (name, kind) layers, each with 8×8×4 maps (dense: a vector)."""
    infos = [LayerInfo("input", "InputLayer", "input", shape, 0)]
    for name, kind in layers:
        output = (10,) if kind == "dense" else (8, 8, 4)
        infos.append(LayerInfo(name, kind, kind, output, 1, inbound=(infos[-1].name,)))
    return ModelInfo(f"{layers[0][0]}.keras", "m", shape, 10, tuple(infos), 10)


def test_two_epochs_of_one_run_match_every_map_layer_by_name():
    a = model(("conv1", "conv"), ("pool1", "pooling"), ("conv2", "conv"), ("out", "dense"))
    assert match_layers(a, a) == [
        LayerMatch("conv1", "conv1", "name"),
        LayerMatch("pool1", "pool1", "name"),
        LayerMatch("conv2", "conv2", "name"),
    ]


def test_a_shared_name_of_another_kind_is_not_a_match():
    a = model(("conv1", "conv"), ("x", "pooling"))
    b = model(("conv1", "conv"), ("x", "activation"))
    assert match_layers(a, b) == [LayerMatch("conv1", "conv1", "name")]


def test_networks_without_shared_conv_names_match_convolutions_by_order():
    a = model(("conv2d", "conv"), ("relu", "activation"), ("conv2d_1", "conv"))
    b = model(("c1", "conv"), ("relu", "activation"), ("c2", "conv"), ("c3", "conv"))
    matches = match_layers(a, b)
    assert matches == [
        LayerMatch("conv2d", "c1", "order", 1),
        LayerMatch("conv2d_1", "c2", "order", 2),
    ]
    assert matches[1].describe() == "conv2d_1 ↔ c2 (the 2nd convolution of each)"


def test_a_model_without_maps_matches_nothing():
    a = model(("conv1", "conv"))
    dense = model(("hidden", "dense"), ("out", "dense"))
    assert match_layers(a, dense) == [] and match_layers(dense, a) == []


def test_one_input_fits_two_models_only_of_the_same_input_shape():
    a, b = model(("c", "conv")), model(("c", "conv"), shape=(28, 28, 3))
    assert input_mismatch(a, a) == ""
    assert input_mismatch(a, b) == (
        "it takes 28×28 colour images and this input is a 28×28 grayscale image"
    )
    assert "non-image" in input_mismatch(a, model(("c", "conv"), shape=()))
