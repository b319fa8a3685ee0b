"""ui.train.architecture: the layer table's round trip, and the stack editor through AppTest."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.nets.gallery import network
from core.nets.specs import ModelSpec, conv2d, dense, dropout, flatten, max_pooling2d
from core.nets.summary import summarize
from tests.apptest_helpers import choose
from ui.train.architecture import (
    EDIT_OPEN,
    EDITOR_COLUMNS,
    TRANSFER_LABEL,
    frame_to_layers,
    layers_to_frame,
)

EDITOR_KEY = "train.layers.mnist_cnn_a.10.0"  # preset, classes, editor version


def small_spec() -> ModelSpec:
    return ModelSpec(
        "small",
        (8, 8, 1),
        (conv2d(4, 3, strides=2), max_pooling2d(2), dropout(0.25), flatten(), dense(2, "softmax")),
    )


def test_one_row_per_layer_with_square_windows_as_one_number():
    frame = layers_to_frame(small_spec())
    assert list(frame.columns) == list(EDITOR_COLUMNS)
    assert list(frame["type"]) == ["Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense"]
    conv = frame.iloc[0]
    assert (conv["filters"], conv["kernel_size"], conv["strides"]) == (4, 3, 2)
    assert (conv["padding"], conv["activation"]) == ("valid", "relu")
    assert frame.iloc[1]["pool_size"] == 2
    assert frame.iloc[2]["rate"] == 0.25
    assert frame.iloc[4]["units"] == 2


def test_columns_that_do_not_apply_to_a_layer_stay_empty():
    frame = layers_to_frame(small_spec())
    assert frame.iloc[3].drop("type").isna().all()  # Flatten has no arguments
    assert pd.isna(frame.iloc[0]["units"]) and pd.isna(frame.iloc[4]["filters"])


def test_rows_come_back_as_the_same_layers():
    layers = frame_to_layers(layers_to_frame(small_spec()))
    assert [layer.type for layer in layers] == [layer.type for layer in small_spec().layers]
    assert layers[0].kernel_size == (3, 3) and layers[0].strides == (2, 2)
    assert layers[1].pool_size == (2, 2)
    assert layers[2].rate == 0.25


def test_whole_floats_become_ints_and_columns_of_other_types_are_ignored():
    frame = pd.DataFrame(
        [
            {"type": "Conv2D", "filters": 8.0, "kernel_size": 3.0, "units": 99, "rate": 0.5},
            {"type": "Flatten", "filters": 4, "units": math.nan},
            {"type": "Dense", "units": 3.0, "activation": "softmax", "kernel_size": 7},
        ]
    )
    conv, flat, output = frame_to_layers(frame)
    assert conv.filters == 8 and isinstance(conv.filters, int)
    assert conv.kernel_size == (3, 3)
    assert conv.units is None and conv.rate is None
    assert flat.type == "Flatten" and flat.filters is None
    assert output.units == 3 and output.kernel_size is None


def test_a_dropout_rate_is_a_float():
    (layer,) = frame_to_layers(pd.DataFrame([{"type": "Dropout", "rate": "0.5"}]))
    assert layer.rate == 0.5


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"type": "Dense", "units": 2.5}], r"Row 1 \(Dense\): `units` must be a whole number"),
        ([{"type": "Flatten"}, {"type": "Conv3D"}], "Row 2: choose a layer type"),
        ([{"type": "Flatten"}, {"type": "Dropout", "rate": 1.5}], r"Row 2 \(Dropout\).*rate"),
        ([], "The stack is empty"),
    ],
)
def test_a_bad_table_is_refused_naming_the_row(rows, message):
    with pytest.raises(ValueError, match=message):
        frame_to_layers(pd.DataFrame(rows, columns=list(EDITOR_COLUMNS)))


# ---------------------------------------------------------------------------
# The editor through AppTest
# ---------------------------------------------------------------------------


def editor_script(input_shape, num_classes, data_kind):
    import streamlit as st

    from ui.train.architecture import architecture_editor

    result = architecture_editor(input_shape, num_classes, data_kind=data_kind)
    st.session_state["result"] = result


def open_editor(
    input_shape=(28, 28, 1), num_classes=10, data_kind="mnist", *, unfold=True
) -> AppTest:
    """The architecture part, its layer editor unfolded as a reader does (or left folded)."""
    at = AppTest.from_function(
        editor_script, args=(input_shape, num_classes, data_kind), default_timeout=30
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if unfold:
        at.session_state[EDIT_OPEN] = True
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def summary_table(at: AppTest) -> str:
    """The summary's HTML table (the last HTML block)."""
    return at.html[-1].value


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def edit(at: AppTest, edited_rows=None, added_rows=(), deleted_rows=(), key=EDITOR_KEY):
    """Seed the data editor's edit state (what the browser sends) and rerun."""
    at.session_state[key] = {
        "edited_rows": edited_rows or {},
        "added_rows": list(added_rows),
        "deleted_rows": list(deleted_rows),
    }
    return at.run()


