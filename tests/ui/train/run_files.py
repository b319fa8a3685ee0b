"""Run folders for the Train page's widget tests: made by `prepare_run`, filled as a worker would.

No worker is started: the files a worker writes (``status.json``, ``progress.jsonl``,
snapshots, ``evaluation.json``, ``predictions.npz``) are written here in the formats
``core.jobs.runs`` reads.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from core.jobs import runs
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import prepare_run
from tests.helpers_training import tiny_spec_dict


def new_run(root: Path, *, dataset="mnist", model=None, epochs: int = 2) -> Path:
    """A queued run folder under `root` (``config.json`` and ``status.json`` only)."""
    return prepare_run(
        tiny_spec_dict() if model is None else model,
        dataset,
        TrainConfig(epochs=epochs),
        runs_root_dir=root,
    )


def write_status(run_dir: Path, **values) -> None:
    """Replace ``status.json``; a live state also gets this process as its (live) worker."""
    (run_dir / runs.STATUS_FILE).write_text(json.dumps({"updated": time.time(), **values}))
    if values.get("state") in runs.LIVE_STATES:
        (run_dir / runs.PID_FILE).write_text(str(os.getpid()))
        (run_dir / runs.PULSE_FILE).touch()


def write_progress(run_dir: Path, batches: list[dict], epochs: list[dict] = ()) -> None:
    lines = [{"type": "batch", **b} for b in batches] + [{"type": "epoch", **e} for e in epochs]
    (run_dir / runs.PROGRESS_FILE).write_text("".join(json.dumps(r) + "\n" for r in lines))


def write_snapshots(run_dir: Path, kernels: list[np.ndarray], *, layer: str = "conv2d") -> None:
    """One snapshot per kernel, at steps 0, 10, 20, …"""
    folder = run_dir / runs.SNAPSHOT_DIR
    folder.mkdir(exist_ok=True)
    entries = []
    for number, kernel in enumerate(kernels):
        step = 10 * number
        name = f"{step:06d}.npy"
        np.save(folder / name, np.asarray(kernel, np.float32))
        entries.append({"step": step, "epoch": 1, "batch": step, "file": name, "layer": layer})
    index = folder / runs.SNAPSHOT_INDEX_FILE
    index.write_text("".join(json.dumps(entry) + "\n" for entry in entries))


def write_evaluation(
    run_dir: Path,
    true,
    predicted,
    class_names,
    *,
    image_index=None,
    evaluated_on: str = "test",
) -> dict:
    """``evaluation.json`` and ``predictions.npz`` for these labels; returns the evaluation."""
    true, predicted = np.asarray(true), np.asarray(predicted)
    count = len(class_names)
    confusion = np.zeros((count, count), int)
    for t, p in zip(true, predicted, strict=True):
        confusion[t, p] += 1
    per_class = [
        None if row.sum() == 0 else float(row[i] / row.sum()) for i, row in enumerate(confusion)
    ]
    positions = np.arange(len(true)) if image_index is None else np.asarray(image_index)
    wrong = np.flatnonzero(predicted != true)
    evaluation = {
        "num_test": int(len(true)),
        "test_accuracy": float(np.mean(predicted == true)),
        "test_loss": 0.5,
        "evaluated_on": evaluated_on,
        "class_names": list(class_names),
        "confusion_matrix": confusion.tolist(),
        "per_class_accuracy": per_class,
        "num_misclassified": int(len(wrong)),
        "misclassified": [
            {
                "index": int(i),
                "image_index": int(positions[i]),
                "true": int(true[i]),
                "predicted": int(predicted[i]),
                "confidence": 0.9,
            }
            for i in wrong
        ],
    }
    (run_dir / runs.EVALUATION_FILE).write_text(json.dumps(evaluation))
    arrays = {
        "true": true.astype(np.int32),
        "predicted": predicted.astype(np.int32),
        "confidence": np.full(len(true), 0.9, np.float32),
    }
    if image_index is not None:
        arrays["image_index"] = positions.astype(np.int64)
    np.savez(run_dir / runs.PREDICTIONS_FILE, **arrays)
    return evaluation
