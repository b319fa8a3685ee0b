"""Tests for core.jobs.runs: the run folder's readers, liveness, delete_run, fraction_done and
mark_failed_if_live. No worker runs here: the files are written as a worker would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.jobs import runs, training_job
from core.jobs.files import read_json
from tests.helpers_training import tiny_spec_dict


@pytest.fixture()
def run_dir(tmp_path):
    """A prepared (queued) run with no worker yet."""
    return training_job.prepare_run(tiny_spec_dict(), "mnist", runs_root_dir=tmp_path)


# ---------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------


def test_read_jsonl_skips_a_partly_written_last_line(tmp_path):
    path = tmp_path / "progress.jsonl"
    path.write_text('{"type": "batch", "step": 1}\n{"type": "epoch", "epoch": 1}\n{"type": "ba')
    assert [record.get("step", record.get("epoch")) for record in runs.read_jsonl(path)] == [
        1,
        1,
    ]


def test_read_jsonl_of_a_missing_file_is_empty(tmp_path):
    assert runs.read_jsonl(tmp_path / "nothing.jsonl") == []


def test_read_progress_sorts_batch_points_from_epoch_lines(run_dir):
    lines = [
        {"type": "batch", "step": 1, "loss": 2.0},
        {"type": "batch", "step": 2, "loss": 1.0},
        {"type": "epoch", "epoch": 1, "loss": 1.5},
        {"type": "other"},
    ]
    (run_dir / runs.PROGRESS_FILE).write_text("".join(json.dumps(x) + "\n" for x in lines))
    progress = runs.read_progress(run_dir)
    assert [point["step"] for point in progress.batches] == [1, 2]
    assert progress.epochs == [{"type": "epoch", "epoch": 1, "loss": 1.5}]


def test_snapshots_are_listed_in_order_and_never_read_from_outside_the_run(run_dir, tmp_path):
    folder = run_dir / runs.SNAPSHOT_DIR
    folder.mkdir()
    kernels = {0: np.zeros((3, 3, 1, 2), np.float32), 10: np.ones((3, 3, 1, 2), np.float32)}
    with open(folder / runs.SNAPSHOT_INDEX_FILE, "w") as index:
        for step, kernel in kernels.items():
            np.save(folder / f"{step:06d}.npy", kernel)
            index.write(json.dumps({"step": step, "file": f"{step:06d}.npy"}) + "\n")
    entries = runs.read_snapshot_index(run_dir)
    assert [entry["step"] for entry in entries] == [0, 10]
    np.testing.assert_array_equal(runs.load_snapshot(run_dir, entries[1]), kernels[10])
    np.save(tmp_path / "secret.npy", np.full(3, 7.0))
    with pytest.raises(FileNotFoundError):
        runs.load_snapshot(run_dir, {"file": "../../secret.npy"})


def test_evaluation_and_predictions_are_none_until_written(run_dir):
    assert runs.read_evaluation(run_dir) is None
    assert runs.read_predictions(run_dir) is None
    evaluation = {
        "test_accuracy": 0.5,
        "num_test": 2,
        "class_names": ["a", "b"],
        "confusion_matrix": [[0, 1], [0, 1]],
        "per_class_accuracy": [0.0, 1.0],
        "misclassified": [{"index": 0, "true": 0, "predicted": 1}],
    }
    (run_dir / runs.EVALUATION_FILE).write_text(json.dumps(evaluation))
    np.savez(run_dir / runs.PREDICTIONS_FILE, predicted=np.array([1, 1]), true=np.array([0, 1]))
    assert runs.read_evaluation(run_dir) == evaluation
    assert runs.read_predictions(run_dir)["predicted"].tolist() == [1, 1]


def test_list_runs_is_newest_first_and_skips_folders_without_a_config(tmp_path):
    older = training_job.prepare_run(tiny_spec_dict(), "mnist", runs_root_dir=tmp_path)
    newer = training_job.prepare_run(tiny_spec_dict(), "fashion_mnist", runs_root_dir=tmp_path)
    config = read_json(older / runs.CONFIG_FILE)
    (older / runs.CONFIG_FILE).write_text(json.dumps({**config, "created": 1.0}))
    (tmp_path / "datasets").mkdir()  # not a run
    listed = runs.list_runs(tmp_path)
    assert [run.run_dir for run in listed] == [newer, older]
    assert [run.dataset_name for run in listed] == ["fashion_mnist", "mnist"]
    assert listed[0].model_name == "tiny_cnn"
    assert runs.list_runs(tmp_path / "missing") == []


def test_runs_root_follows_the_argument_then_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(runs.RUNS_DIR_ENV, raising=False)
    assert runs.runs_root() == Path("runs")
    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(tmp_path))
    assert runs.runs_root() == tmp_path
    assert runs.runs_root(tmp_path / "other") == tmp_path / "other"


# ---------------------------------------------------------------------------
# Liveness
# ---------------------------------------------------------------------------


def test_a_live_status_with_a_dead_worker_reads_as_failed(tmp_path):
    run_dir = training_job.prepare_run(tiny_spec_dict(), "mnist", runs_root_dir=tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run_dir / runs.PID_FILE).write_text(str(dead.pid))
    status = runs.read_status(run_dir)
    assert status.state == "failed"
    assert "ended unexpectedly" in status.error
    assert training_job.count_live_jobs(tmp_path) == 0


def test_a_queued_run_without_a_pid_is_live_until_it_is_stale(run_dir):
    assert runs.read_status(run_dir).state == "queued"
    config = read_json(run_dir / runs.CONFIG_FILE)
    old = time.time() - runs.PULSE_STALE_SECONDS - 1
    (run_dir / runs.CONFIG_FILE).write_text(json.dumps({**config, "created": old}))
    assert runs.read_status(run_dir).state == "queued"  # its status was just written
    os.utime(run_dir / runs.STATUS_FILE, (old, old))
    assert runs.read_status(run_dir).state == "failed"


def test_a_waiting_run_is_live_without_a_worker_and_holds_no_slot(tmp_path):
    run_dir = training_job.prepare_run(
        tiny_spec_dict(), "mnist", runs_root_dir=tmp_path, waiting=True, owner="browser:1"
    )
    old = time.time() - runs.PULSE_STALE_SECONDS - 1
    os.utime(run_dir / runs.STATUS_FILE, (old, old))
    status = runs.read_status(run_dir)
    assert (status.state, status.is_live, status.holds_slot) == ("waiting", True, False)
    assert training_job.count_live_jobs(tmp_path) == 0
    run = runs.list_runs(tmp_path)[0]
    assert run.owner == "browser:1" and run.status.is_waiting
    with pytest.raises(ValueError, match="still going"):
        runs.delete_run(run_dir)


def test_a_live_pid_with_a_stale_pulse_is_someone_else(run_dir):
    (run_dir / runs.PID_FILE).write_text(str(os.getpid()))  # alive, but not a worker
    assert runs.worker_alive(run_dir)
    stale = time.time() - runs.PULSE_STALE_SECONDS - 5
    os.utime(run_dir / runs.PID_FILE, (stale, stale))
    assert not runs.worker_alive(run_dir)
    (run_dir / runs.PULSE_FILE).touch()  # a fresh pulse: the worker is at work
    assert runs.worker_alive(run_dir)


def test_a_stop_command_reads_as_stopping_until_the_worker_ends(run_dir):
    (run_dir / runs.PID_FILE).write_text(str(os.getpid()))
    (run_dir / runs.STATUS_FILE).write_text('{"state": "running", "message": "Training"}')
    training_job.TrainingJob(run_dir).stop()
    status = runs.read_status(run_dir)
    assert (status.state, status.message) == ("stopping", "Stopping")
    assert status.is_live
    # Only what is read changes: the worker writes its own status.
    assert read_json(run_dir / runs.STATUS_FILE)["state"] == "running"


# ---------------------------------------------------------------------------
# delete_run
# ---------------------------------------------------------------------------


def test_delete_run_removes_an_ended_run_and_refuses_a_live_one(tmp_path):
    run_dir = training_job.prepare_run(tiny_spec_dict(), "mnist", runs_root_dir=tmp_path)
    (run_dir / runs.PID_FILE).write_text(str(os.getpid()))  # a live "worker"
    message = "stop it before deleting it. Received: run_dir='"  # a long path is cut short
    with pytest.raises(ValueError, match=re.escape(message)):
        runs.delete_run(run_dir)
    (run_dir / runs.STATUS_FILE).write_text('{"state": "stopped"}')
    runs.delete_run(run_dir)
    assert not run_dir.exists()


def test_delete_run_refuses_a_folder_that_is_not_a_run(tmp_path, monkeypatch):
    (tmp_path / "keep.txt").write_text("not a run")
    monkeypatch.chdir(tmp_path.parent)  # a short path, so the message shows all of it
    message = f"`run_dir` is not a training run folder. Received: run_dir='{tmp_path.name}'."
    with pytest.raises(ValueError, match=re.escape(message)):
        runs.delete_run(tmp_path.name)
    assert (tmp_path / "keep.txt").is_file()


# ---------------------------------------------------------------------------
# mark_failed_if_live
# ---------------------------------------------------------------------------


def test_mark_failed_says_there_is_no_model_before_the_first_epoch(run_dir):
    assert runs.mark_failed_if_live(run_dir, "The worker was killed.")
    status = read_json(run_dir / runs.STATUS_FILE)
    assert (status["state"], status["message"]) == ("failed", "Failed")
    assert status["error"] == (
        "The worker was killed. It had not finished an epoch, so there is no model to keep."
    )
    assert status["epochs"] == 2  # what the status said before is kept


def test_mark_failed_says_which_epoch_s_model_is_kept(run_dir):
    (run_dir / runs.MODEL_FILE).write_bytes(b"PK\x03\x04")
    (run_dir / runs.MODEL_SIDECAR_FILE).write_text('{"epochs_completed": 3}')
    assert runs.mark_failed_if_live(run_dir, "Out of memory.")
    assert read_json(run_dir / runs.STATUS_FILE)["error"] == (
        "Out of memory. The model saved after epoch 3 is kept: you can save or inspect it."
    )


def _epochs_done(run_dir, count):
    with open(run_dir / runs.PROGRESS_FILE, "a", encoding="utf-8") as stream:
        for epoch in range(1, count + 1):
            stream.write(json.dumps({"type": "epoch", "epoch": epoch, "accuracy": 0.5}) + "\n")


def test_mark_failed_keeps_a_first_model_killed_before_its_sidecar(run_dir):
    # The first checkpoint's model file is there, its sidecar is not: the gap between them.
    _epochs_done(run_dir, 1)
    (run_dir / runs.MODEL_FILE).write_bytes(b"PK\x03\x04")
    assert runs.mark_failed_if_live(run_dir, "The worker was killed.")
    assert read_json(run_dir / runs.STATUS_FILE)["error"] == (
        "The worker was killed. The model saved after epoch 1 is kept: you can save or inspect it."
    )


def test_mark_failed_names_the_epoch_of_a_model_newer_than_its_sidecar(run_dir):
    from core.jobs.checkpoints import model_fingerprint

    model = run_dir / runs.MODEL_FILE
    model.write_bytes(b"PK\x03\x04 epoch 1")
    sidecar = {"epochs_completed": 1, "model_file": model_fingerprint(model)}
    (run_dir / runs.MODEL_SIDECAR_FILE).write_text(json.dumps(sidecar))
    _epochs_done(run_dir, 2)
    model.write_bytes(b"PK\x03\x04 epoch 2, its sidecar never written")
    assert runs.mark_failed_if_live(run_dir, "The worker was killed.")
    assert read_json(run_dir / runs.STATUS_FILE)["error"] == (
        "The worker was killed. The model saved after epoch 2 is kept: you can save or inspect it."
    )


@pytest.mark.parametrize("state", ["finished", "stopped", "failed"])
def test_mark_failed_leaves_an_ended_run_alone(run_dir, state):
    ended = {"state": state, "message": "as the worker left it"}
    (run_dir / runs.STATUS_FILE).write_text(json.dumps(ended))
    assert not runs.mark_failed_if_live(run_dir, "Too late.")
    assert read_json(run_dir / runs.STATUS_FILE) == ended


# ---------------------------------------------------------------------------
# Progress fraction
# ---------------------------------------------------------------------------


def test_fraction_done_is_full_after_the_last_batch_while_the_model_is_evaluated():
    # What the page showed as ~83%: the epoch/batch words said everything was trained.
    status = runs.RunStatus(
        state="running",
        message="Evaluating on 300 test images",
        epoch=1,
        epochs=1,
        batch=32,
        batches_per_epoch=32,
        step=26,
        total_steps=32,
    )
    assert status.fraction_done == 1.0


@pytest.mark.parametrize(
    ("epoch", "batch", "expected"), [(0, 0, 0.0), (1, 5, 0.125), (2, 10, 0.5), (4, 10, 1.0)]
)
def test_fraction_done_counts_epochs_and_batches_like_the_words_beside_the_bar(
    epoch, batch, expected
):
    status = runs.RunStatus(
        state="running",
        epoch=epoch,
        epochs=4,
        batch=batch,
        batches_per_epoch=10,
        step=0,
        total_steps=40,
    )
    assert status.fraction_done == pytest.approx(expected)


def test_fraction_done_falls_back_to_steps_without_epoch_counts():
    status = runs.RunStatus(state="stopped", step=3, total_steps=12)
    assert status.fraction_done == pytest.approx(0.25)


def test_fraction_done_is_full_for_a_finished_run_and_empty_without_any_counts():
    assert runs.RunStatus(state="finished", step=3, total_steps=12).fraction_done == 1.0
    assert runs.RunStatus(state="running").fraction_done == 0.0


def test_run_status_ignores_fields_it_does_not_know():
    status = runs.RunStatus.from_dict({"state": "running", "step": 4, "gpu": "none"})
    assert (status.state, status.step) == ("running", 4)
    assert runs.RunStatus.from_dict(None) == runs.RunStatus()