def test_the_default_preset_follows_the_data_set_and_is_summarised():
    at = open_editor()
    assert at.session_state["train.preset.mnist"] == "mnist_cnn_a"
    assert metrics(at) == {
        "Parameters": "220,234",  # MNIST CNN A, SEEDS.md
        "Multiply-adds per image": "4,039,808",
        "Input": "28 × 28 × 1",
    }
    assert "adapted to 28×28×1 inputs and 10 classes" in at.caption[0].value
    assert "Dense 10 softmax" in at.caption[1].value
    spec = at.session_state["result"]
    assert (spec.name, spec.input_shape, spec.num_classes) == ("mnist_cnn_a", (28, 28, 1), 10)
    assert at.session_state["train.spec"]["name"] == "mnist_cnn_a"


def test_the_summary_table_has_a_row_per_layer():
    at = open_editor()
    [editor] = at.dataframe  # the summary is a plain table, not a second data grid
    assert editor.editing_mode == "dynamic"
    assert list(editor.value["type"]) == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "Dense",
    ]
    table = summary_table(at)
    assert table.count("<tr>") == 1 + 7  # the header and one row per layer
    for params in ("320", "18,496", "200,768", "650"):  # 220,234 in all
        assert f'<td class="num">{params}</td>' in table
    assert not at.code  # folded: the browser loads no code highlighter
    at.session_state["train.keras_code"] = True  # the reader opens "Show as Keras code"
    at.run()
    assert "keras.Input(shape=(28, 28, 1))" in at.code[0].value


def test_the_editor_is_folded_on_a_first_visit_and_keeps_its_edits_folded():
    at = open_editor(unfold=False)
    assert not at.data_editor  # no data grid for the browser to load
    assert metrics(at)["Parameters"] == "220,234"
    assert "<td>conv2d</td>" in summary_table(at)
    at.session_state[EDIT_OPEN] = True
    at.run()
    edit(at, {"0": {"filters": 16}})
    assert at.session_state["result"].layers[0].filters == 16
    at.session_state[EDIT_OPEN] = False  # folded again: the edit stays
    at.run()
    assert not at.exception and not at.data_editor
    assert at.session_state["result"].layers[0].filters == 16
    folded = metrics(at)["Parameters"]
    assert folded == f"{220_234 - 320 - 18_496 + 160 + 9_280:,}"
    at.session_state[EDIT_OPEN] = True  # and opens again with it, in a fresh editor
    at.run()
    [editor] = at.data_editor
    assert editor.value["filters"][0] == 16
    assert metrics(at)["Parameters"] == folded
    edit(at, {"2": {"filters": 32}}, key=editor.key)  # a second edit on top of the first
    layers = at.session_state["result"].layers
    assert (layers[0].filters, layers[2].filters) == (16, 32)


def test_the_keras_code_follows_an_edit():
    at = open_editor()
    at.session_state["train.keras_code"] = True
    edit(at, {"5": {"units": 128}})
    assert 'layers.Dense(128, activation="relu"' in at.code[0].value


