"""Tests for core.worker.environment: how many threads TensorFlow gets, and that the
environment it reads is set before it is imported (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.base.paths import PROJECT_ROOT
from core.worker import environment

VARIABLES = (
    "TF_CPP_MIN_LOG_LEVEL",
    "KERAS_BACKEND",
    "OMP_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


@pytest.mark.parametrize(("cores", "threads"), [(None, 1), (1, 1), (2, 1), (3, 2), (16, 15)])
def test_tensorflow_gets_one_core_fewer_than_the_machine_and_at_least_one(
    monkeypatch, cores, threads
):
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert environment.worker_thread_count() == threads


def test_configure_environment_sets_the_thread_counts_and_quiet_defaults(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    environment.configure_environment()
    assert {name: os.environ[name] for name in VARIABLES} == {
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "KERAS_BACKEND": "tensorflow",
        "OMP_NUM_THREADS": "3",
        "TF_NUM_INTRAOP_THREADS": "3",
        "TF_NUM_INTEROP_THREADS": "1",
    }


def test_configure_environment_keeps_a_chosen_log_level_but_not_thread_counts(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # someone debugging the worker
    monkeypatch.setenv("OMP_NUM_THREADS", "64")
    for name in VARIABLES[1:]:
        if name != "OMP_NUM_THREADS":
            monkeypatch.delenv(name, raising=False)
    environment.configure_environment()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert os.environ["OMP_NUM_THREADS"] == "3"


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
from core.worker.environment import import_keras, worker_thread_count
keras = import_keras()
again = import_keras()
import tensorflow as tf
print(json.dumps({{
    "at_import": seen,
    "expected_threads": worker_thread_count(),
    "intra": tf.config.threading.get_intra_op_parallelism_threads(),
    "inter": tf.config.threading.get_inter_op_parallelism_threads(),
    "backend": keras.backend.backend(),
    "same_module": again is keras,
}}))
"""


@pytest.mark.slow
def test_the_environment_is_set_before_tensorflow_is_imported():
    clean = {key: value for key, value in os.environ.items() if key not in VARIABLES}
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
    threads = str(report["expected_threads"])
    assert report["at_import"] == {
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "KERAS_BACKEND": "tensorflow",
        "OMP_NUM_THREADS": threads,
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": "1",
    }
    assert (report["intra"], report["inter"]) == (report["expected_threads"], 1)
    assert report["backend"] == "tensorflow"
    assert report["same_module"] is True
