"""Tests for core.jobs.model_store: names, the save/list/rename/delete round trip, atomic
writes (a save killed half-way leaves the old model loadable) and safe uploads.

The slow tests build tiny Keras models in the test process (only the Streamlit server
must stay free of TensorFlow); uploads are checked in a worker process as in the app.
The fast ones never import Keras, so they can share a process with AppTest page tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.base.paths import PROJECT_ROOT
from core.jobs import files, model_store
from core.jobs.model_store import ModelStoreError, ModelUploadError

ROOT = PROJECT_ROOT


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


def tiny_model(keras, *, seed: int, units: int = 2):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(units, activation="softmax"),
        ]
    )


@pytest.fixture(scope="module")
def model_files(keras, tmp_path_factory) -> tuple[Path, Path]:
    """Two different tiny models saved as .keras files (old and new)."""
    folder = tmp_path_factory.mktemp("sources")
    old, new = folder / "old.keras", folder / "new.keras"
    tiny_model(keras, seed=1).save(old)
    tiny_model(keras, seed=2, units=3).save(new)
    return old, new


@pytest.fixture()
def byte_files(tmp_path) -> tuple[Path, Path]:
    """Two stand-in .keras files for tests that only move bytes (no Keras needed)."""
    old, new = tmp_path / "old.keras", tmp_path / "new.keras"
    old.write_bytes(b"PK\x03\x04 old model")
    new.write_bytes(b"PK\x03\x04 new model, longer")
    return old, new


def same_weights(keras, path_a, path_b) -> bool:
    a = keras.saving.load_model(path_a).get_weights()
    b = keras.saving.load_model(path_b).get_weights()
    return len(a) == len(b) and all(
        x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b, strict=True)
    )


# ---------------------------------------------------------------------------
# Names (fast)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"), [(" mnist cnn-a ", "mnist cnn-a"), ("v1.2_b", "v1.2_b"), ("x.keras", "x")]
)
def test_validate_name_accepts_and_tidies_plain_names(name, expected):
    assert model_store.validate_name(name) == expected


@pytest.mark.parametrize("name", ["", "../evil", "a/b", ".hidden", "x" * 65, "end.", "tab\tname"])
def test_validate_name_refuses_names_that_could_leave_the_folder(name):
    with pytest.raises(ModelStoreError, match=re.escape(f"Received: name={name!r}.")):
        model_store.validate_name(name)


def test_a_name_that_is_not_a_string_is_a_type_error_naming_the_argument():
    with pytest.raises(TypeError, match=re.escape("`name` must be a string. Received: name=3.")):
        model_store.validate_name(3)
    message = "`new_name` must be a string. Received: new_name=None."
    with pytest.raises(TypeError, match=re.escape(message)):
        model_store.validate_name(None, argument="new_name")


def test_rename_names_the_new_name_it_refuses(byte_files, tmp_path):
    store = tmp_path / "store"
    model_store.save_model_file(byte_files[0], "first", models_dir=store)
    with pytest.raises(ModelStoreError, match=re.escape("Received: new_name='../x'.")):
        model_store.rename_model("first", "../x", models_dir=store)


def test_an_empty_or_missing_store_lists_nothing(tmp_path):
    assert model_store.list_models(models_dir=tmp_path / "absent") == []


def test_models_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(model_store.MODELS_DIR_ENV, str(tmp_path))
    assert model_store.models_dir() == tmp_path


# ---------------------------------------------------------------------------
# Round trip
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_save_list_and_load_round_trip_with_sidecar(keras, model_files, tmp_path):
    old, _ = model_files
    metadata = {"dataset": "tiny", "class_names": ["top", "bottom"], "metrics": {"acc": 0.9}}
    saved = model_store.save_model_file(old, "tiny", metadata, models_dir=tmp_path)
    assert saved.path == tmp_path / "tiny.keras"
    assert saved.sidecar_path == tmp_path / "tiny.json"

    [listed] = model_store.list_models(models_dir=tmp_path)
    assert listed.name == "tiny"
    assert listed.metadata["class_names"] == ["top", "bottom"]
    assert listed.metadata["metrics"] == {"acc": 0.9}
    assert listed.created is not None
    assert listed.size_bytes == old.stat().st_size
    assert model_store.read_model_bytes("tiny", models_dir=tmp_path) == old.read_bytes()
    assert same_weights(keras, listed.path, old)


def test_saving_over_an_existing_name_needs_overwrite(byte_files, tmp_path):
    old, new = byte_files
    tmp_path = tmp_path / "store"
    model_store.save_model_file(old, "tiny", models_dir=tmp_path)
    with pytest.raises(ModelStoreError, match="already exists"):
        model_store.save_model_file(new, "tiny", models_dir=tmp_path)
    model_store.save_model_file(new, "tiny", models_dir=tmp_path, overwrite=True)
    assert (tmp_path / "tiny.keras").read_bytes() == new.read_bytes()


def test_save_refuses_a_missing_source_and_a_non_bool_overwrite(byte_files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing, store = Path("missing.keras"), tmp_path / "store"
    message = "`source` must be an existing .keras file. Received: source='missing.keras'."
    with pytest.raises(ModelStoreError, match=re.escape(message)):
        model_store.save_model_file(missing, "tiny", models_dir=store)
    with pytest.raises(TypeError, match=re.escape("Received: overwrite=1.")):
        model_store.save_model_file(byte_files[0], "tiny", models_dir=store, overwrite=1)
    assert not store.exists()


def test_rename_and_delete_move_both_files(byte_files, tmp_path):
    old, _ = byte_files
    tmp_path = tmp_path / "store"
    model_store.save_model_file(old, "first", {"dataset": "tiny"}, models_dir=tmp_path)
    renamed = model_store.rename_model("first", "second", models_dir=tmp_path)
    assert renamed.name == "second" and renamed.metadata["dataset"] == "tiny"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["second.json", "second.keras"]
    model_store.delete_model("second", models_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ModelStoreError, match="no saved model called 'second'"):
        model_store.delete_model("second", models_dir=tmp_path)


# ---------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_save_that_fails_before_the_replace_leaves_the_old_model(
    keras, model_files, tmp_path, monkeypatch
):
    old, new = model_files
    model_store.save_model_file(old, "tiny", models_dir=tmp_path)

    def crash(*arguments):
        raise OSError("simulated crash between the write and the replace")

    monkeypatch.setattr(files.os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        model_store.save_model_file(new, "tiny", models_dir=tmp_path, overwrite=True)
    monkeypatch.undo()
    assert (tmp_path / "tiny.keras").read_bytes() == old.read_bytes()
    assert same_weights(keras, tmp_path / "tiny.keras", old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.json", "tiny.keras"]


@pytest.mark.slow
def test_a_save_killed_half_way_leaves_the_old_model_loadable(keras, model_files, tmp_path):
    old, new = model_files
    model_store.save_model_file(old, "tiny", models_dir=tmp_path)
    # A real SIGKILL at the worst moment: the new bytes are written, the replace not done.
    script = f"""
