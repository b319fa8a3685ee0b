"""Tests for core.worker.training_loop: whole runs in real worker processes, from the run
folder `TrainingJob.start` prepares to the model, snapshots and evaluation they leave.

Each run trains a tiny CNN on a tiny data set (256 images of 8×8 pixels) and takes a few
seconds, most of it TensorFlow's import in the worker.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from core.jobs import runner, runs, training_job
from core.jobs.files import read_json
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import TrainingJob
from core.worker import environment, training_loop
from tests.helpers_training import (
    TRANSFER_RANDOM,
    start_endless,
    tiny_spec_dict,
    wait_for,
)


def test_a_folder_without_a_config_is_refused_before_tensorflow(tmp_path):
    message = "`run_dir` has no readable config.json. Received: run_dir='"
    with pytest.raises(FileNotFoundError, match=re.escape(message)):
        training_loop.run_job(tmp_path)
    assert not (tmp_path / runs.STATUS_FILE).exists()


@pytest.mark.slow
def test_a_finished_run_records_metrics_snapshots_model_and_evaluation(tiny_dataset, runs_root):
    config = TrainConfig(epochs=3, batch_size=16, learning_rate=0.02, snapshot_every_batches=5)
    job = TrainingJob.start(tiny_spec_dict(), tiny_dataset, config, runs_root_dir=runs_root)
    status = job.wait(timeout=120)
    assert status.state == "finished", status.error
    assert status.step == status.total_steps == 3 * math.ceil(230 / 16)

    progress = job.progress()
    assert [e["epoch"] for e in progress.epochs] == [1, 2, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(progress.epochs[0])
    assert progress.batches[-1]["step"] == status.step
    assert all(math.isfinite(point["loss"]) for point in progress.batches)

    snapshots = job.snapshots()
    assert snapshots[0]["step"] == 0 and snapshots[-1]["step"] == status.step
    first, last = job.load_snapshot(snapshots[0]), job.load_snapshot(snapshots[-1])
    assert first.shape == (3, 3, 1, 4)  # the tiny CNN's 4 filters of 3×3
    assert not np.allclose(first, last)  # the filters learned

    evaluation = job.evaluation()
    assert evaluation["class_names"] == ["top", "bottom"]
    assert evaluation["num_test"] == 64
    assert sum(map(sum, evaluation["confusion_matrix"])) == 64
    assert evaluation["test_accuracy"] > 0.9  # two easy classes
    predictions = job.predictions()
    assert predictions["predicted"].shape == (64,)
    np.testing.assert_array_equal(predictions["image_index"], np.arange(64))

    metadata = job.model_metadata()
    assert metadata["class_names"] == ["top", "bottom"]
    assert metadata["input_shape"] == [8, 8, 1]
    assert len(metadata["history"]) == 3
    assert metadata["metrics"]["test_accuracy"] == evaluation["test_accuracy"]
    assert [run.run_dir for run in runs.list_runs(runs_root)] == [job.run_dir]

    # The worker took the share of the cores the runner's job count gave it, and says so.
    threads = read_json(job.run_dir / runs.STATUS_FILE)["threads"]
    cores = environment.usable_cores()
    assert threads == {
        **environment.thread_counts(cores, 1)._asdict(),
        "cores": cores,
        "training_jobs": 1,
    }


@pytest.mark.slow
def test_an_uploaded_set_trains_with_augmentation_and_is_evaluated_on_validation(
    tiny_dataset, runs_root
):
    from core.data.image_dataset import ImageDataset

    with np.load(tiny_dataset) as arrays:  # like an image-folder zip: no test images
        uploaded = ImageDataset(
            name="my photos",
            class_names=("top", "bottom"),
            x_train=arrays["x_train"],
            y_train=arrays["y_train"].astype(np.int64),
            x_test=np.empty((0, 8, 8), np.uint8),
            y_test=np.empty(0, np.int64),
            source="image folders (256 images)",
        )
    path = training_job.write_dataset_file(uploaded, folder=runs_root / "datasets")
    assert training_job.write_dataset_file(uploaded, folder=runs_root / "datasets") == path
    config = TrainConfig(
        epochs=1,
        batch_size=32,
        validation_fraction=0.25,
        augmentation={"flip": "horizontal", "rotation": 0.05, "translation": 0.1, "zoom": 0.1},
    )
    job = TrainingJob.start(tiny_spec_dict(), path, config, runs_root_dir=runs_root)
    status = job.wait(timeout=120)
    assert status.state == "finished", status.error
    assert status.step == math.ceil(192 / 32)
    evaluation = job.evaluation()
    assert evaluation["evaluated_on"] == "validation"
    assert evaluation["num_test"] == 64
    # Each evaluated image is traced back to its place in the uploaded x_train.
    predictions = job.predictions()
    np.testing.assert_array_equal(uploaded.y_train[predictions["image_index"]], predictions["true"])
    assert len(set(predictions["image_index"].tolist())) == 64
    assert job.model_metadata()["dataset_source"] == "image folders (256 images)"


@pytest.mark.slow
def test_a_model_that_does_not_fit_the_data_fails_with_a_clear_message(tiny_dataset, runs_root):
    from core.nets.presets import preset
    from core.nets.specs import spec_to_dict

    mnist_sized = spec_to_dict(preset("mnist_cnn_b"))  # expects 28×28×1, data is 8×8×1
    job = TrainingJob.start(mnist_sized, tiny_dataset, TrainConfig(), runs_root_dir=runs_root)
    status = job.wait(timeout=120)
    assert status.state == "failed"
    assert "expects images of shape (28, 28, 1)" in status.error
    assert "(8, 8, 1)" in status.error
    assert job.model_path is None


@pytest.mark.slow
def test_stop_can_restore_the_best_validation_weights(tiny_dataset, runs_root):
    job = start_endless(tiny_dataset, runs_root)
    wait_for(lambda: len(job.progress().epochs) >= 3, timeout=90, what="three epochs")
    job.stop(restore_best_weights=True)
    assert job.wait(timeout=60).state == "stopped"
    epochs = job.progress().epochs
    whole = [e for e in epochs if not e.get("partial")]  # the epoch the stop cut short is not
    assert all("val_accuracy" in e for e in whole)  # a candidate: its validation was cut too
    assert all("val_accuracy" not in e for e in epochs if e.get("partial"))
    best = max(whole, key=lambda e: (e["val_accuracy"], -e["val_loss"]))
    metadata = job.model_metadata()
    assert metadata["restored_best_epoch"] == best["epoch"]
    assert metadata["stopped_early"] is True


@pytest.mark.slow
def test_a_spent_time_budget_finishes_the_run_and_evaluates_it(tiny_dataset, runs_root):
    config = TrainConfig(epochs=1000, batch_size=8, time_budget_seconds=2.0)
    job = TrainingJob.start(tiny_spec_dict(), tiny_dataset, config, runs_root_dir=runs_root)
    status = job.wait(timeout=120)
    assert (status.state, status.reason, status.message) == (
        "finished",
        "time_budget",
        "Time is up",
    )
    assert 0 < status.step < status.total_steps
    assert 2.0 <= status.elapsed_seconds < 3.5  # the budget, and the batch it ended in
    assert job.evaluation()["num_test"] == 64
    metadata = job.model_metadata()
    assert metadata["stopped_early"] is False and metadata["end_reason"] == "time_budget"


@pytest.mark.slow
def test_a_transfer_model_from_random_weights_trains_end_to_end(rgb_dataset, runs_root):
    config = TrainConfig(
        epochs=1,
        batch_size=32,
        max_train_samples=64,
        validation_fraction=0.0,
        snapshot_every_batches=1,
    )
    job = TrainingJob.start(TRANSFER_RANDOM, rgb_dataset, config, runs_root_dir=runs_root)
    status = job.wait(timeout=120)
    assert status.state == "finished", status.error
    assert (status.epoch, status.batch, status.batches_per_epoch) == (1, 2, 2)
    assert status.fraction_done == 1.0

    evaluation = job.evaluation()
    assert evaluation["num_test"] == 16
    assert evaluation["class_names"] == ["red", "blue"]
    metadata = job.model_metadata()
    assert metadata["transfer"] == "MobileNetV2" and metadata["transfer_weights"] is None
    assert metadata["input_shape"] == [32, 32, 3]
    from core.nets.transfer import transfer_summary_rows

    rows = transfer_summary_rows((32, 32, 3), 2)
    assert metadata["params"] == sum(row["Parameters"] for row in rows)

    # Snapshots show the base's first convolution, which stays frozen.
    snapshots = job.snapshots()
    assert snapshots[0]["layer"] == "Conv1" and snapshots[-1]["step"] == 2
    first, last = job.load_snapshot(snapshots[0]), job.load_snapshot(snapshots[-1])
    assert first.shape == (3, 3, 3, 32)
    np.testing.assert_array_equal(first, last)
    wait_for(lambda: not runner.pid_alive(job.pid), timeout=30, what="the worker to exit")


class _Killed(BaseException):
    """Stands for a SIGKILL at one exact point of the worker's code."""


