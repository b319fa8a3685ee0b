"""Training jobs: core.jobs.training_job (the page's side), core.worker (the worker's side).

The slow tests start real worker processes on a tiny data set (256 images of
8×8 pixels) and a tiny CNN, so each takes a few seconds, most of it TensorFlow's
import in the worker.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.base.paths import PROJECT_ROOT
from core.jobs import runner, runs, training_job, worker_client
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import JobCapError, TrainingJob
from tests.helpers_training import tiny_spec_dict, wait_for, write_tiny_dataset

ROOT = PROJECT_ROOT
# Long enough that a test has to stop it: thousands of batches of 8 images.
ENDLESS = TrainConfig(epochs=1000, batch_size=8, learning_rate=0.01, snapshot_every_batches=10)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.npz")


@pytest.fixture()
def runs_root(tmp_path) -> Path:
    return tmp_path / "runs"


def start_endless(tiny_dataset, runs_root, **options) -> TrainingJob:
    return TrainingJob.start(
        tiny_spec_dict(), tiny_dataset, ENDLESS, runs_root_dir=runs_root, **options
    )


def wait_until_training(job: TrainingJob, *, min_step: int = 1) -> runs.RunStatus:
    def training_started():
        status = job.poll()
        assert status.state != "failed", status.error
        return status if status.step >= min_step else None

    return wait_for(training_started, timeout=90, what="training to start")


def load_keras_model(path):
    import keras

    return keras.saving.load_model(path, safe_mode=True)


# ---------------------------------------------------------------------------
# TrainConfig (fast)
# ---------------------------------------------------------------------------


def test_train_config_normalises_the_optimizer_name():
    assert TrainConfig(optimizer="RMSprop").optimizer == "rmsprop"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"optimizer": "adagrad"}, "`optimizer` must be one of 'sgd', 'rmsprop', 'adam'"),
        ({"learning_rate": 0}, "Received: learning_rate=0"),
        ({"batch_size": 0}, "`batch_size` must be >= 1. Received: batch_size=0"),
        ({"epochs": -2}, "Received: epochs=-2"),
        ({"validation_fraction": 1.0}, "Received: validation_fraction=1.0"),
        ({"momentum": 1.0}, "Received: momentum=1.0"),
        ({"max_train_samples": 0}, "Received: max_train_samples=0"),
        ({"augmentation": {"rotation": 0.9}}, "Received: rotation=0.9"),
        ({"augmentation": {"flip": "diagonal"}}, "Received: flip='diagonal'"),
    ],
)
def test_train_config_refuses_bad_values_naming_them(arguments, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(**arguments)


def test_train_config_refuses_a_float_batch_size():
    with pytest.raises(
        TypeError, match="`batch_size` must be an integer. Received: batch_size=32.0"
    ):
        TrainConfig(batch_size=32.0)


def test_train_config_round_trips_through_a_dict():
    config = TrainConfig(optimizer="sgd", augmentation={"flip": "horizontal", "zoom": 0.1})
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.augmentation.active


def test_start_refuses_a_stack_that_cannot_be_built_before_starting_anything(tmp_path):
    from core.nets.summary import InvalidModelError

    spec = tiny_spec_dict()
    spec["input_shape"] = [2, 2, 1]  # too small for the 3×3 convolution
    with pytest.raises(InvalidModelError, match="conv2d"):
        TrainingJob.start(spec, "mnist", runs_root_dir=tmp_path)
    assert not any(path.is_dir() for path in tmp_path.iterdir())


@pytest.mark.parametrize(
    ("dataset", "preprocessing", "message"),
    [
        ("imagenet", None, "Received: dataset='imagenet'"),
        ("mnist", {"target_size": 3}, "Received: target_size=3"),
        ("mnist", {"color_mode": "cmyk"}, "Received: color_mode='cmyk'"),
    ],
)
def test_start_refuses_bad_data_settings_naming_them(tmp_path, dataset, preprocessing, message):
    with pytest.raises(ValueError, match=message):
        TrainingJob.start(
            tiny_spec_dict(), dataset, preprocessing=preprocessing, runs_root_dir=tmp_path
        )


# ---------------------------------------------------------------------------
# Reading run files (fast)
# ---------------------------------------------------------------------------


def test_read_jsonl_skips_a_partly_written_last_line(tmp_path):
    path = tmp_path / "progress.jsonl"
    path.write_text('{"type": "batch", "step": 1}\n{"type": "epoch", "epoch": 1}\n{"type": "ba')
    assert [record.get("step", record.get("epoch")) for record in runs.read_jsonl(path)] == [
        1,
        1,
    ]


def test_a_live_status_with_a_dead_worker_reads_as_failed(tmp_path):
    run_dir = training_job.prepare_run(tiny_spec_dict(), "mnist", runs_root_dir=tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run_dir / runs.PID_FILE).write_text(str(dead.pid))
    status = runs.read_status(run_dir)
    assert status.state == "failed"
    assert "ended unexpectedly" in status.error
    assert training_job.count_live_jobs(tmp_path) == 0


# ---------------------------------------------------------------------------
# The recorder, fed by hand (fast): compared with per-batch values computed here
# ---------------------------------------------------------------------------


class FakeModel:
    stop_training = False

    def get_weights(self):
        return [np.zeros(1)]


def test_recorder_turns_running_means_back_into_window_means(tmp_path, monkeypatch):
    monkeypatch.setattr("core.worker.recorder.MAX_BATCH_POINTS", 5)
    from core.worker.recorder import RunRecorder

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


def test_recorder_pauses_until_resumed(tmp_path):
    from core.worker.recorder import RunRecorder

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
    started = time.monotonic()
    recorder._last_control = -math.inf
    recorder.batch_end(model, 0, {"loss": 1.0, "accuracy": 0.5})
    waited = time.monotonic() - started
    resumer.wait()
    recorder.close()
    assert waited >= resume_after
    assert recorder.paused_seconds >= resume_after - 0.05
    assert not model.stop_training
    assert json.loads((tmp_path / runs.STATUS_FILE).read_text())["state"] == "running"


def test_recorder_ends_training_when_the_time_budget_is_spent(tmp_path):
    from core.worker.recorder import RunRecorder

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


def test_evaluate_predictions_counts_a_known_confusion_matrix():
    from core.worker.evaluation import evaluate_predictions

    probabilities = np.array(
        [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.7, 0.2, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]
    )
    y_true = np.array([0, 1, 1, 2, 2])
    evaluation, predictions = evaluate_predictions(probabilities, y_true, ["a", "b", "c"])
    assert evaluation["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [1, 0, 1]]
    assert evaluation["per_class_accuracy"] == [1.0, 0.5, 0.5]
    assert evaluation["test_accuracy"] == pytest.approx(3 / 5)
    expected_loss = -np.mean(np.log([0.9, 0.8, 0.2, 0.5, 0.1]))
    assert evaluation["test_loss"] == pytest.approx(expected_loss)
    # Most confident mistake first: index 2 (0.7) before index 4 (0.6).
    assert [m["index"] for m in evaluation["misclassified"]] == [2, 4]
    assert predictions["predicted"].tolist() == [0, 1, 0, 2, 0]


# ---------------------------------------------------------------------------
# Real worker processes (slow)
# ---------------------------------------------------------------------------


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
def test_pause_stops_the_batch_counter_and_resume_continues(tiny_dataset, runs_root):
    job = start_endless(tiny_dataset, runs_root)
    try:
        wait_until_training(job)
        job.pause()
        paused = wait_for(
            lambda: (s := job.poll()).state == "paused" and s, timeout=30, what="pause"
        )
        time.sleep(1.0)
        still = job.poll()
        assert still.state == "paused"
        assert still.step == paused.step
        job.resume()
        wait_for(lambda: job.poll().step > paused.step + 5, timeout=30, what="resume")
    finally:
        job.stop()
        job.wait(timeout=60)


@pytest.mark.slow
def test_stop_leaves_a_loadable_model_with_the_latest_weights(tiny_dataset, runs_root):
    job = start_endless(tiny_dataset, runs_root)
    wait_until_training(job, min_step=20)
    job.stop()
    status = job.wait(timeout=60)
    assert status.state == "stopped"
    assert status.reason == "user"
    assert 20 <= status.step < status.total_steps
    model = load_keras_model(job.model_path)
    last_kernel = job.load_snapshot(job.snapshots()[-1])
    np.testing.assert_allclose(model.layers[0].get_weights()[0], last_kernel)
    assert job.evaluation()["num_test"] == 64


@pytest.mark.slow
def test_attach_follows_and_steers_a_running_job(tiny_dataset, runs_root):
    job = start_endless(tiny_dataset, runs_root)
    try:
        wait_until_training(job)
        attached = TrainingJob.attach(job.run_dir)  # e.g. after a page reload
        before = attached.poll().step
        wait_for(lambda: attached.poll().step > before, timeout=30, what="progress")
        attached.stop()
        assert job.wait(timeout=60).state == "stopped"
    finally:
        job.stop()
    with pytest.raises(FileNotFoundError, match="not a training run folder"):
        TrainingJob.attach(runs_root)
    assert TrainingJob.find(job.run_id, runs_root_dir=runs_root).run_dir == job.run_dir
    with pytest.raises(ValueError, match="Received: run_id='../etc'"):
        TrainingJob.find("../etc", runs_root_dir=runs_root)


@pytest.mark.slow
def test_the_job_cap_refuses_a_third_job(tiny_dataset, runs_root):
    jobs = [start_endless(tiny_dataset, runs_root, job_cap=2) for _ in range(2)]
    try:
        assert training_job.count_live_jobs(runs_root) == 2
        with pytest.raises(JobCapError, match="2 training jobs are already running"):
            start_endless(tiny_dataset, runs_root, job_cap=2)
        assert len(runs.list_runs(runs_root)) == 2  # the refused job left no folder
    finally:
        for job in jobs:
            job.kill()
    assert training_job.count_live_jobs(runs_root) == 0
    assert {job.status().error for job in jobs} == {
        "The training worker was killed. It had not finished an epoch, so there is no model to keep."
    }


@pytest.mark.slow
def test_an_unpolled_job_stops_itself_and_keeps_its_weights(tiny_dataset, runs_root):
    job = start_endless(tiny_dataset, runs_root, idle_stop=2.0)
    # Read without polling: read_status does not touch the heartbeat.
    status = wait_for(
        lambda: (s := runs.read_status(job.run_dir)).is_live is False and s,
        timeout=90,
        what="the watchdog",
    )
    assert status.state == "stopped"
    assert status.reason == "idle"
    assert job.model_path is not None
    wait_for(lambda: not runner.pid_alive(job.pid), timeout=30, what="the worker to exit")


@pytest.mark.slow
def test_the_parent_side_never_imports_tensorflow(tiny_dataset, tmp_path):
    script = f"""
