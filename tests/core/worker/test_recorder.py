"""Tests for core.worker.recorder: RunRecorder fed by hand with a fake model (no Keras), so each
event, file and steering rule is checked on its own; `finite_json` and `Pulse`.

Commands reach the recorder the way they do in the app: `TrainingJob(run_dir).pause()`,
`.resume()` and `.stop()` write ``control.json``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from core.base.paths import PROJECT_ROOT
from core.jobs import runs, training_job
from core.jobs.files import read_json
from core.worker.recorder import (
    CONTROL_INTERVAL_SECONDS,
    STATUS_INTERVAL_SECONDS,
    WATCHDOG_INTERVAL_SECONDS,
    Pulse,
    RunRecorder,
    finite_json,
)

ROOT = PROJECT_ROOT
LOGS = {"loss": 1.0, "accuracy": 0.5}


class FakeModel:
    """What the recorder uses of a Keras model: the two stop flags and the weights."""

    def __init__(self):
        self.stop_training = False
        self.stop_evaluating = False
        self.weights = [np.zeros(1)]

    def get_weights(self):
        return [array.copy() for array in self.weights]


def read_status(run_dir) -> dict:
    return json.loads((run_dir / runs.STATUS_FILE).read_text())


def started(run_dir, **options) -> tuple[RunRecorder, FakeModel]:
    """A recorder (1 epoch of 2 batches of 4 unless told) whose training has begun."""
    options = {"epochs": 1, "train_samples": 8, "batch_size": 4, **options}
    recorder = RunRecorder(run_dir, **options)
    model = FakeModel()
    recorder.train_begin(model)
    recorder.epoch_begin(0)
    return recorder, model


def let_the_control_file_be_read_again() -> None:
    """The recorder reads ``control.json`` at most every CONTROL_INTERVAL_SECONDS."""
    time.sleep(CONTROL_INTERVAL_SECONDS + 0.05)


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def test_recorder_turns_running_means_back_into_window_means(tmp_path, monkeypatch):
    monkeypatch.setattr("core.worker.recorder.MAX_BATCH_POINTS", 5)
    batch_losses = [2.0, 1.0, 0.5, 0.25, 0.2, 0.1, 0.05, 0.04, 0.03, 0.02]
    batch_sizes = [4, 4, 4, 4, 4, 4, 4, 4, 4, 2]  # 38 images in batches of 4
    recorder = RunRecorder(tmp_path, epochs=1, train_samples=38, batch_size=4)
    model = FakeModel()
    recorder.train_begin(model)
    recorder.epoch_begin(0)
    seen = 0
    weighted = 0.0
    for index, (loss, size) in enumerate(zip(batch_losses, batch_sizes, strict=True)):
        seen += size
        weighted += loss * size
        # Keras reports the mean over the epoch so far, weighted by batch size.
        recorder.batch_end(model, index, {"loss": weighted / seen, "accuracy": 0.5})
    recorder.close()
    points = runs.read_progress(tmp_path).batches
    assert [p["step"] for p in points] == [2, 4, 6, 8, 10]
    expected_first = (2.0 * 4 + 1.0 * 4) / 8
    expected_last = (0.03 * 4 + 0.02 * 2) / 6
    assert points[0]["loss"] == pytest.approx(expected_first)
    assert points[-1]["loss"] == pytest.approx(expected_last)
    assert points[-1]["samples"] == 6
    assert all(p["accuracy"] == pytest.approx(0.5) for p in points)


def test_epoch_end_keeps_the_weights_of_the_best_validation_epoch(tmp_path):
    recorder, model = started(tmp_path, epochs=4)
    scores = [(0.5, 0.9), (0.8, 0.6), (0.8, 0.4), (0.7, math.nan)]  # (val_accuracy, val_loss)
    for epoch, (accuracy, loss) in enumerate(scores):
        recorder.epoch_begin(epoch)
        model.weights = [np.full(1, float(epoch))]
        recorder.batch_end(model, 0, LOGS)
        recorder.epoch_end(model, epoch, {**LOGS, "val_accuracy": accuracy, "val_loss": loss})
    recorder.close()
    # A tie in accuracy goes to the lower loss; an epoch with a NaN loss never counts.
    assert recorder.best_epoch == 3
    assert recorder.best_weights[0].tolist() == [2.0]
    epochs = runs.read_progress(tmp_path).epochs
    assert [record["epoch"] for record in epochs] == [1, 2, 3, 4]
    assert epochs[-1]["val_loss"] is None  # NaN is not JSON: written as null
    assert recorder.epoch_records == epochs


def test_snapshots_are_taken_at_the_start_every_few_batches_and_at_the_end(tmp_path):
    kernels = iter(np.full((3, 3, 1, 2), float(i), np.float32) for i in range(10))
    recorder = RunRecorder(
        tmp_path,
        epochs=1,
        train_samples=20,
        batch_size=4,
        snapshot_every_batches=2,
        kernel_reader=lambda: next(kernels),
        kernel_layer="conv2d",
    )
    model = FakeModel()
    recorder.train_begin(model)
    recorder.epoch_begin(0)
    for batch in range(5):
        recorder.batch_end(model, batch, LOGS)
    recorder.train_end(model)
    recorder.close()
    index = runs.read_snapshot_index(tmp_path)
    assert [entry["step"] for entry in index] == [0, 2, 4, 5]
    assert {entry["layer"] for entry in index} == {"conv2d"}
    assert [runs.load_snapshot(tmp_path, entry)[0, 0, 0, 0] for entry in index] == [0, 1, 2, 3]


# ---------------------------------------------------------------------------
# Steering during training: pause, stop, time budget, SIGTERM, watchdog
# ---------------------------------------------------------------------------


def running_mean_logs(batch_losses, batch_size):
    """What Keras reports after each batch: the loss's running mean over the epoch."""
    seen, weighted, logs = 0, 0.0, []
    for loss in batch_losses:
        seen += batch_size
        weighted += loss * batch_size
        logs.append({"loss": weighted / seen, "accuracy": 0.5})
    return logs


