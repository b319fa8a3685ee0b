"""ui.inspect.graph: grouping layers by branch and receptive fields through merges.

The branched model is `small_network.branched_info` (a residual block with an identity
shortcut, then a two-branch module); its fields were worked out by hand there. Receptive
fields of chains are checked against `core.ops.receptive_field` itself.
"""

from __future__ import annotations

import pytest

from core.jobs.inspection import LayerInfo, ModelInfo
from core.ops.receptive_field import LayerGeometry, receptive_fields
from tests.ui.inspect.small_network import branched_info, model_info
from ui.inspect import graph


def names(layers) -> list[str]:
    return [layer.name for layer in layers]


def test_a_chain_is_one_main_path_group():
    info = model_info()
    assert not graph.has_branches(info)
    groups = graph.group_by_branch(info, info.map_layers)
    assert [(g.title, g.block, names(g.layers)) for g in groups] == [
        ("Main path", "", ["conv", "pool", "conv2"])
    ]


def test_branches_come_before_the_merge_that_joins_them_in_the_merges_input_order():
    info = branched_info()
    assert graph.has_branches(info)
    groups = graph.group_by_branch(info, info.map_layers)
    assert [(g.title, g.block, names(g.layers)) for g in groups] == [
        ("Main path", "", ["stem"]),
        ("residual branch (3×3 conv)", "add", ["a1", "a_relu"]),
        ("Main path", "", ["add"]),
        # tower_3 is listed before tower_1, but mixed reads tower_1 first.
        ("branch 1 (1×1 conv)", "mixed", ["tower_1"]),
        ("branch 2 (3×3 conv)", "mixed", ["tower_3"]),
        ("Main path", "", ["mixed", "pool"]),
    ]


def test_labels_name_the_branch_and_what_it_does():
    info = branched_info()
    tower = info.layer("tower_1")
    assert graph.branch_role(tower) == "branch 1"
    assert graph.branch_summary(tower) == "1×1 conv"
    assert graph.branch_heading(tower) == "**Branch 1** of mixed: 1×1 conv"
    assert graph.layer_label(tower) == "tower_1 (branch 1 of mixed)"
    assert graph.layer_label(info.layer("stem")) == "stem"
    assert graph.branch_note(info.layer("stem")) == ""


def test_a_merge_is_headed_by_what_it_does_and_names_its_inputs_without_layers():
    info = branched_info()
    assert graph.block_heading(info, "add") == "2 branches into add (Add: adds them up)"
    assert graph.block_heading(info, "mixed") == (
        "2 branches into mixed (Concatenate: stacks their maps)"
    )
    assert graph.unchanged_inputs(info, "add") == [
        "**Identity shortcut** of add: the maps of stem, unchanged (no layers)"
    ]
    assert graph.unchanged_inputs(info, "mixed") == []


def test_an_unchanged_input_of_a_concatenation_is_a_numbered_branch():
    info = ModelInfo(
        "m.keras",
        "m",
        (8, 8, 1),
        2,
        (
            layer("input", "InputLayer", "input", (8, 8, 1)),
            layer("conv", "Conv2D", "conv", (8, 8, 2), "input", block="cat", branch="branch 2"),
            layer("cat", "Concatenate", "merge", (8, 8, 3), "input", "conv"),
        ),
        0,
    )
    assert graph.unchanged_inputs(info, "cat") == [
        "**Branch 1** of cat: the maps of input, unchanged (no layers)"
    ]


def test_a_concatenation_says_which_maps_come_from_which_input():
    info = branched_info()
    assert graph.concatenated_sources(info, info.layer("mixed")) == [
        ("tower_1", 0, 2),
        ("tower_3", 2, 5),
    ]
    assert graph.concatenated_sources(info, info.layer("add")) == []