import json, sys, time
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import TrainingJob
import core.jobs.model_store
from tests.helpers_training import tiny_spec_dict, wait_for
loaded_at_import = sorted({{"tensorflow", "keras"}} & set(sys.modules))
config = TrainConfig(epochs=1000, batch_size=8)
job = TrainingJob.start(tiny_spec_dict(), {str(tiny_dataset)!r}, config,
                        runs_root_dir={str(tmp_path / "runs")!r})
wait_for(lambda: job.poll().step > 0, timeout=90)
job.pause()
wait_for(lambda: job.poll().state == "paused", timeout=30)
job.resume()
job.stop()
status = job.wait(timeout=60)
print(json.dumps({{"state": status.state, "at_import": loaded_at_import,
                  "at_end": sorted({{"tensorflow", "keras"}} & set(sys.modules))}}))
"""
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report == {"state": "stopped", "at_import": [], "at_end": []}


def test_delete_run_removes_an_ended_run_and_refuses_a_live_one(tmp_path):
    run_dir = training_job.prepare_run(tiny_spec_dict(), "mnist", runs_root_dir=tmp_path)
    (run_dir / runs.PID_FILE).write_text(str(os.getpid()))  # a live "worker"
    with pytest.raises(ValueError, match="stop it before deleting it"):
        runs.delete_run(run_dir)
    (run_dir / runs.STATUS_FILE).write_text('{"state": "stopped"}')
    runs.delete_run(run_dir)
    assert not run_dir.exists()


@pytest.mark.slow
def test_preview_augmentation_gives_seeded_random_versions_of_one_image():
    image = np.zeros((8, 8), np.uint8)
    image[:4] = 255  # bright top half
    augmentation = {"flip": "vertical", "rotation": 0.1}
    versions = worker_client.preview_augmentation(image, augmentation, count=6, seed=3)
    assert versions.shape == (6, 8, 8, 1) and versions.dtype == np.float32
    assert versions.min() >= 0.0 and versions.max() <= 1.0
    assert len({versions[i].tobytes() for i in range(6)}) > 1  # not all the same
    again = worker_client.preview_augmentation(image, augmentation, count=6, seed=3)
    np.testing.assert_array_equal(versions, again)


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
    best = max(epochs, key=lambda e: (e["val_accuracy"], -e["val_loss"]))
    metadata = job.model_metadata()
    assert metadata["restored_best_epoch"] == best["epoch"]
    assert metadata["stopped_early"] is True


# ---------------------------------------------------------------------------
# Progress fraction (fast)
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


# ---------------------------------------------------------------------------
# Transfer learning
# ---------------------------------------------------------------------------

TRANSFER_RANDOM = {"transfer": "MobileNetV2", "weights": None}
TRANSFER_IMAGENET = {"transfer": "MobileNetV2", "weights": "imagenet"}
WEIGHTS_224 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


@pytest.fixture(scope="module")
def rgb_dataset(tmp_path_factory) -> Path:
    from tests.helpers_training import write_tiny_rgb_dataset

    return write_tiny_rgb_dataset(tmp_path_factory.mktemp("rgb") / "rgb32.npz")


def test_start_without_cached_imagenet_weights_fails_fast_naming_the_file(
    rgb_dataset, runs_root, tmp_path, monkeypatch
):
    from core.nets.transfer import WeightsUnavailableError

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    monkeypatch.setattr(subprocess, "Popen", None)  # no worker may be started
    started = time.perf_counter()
    with pytest.raises(WeightsUnavailableError) as error:
        TrainingJob.start(TRANSFER_IMAGENET, rgb_dataset, runs_root_dir=runs_root)
    assert time.perf_counter() - started < 1
    message = str(error.value)
    # 32×32 has no weights of its own: Keras uses the 224 ones; the header gave the size.
    assert str(tmp_path / "empty-keras-home" / "models" / WEIGHTS_224) in message
    assert "weights=None" in message
    assert not runs_root.exists() or not any(runs_root.iterdir())


def test_start_with_cached_imagenet_weights_gets_past_the_check(
    rgb_dataset, runs_root, tmp_path, monkeypatch
):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / WEIGHTS_224).touch()
    launched = []
    monkeypatch.setattr(TrainingJob, "_launch", lambda job: launched.append(job.run_dir))
    job = TrainingJob.start(TRANSFER_IMAGENET, rgb_dataset, runs_root_dir=runs_root)
    assert launched == [job.run_dir]
    assert job.config["model"] == TRANSFER_IMAGENET
    assert "MobileNetV2" in runs.list_runs(runs_root)[0].model_name


@pytest.mark.parametrize(
    ("dataset", "preprocessing", "shape"),
    [
        ("tiny", None, "8×8×1"),  # the .npz header says grayscale 8×8
        ("mnist", {"target_size": 64, "color_mode": "grayscale"}, "64×64×1"),
        ("mnist", {"target_size": 28, "color_mode": "rgb"}, "28×28×3"),
        ("mnist", None, "28×28×1"),
    ],
)
def test_start_refuses_a_transfer_model_on_grayscale_or_small_images(
    tiny_dataset, runs_root, dataset, preprocessing, shape
):
    dataset = tiny_dataset if dataset == "tiny" else dataset
    with pytest.raises(ValueError) as error:
        TrainingJob.start(
            TRANSFER_RANDOM, dataset, preprocessing=preprocessing, runs_root_dir=runs_root
        )
    message = str(error.value)
    assert "MobileNetV2 needs RGB images (3 channels) of at least 32×32 pixels" in message
    assert f"this data gives {shape}" in message
    assert "Choose RGB colour and an image size of 32 or more" in message
    assert not runs_root.exists() or not any(runs_root.iterdir())


def test_the_worker_refuses_grayscale_data_for_a_transfer_model_before_keras():
    from core.worker import model_building, training_data

    data = training_data.TrainingData(
        x_train=np.zeros((4, 40, 40, 1), np.float32),
        y_train=np.array([0, 1, 0, 1]),
        x_validation=None,
        y_validation=None,
        x_test=np.zeros((2, 40, 40, 1), np.float32),
        y_test=np.array([0, 1]),
        class_names=["a", "b"],
        evaluated_on="test",
        source="test",
    )
    with pytest.raises(ValueError, match="this data gives 40×40×1"):
        model_building.build_training_model(None, {"model": dict(TRANSFER_RANDOM)}, data)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"transfer": "ResNet50"}, "Received: base='ResNet50'"),
        ({"transfer": "MobileNetV2", "weights": "cifar"}, "Received: weights='cifar'"),
        ({"transfer": "MobileNetV2", "alpha": 0.5}, "unknown keys ['alpha']"),
    ],
)
def test_start_refuses_a_bad_transfer_request_naming_it(rgb_dataset, runs_root, model, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainingJob.start(model, rgb_dataset, runs_root_dir=runs_root)


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


def test_the_train_page_modules_and_a_refused_transfer_start_never_import_tensorflow(
    rgb_dataset, tmp_path
):
    script = f"""
import json, sys
import core.jobs.training_job, ui.train.architecture, ui.train.transfer, ui.train.live
from core.nets.transfer import WeightsUnavailableError, transfer_summary_rows
transfer_summary_rows((96, 96, 3), 5)
try:
    core.jobs.training_job.TrainingJob.start({TRANSFER_IMAGENET!r}, {str(rgb_dataset)!r},
                                    runs_root_dir={str(tmp_path / "runs")!r})
except WeightsUnavailableError:
    refused = True
print(json.dumps({{"refused": refused,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in
                                   ("tensorflow", "keras"))}}))
"""
    environment = {**os.environ, "KERAS_HOME": str(tmp_path / "keras")}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report == {"refused": True, "loaded": []}
