"""core.nets.summary: shapes, parameters, multiply-adds and receptive fields, against Keras."""

from __future__ import annotations

import pytest

from core.nets.famous import famous
from core.nets.presets import preset
from core.nets.specs import (
    LAYER_TYPES,
    ModelSpec,
    add,
    average_pooling2d,
    concatenate,
    conv2d,
    dense,
    flatten,
)
from core.nets.summary import InvalidModelError, summarize
from core.worker.model_building import build_model
from tests.core.nets.stacks import (
    BRANCHED_IDS,
    BRANCHED_SPECS,
    SPEC_IDS,
    SPECS,
    every_layer_type_spec,
    flatten_spec,
    inception_spec,
    residual_spec,
)


@pytest.mark.parametrize(("label", "spec"), SPECS, ids=SPEC_IDS)
def test_summary_matches_keras(keras, label, spec):
    summary = summarize(spec)
    model = build_model(spec)
    assert model.count_params() == summary.total_params
    assert [layer.name for layer in model.layers] == [row.name for row in summary.layers]
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == [
        row.output_shape for row in summary.layers
    ]
    assert [layer.count_params() for layer in model.layers] == [
        row.params for row in summary.layers
    ]
    non_trainable = sum(int(w.shape.num_elements() or 1) for w in model.non_trainable_weights)
    assert non_trainable == summary.non_trainable_params


def test_build_model_ends_with_softmax(keras):
    model = build_model(preset("mnist_cnn_a"))
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert tuple(model.input_shape) == (None, 28, 28, 1)


def test_batch_normalization_parameters_are_split_into_trainable_and_not():
    summary = summarize(every_layer_type_spec())
    row = summary.layers[1]
    assert (row.params, row.non_trainable_params, row.trainable_params) == (32, 16, 16)
    assert summary.trainable_params + summary.non_trainable_params == summary.total_params


def test_summary_counts_multiply_adds():
    layers = summarize(preset("mnist_cnn_a")).layers
    assert layers[0].macs == 28 * 28 * 32 * 3 * 3 * 1
    assert layers[5].macs == 3136 * 64
    assert layers[1].macs == 0  # pooling has no weights


def test_receptive_fields_grow_as_the_textbook_recurrence_says():
    fields = [layer.receptive_field for layer in summarize(preset("mnist_cnn_b")).layers]
    # 3; +1 (pool 2); +2*2 (conv 3 at jump 2); +1*4 (pool 2 at jump 2); +2*4 (conv at jump 4)
    assert fields[:5] == [3, 4, 8, 10, 18]
    assert fields[5] is None  # after Flatten every value sees the whole image


