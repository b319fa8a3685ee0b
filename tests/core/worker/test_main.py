"""Tests for core.worker.__main__, the entry point of every worker process: its usage errors,
and a train worker's exit status and graceful stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from core.base.paths import PROJECT_ROOT
from core.jobs import runner
from core.worker.__main__ import USAGE, main
from tests.helpers_training import start_endless, wait_for, wait_until_training


def run_worker(*arguments: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.worker", *arguments],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    "argv",
    [[], ["nonsense"], ["train"], ["train", "a", "b"], ["serve", "now"], ["TRAIN", "runs/x"]],
    ids=["nothing", "unknown", "train-without-folder", "train-two-folders", "serve-arg", "case"],
)
def test_anything_but_a_known_task_is_a_usage_error(argv, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == USAGE + "\n"
    assert captured.out == ""


def test_python_m_core_worker_without_a_task_prints_the_usage_and_exits_2():
    completed = run_worker()
    assert completed.returncode == 2
    assert completed.stderr.strip() == USAGE
    assert completed.stdout == ""


def test_a_usage_error_never_imports_tensorflow():
    code = (
        "import json, sys; from core.worker.__main__ import main; status = main(['sleep', '1']);"
        "print(json.dumps([status, sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('tensorflow', 'keras'))]))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == [2, []]


def test_a_train_worker_on_a_folder_without_a_run_exits_1_saying_why(tmp_path):
    completed = run_worker("train", str(tmp_path))
    assert completed.returncode == 1
    assert "FileNotFoundError" in completed.stderr
    assert "has no readable config.json" in completed.stderr


@pytest.mark.slow
def test_sigterm_stops_a_train_worker_gracefully_keeping_and_evaluating_its_model(
    tiny_dataset, runs_root
):
    job = start_endless(tiny_dataset, runs_root)
    try:
        wait_until_training(job, min_step=5)
        os.kill(job.pid, signal.SIGTERM)
        status = job.wait(timeout=60)
    finally:
        job.kill()
    assert (status.state, status.reason) == ("stopped", "terminated")
    assert job.model_path is not None
    assert job.evaluation()["num_test"] == 64
    assert job.model_metadata()["end_reason"] == "terminated"
    wait_for(lambda: not runner.pid_alive(job.pid), timeout=30, what="the worker to exit")
