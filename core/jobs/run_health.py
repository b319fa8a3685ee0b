"""What in a run folder cannot be read: files edited, truncated or deleted by hand.

The readers of `core.jobs.runs` never raise on such files (they read what they can); this
says, in plain words a page can show, which parts were left out and why.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from core.jobs.files import read_json
from core.jobs.runs import (
    CONFIG_DAMAGED,
    CONFIG_FILE,
    EVALUATION_FILE,
    MODEL_FILE,
    MODEL_SIDECAR_FILE,
    PREDICTIONS_FILE,
    PROGRESS_FILE,
    STATUS_DAMAGED,
    RunStatus,
    read_evaluation,
    read_jsonl_counting,
    read_predictions,
    read_status,
)


def run_problems(run_dir: str | os.PathLike, status: RunStatus | None = None) -> list[str]:
    """What in a run folder cannot be read (files edited, truncated or deleted by hand).

    Each entry is a phrase for a page ("its settings file (config.json) is missing or
    damaged"); an empty list when the run reads fine. The model, results and predictions
    are only checked once the run has ended (a live worker is still writing them).

    Args:
        run_dir: The run folder.
        status: Its status, if already read.
    """
    run_dir = Path(run_dir)
    status = read_status(run_dir) if status is None else status
    problems = []
    if not isinstance(read_json(run_dir / CONFIG_FILE, default=None), dict):
        problems.append(CONFIG_DAMAGED)
    if status.error == STATUS_DAMAGED:
        problems.append("its status file (status.json) is missing or damaged")
    _, damaged = read_jsonl_counting(run_dir / PROGRESS_FILE)
    if damaged:
        lines = "line" if damaged == 1 else "lines"
        problems.append(
            f"{damaged} {lines} of its training curves (progress.jsonl) cannot be read "
            "and are left out"
        )
    if status.is_live:
        return problems
    model = run_dir / MODEL_FILE
    if model.exists() and not zipfile.is_zipfile(model):
        problems.append("its model file (model.keras) is damaged, so it cannot be saved")
    elif not model.exists() and (run_dir / MODEL_SIDECAR_FILE).exists():
        problems.append("its model file (model.keras) is missing, so it cannot be saved")
    if (run_dir / EVALUATION_FILE).exists() and read_evaluation(run_dir) is None:
        problems.append("its test results (evaluation.json) are damaged and cannot be shown")
    if (run_dir / PREDICTIONS_FILE).exists() and read_predictions(run_dir) is None:
        problems.append("its per-image predictions (predictions.npz) are damaged")
    return problems
