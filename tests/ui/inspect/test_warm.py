"""ui.inspect.warm: the inference worker is started (and its default model loaded) up front.

Run against a real worker process: after the warm-up the worker is running, holds the
default model, and the next request reuses it; this process still has no TensorFlow.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.jobs import worker_client
from core.jobs.worker_client import WorkerClient
from ui.inspect import warm
from ui.inspect.models import DEFAULT_BUNDLED


def test_the_default_model_is_the_bundled_one_the_picker_starts_with():
    assert warm.DEFAULT_MODEL.is_file()
    assert warm.DEFAULT_MODEL.stem == DEFAULT_BUNDLED


def test_a_model_that_cannot_be_loaded_is_only_noted(tmp_path):
    missing = tmp_path / "missing.keras"
    client = WorkerClient()
    try:
        assert warm.warm_up(client, missing) is False
        assert client.worker_pid is None  # refused before a worker was started
    finally:
        client.close()


@pytest.mark.slow  # starts the worker process
def test_the_worker_is_warmed_once_in_the_background(monkeypatch):
    monkeypatch.setattr(worker_client, "_SHARED", None)
    warm.warm_inference_worker.clear()
    try:
        thread = warm.warm_inference_worker()
        assert warm.warm_inference_worker() is thread  # once per server process
        thread.join(timeout=240)
        assert not thread.is_alive()
        client = worker_client.shared_client()
        assert client.worker_pid is not None
        assert client.ping()["models"] == 1  # the default model, loaded
        assert client.starts == 1
    finally:
        warm.warm_inference_worker.clear()
        worker_client.shared_client().close()
        monkeypatch.setattr(worker_client, "_SHARED", None)


# In a fresh interpreter: the suite's own process may have loaded TensorFlow for other tests.
_WARM_UP_IN_A_SERVER = """
import sys
from core.jobs.worker_client import WorkerClient
from ui.inspect import warm
client = WorkerClient()
try:
    assert warm.warm_up(client, warm.DEFAULT_MODEL), "the warm-up failed"
finally:
    client.close()
print(sorted({name.split(".")[0] for name in sys.modules} & {"tensorflow", "keras"}))
"""


@pytest.mark.slow  # starts the worker process
def test_warming_up_loads_no_tensorflow_in_the_server_process():
    done = subprocess.run(
        [sys.executable, "-c", _WARM_UP_IN_A_SERVER],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
