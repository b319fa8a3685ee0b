"""Tests for core.jobs.files: atomic writes leave the old content or the new, never a mix or a
stray temporary file; read_json falls back to its default for anything unreadable."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core.base.paths import PROJECT_ROOT
from core.jobs.files import atomic_copy, atomic_write_bytes, atomic_write_json, read_json


def leftovers(folder: Path, target: Path) -> list[str]:
    """Files in ``folder`` besides ``target`` (temporary siblings that were not cleaned up)."""
    return sorted(path.name for path in folder.iterdir() if path != target)


# ---------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------


def test_a_reader_sees_the_old_content_or_the_new_never_a_mix(tmp_path):
    path = tmp_path / "status.json"
    contents = [b"a" * 2_000_000, b"b" * 1_000_000]
    atomic_write_bytes(path, contents[0])
    seen, done = [], threading.Event()

    def read_while_written():
        while not done.is_set():
            seen.append(path.read_bytes())

    reader = threading.Thread(target=read_while_written)
    reader.start()
    for index in range(40):
        atomic_write_bytes(path, contents[index % 2], durable=False)
    done.set()
    reader.join()
    assert seen and all(data in contents for data in seen)
    assert leftovers(tmp_path, path) == []


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "model.json"
    atomic_write_bytes(path, b"old")
    with pytest.raises(TypeError):
        atomic_write_bytes(path, "text, not bytes")  # fails once the temporary file is open
    assert path.read_bytes() == b"old"
    assert leftovers(tmp_path, path) == []


def test_a_writer_killed_mid_write_leaves_a_whole_file(tmp_path):
    path = tmp_path / "big.bin"
    old, size = b"o" * 1000, 200_000_000
    atomic_write_bytes(path, old)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from core.jobs.files import atomic_write_bytes;"
            f"atomic_write_bytes(sys.argv[1], b'n' * {size})",
            str(path),
        ],
        cwd=PROJECT_ROOT,
    )
    deadline = time.monotonic() + 30
    while not leftovers(tmp_path, path) and writer.poll() is None:
        assert time.monotonic() < deadline, "the writer never started writing"
        time.sleep(0.001)
    writer.send_signal(signal.SIGKILL)  # the new bytes are on their way to a temporary file
    writer.wait()
    data = path.read_bytes()
    assert data == old or (len(data) == size and data[:1] == data[-1:] == b"n")


def test_atomic_writes_make_the_folder_and_return_the_path(tmp_path):
    path = tmp_path / "a" / "b" / "file.bin"
    assert atomic_write_bytes(path, b"x") == path
    assert path.read_bytes() == b"x"


def test_atomic_write_json_writes_numpy_values_paths_and_a_final_newline(tmp_path):
    path = tmp_path / "evaluation.json"
    value = {"accuracy": np.float32(0.5), "matrix": np.eye(2, dtype=int), "where": Path("/runs/x")}
    atomic_write_json(path, value)
    text = path.read_text()
    assert text.endswith("}\n")
    assert json.loads(text) == {"accuracy": 0.5, "matrix": [[1, 0], [0, 1]], "where": "/runs/x"}


@pytest.mark.parametrize(
    ("value", "error"), [({"loss": math.nan}, ValueError), ({"what": object()}, TypeError)]
)
def test_a_value_that_is_not_json_is_refused_and_the_old_file_kept(tmp_path, value, error):
    path = tmp_path / "status.json"
    atomic_write_json(path, {"state": "running"})
    with pytest.raises(error):
        atomic_write_json(path, value)
    assert read_json(path) == {"state": "running"}
    assert leftovers(tmp_path, path) == []


def test_atomic_copy_replaces_the_target_with_the_whole_source(tmp_path):
    source, target = tmp_path / "source.keras", tmp_path / "store" / "model.keras"
    source.write_bytes(bytes(range(256)) * 20_000)  # several read chunks
    atomic_write_bytes(target, b"the old model")
    assert atomic_copy(source, target) == target
    assert target.read_bytes() == source.read_bytes()
    assert leftovers(target.parent, target) == []


def test_a_copy_from_a_missing_source_keeps_the_target(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"the old model")
    with pytest.raises(FileNotFoundError):
        atomic_copy(tmp_path / "missing.keras", target)
    assert target.read_bytes() == b"the old model"
    assert leftovers(tmp_path, target) == []


# ---------------------------------------------------------------------------
# read_json
# ---------------------------------------------------------------------------


def test_read_json_returns_what_was_written(tmp_path):
    path = atomic_write_json(tmp_path / "config.json", {"epochs": 2, "names": ["a", "b"]})
    assert read_json(path) == {"epochs": 2, "names": ["a", "b"]}
    assert read_json(path, default={}) == {"epochs": 2, "names": ["a", "b"]}


@pytest.mark.parametrize(
    "make",
    [
        lambda folder: folder / "missing.json",
        lambda folder: _write(folder / "half.json", b'{"state": "runn'),
        lambda folder: _write(folder / "binary.json", b"\xff\xfe\x00"),
        lambda folder: _write(folder / "file", b"{}") / "inside.json",
    ],
    ids=["missing", "half-written", "not utf-8", "under a file"],
)
def test_read_json_gives_the_default_for_anything_unreadable(tmp_path, make):
    path = make(tmp_path)
    assert read_json(path) is None
    assert read_json(path, default={"state": "queued"}) == {"state": "queued"}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