def test_batch_ends_from_keras_threads_in_any_order_are_recorded_in_batch_order(tmp_path):
    logs = running_mean_logs([2.0 / (1 + index) for index in range(40)], 4)
    (tmp_path / "in_order").mkdir()
    (tmp_path / "threads").mkdir()
    in_order, _ = started(tmp_path / "in_order", train_samples=160)
    for index, batch_logs in enumerate(logs):
        in_order.batch_end(FakeModel(), index, batch_logs)
    in_order.close()

    recorder, model = started(tmp_path / "threads", train_samples=160)
    order = list(range(40))
    np.random.default_rng(0).shuffle(order)
    threads = [
        threading.Thread(target=recorder.batch_recorded, args=(index, logs[index]))
        for index in order
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.close()
    assert recorder.step == 40 and recorder.samples_seen == 160
    expected = runs.read_progress(tmp_path / "in_order").batches
    points = runs.read_progress(tmp_path / "threads").batches
    assert [(p["step"], p["batch"], p["samples"]) for p in points] == [
        (p["step"], p["batch"], p["samples"]) for p in expected
    ]
    np.testing.assert_allclose([p["loss"] for p in points], [p["loss"] for p in expected])


def test_batch_beginnings_snapshot_between_batches_and_the_end_takes_the_last(tmp_path):
    kernels = iter(np.full((3, 3, 1, 2), float(i), np.float32) for i in range(10))
    recorder = RunRecorder(
        tmp_path,
        epochs=2,
        train_samples=8,
        batch_size=4,
        snapshot_every_batches=2,
        kernel_reader=lambda: next(kernels),
        kernel_layer="conv2d",
    )
    model = FakeModel()
    recorder.train_begin(model)
    for epoch in range(2):
        recorder.epoch_begin(epoch)
        for batch in range(2):
            recorder.batch_begin(model, batch)
            recorder.batch_recorded(batch, LOGS)
        recorder.epoch_end(model, epoch, LOGS)
    recorder.train_end(model)  # step 4: no batch begins after it
    recorder.close()
    index = runs.read_snapshot_index(tmp_path)
    assert [(e["step"], e["epoch"], e["batch"]) for e in index] == [(0, 0, 0), (2, 1, 2), (4, 2, 2)]
    assert [runs.load_snapshot(tmp_path, entry)[0, 0, 0, 0] for entry in index] == [0, 1, 2]


def test_a_batch_beginning_stops_and_pauses_as_a_batch_end_does(tmp_path):
    asked = []
    recorder, model = started(tmp_path, external_stop=lambda: asked[0] if asked else None)
    training_job.TrainingJob(tmp_path).pause()
    threading.Timer(0.4, training_job.TrainingJob(tmp_path).resume).start()
    started_at = time.monotonic()
    recorder.batch_begin(model, 0)  # waits on the training thread until resumed
    assert time.monotonic() - started_at >= 0.4
    assert not model.stop_training
    recorder.batch_recorded(0, LOGS)
    asked.append("terminated")
    recorder.batch_begin(model, 1)
    recorder.close()
    assert model.stop_training and recorder.stop_reason == "terminated"


def test_recorder_pauses_until_resumed(tmp_path):
    recorder = RunRecorder(tmp_path, epochs=1, train_samples=8, batch_size=4)
    model = FakeModel()
    recorder.train_begin(model)
    recorder.epoch_begin(0)
    training_job.TrainingJob(tmp_path).pause()
    resume_after = 0.6
    resumer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import time; time.sleep({resume_after});"
            "from core.jobs.training_job import TrainingJob;"
            f"TrainingJob({str(tmp_path)!r}).resume()",
        ],
        cwd=ROOT,
    )
    started_at = time.monotonic()
    recorder._last_control = -math.inf
    recorder.batch_end(model, 0, {"loss": 1.0, "accuracy": 0.5})
    waited = time.monotonic() - started_at
    resumer.wait()
    recorder.close()
    assert waited >= resume_after
    assert recorder.paused_seconds >= resume_after - 0.05
    assert not model.stop_training
    assert json.loads((tmp_path / runs.STATUS_FILE).read_text())["state"] == "running"


