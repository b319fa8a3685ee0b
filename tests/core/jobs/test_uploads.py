"""Tests for core.jobs.uploads: where uploaded model files wait, and pruning them by age and
count without ever deleting the file just uploaded; what makes a file no Keras model, told
before any worker sees it."""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from core.jobs import uploads
from core.jobs.inspection import ModelRejectedError
from core.jobs.model_store import ModelUploadError, list_models, upload_model
from core.jobs.uploads import UPLOAD_MAX_AGE_SECONDS, prune_uploads
from core.jobs.worker_client import WorkerClient

NOW = 1_000_000.0


def upload(folder: Path, name: str, age: float) -> Path:
    """A stand-in `.keras` upload last modified ``age`` seconds before `NOW`."""
    path = folder / f"{name}.keras"
    path.write_bytes(b"PK")
    os.utime(path, (NOW - age, NOW - age))
    return path


def test_old_and_surplus_uploads_are_pruned_but_never_the_new_one(tmp_path):
    now = 1_000_000.0
    ages = {"fresh": 60, "day_old": UPLOAD_MAX_AGE_SECONDS + 60, "new": 0}
    for name, age in ages.items():
        path = tmp_path / f"{name}.keras"
        path.write_bytes(b"PK")
        os.utime(path, (now - age, now - age))
    (tmp_path / "notes.txt").write_text("not an upload")
    deleted = prune_uploads(tmp_path, keep=tmp_path / "new.keras", now=now)
    assert deleted == [tmp_path / "day_old.keras"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.keras", "new.keras", "notes.txt"]
    # Over the count limit the oldest go first; the file just uploaded stays even if oldest.
    os.utime(tmp_path / "new.keras", (now - 120, now - 120))
    deleted = prune_uploads(tmp_path, keep=tmp_path / "new.keras", max_files=1, now=now)
    assert deleted == []  # "fresh" is the newest, "new" is kept on purpose
    deleted = prune_uploads(tmp_path, max_files=1, now=now)
    assert deleted == [tmp_path / "new.keras"]


def test_uploads_older_than_the_age_limit_go_and_younger_ones_stay(tmp_path):
    upload(tmp_path, "just_under", 3600 - 1)
    upload(tmp_path, "just_over", 3600 + 1)
    assert prune_uploads(tmp_path, max_age_s=3600, now=NOW) == [tmp_path / "just_over.keras"]
    assert [path.name for path in tmp_path.iterdir()] == ["just_under.keras"]


def test_beyond_the_count_limit_the_oldest_go_first(tmp_path):
    for age in range(1, 8):
        upload(tmp_path, f"age{age}", age)
    deleted = prune_uploads(tmp_path, max_files=3, now=NOW)
    assert [path.name for path in deleted] == [
        "age4.keras",
        "age5.keras",
        "age6.keras",
        "age7.keras",
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "age1.keras",
        "age2.keras",
        "age3.keras",
    ]


def test_the_kept_file_stays_even_when_it_is_too_old_and_beyond_the_count(tmp_path):
    kept = upload(tmp_path, "kept", UPLOAD_MAX_AGE_SECONDS * 2)
    upload(tmp_path, "newer", 10)
    assert prune_uploads(tmp_path, keep=kept, max_files=1, now=NOW) == []
    assert kept.is_file()


def test_only_keras_files_are_touched_and_an_empty_or_missing_folder_is_fine(tmp_path):
    other = tmp_path / "model.h5"
    other.write_bytes(b"old")
    os.utime(other, (0, 0))
    assert prune_uploads(tmp_path, max_files=0, now=NOW) == []
    assert other.is_file()
    assert prune_uploads(tmp_path / "missing", now=NOW) == []


def test_uploads_wait_in_one_folder_under_the_system_temporary_folder():
    folder = uploads.upload_dir()
    assert folder.parent == Path(tempfile.gettempdir())
    assert folder.name == uploads.UPLOAD_DIR_NAME
    assert uploads.upload_dir() == folder


def zip_claiming(unpacked_size: int, *, encrypted: bool = False) -> bytes:
    """A small zip whose directory claims one member unpacks to ``unpacked_size`` bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model.weights.h5", b"\0" * 1024)
    data = bytearray(buffer.getvalue())
    central = data.index(b"PK\x01\x02")  # the central directory entry of the member
    if encrypted:
        flags = struct.unpack_from("<H", data, central + 8)[0]
        struct.pack_into("<H", data, central + 8, flags | 0x1)
    struct.pack_into("<I", data, central + 24, unpacked_size)  # "uncompressed size"
    return bytes(data)


def test_a_zip_claiming_a_gigabyte_is_refused_from_its_directory_alone():
    started = time.perf_counter()
    problem = uploads.zip_problem(zip_claiming(2**30))
    assert time.perf_counter() - started < 0.5
    assert problem == (
        "The file says it unpacks to 1,074 MB, more than the 524 MB a model may take here; "
        "it was not opened."
    )
    assert uploads.zip_problem(zip_claiming(1024)) is None


def test_an_encrypted_or_unreadable_zip_is_refused():
    assert "password-protected" in uploads.zip_problem(zip_claiming(1024, encrypted=True))
    assert "not a readable zip" in uploads.zip_problem(b"PK\x03\x04" + b"\0" * 64)


def test_both_upload_paths_refuse_a_zip_bomb_in_under_a_second_without_a_worker(tmp_path):
    bomb = zip_claiming(2**30)
    client = WorkerClient()
    started = time.perf_counter()
    with pytest.raises(ModelRejectedError, match="unpacks to 1,074 MB"):
        client.load_upload(bomb)
    with pytest.raises(ModelUploadError, match="unpacks to 1,074 MB"):
        upload_model(bomb, "bomb", models_dir=tmp_path)
    assert time.perf_counter() - started < 1.0
    assert client.starts == 0  # refused before any worker was started
    assert list_models(models_dir=tmp_path) == []


def keras_like_zip(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


LAYER = {"module": "keras.layers", "class_name": "Conv2D", "config": {"name": "conv"}}
LAMBDA = {"module": "keras.layers", "class_name": "Lambda", "config": {"function": {}}}
FUNCTION = {"class_name": "__lambda__", "config": {"code": "4wEAAAAA"}}


def config(*layers) -> str:
    return json.dumps({"class_name": "Functional", "config": {"layers": list(layers)}})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "The file is empty (0 bytes)."),
        (pickle.dumps({"weights": [1.0]}), "This file is a Python pickle, not a Keras 3 model."),
        (uploads.HDF5_SIGNATURE + bytes(8), "This is an HDF5 (.h5) file"),
        (b"Model: sequential\nconv2d (Conv2D) 320\n", "This is a text file, not a Keras 3 model."),
        (b"\x08\x01\x12\xeb\xe6\x02\n\x88" + bytes(64), "This file is not a Keras 3 model"),
        (keras_like_zip({"saved_model/saved_model.pb": b"x"}), "holds a TensorFlow SavedModel"),
        (keras_like_zip({"ckpt/model.ckpt.index": b"x"}), "holds a TensorFlow checkpoint"),
        (keras_like_zip({"model.weights.h5": b"x"}), "it has no config.json"),
        (keras_like_zip({"config.json": config(LAYER)}), "holds no weights"),
        (
            keras_like_zip({"config.json": b"{oops", "model.weights.h5": b"x"}),
            "config.json, which describes the layers, cannot be read",
        ),
        (
            keras_like_zip({"config.json": "[" * 100_000, "model.weights.h5": b"x"}),
            "config.json, which describes the layers, cannot be read",
        ),
        (
            keras_like_zip({"config.json": config(LAYER, LAMBDA), "model.weights.h5": b"x"}),
            "contains a Lambda layer or other Python code",
        ),
        (
            keras_like_zip(
                {"config.json": config({**LAYER, "activation": FUNCTION}), "model.weights.h5": b""}
            ),
            "contains a Lambda layer or other Python code",
        ),
    ],
)
def test_each_kind_of_file_that_is_no_keras_model_is_named_with_what_to_do(data, expected):
    problem = uploads.model_file_problem(data)
    assert problem is not None and expected in problem
    assert "model.save('name.keras')" in problem or "Rebuild it" in problem


def test_a_keras_file_with_its_members_and_standard_layers_passes():
    data = keras_like_zip({"config.json": config(LAYER), "model.weights.h5": b"x"})
    assert uploads.model_file_problem(data) is None


def test_a_config_json_claiming_to_be_huge_is_not_read():
    data = bytearray(keras_like_zip({"model.weights.h5": b"x", "config.json": config(LAYER)}))
    central = data.rindex(b"PK\x01\x02")  # the directory entry of config.json, written last
    struct.pack_into("<I", data, central + 24, 100 * 1024 * 1024)
    assert "config.json says it is 105 MB" in uploads.model_file_problem(bytes(data))
