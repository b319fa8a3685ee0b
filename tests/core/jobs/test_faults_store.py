"""Faults while saving a model into the store, injected for real: the saving process killed
(SIGKILL) while the new file is being written, a full disk (a small tmpfs that really runs out
of room, and a file-size limit that makes the kernel refuse the write), and two sessions saving
under one name at the same moment (processes and threads racing).

Whatever happens, the store holds whole models only: the earlier model keeps its exact bytes,
no half-written file is listed, a model's sidecar is always its own, and the loser of a race
gets a clear "already exists" message.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import pytest

from core.base.paths import PROJECT_ROOT
from core.jobs import model_store
from core.jobs.files import is_disk_full, remove_leftovers
from core.jobs.model_store import ModelNameTakenError, StoreFullError
from tests.helpers_faults import fill
from tests.helpers_faults import small_disk as mounted_small_disk

BUNDLED = PROJECT_ROOT / "assets" / "models" / "mnist_cnn_a.keras"


def variant(path: Path, tag: str, *, padding: int = 0) -> Path:
    """A copy of the bundled model with one more stored member: distinct bytes, still a zip."""
    shutil.copyfile(BUNDLED, path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("writer.txt", tag + "\n" + "x" * padding)
    return path


def hidden_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def run_python(code: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def assert_whole_model(path: Path, expected: Path) -> None:
    assert path.read_bytes() == expected.read_bytes()
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert {"config.json", "model.weights.h5"} <= set(archive.namelist())


# ---------------------------------------------------------------------------
# The server killed while saving
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("overwrite", [True, False], ids=["replacing", "new-name"])
def test_a_server_killed_while_saving_leaves_the_earlier_model_and_no_half_model(
    tmp_path, overwrite
):
    store = tmp_path / "models"
    earlier = variant(tmp_path / "earlier.keras", "earlier")
    model_store.save_model_file(earlier, "digits", {"writer": "earlier"}, models_dir=store)
    # 40 MB: the copy takes long enough for the kill to land while it is being written.
    new = variant(tmp_path / "new.keras", "new", padding=40_000_000)
    name = "digits" if overwrite else "digits 2"
    saver = run_python(
        f"""
        from core.jobs.model_store import save_model_file
        save_model_file({str(new)!r}, {name!r}, {{"writer": "new"}},
                        models_dir={str(store)!r}, overwrite={overwrite})
        """
    )
    prefix = f".{name}.keras.{saver.pid}."
    deadline = time.monotonic() + 60
    while not any(entry.name.startswith(prefix) for entry in os.scandir(store)):
        assert saver.poll() is None, "the save ended before it could be killed"
        assert time.monotonic() < deadline, "the save never started writing"
    saver.send_signal(signal.SIGKILL)  # the new bytes are on their way to the temporary file
    assert saver.wait() == -signal.SIGKILL
    assert hidden_files(store)  # the half-written file is still there ...

    # ... until the store is next read (the next server start lists it): then it is gone.
    lister = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys; from core.jobs.model_store import list_models;"
            "print(json.dumps([[m.name, m.metadata.get('writer')] for m in "
            "list_models(models_dir=sys.argv[1])]))",
            str(store),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(lister.stdout) == [["digits", "earlier"]]
    assert hidden_files(store) == []
    assert sorted(p.name for p in store.iterdir()) == ["digits.json", "digits.keras"]
    assert_whole_model(store / "digits.keras", earlier)


def test_leftovers_of_a_live_writer_are_kept_and_of_a_dead_one_removed(tmp_path):
    mine = tmp_path / f".digits.keras.{os.getpid()}.abcd1234.tmp"
    mine.write_bytes(b"being written")
    sleeper = subprocess.Popen([sys.executable, "-c", "pass"])
    sleeper.wait()  # a pid that no longer runs
    dead = tmp_path / f".digits.keras.{sleeper.pid}.abcd1234.tmp.keras"
    dead.write_bytes(b"half")
    user_file = tmp_path / ".notes"
    user_file.write_text("not ours")
    assert remove_leftovers(tmp_path) == [dead]
    assert mine.exists() and user_file.exists()
    old = time.time() - 2 * 24 * 3600
    os.utime(mine, (old, old))  # a day old: its pid may belong to someone else now
    assert remove_leftovers(tmp_path) == [mine]


# ---------------------------------------------------------------------------
# A full disk
# ---------------------------------------------------------------------------


@pytest.fixture()
def small_disk(tmp_path):
    """A real 3 MB file system (tmpfs) that can be filled up; skipped where mounting is refused."""
    with mounted_small_disk(tmp_path / "disk") as mount_point:
        yield mount_point


def test_a_full_disk_refuses_the_save_in_words_and_keeps_the_earlier_model(small_disk, tmp_path):
    store = small_disk / "models"
    earlier = variant(tmp_path / "earlier.keras", "earlier")
    model_store.save_model_file(earlier, "digits", {"writer": "earlier"}, models_dir=store)
    new = variant(tmp_path / "new.keras", "new")
    filler = fill(small_disk)

    for name, overwrite in (("digits", True), ("digits 2", False)):
        with pytest.raises(StoreFullError) as refused:
            model_store.save_model_file(new, name, models_dir=store, overwrite=overwrite)
        message = str(refused.value)
        assert "The model was not saved: the disk is full" in message
        assert "Free some space" in message and "Errno" not in message
        assert hidden_files(store) == []  # no half-written file left behind
        assert [m.name for m in model_store.list_models(models_dir=store)] == ["digits"]
        assert_whole_model(store / "digits.keras", earlier)
        assert model_store.get_model("digits", models_dir=store).metadata["writer"] == "earlier"

    filler.unlink()  # what the message says to do
    saved = model_store.save_model_file(new, "digits 2", models_dir=store)
    assert_whole_model(saved.path, new)


def test_a_file_size_limit_refuses_the_save_in_words_too(tmp_path):
    """Where no file system can be mounted: the kernel refuses writes past RLIMIT_FSIZE."""
    store = tmp_path / "models"
    earlier = variant(tmp_path / "earlier.keras", "earlier")
    model_store.save_model_file(earlier, "digits", models_dir=store)
    new = variant(tmp_path / "new.keras", "new")
    saver = run_python(
        f"""
        import resource, signal
        from core.jobs.model_store import StoreFullError, save_model_file
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a refused write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, resource.RLIM_INFINITY))
        try:
            save_model_file({str(new)!r}, "digits", models_dir={str(store)!r}, overwrite=True)
        except StoreFullError as error:
            print(error)
        """
    )
    out, err = saver.communicate(timeout=60)
    assert saver.returncode == 0, err
    assert "The model was not saved: the disk is full" in out
    assert hidden_files(store) == []
    assert_whole_model(store / "digits.keras", earlier)


def test_disk_full_is_told_from_other_write_errors():
    with open("/dev/full", "wb", buffering=0) as device, pytest.raises(OSError) as full:
        device.write(b"x")
    assert is_disk_full(full.value)  # the real ENOSPC a full disk gives
    assert not is_disk_full(PermissionError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(ValueError("not an OS error"))


# ---------------------------------------------------------------------------
# Two sessions saving under one name
# ---------------------------------------------------------------------------

RACER = """
import json, sys, time
from core.jobs.model_store import ModelStoreError, save_model_file
source, store, tag, start = sys.argv[1:5]
while time.time() < float(start):
    pass