def test_a_stop_while_paused_ends_the_pause_and_the_training(tmp_path):
    recorder, model = started(tmp_path)
    job = training_job.TrainingJob(tmp_path)
    job.pause()
    stopper = threading.Timer(0.4, job.stop)
    stopper.start()
    recorder.batch_end(model, 0, LOGS)
    stopper.join()
    recorder.close()
    assert model.stop_training
    assert recorder.stop_reason == "user"
    status = read_status(tmp_path)
    assert (status["state"], status["reason"], status["message"]) == (
        "stopping",
        "user",
        "Stopping",
    )


def test_recorder_ends_training_when_the_time_budget_is_spent(tmp_path):
    recorder = RunRecorder(
        tmp_path, epochs=100, train_samples=8, batch_size=4, time_budget_seconds=5.0
    )
    model = FakeModel()
    recorder.train_begin(model)
    recorder.epoch_begin(0)
    recorder.batch_end(model, 0, {"loss": 1.0, "accuracy": 0.5})
    assert not model.stop_training  # well within the budget
    recorder.fit_started -= 6.0  # as if six seconds of training had passed
    recorder.batch_end(model, 1, {"loss": 1.0, "accuracy": 0.5})
    recorder.close()
    assert model.stop_training
    assert recorder.stop_reason == "time_budget"
    status = json.loads((tmp_path / runs.STATUS_FILE).read_text())
    assert (status["state"], status["reason"]) == ("running", "time_budget")


def test_an_external_stop_ends_training_at_the_very_next_batch(tmp_path):
    asked = []  # what the worker's SIGTERM handler sets
    recorder, model = started(tmp_path, epochs=5, external_stop=lambda: asked[0] if asked else None)
    recorder.batch_end(model, 0, LOGS)
    assert not model.stop_training
    asked.append("terminated")
    recorder.batch_end(model, 1, LOGS)  # at once: no control-file interval to wait for
    recorder.close()
    assert model.stop_training
    assert recorder.stop_reason == "terminated"
    status = read_status(tmp_path)
    assert (status["state"], status["reason"], status["message"]) == (
        "stopping",
        "terminated",
        "Stopping",
    )


def test_the_first_stop_reason_is_the_one_recorded(tmp_path):
    recorder, model = started(tmp_path, epochs=5, external_stop=lambda: "terminated")
    training_job.TrainingJob(tmp_path).stop()
    recorder.batch_end(model, 0, LOGS)  # the control file is read first: "user"
    let_the_control_file_be_read_again()
    recorder.batch_end(model, 1, LOGS)
    recorder.close()
    assert recorder.stop_reason == "user"
    assert read_status(tmp_path)["reason"] == "user"


def test_the_watchdog_stops_a_run_no_page_has_polled(tmp_path):
    recorder, model = started(tmp_path, epochs=5, idle_stop_seconds=2.0)
    recorder.started_wall -= 10  # the run began ten seconds ago
    job = training_job.TrainingJob(tmp_path)
    job.heartbeat()  # ...and a page polled just now
    recorder.batch_end(model, 0, LOGS)
    assert not model.stop_training
    quiet = time.time() - 5
    os.utime(tmp_path / runs.HEARTBEAT_FILE, (quiet, quiet))  # no poll for five seconds
    time.sleep(WATCHDOG_INTERVAL_SECONDS + 0.05)
    recorder.batch_end(model, 1, LOGS)
    recorder.close()
    assert model.stop_training
    assert recorder.stop_reason == "idle"
    status = read_status(tmp_path)
    assert status["message"] == "Stopping (no page has looked at it for a while)"


