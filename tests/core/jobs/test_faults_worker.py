"""Worker processes killed for real (SIGKILL) at chosen moments: a training worker while it
writes its per-epoch model, and the warm inspection worker while it answers a request.

Each ends in a clear state: the run is failed with the reason and keeps the last whole model
(never a half-written one, and the half-written temporary file is cleaned up); the inspection
request says the worker stopped, and the next request gets a new worker.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.jobs import runs
from core.jobs.inspection import WorkerCrashedError
from core.jobs.runner import default_runner
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import TrainingJob, count_live_jobs
from core.jobs.worker_client import WorkerClient
from core.nets.specs import ModelSpec, conv2d, dense, flatten, spec_to_dict
from tests.core.jobs.test_runner import zombie_children
from tests.helpers_training import IMAGE_SIZE, wait_for

pytestmark = pytest.mark.slow

ASSET_MODEL = Path(__file__).resolve().parents[3] / "assets" / "models" / "mnist_cnn_a.keras"


def heavy_spec_dict() -> dict:
    """A tiny-input CNN with a 600,000-weight dense layer: quick epochs, a slower save."""
    spec = ModelSpec(
        "heavy_head",
        (IMAGE_SIZE, IMAGE_SIZE, 1),
        (conv2d(4, 3), flatten(), dense(4096), dense(2, "softmax")),
    )
    return spec_to_dict(spec)


def temporary_model_files(run_dir: Path, pid: int) -> list[str]:
    prefix = f".{runs.MODEL_FILE}.{pid}."
    return [entry.name for entry in os.scandir(run_dir) if entry.name.startswith(prefix)]


@pytest.fixture(scope="module")
def client():
    """One warm worker for the module (the last test kills it and checks it comes back)."""
    instance = WorkerClient()
    yield instance
    instance.close()


def test_a_worker_killed_while_saving_its_model_keeps_the_last_whole_one(
    tiny_dataset, runs_root, client
):
    job = TrainingJob.start(
        heavy_spec_dict(),
        tiny_dataset,
        TrainConfig(epochs=1000, batch_size=32, learning_rate=0.01),
        runs_root_dir=runs_root,
    )
    pid = job.pid
    wait_for(lambda: job.model_metadata().get("epochs_completed"), timeout=120, what="epoch 1")
    # Watch for the next epoch's save to start writing, and kill the worker right then.
    deadline = time.monotonic() + 120
    while not temporary_model_files(job.run_dir, pid):
        assert job.status().is_live, job.status()
        assert time.monotonic() < deadline, "no save was caught in the act"
    os.kill(pid, signal.SIGKILL)

    status = wait_for(
        lambda: (current := job.status()).state == "failed" and current,
        timeout=30,
        what="the run to be marked failed",
    )
    assert "killed by SIGKILL" in status.error
    assert "The model saved after epoch" in status.error
    # The model in place is whole (the old one, or the new one if the rename had just won).
    with zipfile.ZipFile(job.model_path) as archive:
        assert archive.testzip() is None
    assert temporary_model_files(job.run_dir, pid) == []  # the half-written file is gone
    assert job.problems() == []
    assert client.check_model_file(job.model_path)["output_shape"] == [2]
    assert zombie_children() == []
    # The app serves on: the dead run no longer counts against the job cap.
    assert count_live_jobs(runs_root) == 0


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of a process, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_the_warm_worker_killed_mid_request_is_reported_and_replaced(client):
    client.model_info(ASSET_MODEL)  # warm: TensorFlow loaded, the model too
    first = client.worker_pid
    time.sleep(0.5)
    idle = cpu_ticks(first)
    images = np.random.default_rng(0).random((20_000, 28, 28, 1), dtype=np.float32)
    outcome: dict = {}

    def ask():
        try:
            outcome["answer"] = client.predict(ASSET_MODEL, images)
        except WorkerCrashedError as error:
            outcome["error"] = error

    request = threading.Thread(target=ask)
    request.start()
    # The worker burns CPU only while it answers: kill it once it has started on ours.
    wait_for(lambda: cpu_ticks(first) >= idle + 10, interval=0.005, what="the work to start")
    assert request.is_alive()
    os.kill(first, signal.SIGKILL)
    request.join(timeout=60)

    assert "answer" not in outcome
    message = str(outcome["error"])
    assert "stopped unexpectedly (killed by SIGKILL)" in message
    assert "It starts again on the next request" in message
    info = client.model_info(ASSET_MODEL)  # the next request works, in a new worker
    assert info.layers and client.worker_pid not in (None, first)
    assert client.predict(ASSET_MODEL, images[:4]).shape == (4, 10)
    wait_for(lambda: default_runner().find(first) is None, timeout=30, what="the reaping")
    assert zombie_children() == []
