"""Tests for core.jobs.training_job: preparing runs, and starting, pausing, resuming, stopping,
attaching to and capping `TrainingJob`s.

The slow tests start real worker processes on a tiny data set (256 images of 8×8 pixels) and
a tiny CNN, so each takes a few seconds, most of it TensorFlow's import in the worker.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.base.paths import PROJECT_ROOT
from core.jobs import runner, runs, training_job
from core.jobs.files import read_json
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import JobCapError, TrainingJob
from tests.helpers_training import (
    start_endless,
    tiny_spec_dict,
    wait_for,
    wait_until_training,
)

ROOT = PROJECT_ROOT


def load_keras_model(path):
    import keras

    return keras.saving.load_model(path, safe_mode=True)


# ---------------------------------------------------------------------------
# Preparing a run and steering it through files (fast)
# ---------------------------------------------------------------------------


def test_prepare_run_writes_the_config_and_a_queued_status(tiny_dataset, runs_root):
    config = TrainConfig(epochs=3, batch_size=16)
    run_dir = training_job.prepare_run(
        tiny_spec_dict(), tiny_dataset, config, runs_root_dir=runs_root, save_as=" tiny "
    )
    assert run_dir.parent == runs_root
    assert "tiny-cnn-tiny" in run_dir.name
    written = read_json(run_dir / runs.CONFIG_FILE)
    assert written["train_config"] == config.to_dict()
    assert written["dataset"] == {"npz_path": str(tiny_dataset.resolve())}
    assert written["save_as"] == "tiny"
    assert written["keep_optimizer"] is False  # saved without the optimizer unless asked
    status = runs.read_status(run_dir)
    assert (status.state, status.epochs) == ("queued", 3)


def test_prepare_run_refuses_a_config_that_is_not_a_train_config(runs_root):
    message = "`config` must be a TrainConfig. Received: config={'epochs': 1}."
    with pytest.raises(TypeError, match=re.escape(message)):
        training_job.prepare_run(tiny_spec_dict(), "mnist", {"epochs": 1}, runs_root_dir=runs_root)
    assert not runs_root.exists()


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"overwrite": "yes"}, TypeError, "`overwrite` must be True or False."),
        ({"keep_optimizer": 1}, TypeError, "`keep_optimizer` must be True or False."),
        ({"idle_stop": 0}, ValueError, "`idle_stop` must be > 0. Received: idle_stop=0."),
        ({"idle_stop": "60"}, TypeError, "`idle_stop` must be a number. Received: idle_stop='60'."),
        ({"save_as": 7}, TypeError, "`save_as` must be a string. Received: save_as=7."),
        ({"save_as": "../x"}, ValueError, "`save_as` must be 1 to 64 letters"),
    ],
)
def test_prepare_run_refuses_bad_options_with_a_type_or_value_error(
    runs_root, options, error, message
):
    with pytest.raises(error, match=re.escape(message)):
        training_job.prepare_run(tiny_spec_dict(), "mnist", runs_root_dir=runs_root, **options)
    assert not runs_root.exists()


def test_pause_resume_and_stop_write_the_command_for_the_worker(tmp_path):
    job = TrainingJob(tmp_path)
    for command in ("pause", "resume"):
        getattr(job, command)()
        assert read_json(tmp_path / runs.CONTROL_FILE)["command"] == command
    job.stop(restore_best_weights=True)
    control = read_json(tmp_path / runs.CONTROL_FILE)
    assert (control["command"], control["restore_best_weights"]) == ("stop", True)


def test_polling_touches_the_heartbeat_and_reading_the_status_does_not(tiny_dataset, runs_root):
    run_dir = training_job.prepare_run(tiny_spec_dict(), tiny_dataset, runs_root_dir=runs_root)
    job = TrainingJob.attach(run_dir)
    job.status()
    assert not (run_dir / runs.HEARTBEAT_FILE).exists()
    job.poll()
    assert time.time() - (run_dir / runs.HEARTBEAT_FILE).stat().st_mtime < 5


def test_save_before_the_run_has_a_model_is_refused(tiny_dataset, runs_root):
    run_dir = training_job.prepare_run(tiny_spec_dict(), tiny_dataset, runs_root_dir=runs_root)
    with pytest.raises(FileNotFoundError, match="no trained model yet"):
        TrainingJob(run_dir).save("tiny", models_dir=runs_root / "models")


def test_find_refuses_a_run_id_that_is_a_path(runs_root):
    message = "`run_id` must be a run folder name. Received: run_id='../etc'."
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainingJob.find("../etc", runs_root_dir=runs_root)
    with pytest.raises(TypeError, match=re.escape("Received: run_id=None.")):
        TrainingJob.find(None, runs_root_dir=runs_root)


def test_attach_refuses_a_folder_without_a_run_naming_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = "`run_dir` is not a training run folder. Received: run_dir='empty'."
    with pytest.raises(FileNotFoundError, match=re.escape(message)):
        TrainingJob.attach(Path("empty"))


def test_a_data_set_file_is_written_once_per_content(tiny_dataset, tmp_path):
    from core.data.image_dataset import ImageDataset

    with np.load(tiny_dataset) as arrays:
        dataset = ImageDataset(
            name="My photos!",
            class_names=("top", "bottom"),
            x_train=arrays["x_train"],
            y_train=arrays["y_train"].astype(np.int64),
            x_test=arrays["x_test"],
            y_test=arrays["y_test"].astype(np.int64),
            source="image folders",
        )
    path = training_job.write_dataset_file(dataset, folder=tmp_path)
    assert path.name.startswith("my-photos-") and path.suffix == ".npz"
    written = path.stat().st_mtime_ns
    assert training_job.write_dataset_file(dataset, folder=tmp_path) == path
    assert path.stat().st_mtime_ns == written  # not written again
    changed = training_job.write_dataset_file(
        ImageDataset(**{**dataset.__dict__, "x_train": 255 - dataset.x_train}), folder=tmp_path
    )
    assert changed != path
    with np.load(path) as saved:
        np.testing.assert_array_equal(saved["x_train"], dataset.x_train)
        assert str(saved["source"]) == "image folders"


def test_the_job_cap_and_idle_stop_come_from_the_environment(monkeypatch):
    monkeypatch.delenv(training_job.MAX_JOBS_ENV, raising=False)
    monkeypatch.delenv(training_job.IDLE_STOP_ENV, raising=False)
    assert training_job.max_jobs() == training_job.DEFAULT_MAX_JOBS
    assert training_job.idle_stop_seconds() == training_job.DEFAULT_IDLE_STOP_SECONDS
    monkeypatch.setenv(training_job.MAX_JOBS_ENV, "5")
    monkeypatch.setenv(training_job.IDLE_STOP_ENV, "30")
    assert (training_job.max_jobs(), training_job.idle_stop_seconds()) == (5, 30.0)


@pytest.mark.parametrize(
    ("variable", "value", "function", "message"),
    [
        (training_job.MAX_JOBS_ENV, "0", training_job.max_jobs, "must be >= 1. Received: {}=0."),
        (
            training_job.MAX_JOBS_ENV,
            "two",
            training_job.max_jobs,
            "must be an integer. Received: {}='two'.",
        ),
        (
            training_job.MAX_JOBS_ENV,
            "1.5",
            training_job.max_jobs,
            "must be an integer. Received: {}='1.5'.",
        ),
        (
            training_job.IDLE_STOP_ENV,
            "-1",
            training_job.idle_stop_seconds,
            "must be > 0. Received: {}=-1.0.",
        ),
        (
            training_job.IDLE_STOP_ENV,
            "soon",
            training_job.idle_stop_seconds,
            "must be a number of seconds. Received: {}='soon'.",
        ),
        (
            training_job.IDLE_STOP_ENV,
            "nan",
            training_job.idle_stop_seconds,
            "must be a finite number. Received: {}=nan.",
        ),
    ],
)
def test_a_bad_environment_setting_is_refused_naming_it(
    monkeypatch, variable, value, function, message
):
    monkeypatch.setenv(variable, value)
    expected = f"`{variable}` {message.format(variable)}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        function()


# ---------------------------------------------------------------------------
# Real worker processes (slow)
# ---------------------------------------------------------------------------


def test_kill_says_killed_even_when_the_worker_writes_running_until_its_end(
    tiny_dataset, runs_root
):
    # A stand-in worker (a real process of another parent, as after a server restart) that
    # rewrites a live status all the time: whatever kill marks first, it writes over.
    run_dir = training_job.prepare_run(
        tiny_spec_dict(), tiny_dataset, TrainConfig(epochs=1), runs_root_dir=runs_root
    )
    status_path = run_dir / runs.STATUS_FILE
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import json, os, sys\n"
            "path = sys.argv[1]\n"
            "while True:\n"
            "    with open(path + '.part', 'w') as f:\n"
            "        json.dump({'state': 'running', 'message': 'Training'}, f)\n"
            "    os.replace(path + '.part', path)\n",
            str(status_path),
        ]
    )
    try:
        (run_dir / runs.PID_FILE).write_text(str(writer.pid))
        wait_for(
            lambda: read_json(status_path, default={}).get("state") == "running",
            timeout=30,
            what="the stand-in worker",
        )
        TrainingJob.attach(run_dir).kill()
        assert not runner.pid_alive(writer.pid)
        status = runs.read_status(run_dir)
        assert status.state == "failed"
        assert status.error.startswith("The training worker was killed.")
    finally:
        writer.kill()
        writer.wait()


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
        "The training worker was killed. "
        "It had not finished an epoch, so there is no model to keep."
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
