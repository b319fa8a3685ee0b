"""ui.inspect.models: the model picker (bundled, saved, uploaded) and loading a model's info.

Picking needs no worker: the bundled models and the store are files, and an upload that is
not a .keras archive is refused before a worker is asked. Loading a model's description runs
in the real inference worker, so that test is marked slow.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.base.paths import BUNDLED_MODELS_DIR
from core.jobs import model_store
from tests.inspect_helpers import FASHION_MODEL, MNIST_MODEL
from ui.inspect.models import ModelChoice, _describe, _models_in


@pytest.fixture(autouse=True)
def models_folder(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("CONVSCOPE_MODELS_DIR", str(folder))
    return folder


def saved(name: str, metadata: dict, folder=None) -> model_store.SavedModel:
    return model_store.save_model_file(MNIST_MODEL, name, metadata, models_dir=folder)


def test_a_model_is_described_by_name_data_and_accuracy(models_folder):
    assert _describe(saved("a", {"dataset": "mnist", "metrics": {"test_accuracy": 0.985}})) == (
        "a · MNIST · 98.50% test accuracy"
    )
    assert _describe(saved("b", {"metrics": {"test_accuracy": "high"}})) == "b"
    assert _describe(saved("c", {"dataset": "pets", "metrics": None})) == "c · pets"


def test_a_bundled_model_goes_by_its_title_and_a_saved_one_by_its_name(models_folder):
    """No file names or data set ids on screen: the sidecar's title, the data set's name."""
    bundled = {model.name: model for model in _models_in(BUNDLED_MODELS_DIR)}
    assert _describe(bundled["mnist_cnn_a"]).startswith("MNIST CNN A · MNIST · 99.")
    assert _describe(bundled["fashion_mnist_cnn"]).startswith("Fashion-MNIST CNN · Fashion-MNIST")
    assert saved("my-net", {"dataset": "cifar10"}).title == "my-net"
    assert saved("blank", {"title": "  "}).title == "blank"
    assert saved("odd", {"title": 7}).title == "odd"  # a damaged sidecar: the name


def test_the_bundled_folder_holds_two_models_and_a_missing_one_none(tmp_path):
    assert _models_in(tmp_path / "missing") == []
    bundled = {model.name for model in _models_in(BUNDLED_MODELS_DIR)}
    assert bundled == {"mnist_cnn_a", "fashion_mnist_cnn"}


def picker_script():
    import streamlit as st

    from ui.inspect.models import model_picker

    st.session_state["result"] = model_picker()


def open_picker(source: str | None = None) -> AppTest:
    at = AppTest.from_function(picker_script).run()
    if source is not None:
        at.radio(key="inspect.model_source").set_value(source).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_picker_starts_on_the_bundled_mnist_model_with_its_sidecar():
    at = open_picker()
    picker = at.radio(key="inspect.model_bundled")
    assert picker.options == [
        "Fashion-MNIST CNN · Fashion-MNIST · 90.09% test accuracy",
        "MNIST CNN A · MNIST · 99.04% test accuracy",
    ]
    assert picker.value == "mnist_cnn_a"
    choice = at.session_state["result"]
    assert choice == ModelChoice(str(MNIST_MODEL), "MNIST CNN A", choice.metadata)
    assert choice.metadata["dataset"] == "mnist" and len(choice.metadata["class_names"]) == 10
    assert at.caption[0].value.startswith("The course's MNIST CNN A (two convolution layers")


def test_another_bundled_model_can_be_picked():
    at = open_picker()
    at.radio(key="inspect.model_bundled").set_value("fashion_mnist_cnn").run()
    choice = at.session_state["result"]
    assert (choice.path, choice.label) == (str(FASHION_MODEL), "Fashion-MNIST CNN")
    assert choice.metadata["class_names"][-1] == "Ankle boot"


def test_no_saved_models_says_how_to_get_one(models_folder):
    at = open_picker("saved")
    [info] = [i.value for i in at.info]
    assert info.startswith(f"No models in {models_folder}. Train one on the 'Train a CNN' page")
    assert at.session_state["result"] is None


def test_a_saved_model_comes_with_its_sidecar():
    saved("zeta", {"dataset": "mnist"})
    saved("alpha", {"dataset": "fashion_mnist", "metrics": {"test_accuracy": 0.5}})
    at = open_picker("saved")
    picker = at.radio(key="inspect.model_saved")
    assert picker.label == "Saved model"
    assert picker.options == ["alpha · Fashion-MNIST · 50.00% test accuracy", "zeta · MNIST"]
    assert picker.value == "alpha"  # the first by name: no saved model is called mnist_cnn_a
    choice = at.session_state["result"]
    assert choice.label == "alpha" and Path(choice.path).name == "alpha.keras"
    assert choice.metadata["dataset"] == "fashion_mnist"


def test_a_picked_model_that_was_deleted_falls_back_to_the_first():
    saved("one", {})
    saved("two", {})
    at = open_picker("saved")
    at.radio(key="inspect.model_saved").set_value("two").run()
    model_store.delete_model("two")  # e.g. on the Train page, in another tab
    at.run()
    assert not at.exception
    assert at.radio(key="inspect.model_saved").value == "one"
    assert at.session_state["result"].label == "one"


def test_an_upload_is_asked_for_and_a_file_that_is_not_a_keras_archive_is_refused():
    at = open_picker("upload")
    assert [i.value for i in at.info] == ["Choose a .keras or .h5 model file to inspect it."]
    at.file_uploader(key="inspect.model_upload").set_value(
        ("notes.keras", b"just some text", "application/octet-stream")
    ).run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert error.startswith(
        "**notes.keras** cannot be inspected. This is a text file, not a Keras 3 model"
    )
    assert at.session_state["result"] is None


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("model.pkl", b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.", "a Python pickle"),
        ("saved_model.pb", b"\x08\x01\x12\xeb\xe6\x02\n\x88" + bytes(40), "not a Keras 3 model"),
        ("README.txt", b"My model, trained on MNIST.", "a text file"),
    ],
)
def test_a_file_of_another_kind_is_taken_and_told_what_it_is(name, data, expected):
    """Any file can be chosen, so it gets the app's message instead of the uploader's."""
    at = open_picker("upload")
    at.file_uploader(key="inspect.model_upload").set_value(
        (name, data, "application/octet-stream")
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    [error] = [e.value for e in at.error]
    assert error.startswith(f"**{name}** cannot be inspected.") and expected in error
    assert "model.save('name.keras')" in error
    assert at.session_state["result"] is None


@pytest.mark.slow  # the worker converts it
def test_an_h5_upload_is_converted_and_says_so():
    from core.jobs.legacy_models import LEGACY_NOTE
    from tests.corpus.legacy_models import tf_keras2_h5

    at = open_picker("upload")
    at.file_uploader(key="inspect.model_upload").set_value(
        ("old.h5", tf_keras2_h5(), "application/octet-stream")
    ).run(timeout=180)
    assert not at.exception and not at.error
    assert LEGACY_NOTE in [i.value for i in at.info]
    result = at.session_state["result"]
    assert result.label == "old.h5" and result.path.endswith(".keras")


# ---------------------------------------------------------------------------
# Loading a model's description in the real worker
# ---------------------------------------------------------------------------


def load_script(choice):
    import streamlit as st

    from ui.inspect.models import load_model_info

    st.session_state["result"] = load_model_info(choice)


@pytest.mark.slow
def test_the_worker_describes_a_bundled_model_and_refuses_a_broken_file(tmp_path):
    choice = ModelChoice(str(MNIST_MODEL), "mnist_cnn_a", {})
    at = AppTest.from_function(load_script, args=(choice,), default_timeout=120).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    info = at.session_state["result"]
    assert (info.input_shape, info.num_classes, info.total_params) == ((28, 28, 1), 10, 220_234)
    assert [layer.name for layer in info.conv_layers] == ["conv2d", "conv2d_1"]

    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"PK\x03\x04 but not really a zip")
    choice = ModelChoice(str(broken), "broken.keras", {})
    at = AppTest.from_function(load_script, args=(choice,), default_timeout=120).run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "**broken.keras**" in error
    assert at.session_state["result"] is None


@pytest.mark.slow
def test_the_notes_of_an_accepted_model_are_shown(tmp_path):
    from tests.corpus.models import built

    path = tmp_path / "dense.keras"
    path.write_bytes(built("dense_only.keras"))
    choice = ModelChoice(str(path), "dense.keras", {})
    at = AppTest.from_function(load_script, args=(choice,), default_timeout=120).run()
    assert not at.exception and not at.error and not at.warning
    assert at.info[0].value.startswith("This model has no convolution layers (a dense network)")
    path = tmp_path / "diverged.keras"
    path.write_bytes(built("nan_weights.keras"))
    choice = ModelChoice(str(path), "diverged.keras", {})
    at = AppTest.from_function(load_script, args=(choice,), default_timeout=120).run()
    assert not at.exception and not at.error
    assert at.warning[0].value.startswith("This model's weights hold NaN or infinite values")
    assert at.session_state["result"].nan_layers == ("conv_2",)


def views_script():
    import streamlit as st

    from ui.inspect.models import model_picker

    choice = model_picker()
    # Two views as the page draws them: their options exist in either bundled model.
    st.session_state["layer"] = st.selectbox(
        "Grad-CAM layer", ["conv2d", "conv2d_1"], index=1, key="inspect.cam_layer"
    )
    st.session_state["channel"] = st.number_input("Channel", 0, 31, key="inspect.pool_channel")
    st.radio("Tab", ["a", "b"], key="inspect.tab")
    st.session_state["result"] = choice


def test_switching_models_resets_every_view_that_depended_on_the_old_one():
    at = AppTest.from_function(views_script).run()
    assert at.session_state["result"].label == "MNIST CNN A"
    at.selectbox(key="inspect.cam_layer").set_value("conv2d")
    at.number_input(key="inspect.pool_channel").set_value(7)
    at.radio(key="inspect.tab").set_value("b").run()
    at.run()  # the same model again: the picks stay
    assert (at.session_state["layer"], at.session_state["channel"]) == ("conv2d", 7)
    at.radio(key="inspect.model_bundled").set_value("fashion_mnist_cnn").run()
    assert not at.exception
    assert at.session_state["result"].label == "Fashion-MNIST CNN"
    # Each view starts again from the new model's default, never the old model's pick ...
    assert (at.session_state["layer"], at.session_state["channel"]) == ("conv2d_1", 0)
    assert at.selectbox(key="inspect.cam_layer").value == "conv2d_1"
    # ... while what is not about the model (the open tab) stays.
    assert at.radio(key="inspect.tab").value == "b"