# ---------------------------------------------------------------------------
# Steering during validation
# ---------------------------------------------------------------------------


def test_a_stop_during_validation_says_stopping_at_once_and_lets_the_validation_finish(tmp_path):
    recorder, model = started(tmp_path, epochs=3, validation_samples=1200)
    recorder.batch_end(model, 0, LOGS)
    recorder.batch_end(model, 1, LOGS)
    recorder.validation_begin()
    assert read_status(tmp_path)["message"] == "Validating on 1,200 images"
    let_the_control_file_be_read_again()
    recorder.validation_batch_end(model)
    assert read_status(tmp_path)["state"] == "running"  # no command yet
    training_job.TrainingJob(tmp_path).stop()
    let_the_control_file_be_read_again()
    recorder.validation_batch_end(model)
    assert model.stop_training is True
    assert model.stop_evaluating is False  # the whole epoch's validation figures are real
    status = read_status(tmp_path)
    assert (status["state"], status["reason"], status["message"]) == (
        "stopping",
        "user",
        "Stopping",
    )
    recorder.epoch_end(model, 0, {**LOGS, "val_loss": 0.5, "val_accuracy": 0.8})
    recorder.close()
    (record,) = recorder.epoch_records
    assert record["val_accuracy"] == 0.8 and "partial" not in record


def test_a_stop_before_the_validation_cuts_it_after_its_first_batch(tmp_path):
    recorder, model = started(tmp_path, epochs=3, validation_samples=1200)
    recorder.batch_end(model, 0, LOGS)
    training_job.TrainingJob(tmp_path).stop()
    let_the_control_file_be_read_again()
    recorder.batch_end(model, 1, LOGS)
    assert model.stop_training is True
    recorder.validation_begin()
    recorder.validation_batch_end(model)
    recorder.close()
    assert model.stop_evaluating is True


def test_an_epoch_cut_short_by_a_stop_keeps_no_validation_figures_and_cannot_be_best(tmp_path):
    recorder, model = started(tmp_path, epochs=3, validation_samples=100)
    recorder.epoch_begin(0)
    recorder.batch_end(model, 0, LOGS)
    recorder.epoch_end(model, 0, {**LOGS, "val_loss": 0.9, "val_accuracy": 0.6})
    recorder.epoch_begin(1)
    recorder.batch_end(model, 0, LOGS)
    training_job.TrainingJob(tmp_path).stop()
    let_the_control_file_be_read_again()
    recorder.batch_end(model, 1, LOGS)  # the stop cuts the epoch's training short
    recorder.validation_begin()
    recorder.validation_batch_end(model)  # the one validation batch the stop lets through
    assert model.stop_evaluating is True
    recorder.epoch_end(model, 1, {**LOGS, "val_loss": 0.1, "val_accuracy": 1.0})
    recorder.close()
    whole, cut = recorder.epoch_records
    assert "val_accuracy" in whole and not whole.get("partial")
    assert cut["partial"] is True
    assert "val_accuracy" not in cut and "val_loss" not in cut
    assert recorder.best_epoch == 1  # the one-batch "perfect" score did not win


def test_a_spent_time_budget_lets_the_validation_finish(tmp_path):
    recorder, model = started(tmp_path, epochs=3, validation_samples=100, time_budget_seconds=5.0)
    recorder.fit_started -= 6.0
    recorder.batch_end(model, 0, LOGS)
    assert recorder.stop_reason == "time_budget"
    recorder.validation_begin()
    for _ in range(3):
        recorder.validation_batch_end(model)
    recorder.close()
    assert model.stop_training is True
    assert model.stop_evaluating is False  # the last epoch's validation still counts
    status = read_status(tmp_path)
    assert (status["state"], status["reason"]) == ("running", "time_budget")
    assert status["message"] == "Time is up: finishing"  # validation_begin kept it


def test_a_pause_waits_until_the_validation_is_over(tmp_path):
    recorder, model = started(tmp_path, validation_samples=100)
    training_job.TrainingJob(tmp_path).pause()
    started_at = time.monotonic()
    recorder.validation_batch_end(model)
    recorder.close()
    assert time.monotonic() - started_at < 0.5
    assert read_status(tmp_path)["state"] == "running"
    assert not (model.stop_training or model.stop_evaluating)


# ---------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------


