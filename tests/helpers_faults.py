"""A finished run folder written file by file as a training worker writes it (no TensorFlow,
in milliseconds), and the ways a person can break one by hand, for the fault tests."""

from __future__ import annotations

import contextlib
import errno
import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from core.base.paths import PROJECT_ROOT
from core.jobs import runs
from core.jobs.files import atomic_write_json
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import prepare_run
from tests.helpers_training import tiny_spec_dict

# A real Keras file (any model will do: the run's files are what is tested).
ASSET_MODEL = PROJECT_ROOT / "assets" / "models" / "mnist_cnn_a.keras"


def finished_run(dataset: Path, runs_root: Path) -> Path:
    """A run of the tiny CNN that finished 2 epochs, with every file a worker leaves."""
    run_dir = prepare_run(tiny_spec_dict(), dataset, TrainConfig(epochs=2), runs_root_dir=runs_root)
    with np.load(dataset) as arrays:
        y_test = arrays["y_test"].astype(np.int64)
    predicted = y_test.copy()
    predicted[:5] = 1 - predicted[:5]  # five mistakes
    lines = [
        {
            "type": "batch",
            "step": step,
            "epoch": 1 + step // 4,
            "batch": 1 + step % 4,
            "loss": 1.0 / step,
            "accuracy": 0.5 + step / 20,
            "elapsed": step * 0.1,
        }
        for step in range(1, 9)
    ]
    lines += [
        {"type": "epoch", "epoch": 1, "step": 4, "loss": 0.5, "accuracy": 0.7, "elapsed": 0.4},
        {"type": "epoch", "epoch": 2, "step": 8, "loss": 0.2, "accuracy": 0.9, "elapsed": 0.8},
    ]
    (run_dir / runs.PROGRESS_FILE).write_text("".join(json.dumps(line) + "\n" for line in lines))
    snapshots = run_dir / runs.SNAPSHOT_DIR
    snapshots.mkdir()
    kernel = np.random.default_rng(0).normal(size=(3, 3, 1, 4)).astype(np.float32)
    for step in (0, 8):
        np.save(snapshots / f"{step:06d}.npy", kernel * (1 + step))
        with open(snapshots / runs.SNAPSHOT_INDEX_FILE, "a") as index:
            entry = {"step": step, "epoch": step // 4, "batch": 0, "file": f"{step:06d}.npy"}
            index.write(json.dumps({**entry, "layer": "conv2d"}) + "\n")
    shutil.copyfile(ASSET_MODEL, run_dir / runs.MODEL_FILE)
    atomic_write_json(
        run_dir / runs.MODEL_SIDECAR_FILE,
        {
            "dataset": dataset.name,
            "class_names": ["top", "bottom"],
            "epochs_completed": 2,
            "params": 1234,
            "history": lines[-2:],
            "metrics": {"test_accuracy": 0.921875},
        },
    )
    num_test = len(y_test)
    matrix = np.zeros((2, 2), np.int64)
    np.add.at(matrix, (y_test, predicted), 1)
    atomic_write_json(
        run_dir / runs.EVALUATION_FILE,
        {
            "test_accuracy": float(np.mean(predicted == y_test)),
            "test_loss": 0.3,
            "num_test": num_test,
            "num_misclassified": 5,
            "evaluated_on": "test",
            "class_names": ["top", "bottom"],
            "confusion_matrix": matrix.tolist(),
            "per_class_accuracy": (matrix.diagonal() / matrix.sum(axis=1)).tolist(),
            "misclassified": [
                {
                    "index": i,
                    "image_index": i,
                    "true": int(y_test[i]),
                    "predicted": int(predicted[i]),
                    "confidence": 0.9,
                }
                for i in range(5)
            ],
        },
    )
    np.savez(
        run_dir / runs.PREDICTIONS_FILE,
        true=y_test,
        predicted=predicted,
        confidence=np.full(num_test, 0.9, np.float32),
        image_index=np.arange(num_test),
    )
    status = {
        "state": "finished",
        "message": "Finished",
        "epoch": 2,
        "epochs": 2,
        "batch": 4,
        "batches_per_epoch": 4,
        "step": 8,
        "total_steps": 8,
        "elapsed_seconds": 0.8,
        "test_accuracy": float(np.mean(predicted == y_test)),
        "updated": time.time(),
    }
    atomic_write_json(run_dir / runs.STATUS_FILE, status)
    (run_dir / runs.PID_FILE).write_text(str(ended_pid()))
    return run_dir


def ended_pid() -> int:
    """The pid of a process that has already exited (what a finished run's worker.pid holds)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@contextlib.contextmanager
def small_disk(mount_point: Path, *, size: str = "3m"):
    """Mount a real tmpfs of ``size`` at ``mount_point`` (a disk that can be filled for real).

    Skips the test where mounting is refused (not root, no permission in a container).
    """
    import pytest

    mount_point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    """Write a filler file until the disk says it is full (a real ENOSPC); return it."""
    filler = folder / "filler.bin"
    with contextlib.suppress(OSError), open(filler, "wb", buffering=0) as stream:
        while True:
            stream.write(b"\0" * 65536)
    try:
        with open(filler, "ab", buffering=0) as stream:
            stream.write(b"\0" * 65536)
    except OSError as error:
        assert error.errno == errno.ENOSPC, error
    else:
        raise AssertionError("the disk did not fill up")
    return filler


def truncate(path: Path, keep: float = 0.5) -> None:
    """Cut a file to a share of its length, as an interrupted copy or a careless edit would."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


# Ways to break a run folder by hand: (what is done, the phrase the page and
# `run_problems` must name it by).
DAMAGES = {
    "config not json": (
        lambda d: (d / runs.CONFIG_FILE).write_text('{"run_id": "x", "model": '),
        "settings file (config.json) is missing or damaged",
    ),
    "config deleted": (
        lambda d: (d / runs.CONFIG_FILE).unlink(),
        "settings file (config.json) is missing or damaged",
    ),
    "status truncated": (
        lambda d: truncate(d / runs.STATUS_FILE),
        "status file (status.json) is missing or damaged",
    ),
    "status of the wrong kind": (
        lambda d: (d / runs.STATUS_FILE).write_text('["finished"]'),
        "status file (status.json) is missing or damaged",
    ),
    "progress truncated mid-line": (
        lambda d: (d / runs.PROGRESS_FILE).write_bytes(
            (d / runs.PROGRESS_FILE).read_bytes()[:-30] + b"\n\xff\xfe garbage\n"
        ),
        "2 lines of its training curves (progress.jsonl) cannot be read",
    ),
    "evaluation truncated": (
        lambda d: truncate(d / runs.EVALUATION_FILE),
        "test results (evaluation.json) are damaged",
    ),
    "evaluation edited to the wrong size": (
        lambda d: (d / runs.EVALUATION_FILE).write_text(
            json.dumps(
                {
                    **json.loads((d / runs.EVALUATION_FILE).read_text()),
                    "confusion_matrix": [[1, 2, 3]],
                }
            )
        ),
        "test results (evaluation.json) are damaged",
    ),
    "predictions truncated": (
        lambda d: truncate(d / runs.PREDICTIONS_FILE),
        "per-image predictions (predictions.npz) are damaged",
    ),
    "model deleted": (
        lambda d: (d / runs.MODEL_FILE).unlink(),
        "model file (model.keras) is missing",
    ),
    "model truncated": (
        lambda d: truncate(d / runs.MODEL_FILE),
        "model file (model.keras) is damaged",
    ),
}