try:
    save_model_file(source, "shared", {"writer": tag}, models_dir=store)
    print(json.dumps(["saved", tag]))
except ModelStoreError as error:
    print(json.dumps([type(error).__name__, str(error)]))
"""


def assert_consistent(store: Path, sources: dict[str, Path]) -> str:
    """The stored model is whole and is exactly the file of the writer its sidecar names."""
    model = model_store.get_model("shared", models_dir=store)
    writer = model.metadata["writer"]
    assert model.path.read_bytes() == sources[writer].read_bytes()
    assert hidden_files(store) == []
    return writer


def test_two_processes_saving_one_name_at_once_one_wins_the_other_is_told(tmp_path):
    sources = {tag: variant(tmp_path / f"{tag}.keras", tag) for tag in ("a", "b")}
    for round_index in range(3):
        store = tmp_path / f"models{round_index}"
        store.mkdir()
        start = time.time() + 1.5  # both are started and waiting by then
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", RACER, str(sources[tag]), str(store), tag, str(start)],
                cwd=PROJECT_ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for tag in sources
        ]
        outcomes = [json.loads(racer.communicate(timeout=60)[0]) for racer in racers]
        winners = [outcome[1] for outcome in outcomes if outcome[0] == "saved"]
        losers = [outcome for outcome in outcomes if outcome[0] != "saved"]
        assert len(winners) == 1, outcomes
        [(kind, message)] = losers
        assert kind == "ModelNameTakenError"
        assert "A model called 'shared' already exists" in message
        assert assert_consistent(store, sources) == winners[0]


@pytest.mark.parametrize("overwrite", [False, True], ids=["keep", "replace"])
def test_threads_racing_for_one_name_never_mix_a_model_with_another_s_sidecar(tmp_path, overwrite):
    sources = {tag: variant(tmp_path / f"{tag}.keras", tag) for tag in "abcd"}
    for round_index in range(8):
        store = tmp_path / f"models{round_index}"
        barrier = threading.Barrier(len(sources))
        outcomes: dict[str, str] = {}

        def save(tag, store=store, barrier=barrier, outcomes=outcomes):
            barrier.wait()
            try:
                model_store.save_model_file(
                    sources[tag], "shared", {"writer": tag}, models_dir=store, overwrite=overwrite
                )
                outcomes[tag] = "saved"
            except ModelNameTakenError as error:
                outcomes[tag] = str(error)

        threads = [threading.Thread(target=save, args=(tag,)) for tag in sources]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        saved = [tag for tag, outcome in outcomes.items() if outcome == "saved"]
        writer = assert_consistent(store, sources)
        if overwrite:
            assert len(saved) == len(sources)  # each replaced the one before, whole
        else:
            assert saved == [writer]
            assert all("already exists" in outcomes[tag] for tag in sources if tag != writer)


def test_renaming_onto_a_name_taken_a_moment_ago_is_refused(tmp_path):
    store = tmp_path / "models"
    first = variant(tmp_path / "first.keras", "first")
    second = variant(tmp_path / "second.keras", "second")
    model_store.save_model_file(first, "first", models_dir=store)
    model_store.save_model_file(second, "second", models_dir=store)
    with pytest.raises(ModelNameTakenError, match="'second' already exists"):
        model_store.rename_model("first", "second", models_dir=store)
    assert_whole_model(store / "second.keras", second)
    assert_whole_model(store / "first.keras", first)


def test_a_model_without_its_sidecar_is_listed_with_a_note(tmp_path):
    store = tmp_path / "models"
    model_store.save_model_file(variant(tmp_path / "m.keras", "m"), "digits", models_dir=store)
    (store / "digits.json").write_text('{"name": "dig')  # truncated by hand
    (store / "folder.keras").mkdir()  # not a model
    (store / "notes.txt").write_text("a stray file")
    [listed] = model_store.list_models(models_dir=store)
    assert listed.name == "digits" and "description file is missing or damaged" in listed.problem