def test_a_checkpoint_follows_each_epoch_but_not_a_stop(tmp_path):
    saved = []
    recorder, model = started(tmp_path, epochs=5, checkpoint=saved.append)
    for epoch in range(2):
        recorder.epoch_begin(epoch)
        recorder.batch_end(model, 0, LOGS)
        recorder.batch_end(model, 1, LOGS)
        recorder.epoch_end(model, epoch, LOGS)
        assert len(saved) == epoch + 1
        assert read_status(tmp_path)["message"] == "Training"
    assert saved == [model, model]
    recorder.epoch_begin(2)
    recorder.batch_end(model, 0, LOGS)
    training_job.TrainingJob(tmp_path).stop()
    let_the_control_file_be_read_again()
    recorder.batch_end(model, 1, LOGS)
    recorder.epoch_end(model, 2, LOGS)  # Keras ends the cut-short epoch too
    recorder.close()
    assert len(saved) == 2  # the run saves its final model itself, after the stop
    assert read_status(tmp_path)["state"] == "stopping"


# ---------------------------------------------------------------------------
# The final evaluation
# ---------------------------------------------------------------------------


def test_the_evaluation_writes_what_it_evaluates_and_how_far_it_is(tmp_path):
    recorder, model = started(tmp_path)
    recorder.batch_end(model, 0, LOGS)
    recorder.batch_end(model, 1, LOGS)
    recorder.train_end(model)
    recorder.evaluation_begin("10,000 test images")
    assert read_status(tmp_path)["message"] == "Evaluating on 10,000 test images"
    recorder.evaluation_progress(1, 4)  # at most two writes a second: not yet
    assert read_status(tmp_path)["message"] == "Evaluating on 10,000 test images"
    time.sleep(STATUS_INTERVAL_SECONDS + 0.05)
    recorder.evaluation_progress(1, 4)
    assert read_status(tmp_path)["message"] == "Evaluating on 10,000 test images: 25%"
    time.sleep(STATUS_INTERVAL_SECONDS + 0.05)
    recorder.evaluation_progress(5, 4)  # Keras' last step may overshoot
    assert read_status(tmp_path)["message"] == "Evaluating on 10,000 test images: 100%"
    time.sleep(STATUS_INTERVAL_SECONDS + 0.05)
    recorder.evaluation_progress(1, 0)  # an unknown number of steps: nothing to say
    recorder.close()
    status = read_status(tmp_path)
    assert status["message"] == "Evaluating on 10,000 test images: 100%"
    assert status["state"] == "running"


def test_the_evaluation_progress_without_a_beginning_names_the_test_images(tmp_path):
    recorder, model = started(tmp_path)
    time.sleep(STATUS_INTERVAL_SECONDS + 0.05)
    recorder.evaluation_progress(2, 4)
    recorder.close()
    assert read_status(tmp_path)["message"] == "Evaluating on the test images: 50%"


# ---------------------------------------------------------------------------
# Status, helpers
# ---------------------------------------------------------------------------


def test_the_status_carries_the_counts_the_page_shows(tmp_path):
    recorder, model = started(tmp_path, epochs=2, train_samples=10, batch_size=4)
    recorder.batch_end(model, 0, LOGS)
    recorder.write_status()
    recorder.close()
    status = read_status(tmp_path)
    assert status["epoch"] == 1 and status["batch"] == 1 and status["step"] == 1
    assert status["batches_per_epoch"] == 3 and status["total_steps"] == 6
    assert status["pid"] == os.getpid()
    assert runs.RunStatus.from_dict(status).fraction_done == pytest.approx(1 / 6)


def test_finite_json_replaces_nan_and_infinities_everywhere():
    value = {"a": math.nan, "b": [1.0, math.inf, (-math.inf, 2)], "c": "nan"}
    assert finite_json(value) == {"a": None, "b": [1.0, None, [None, 2]], "c": "nan"}
    json.dumps(finite_json(value), allow_nan=False)


def test_the_pulse_keeps_touching_its_file_until_stopped(tmp_path):
    path = tmp_path / runs.PULSE_FILE
    pulse = Pulse(path, interval=0.05)
    pulse.start()
    assert path.is_file()
    os.utime(path, (1.0, 1.0))
    time.sleep(0.3)
    assert path.stat().st_mtime > 1.0
    pulse.stop()
    time.sleep(0.1)
    os.utime(path, (1.0, 1.0))
    time.sleep(0.2)
    assert path.stat().st_mtime == 1.0


def test_the_recorder_keeps_what_the_worker_wrote_in_the_status_before_it(tmp_path):
    before = {"state": "running", "message": "Building the model", "pid": 1, "note": "kept"}
    (tmp_path / runs.STATUS_FILE).write_text(json.dumps(before))
    recorder, _ = started(tmp_path)
    recorder.close()
    status = read_json(tmp_path / runs.STATUS_FILE)
    assert status["note"] == "kept"
    assert (status["message"], status["pid"]) == ("Training", os.getpid())