def test_receptive_fields_match_the_gradient_support_in_tensorflow(keras):
    """Independent reference: which input pixels move the centre output of each layer."""
    import tensorflow as tf

    spec = ModelSpec(
        "field",
        (41, 41, 1),
        (
            conv2d(1, 3, activation="linear"),
            average_pooling2d(2),
            conv2d(1, (5, 3), strides=2, activation="linear"),
            average_pooling2d(3, strides=1),
            flatten(),
            dense(2, "softmax"),
        ),
    )
    model = build_model(spec)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([tf.ones_like(w).numpy() for w in layer.weights])
    image = tf.ones((1, 41, 41, 1))
    for index, row in enumerate(summarize(spec).layers[:4]):
        probe = keras.Model(model.inputs, model.layers[index].output)
        with tf.GradientTape() as tape:
            tape.watch(image)
            output = probe(image)
            centre = output[0, output.shape[1] // 2, output.shape[2] // 2, 0]
        support = tf.where(tf.abs(tape.gradient(centre, image))[0, :, :, 0] > 0).numpy()
        extent = tuple(int(v) for v in support.max(axis=0) - support.min(axis=0) + 1)
        assert extent == row.receptive_field_hw, row.name


def test_two_stacked_3x3_convolutions_see_5x5():
    spec = ModelSpec("two", (9, 9, 1), (conv2d(1, 3), conv2d(1, 3), flatten(), dense(2, "softmax")))
    assert summarize(spec).layers[1].receptive_field_hw == (5, 5)


def test_summary_rows_are_ready_for_a_table():
    rows = summarize(preset("mnist_cnn_a")).to_rows()
    assert rows[0]["Output shape"] == "28 × 28 × 32"
    assert rows[0]["Parameters"] == 320
    assert rows[-1]["Receptive field"] == "whole input"


def test_a_pooling_layer_that_shrinks_the_map_below_1x1_is_named():
    spec = preset("mnist_cnn_b", input_shape=(8, 8, 1))  # 8 → 6 → 3 → 1 → pooling fails
    with pytest.raises(InvalidModelError) as error:
        summarize(spec)
    message = str(error.value)
    assert message.startswith("Layer 4 (max_pooling2d_1) would shrink the 1×1 map below 1×1")
    assert "padding='same'" in message


def test_a_convolution_bigger_than_its_input_is_named():
    spec = ModelSpec("tiny", (4, 4, 1), (conv2d(8, 5), flatten(), dense(2, "softmax")))
    with pytest.raises(InvalidModelError, match=r"Layer 1 \(conv2d\) would shrink the 4×4 map"):
        summarize(spec)


def test_dense_on_a_feature_map_is_refused_with_a_hint():
    spec = ModelSpec("bad", (8, 8, 1), (conv2d(4), dense(2, "softmax")))
    with pytest.raises(
        InvalidModelError, match=r"Layer 2 \(dense\) needs a flat input.*Add Flatten"
    ):
        summarize(spec)


def test_convolution_after_flatten_is_refused():
    spec = ModelSpec("bad", (8, 8, 1), (flatten(), conv2d(4), dense(2, "softmax")))
    with pytest.raises(InvalidModelError, match=r"Layer 2 \(conv2d\) needs a feature map"):
        summarize(spec)


def test_the_output_layer_must_be_a_softmax_dense():
    spec = ModelSpec("bad", (8, 8, 1), (flatten(), dense(10, "relu")))
    with pytest.raises(InvalidModelError, match=r"Layer 2 \(dense\) is the output layer"):
        summarize(spec)


def test_build_model_refuses_an_invalid_stack_before_keras(keras):
    with pytest.raises(InvalidModelError, match="Layer 4"):
        build_model(preset("mnist_cnn_b", input_shape=(8, 8, 1)))


def test_every_layer_type_is_covered():
    layers = every_layer_type_spec().layers + flatten_spec().layers
    assert {layer.type for layer in layers} == set(LAYER_TYPES)


def test_summary_details_say_the_settings_in_words():
    rows = summarize(every_layer_type_spec()).layers
    assert rows[0].details == "8 filters 3×5, stride 2×1, same, tanh"
    assert rows[2].details == "3×3, stride 2×2, same"
    assert rows[5].details == "rate 0.25"
    assert rows[7].details == "16 units, linear"


def test_summary_jumps_multiply_the_strides():
    rows = summarize(preset("mnist_cnn_a")).layers
    assert [row.jump for row in rows[:4]] == [(1, 1), (2, 2), (2, 2), (4, 4)]
    assert rows[4].jump is None


def test_summarize_needs_a_model_spec():
    with pytest.raises(TypeError, match=r"^`spec` must be a ModelSpec\. Received: spec='mlp'\.$"):
        summarize("mlp")


def test_the_output_layer_needs_two_units():
    spec = ModelSpec("bad", (8, 8, 1), (flatten(), dense(1, "softmax")))
    with pytest.raises(InvalidModelError, match="at least 2. Received: units=1."):
        summarize(spec)


# ---------------------------------------------------------------------------
# Branches and merges
# ---------------------------------------------------------------------------


def keras_layers_by_name(model) -> dict:
    """The model's layers without the functional API's InputLayer, by name."""
    return {layer.name: layer for layer in model.layers if type(layer).__name__ != "InputLayer"}


@pytest.mark.parametrize(("label", "spec"), BRANCHED_SPECS, ids=BRANCHED_IDS)
def test_branched_summary_matches_keras(keras, label, spec):
    summary = summarize(spec)
    model = build_model(spec)
    layers = keras_layers_by_name(model)
    assert sorted(layers) == sorted(row.name for row in summary.layers)
    for row in summary.layers:
        assert tuple(layers[row.name].output.shape[1:]) == row.output_shape, row.name
        assert layers[row.name].count_params() == row.params, row.name
    assert model.count_params() == summary.total_params
    assert sum(int(w.numpy().size) for w in model.trainable_weights) == summary.trainable_params


def test_receptive_fields_through_a_merge_take_the_largest_input():
    spec = ModelSpec(
        "fields",
        (32, 32, 1),
        (
            conv2d(2, 3, padding="same", name="small"),
            conv2d(2, 7, padding="same", inputs="input", name="large"),
            add(["small", "large"], name="sum"),
            conv2d(2, 3, padding="same", name="after"),
            flatten(),
            dense(2, "softmax"),
        ),
    )
    rows = {row.name: row for row in summarize(spec).layers}
    assert rows["small"].receptive_field == 3 and rows["large"].receptive_field == 7
    assert rows["sum"].receptive_field == 7
    assert rows["after"].receptive_field == 9


def test_an_identity_shortcut_keeps_the_main_paths_receptive_field():
    spec = famous("resnet18")
    rows = {row.name: row for row in summarize(spec).layers}
    assert rows["conv2_block1_add"].receptive_field == rows["conv2_block1_2_bn"].receptive_field
    assert rows["conv5_block2_out"].receptive_field == 435  # the figure usually quoted


def test_adding_maps_of_different_shapes_is_refused_naming_the_layer_and_a_fix():
    spec = ModelSpec(
        "bad",
        (8, 8, 3),
        (
            conv2d(4, 3, strides=2, padding="same", name="main"),
            add(["main", "input"], name="merge"),
            flatten(),
            dense(2, "softmax"),
        ),
    )
    with pytest.raises(InvalidModelError) as error:
        summarize(spec)
    message = str(error.value)
    assert message.startswith(
        "Layer 2 (merge) adds inputs of different shapes: 4×4×4 from main, 8×8×3 from input."
    )
    assert "1×1 Conv2D with the same strides and filters (a projection)" in message


def test_concatenating_maps_of_different_sizes_is_refused():
    spec = ModelSpec(
        "bad",
        (8, 8, 3),
        (
            conv2d(4, 3, name="valid"),
            conv2d(4, 3, padding="same", inputs="input", name="same"),
            concatenate(["valid", "same"], name="joined"),
            flatten(),
            dense(2, "softmax"),
        ),
    )
    with pytest.raises(InvalidModelError, match=r"^Layer 3 \(joined\) stacks inputs whose height"):
        summarize(spec)


def test_concatenating_along_a_spatial_axis_is_refused():
    spec = ModelSpec(
        "bad",
        (8, 8, 3),
        (
            conv2d(4, 3, name="a"),
            conv2d(4, 3, inputs="input", name="b"),
            concatenate(["a", "b"], axis=1, name="joined"),
            flatten(),
            dense(2, "softmax"),
        ),
    )
    with pytest.raises(InvalidModelError, match=r"only along their last axis.*Received: axis=1"):
        summarize(spec)


def test_concatenate_adds_the_channels_and_reports_them():
    rows = summarize(inception_spec()).layers
    joined = next(row for row in rows if row.name == "mixed_a_output")
    assert joined.output_shape == (11, 9, 4 + 6 + 3 + 2)
    assert joined.details == "joins 4 + 6 + 3 + 2 channels"
    assert joined.params == 0 and joined.macs == 0


def test_convolutions_without_bias_have_no_bias_parameters():
    rows = {row.name: row for row in summarize(residual_spec()).layers}
    assert rows["stem_conv"].params == 3 * 3 * 3 * 8
    assert rows["stem_conv"].details.endswith(", no bias")


def test_params_up_to_counts_a_layer_and_everything_it_needs():
    summary = summarize(residual_spec())
    assert summary.params_up_to("stem_conv") == 3 * 3 * 3 * 8
    assert summary.params_up_to(summary.layers[-1].name) == summary.total_params
    with pytest.raises(ValueError, match=r"Received: name='nope'\.$"):
        summary.params_up_to("nope")


def test_rows_of_a_branched_model_say_what_each_layer_reads():
    rows = summarize(residual_spec()).to_rows()
    add_row = next(row for row in rows if row["Layer"] == "a_add")
    assert add_row["Inputs"] == "a_2_bn, stem_relu"
    assert "Inputs" not in summarize(preset("mlp")).to_rows()[0]
