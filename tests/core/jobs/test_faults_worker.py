"""A training worker killed for real (SIGKILL) while it writes its per-epoch model.

The run ends failed with the reason and keeps the last whole model (never a half-written one;
the half-written temporary file is cleaned up). A worker killed mid-training (between saves)
is covered in tests/core/jobs/test_runner.py, the warm inspection worker killed mid-request
in tests/app_pages/test_page_inspect_faults.py.
"""

from __future__ import annotations

import os
import signal
import time
import zipfile
from pathlib import Path

import pytest

from core.jobs import runs
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


def test_a_worker_killed_while_saving_its_model_keeps_the_last_whole_one(tiny_dataset, runs_root):
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
    client = WorkerClient()
    try:
        assert client.check_model_file(job.model_path)["output_shape"] == [2]
    finally:
        client.close()
    assert zombie_children() == []
    # The app serves on: the dead run no longer counts against the job cap.
    assert count_live_jobs(runs_root) == 0