import os, signal
from core.jobs import files, model_store
files.os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
model_store.save_model_file({str(new)!r}, "tiny", models_dir={str(tmp_path)!r}, overwrite=True)
"""
    killed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=False)
    assert killed.returncode == -9
    assert (tmp_path / "tiny.keras").read_bytes() == old.read_bytes()
    assert same_weights(keras, tmp_path / "tiny.keras", old)
    [listed] = model_store.list_models(models_dir=tmp_path)  # the leftover temp file is hidden
    assert listed.name == "tiny"


def test_atomic_write_json_replaces_the_whole_file(tmp_path):
    path = tmp_path / "status.json"
    files.atomic_write_json(path, {"state": "running", "epoch": 1})
    files.atomic_write_json(path, {"state": "finished"})
    assert files.read_json(path) == {"state": "finished"}
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


# ---------------------------------------------------------------------------
# Uploads (checked in a worker process)
# ---------------------------------------------------------------------------


def test_upload_refuses_files_that_are_too_big_or_not_keras(tmp_path):
    with pytest.raises(ModelUploadError, match="limited to"):
        model_store.upload_model(
            b"PK\x03\x04" + bytes(100), "big", models_dir=tmp_path, max_bytes=50
        )
    with pytest.raises(ModelUploadError, match="not a Keras 3 model"):
        model_store.upload_model(b"\x89HDF\r\n", "h5", models_dir=tmp_path)
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("data", "options", "message"),
    [
        ("PK", {}, "`data` must be bytes. Received: data='PK'."),
        (None, {}, "`data` must be bytes. Received: data=None."),
        (b"PK\x03\x04", {"overwrite": "no"}, "`overwrite` must be True or False."),
    ],
)
def test_upload_refuses_arguments_of_the_wrong_type(tmp_path, data, options, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        model_store.upload_model(data, "tiny", models_dir=tmp_path, **options)
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_upload_refuses_a_model_with_a_lambda_layer(keras, tmp_path):
    model = keras.Sequential(
        [keras.Input(shape=(4,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(2)]
    )
    path = tmp_path / "lambda.keras"
    model.save(path)
    store = tmp_path / "store"
    with pytest.raises(ModelUploadError, match="Lambda layer"):
        model_store.upload_model(path.read_bytes(), "sneaky", models_dir=store)
    assert model_store.list_models(models_dir=store) == []
    assert not store.exists() or list(store.iterdir()) == []


@pytest.mark.slow
def test_upload_accepts_a_plain_model_and_describes_it(model_files, tmp_path):
    old, _ = model_files
    saved = model_store.upload_model(
        old.read_bytes(), "uploaded", models_dir=tmp_path, metadata={"class_names": ["a", "b"]}
    )
    assert saved.path.read_bytes() == old.read_bytes()
    assert saved.metadata["source"] == "upload"
    assert saved.metadata["input_shape"] == [8, 8, 1]
    assert saved.metadata["output_shape"] == [2]
    assert saved.metadata["total_params"] == 4 * 9 + 4 + 6 * 6 * 4 * 2 + 2
    assert saved.metadata["class_names"] == ["a", "b"]


# ---------------------------------------------------------------------------
# Without the optimizer's state (the default)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_file(keras, tmp_path_factory) -> Path:
    """A small model trained one epoch with Adam: its .keras file holds the optimizer state.

    About 37,000 weights, so that they, not the file's headers, make up its size.
    """
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    model.fit(rng.random((16, 8, 8, 1)), np.arange(16) % 2, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("trained") / "trained.keras"
    model.save(path)
    return path


@pytest.mark.slow
def test_a_model_is_saved_without_its_optimizer_state_smaller_and_still_predicts(
    keras, trained_file, tmp_path
):
    assert model_store.has_optimizer_state(trained_file)
    saved = model_store.save_model_file(trained_file, "lean", models_dir=tmp_path)
    # Adam keeps two numbers per weight: the file holds a third of what it did.
    assert saved.size_bytes < 0.4 * trained_file.stat().st_size
    assert not model_store.has_optimizer_state(saved.path)
    assert saved.metadata["optimizer_state"] is False
    assert same_weights(keras, saved.path, trained_file)
    images = np.random.default_rng(1).random((4, 8, 8, 1))
    lean = keras.saving.load_model(saved.path)
    full = keras.saving.load_model(trained_file)
    np.testing.assert_array_equal(lean.predict(images, verbose=0), full.predict(images, verbose=0))
    assert not lean.compiled  # uncompiled, as Keras' include_optimizer=False used to give


@pytest.mark.slow
def test_keep_optimizer_keeps_the_same_file_with_its_optimizer_variables(
    keras, trained_file, tmp_path
):
    saved = model_store.save_model_file(
        trained_file, "full", models_dir=tmp_path, keep_optimizer=True
    )
    assert saved.path.read_bytes() == trained_file.read_bytes()
    assert saved.metadata["optimizer_state"] is True
    loaded = keras.saving.load_model(saved.path)
    original = keras.saving.load_model(trained_file)
    assert int(loaded.optimizer.iterations.numpy()) == 1  # one step of 16 images, batch 32
    assert len(loaded.optimizer.variables) == len(original.optimizer.variables) > 2


def test_keep_optimizer_must_be_a_bool(byte_files, tmp_path):
    with pytest.raises(TypeError, match=re.escape("Received: keep_optimizer='yes'.")):
        model_store.save_model_file(byte_files[0], "x", models_dir=tmp_path, keep_optimizer="yes")


def test_a_file_without_optimizer_state_is_copied_byte_for_byte(byte_files, tmp_path):
    assert not model_store.has_optimizer_state(byte_files[0])  # not even a whole zip
    saved = model_store.save_model_file(byte_files[0], "bytes", models_dir=tmp_path)
    assert saved.path.read_bytes() == byte_files[0].read_bytes()
    assert saved.metadata["optimizer_state"] is False


def test_without_optimizer_names_a_damaged_source(byte_files, tmp_path):
    with pytest.raises(ModelStoreError, match="damaged"):
        model_store.without_optimizer(byte_files[0], tmp_path / "out.keras")