@pytest.mark.slow
def test_a_kill_between_a_checkpoints_model_and_its_sidecar_still_keeps_the_model(
    tiny_dataset, runs_root, tmp_path, monkeypatch
):
    from types import SimpleNamespace

    from core.worker.environment import import_keras
    from core.worker.model_building import build_training_model
    from core.worker.training_data import load_training_data

    run_dir = training_job.prepare_run(tiny_spec_dict(), tiny_dataset, runs_root_dir=runs_root)
    (run_dir / runs.STATUS_FILE).write_text('{"state": "running", "epochs": 2}')
    config = read_json(run_dir / runs.CONFIG_FILE)
    data = load_training_data(config)
    model = build_training_model(import_keras(), config, data)
    recorder = SimpleNamespace(run_dir=run_dir, epoch_records=[], stop_reason=None)

    def finish_epoch(epoch):
        record = {"type": "epoch", "epoch": epoch, "accuracy": 0.5}
        recorder.epoch_records.append(record)
        with open(run_dir / runs.PROGRESS_FILE, "a", encoding="utf-8") as stream:
            stream.write(f'{{"type": "epoch", "epoch": {epoch}, "accuracy": 0.5}}\n')
        training_loop._checkpoint(model, config, data, TrainConfig(), recorder)

    finish_epoch(1)
    first = read_json(run_dir / runs.MODEL_SIDECAR_FILE)
    assert first["epochs_completed"] == 1

    def killed(path, _value):
        raise _Killed(path)

    # Epoch 2's checkpoint dies right after the model file, before its sidecar.
    monkeypatch.setattr(training_loop, "atomic_write_json", killed)
    model.layers[-1].kernel.assign(model.layers[-1].kernel + 1.0)  # other weights, another file
    with pytest.raises(_Killed):
        finish_epoch(2)
    assert read_json(run_dir / runs.MODEL_SIDECAR_FILE) == first  # the gap, on disk

    assert runs.mark_failed_if_live(run_dir, "The worker was killed.")
    assert read_json(run_dir / runs.STATUS_FILE)["error"] == (
        "The worker was killed. The model saved after epoch 2 is kept: you can save or inspect it."
    )
    job = TrainingJob(run_dir)
    metadata = job.model_metadata()
    assert (metadata["epochs_completed"], metadata["class_names"]) == (2, ["top", "bottom"])
    saved = job.save("after-the-kill", models_dir=tmp_path / "models")
    assert saved.metadata["epochs_completed"] == 2
    assert "model_file" not in saved.metadata  # it named the run's file, not the store's copy
