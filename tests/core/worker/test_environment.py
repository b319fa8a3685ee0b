"""Tests for core.worker.environment: how many threads TensorFlow gets (a share of the usable
cores per running training job), and that the environment it reads is set before it is
imported (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.base.paths import PROJECT_ROOT
from core.jobs.runner import TRAINING_JOBS_ENV
from core.worker import environment

VARIABLES = (
    "TF_CPP_MIN_LOG_LEVEL",
    "KERAS_BACKEND",
    "OMP_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_ENABLE_ONEDNN_OPTS",
)


@pytest.mark.parametrize(
    ("cores", "jobs", "intra_op", "inter_op"),
    [
        (1, 1, 1, 1),
        (2, 1, 2, 1),  # the 2-core machine: both cores for one job
        (2, 2, 1, 1),
        (2, 3, 1, 1),  # more jobs than cores: still one thread each
        (4, 1, 4, 2),
        (8, 2, 4, 2),
        (16, 3, 5, 2),
        (3, 0, 3, 2),  # a nonsense job count counts as one
    ],
)
def test_each_job_gets_an_equal_share_of_the_cores(cores, jobs, intra_op, inter_op):
    assert environment.thread_counts(cores, jobs) == (intra_op, inter_op)


def test_the_share_is_of_the_cores_this_process_may_use_and_the_jobs_the_runner_counted(
    monkeypatch,
):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5, 7})
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # the machine's count is not the limit
    monkeypatch.setenv(TRAINING_JOBS_ENV, "2")
    assert environment.usable_cores() == 4
    assert environment.worker_threads() == (2, 1)
    assert environment.worker_thread_count() == 2
    monkeypatch.setenv(TRAINING_JOBS_ENV, "two")  # unreadable: as if alone
    assert environment.worker_threads() == (4, 2)
    monkeypatch.delenv(TRAINING_JOBS_ENV)
    assert environment.training_jobs() == 1


def test_configure_environment_sets_the_thread_counts_and_quiet_defaults(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(4)))
    monkeypatch.setenv(TRAINING_JOBS_ENV, "1")
    environment.configure_environment()
    assert {name: os.environ[name] for name in VARIABLES} == {
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "KERAS_BACKEND": "tensorflow",
        "OMP_NUM_THREADS": "4",
        "TF_NUM_INTRAOP_THREADS": "4",
        "TF_NUM_INTEROP_THREADS": "2",
        "TF_ENABLE_ONEDNN_OPTS": "0",
    }


def test_one_thread_keeps_onednn_and_several_turn_it_off(monkeypatch):
    """oneDNN's weight gradient crashes on two threads (residual training, Grad-CAM)."""
    monkeypatch.setenv(TRAINING_JOBS_ENV, "1")
    for cores, expected in ((1, None), (2, "0")):
        monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid, n=cores: set(range(n)))
        environment.configure_environment()
        assert os.environ.get("TF_ENABLE_ONEDNN_OPTS") == expected


def test_configure_environment_keeps_a_chosen_log_level_but_not_thread_counts(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(4)))
    monkeypatch.setenv(TRAINING_JOBS_ENV, "2")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # someone debugging the worker
    monkeypatch.setenv("OMP_NUM_THREADS", "64")
    for name in VARIABLES[1:]:
        if name != "OMP_NUM_THREADS":
            monkeypatch.delenv(name, raising=False)
    environment.configure_environment()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert os.environ["OMP_NUM_THREADS"] == "2"


# What the environment held at the moment TensorFlow's import began, and what TensorFlow
# then set up; run in a fresh interpreter with none of the variables set.
_PROBE = f"""
import importlib.abc, json, os, sys
seen = {{}}

class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" and not seen:
            seen.update({{key: os.environ.get(key) for key in {VARIABLES!r}}})
        return None

sys.meta_path.insert(0, Watch())
from core.worker.environment import import_keras, worker_threads
keras = import_keras()
again = import_keras()
import tensorflow as tf
print(json.dumps({{
    "at_import": seen,
    "expected": list(worker_threads()),
    "intra": tf.config.threading.get_intra_op_parallelism_threads(),
    "inter": tf.config.threading.get_inter_op_parallelism_threads(),
    "backend": keras.backend.backend(),
    "same_module": again is keras,
}}))
"""


@pytest.mark.slow
def test_the_environment_is_set_before_tensorflow_is_imported():
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in (*VARIABLES, TRAINING_JOBS_ENV)
    }
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=PROJECT_ROOT,
        env={**clean, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    intra, inter = report["expected"]
    assert (intra, inter) == tuple(environment.thread_counts(len(os.sched_getaffinity(0)), 1))
    assert report["at_import"] == {
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "KERAS_BACKEND": "tensorflow",
        "OMP_NUM_THREADS": str(intra),
        "TF_NUM_INTRAOP_THREADS": str(intra),
        "TF_NUM_INTEROP_THREADS": str(inter),
        "TF_ENABLE_ONEDNN_OPTS": "0" if intra > 1 else None,
    }
    assert (report["intra"], report["inter"]) == (intra, inter)
    assert report["backend"] == "tensorflow"
    assert report["same_module"] is True
