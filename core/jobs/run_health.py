"""Is a run healthy? What in its folder cannot be read, and whether the network learned at all.

`run_problems`: the readers of `core.jobs.runs` never raise on files edited, truncated or
deleted by hand (they read what they can); this says, in plain words a page can show, which
parts were left out and why.

`learning_warnings`: a network that predicts one class for nearly everything, or sits at
chance accuracy, looks "finished" like any other; this names the symptom and concrete
remedies (for the Train page and the command line).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.base.numbers import plural, readable
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
from core.jobs.train_config import as_augmentation


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


# A class that takes this share of the predictions (and clearly more than its share of the
# true labels) means the network has collapsed onto it.
ONE_CLASS_SHARE = 0.9
# Accuracy within this fraction of the way from the best blind guess (always the most
# common class) to 100% is "chance": 55% for two even classes, 19% for ten.
CHANCE_MARGIN = 0.1
# Fewer evaluated images than this say too little to warn about.
MIN_IMAGES = 10
# Epochs a live run gets before its validation accuracy is judged.
MIN_LIVE_EPOCHS = 2


@dataclass(frozen=True)
class LearningWarning:
    """A symptom in words and what to try, most likely first."""

    problem: str
    remedies: tuple[str, ...]

    def as_text(self) -> str:
        """One paragraph for the command line.

        >>> LearningWarning("It guesses.", ("Train longer.",)).as_text()
        'Warning: It guesses. Try: Train longer.'
        """
        return f"Warning: {self.problem} Try: " + " ".join(self.remedies)


def learning_warnings(
    evaluation: dict | None,
    train_config: dict | None = None,
    *,
    epochs: list[dict] | None = None,
    num_classes: int | None = None,
    params: int | None = None,
) -> list[LearningWarning]:
    """Warnings for a network that did not learn: one class for nearly all, or chance accuracy.

    Args:
        evaluation: The run's ``evaluation.json`` (`core.jobs.runs.read_evaluation`), or
            None while it trains.
        train_config: Its `TrainConfig` as a dict, for remedies with its own numbers.
        epochs: The finished epochs' records (judged only without an evaluation, after
            `MIN_LIVE_EPOCHS`, on validation accuracy).
        num_classes: The number of classes (for chance while it trains).
        params: The network's weight count, if known.

    >>> cm = [[50, 0], [48, 2]]  # "cats" for 98 of 100 images
    >>> [w.problem for w in learning_warnings({"confusion_matrix": cm, "test_accuracy": 0.52,
    ...     "class_names": ["cats", "dogs"]})]  # doctest: +NORMALIZE_WHITESPACE
    ['It predicts “cats” for 98% of the test images, and its accuracy (52%) is no better
    than always answering “cats” (50%).']
    """
    problem = None
    if evaluation is not None:
        problem = _evaluation_problem(evaluation)
    elif epochs:
        problem = _live_problem(epochs, num_classes)
    if problem is None:
        return []
    return [LearningWarning(problem, _remedies(train_config or {}, params))]


def _evaluation_problem(evaluation: dict) -> str | None:
    try:
        matrix = np.asarray(evaluation.get("confusion_matrix") or [], dtype=np.int64)
    except (TypeError, ValueError):
        return None  # edited by hand: `run_problems` says so
    names = list(evaluation.get("class_names") or [])
    total = int(matrix.sum()) if matrix.ndim == 2 else 0
    if total < MIN_IMAGES or len(names) < 2 or matrix.shape != (len(names), len(names)):
        return None
    split = "validation" if evaluation.get("evaluated_on") == "validation" else "test"
    predicted_share = matrix.sum(axis=0) / total
    true_share = matrix.sum(axis=1) / total
    top = int(predicted_share.argmax())
    majority = int(true_share.argmax())
    accuracy = float(np.trace(matrix) / total)
    baseline = float(true_share[majority])
    collapsed = predicted_share[top] >= max(ONE_CLASS_SHARE, true_share[top] + 0.1)
    at_chance = accuracy <= _chance(baseline)
    blind = f"always answering “{names[majority]}” ({_percent(baseline)})"
    if collapsed and at_chance:
        return (
            f"It predicts “{names[top]}” for {_percent(predicted_share[top])} of the {split} "
            f"images, and its accuracy ({_percent(accuracy)}) is no better than {blind}."
        )
    if collapsed:
        return (
            f"It predicts “{names[top]}” for {_percent(predicted_share[top])} of the {split} "
            "images: it has hardly learned to tell the classes apart."
        )
    if at_chance:
        return (
            f"Its {split} accuracy ({_percent(accuracy)}) is no better than {blind}: "
            "it has not learned to tell the classes apart."
        )
    return None


def _live_problem(epochs: list[dict], num_classes: int | None) -> str | None:
    judged = [record for record in epochs if _finite(record.get("val_accuracy"))]
    if len(judged) < MIN_LIVE_EPOCHS or not num_classes or num_classes < 2:
        return None
    chance = 1 / num_classes
    accuracy = float(judged[-1]["val_accuracy"])
    if accuracy > _chance(chance):
        return None
    return (
        f"After {plural(len(judged), 'epoch')} its validation accuracy ({_percent(accuracy)}) "
        f"is still at chance (guessing among {num_classes} classes gives {_percent(chance)})."
    )


def _remedies(train_config: dict, params: int | None) -> tuple[str, ...]:
    rate = train_config.get("learning_rate")
    epochs = train_config.get("epochs")
    remedies = []
    if _finite(rate):
        remedies.append(
            f"A smaller learning rate (now {readable(rate)}; try {readable(rate / 5)}): too "
            "large steps can push every image into one class."
        )
    else:
        remedies.append("A smaller learning rate: too large steps push every image into one class.")
    if isinstance(epochs, int):
        remedies.append(f"More epochs (now {epochs}; try {max(epochs * 2, epochs + 3)}).")
    else:
        remedies.append("More epochs.")
    if not _augmented(train_config.get("augmentation")):
        remedies.append(
            "Augmentation (flips, small rotations and zoom), so that few images go further."
        )
    size = f" than {plural(params, 'weight')}" if params else ""
    remedies.append(
        f"A smaller model{size} (fewer filters or dense units): it learns from few images "
        "more easily."
    )
    return tuple(remedies)


def _augmented(augmentation) -> bool:
    try:
        return as_augmentation(augmentation or {}).active
    except (TypeError, ValueError):
        return False


def _chance(baseline: float) -> float:
    return baseline + CHANCE_MARGIN * (1 - baseline)


def _percent(fraction: float) -> str:
    return f"{100 * float(fraction):.0f}%"


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)