def test_a_chains_fields_are_those_of_core_ops():
    info = model_info()
    steps = graph.field_steps(info, "conv2")
    expected = receptive_fields(
        [
            LayerGeometry("conv", 3, padding="same"),
            LayerGeometry("pool", 2, strides=2),
            LayerGeometry("conv2", 3),
        ],
        input_size=(8, 8),
    )
    assert [step.layer for step in steps] == ["input", "conv", "pool", "conv2"]
    assert [step.field for step in steps[1:]] == expected[1:]
    assert not any(step.branches for step in steps)


def test_the_input_of_a_sequential_model_need_not_be_among_its_layers():
    info = model_info(layers=model_info().layers[1:])  # Keras lists no InputLayer there
    steps = graph.field_steps(info, "conv2")
    assert [step.layer for step in steps] == ["input", "conv", "pool", "conv2"]
    assert steps[-1].field == graph.field_steps(model_info(), "conv2")[-1].field


def test_a_merges_field_is_the_union_of_its_inputs_fields():
    steps = {step.layer: step for step in graph.field_steps(branched_info(), "pool")}
    add, mixed = steps["add"], steps["mixed"]
    assert [(name, field.size) for name, field in add.branches] == [
        ("a_relu", (5, 5)),
        ("stem", (3, 3)),
    ]
    assert add.field.size == (5, 5) and add.is_maximum
    assert mixed.field.size == (7, 7) and mixed.field.start == (0.0, 0.0)
    assert steps["pool"].field.size == (8, 8) and steps["pool"].field.jump == (2, 2)
    assert "tower_1" not in steps  # the path follows the larger window, through tower_3


def layer(name, class_name, kind, shape, *inbound, **window) -> LayerInfo:
    return LayerInfo(name, class_name, kind, shape, 0, inbound=inbound, **window)


def test_windows_with_different_centres_are_joined_into_their_bounding_box():
    # A strided 3×3 'same' conv centres unit 0 on input pixel 1 (TensorFlow pads after);
    # a strided 1×1 'valid' shortcut centres it on pixel 0. The union spans pixels 0–2.
    info = ModelInfo(
        "m.keras",
        "m",
        (8, 8, 1),
        2,
        (
            layer("input", "InputLayer", "input", (8, 8, 1)),
            layer(
                "main",
                "Conv2D",
                "conv",
                (4, 4, 2),
                "input",
                kernel_size=(3, 3),
                strides=(2, 2),
                padding="same",
            ),
            layer(
                "short",
                "Conv2D",
                "conv",
                (4, 4, 2),
                "input",
                kernel_size=(1, 1),
                strides=(2, 2),
                padding="valid",
            ),
            layer("add", "Add", "merge", (4, 4, 2), "main", "short"),
        ),
        0,
    )
    add = graph.field_steps(info, "add")[-1]
    assert add.field.size == (3, 3) and add.field.start == (1.0, 1.0) and add.field.jump == (2, 2)
    assert [(name, field.start) for name, field in add.branches] == [
        ("main", (1.0, 1.0)),
        ("short", (0.0, 0.0)),
    ]


def test_branches_that_step_differently_have_no_single_window():
    info = ModelInfo(
        "m.keras",
        "m",
        (8, 8, 1),
        2,
        (
            layer("input", "InputLayer", "input", (8, 8, 1)),
            layer(
                "a",
                "Conv2D",
                "conv",
                (4, 4, 2),
                "input",
                kernel_size=(1, 1),
                strides=(2, 2),
                padding="valid",
            ),
            layer(
                "b",
                "MaxPooling2D",
                "pooling",
                (4, 4, 2),
                "input",
                kernel_size=(5, 5),
                strides=(1, 1),
                padding="valid",
            ),
            layer("add", "Add", "merge", (4, 4, 2), "a", "b"),
            layer("relu", "ReLU", "activation", (4, 4, 2), "add"),
        ),
        0,
    )
    with pytest.raises(ValueError, match="The branches joined by add step through the input"):
        graph.field_steps(info, "relu")  # the reason is passed on to the layers after it
    assert graph.field_steps(info, "a")[-1].field.size == (1, 1)


def test_a_layer_without_maps_has_no_field():
    with pytest.raises(ValueError, match="dense has no feature maps"):
        graph.field_steps(model_info(), "dense")