def test_folder_data_starts_from_the_photo_preset_and_other_sets_from_their_own_preset():
    assert open_editor((64, 64, 3), 2, "zip").session_state["train.preset.zip"] == "photo_cnn"
    at = open_editor((32, 32, 3), 10, "cifar10")
    assert at.session_state["train.preset.cifar10"] == "cifar10_cnn"
    assert metrics(at)["Parameters"] == "528,054"  # CIFAR-10 CNN, SEEDS.md


def test_the_photo_preset_trains_as_built_and_its_activation_rows_can_be_edited():
    at = open_editor((64, 64, 3), 2, "zip")
    preset = network("photo_cnn", input_shape=(64, 64, 3), num_classes=2)
    # untouched: the preset itself, convolutions without bias before their BatchNormalization
    assert metrics(at)["Parameters"] == f"{summarize(preset).total_params:,}"
    assert at.session_state["result"].layers == preset.layers
    rows = layers_to_frame(preset)
    relu = next(i for i, kind in enumerate(rows["type"]) if kind == "Activation")
    at = edit(at, {str(relu): {"activation": "tanh"}}, key="train.layers.photo_cnn.2.0")
    assert not at.exception and not at.error, [e.value for e in at.error]
    edited = at.session_state["result"].layers[relu]
    assert (edited.type, edited.activation) == ("Activation", "tanh")


def test_choosing_another_preset_changes_the_returned_spec():
    at = open_editor()
    choose(at, "train.preset.mnist", "lenet5")
    assert not at.exception
    assert at.session_state["result"].name == "lenet5"
    assert at.data_editor[0].key == "train.layers.lenet5.10.0"


def test_an_edited_cell_changes_the_summary():
    at = open_editor()
    edit(at, {"0": {"filters": 16}})
    assert not at.error, [e.value for e in at.error]
    spec = at.session_state["result"]
    assert spec.layers[0].filters == 16
    # 3·3·1·16 + 16 weights, then 3·3·16·64 + 64 for the second conv; the rest is unchanged.
    assert metrics(at)["Parameters"] == f"{220_234 - 320 - 18_496 + 160 + 9_280:,}"


def test_an_output_layer_of_the_wrong_size_is_an_error_with_the_fix():
    at = open_editor()
    edit(at, {"6": {"units": 5}})
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "has 5 units but the data set has 10 classes" in error
    assert "set its units to 10" in error
    assert at.session_state["result"] is None
    assert not at.metric


def test_a_bad_cell_is_an_error_naming_the_row_not_a_traceback():
    at = open_editor()
    edit(at, {"2": {"kernel_size": 2.5}})
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Please fix the layer table: Row 3 (Conv2D): `kernel_size` must be a whole number."
    ]
    assert at.session_state["result"] is None


def test_a_stack_that_shrinks_below_one_pixel_cannot_be_built():
    at = open_editor((16, 16, 1), 10, "mnist")
    choose(at, "train.preset.mnist", "mnist_cnn_b")
    [error] = [e.value for e in at.error]
    assert error.startswith("This stack cannot be built: Layer 5 (conv2d_2)")
    assert at.session_state["result"] is None


def test_a_preset_that_cannot_be_adapted_says_so():
    at = open_editor((28, 28, 1), 1, "mnist")
    [error] = [e.value for e in at.error]
    assert error.startswith("The preset cannot be adapted to this data:")
    assert "num_classes" in error
    assert at.session_state["result"] is None


def test_reset_throws_away_the_edits():
    at = open_editor()
    edit(at, {"0": {"filters": 16}})
    assert at.session_state["result"].layers[0].filters == 16
    at.button(key="train.reset_layers").click().run()
    assert at.session_state["train.editor_version"] == 1
    assert at.data_editor[0].key == "train.layers.mnist_cnn_a.10.1"
    assert at.session_state["result"].layers[0].filters == 32
    assert metrics(at)["Parameters"] == "220,234"


def test_transfer_learning_returns_the_job_request_instead_of_a_spec(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # no cached weights
    at = open_editor((96, 96, 3), 2, "zip")
    at.radio(key="train.architecture_kind").set_value(TRANSFER_LABEL).run()
    assert not at.exception
    assert at.session_state["result"] == {"transfer": "MobileNetV2", "weights": None}
    assert not at.data_editor  # no layer table to edit
