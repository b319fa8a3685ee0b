"""core.jobs.runner: start, watch, stop and reap worker processes; no zombies, ever.

The fast tests run the real runner with a stand-in interpreter (a shell script that plays a
worker), so each process behaviour is exact and quick; the slow tests run real
``python -m core.worker train`` workers on the bundled MNIST subset.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
import time
from pathlib import Path

import pytest

from core.jobs import runs
from core.jobs.files import read_json
from core.jobs.runner import LocalRunner, default_runner, describe_exit, pid_alive
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import TrainingJob
from tests.helpers_training import wait_for

# Called as `<script> -m core.worker <task> <arguments...>`, like the real interpreter.
STAND_IN = """#!/bin/sh
task="$3"
case "$task" in
  exit) exit "$4" ;;
  sleep) exec sleep "$4" ;;
  stubborn) trap '' TERM; echo ready; sleep 60 ;;
  echo) exec cat ;;
  talk) echo "worker says hello" >&2; exit 0 ;;
  train|serve) echo "training jobs: ${CONVSCOPE_TRAINING_JOBS:-unset}" >&2; exec sleep 60 ;;
esac
exit 3
"""


def zombie_children() -> list[int]:
    """Children of this process that have exited but were never reaped."""
    me, zombies = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == me:
            zombies.append(int(entry.name))
    return zombies


@pytest.fixture()
def stand_in_runner(tmp_path) -> LocalRunner:
    script = tmp_path / "python"
    script.write_text(STAND_IN)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return LocalRunner(python=str(script))


def test_a_finished_worker_is_reaped_at_once_and_reports_its_exit_code(stand_in_runner):
    worker = stand_in_runner.start("exit", "7")
    assert worker.wait(timeout=10) == 7
    assert worker.exit_reason() == "exit code 7"
    assert not worker.is_alive()
    assert worker.pid not in zombie_children()
    assert stand_in_runner.find(worker.pid) is None
    assert stand_in_runner.workers() == []


def test_many_workers_in_a_row_leave_no_zombie(stand_in_runner):
    workers = [stand_in_runner.start("exit", "0") for _ in range(20)]
    for worker in workers:
        assert worker.wait(timeout=10) == 0
    assert zombie_children() == []


def test_exit_callbacks_run_once_when_the_process_ends_and_at_once_after(stand_in_runner):
    worker = stand_in_runner.start("sleep", "0.3")
    seen: list[str] = []
    worker.on_exit(lambda ended: seen.append(ended.exit_reason()))
    assert stand_in_runner.find(worker.pid) is worker
    assert worker.wait(timeout=10) == 0
    assert seen == ["exit code 0"]
    worker.on_exit(lambda ended: seen.append("late"))
    assert seen == ["exit code 0", "late"]


def test_a_failing_callback_does_not_keep_the_others_from_running(stand_in_runner):
    worker = stand_in_runner.start("sleep", "0.5")  # still running when the callbacks are added
    seen = []
    worker.on_exit(lambda ended: 1 / 0)
    worker.on_exit(lambda ended: seen.append(ended.returncode))
    worker.wait(timeout=10)
    assert seen == [0]


def test_stop_ends_a_worker_with_sigterm(stand_in_runner):
    worker = stand_in_runner.start("sleep", "60")
    started = time.monotonic()
    assert worker.stop(grace=5) == -signal.SIGTERM
    assert time.monotonic() - started < 3
    assert worker.exit_reason() == "killed by SIGTERM"


def test_stop_kills_a_worker_that_ignores_sigterm_after_the_grace_period(stand_in_runner, tmp_path):
    log = tmp_path / "stubborn.log"
    worker = stand_in_runner.start("stubborn", log_path=log)
    wait_for(lambda: log.is_file() and "ready" in log.read_text(), timeout=10, what="the trap")
    started = time.monotonic()
    assert worker.stop(grace=0.5) == -signal.SIGKILL
    assert 0.4 < time.monotonic() - started < 5
    assert zombie_children() == []


def test_the_log_gets_what_the_worker_prints(stand_in_runner, tmp_path):
    log = tmp_path / "worker.log"
    stand_in_runner.start("talk", log_path=log).wait(timeout=10)
    assert "worker says hello" in log.read_text()


def test_a_training_worker_is_told_how_many_training_jobs_run_itself_included(
    stand_in_runner, tmp_path
):
    def started(task: str, name: str):
        log = tmp_path / f"{name}.log"
        worker = stand_in_runner.start(task, name, log_path=log)
        wait_for(lambda: log.exists() and log.read_text(), timeout=10)
        return worker, log.read_text().strip()

    first, said_first = started("train", "first")
    server, said_server = started("serve", "server")  # not a training job
    second, said_second = started("train", "second")
    first.kill()
    third, said_third = started("train", "third")
    assert [said_first, said_server, said_second, said_third] == [
        "training jobs: 1",
        "training jobs: unset",
        "training jobs: 2",
        "training jobs: 2",  # the first has ended
    ]
    for worker in (server, second, third):
        worker.kill()


def test_a_connected_worker_talks_over_its_pipes_and_ends_when_they_close(stand_in_runner):
    worker = stand_in_runner.start("echo", connect=True)
    sender, receiver = worker.connection
    sender.send(("ping", {"value": 42}))
    assert receiver.poll(10)
    assert receiver.recv() == ("ping", {"value": 42})
    worker.close_connection()
    assert worker.wait(timeout=10) == 0


def test_the_real_worker_module_refuses_an_unknown_task_with_a_usage_error(tmp_path):
    log = tmp_path / "worker.log"
    worker = LocalRunner().start("no-such-task", log_path=log)
    assert worker.wait(timeout=60) == 2
    assert "usage: python -m core.worker" in log.read_text()


def test_exit_descriptions_are_words():
    assert describe_exit(None) == "still running"
    assert describe_exit(0) == "exit code 0"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(-200) == "killed by signal 200"


def test_pid_alive_tells_a_running_process_from_a_finished_one(stand_in_runner):
    worker = stand_in_runner.start("sleep", "60")
    assert pid_alive(worker.pid)
    worker.kill()
    assert not pid_alive(worker.pid)


def test_the_default_runner_is_one_per_process():
    assert default_runner() is default_runner()
    results = []
    threads = [threading.Thread(target=lambda: results.append(default_runner())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(runner is default_runner() for runner in results)


# --------------------------------------------------------------------------------------------
# Real training workers
# --------------------------------------------------------------------------------------------

# MNIST CNN A on the bundled MNIST subset (7,000 images), as the page trains it.
LONG_RUN = TrainConfig(epochs=50, batch_size=32, validation_fraction=0.1)


def raw_status(run_dir: Path) -> dict:
    """status.json exactly as the worker wrote it (read_status adds its own guesses)."""
    return read_json(run_dir / runs.STATUS_FILE, default={}) or {}


def start_mnist_run(runs_root: Path) -> TrainingJob:
    job = TrainingJob.start("mnist_cnn_a", "mnist", LONG_RUN, runs_root_dir=runs_root)
    wait_for(lambda: job.poll().step >= 30, timeout=180, what="training to get going")
    return job


@pytest.fixture()
def bundled_mnist_only(monkeypatch, tmp_path):
    """Train on the bundled subset, whatever data folder the machine has."""
    monkeypatch.delenv("CONVSCOPE_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))


@pytest.mark.slow
def test_stop_acts_within_a_second_and_runs_in_a_row_leave_no_zombies(bundled_mnist_only, tmp_path):
    """Three MNIST CNN A runs, each stopped mid-epoch: every stop is acted on by the worker
    within a second, each run ends stopped with a model that loads and an evaluation, and
    no worker is left unreaped."""
    from core.jobs.worker_client import WorkerClient

    client = WorkerClient()
    try:
        for attempt in range(3):
            job = start_mnist_run(tmp_path / "runs")
            assert job.poll().batch < job.poll().batches_per_epoch  # mid-epoch
            job.stop()
            asked = time.monotonic()
            wait_for(
                lambda job=job: raw_status(job.run_dir).get("reason") == "user",
                timeout=5,
                interval=0.02,
                what="the worker to act on the stop",
            )
            acted = time.monotonic() - asked
            assert acted <= 1.0, f"run {attempt}: the stop took {acted:.2f} s to act"
            steps_when_acted = raw_status(job.run_dir)["step"]
            status = job.wait(timeout=120)
            assert status.state == "stopped", status
            assert status.step <= steps_when_acted + 1
            assert job.evaluation()["num_test"] > 0
            assert client.check_model_file(job.model_path)["input_shape"] == [28, 28, 1]
            wait_for(lambda job=job: default_runner().find(job.pid) is None, timeout=30)
            assert zombie_children() == []
    finally:
        client.close()
    assert zombie_children() == []


@pytest.mark.slow
def test_a_worker_killed_mid_run_leaves_a_failed_run_with_its_reason_and_last_model(
    bundled_mnist_only, tmp_path
):
    job = TrainingJob.start(
        "mnist_cnn_a", "mnist", TrainConfig(epochs=50, batch_size=128), runs_root_dir=tmp_path
    )
    wait_for(lambda: len(job.progress().epochs) >= 1, timeout=240, what="the first epoch")
    # The first checkpoint's model file; a kill before its sidecar keeps it all the same
    # (that gap is reproduced in test_training_loop.py).
    wait_for(
        lambda: job.model_path is not None and job.model_metadata().get("epochs_completed"),
        timeout=30,
        what="the first checkpoint",
    )
    os.kill(job.pid, signal.SIGKILL)
    status = wait_for(
        lambda: (current := job.status()).state == "failed" and current,
        timeout=30,
        what="the run to be marked failed",
    )
    assert "killed by SIGKILL" in status.error
    assert "The model saved after epoch" in status.error
    assert zombie_children() == []
    from core.jobs.worker_client import WorkerClient

    client = WorkerClient()
    try:
        assert client.check_model_file(job.model_path)["output_shape"] == [10]
    finally:
        client.close()
    sidecar = job.model_metadata()
    assert sidecar["checkpoint"] is True and sidecar["epochs_completed"] >= 1


def test_every_runner_keeps_its_workers_in_one_registry():
    from core.jobs.ray_runner import RayRunner
    from core.jobs.runner import WorkerRegistry

    for runner_class in (LocalRunner, RayRunner):
        assert issubclass(runner_class, WorkerRegistry)
        # One way to find and list workers: none of them keeps a copy of its own.
        assert {"find", "workers", "_forget"}.isdisjoint(vars(runner_class))
