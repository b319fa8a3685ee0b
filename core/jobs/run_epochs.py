"""The epochs a training run keeps: which to keep, where they are, and how to find a model's run.

The worker (`core.worker.epoch_archive`) saves the model after each epoch as its own
``.keras`` file under ``<run>/epochs/`` (weights and layers, no optimizer state), so every
inspection request works on an old epoch as on any model. To bound the disk it keeps at most
`MAX_KEPT_EPOCHS`, spread over the run (`epochs_to_keep`), and fewer when the files are large
(`MAX_ARCHIVE_BYTES`). This module only reads and decides; it never imports TensorFlow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.base.checks import check_int
from core.jobs.files import read_json
from core.jobs.runs import RUN_ID_PATTERN, runs_root

EPOCHS_DIR = "epochs"


EPOCH_INDEX_FILE = "index.json"


MAX_KEPT_EPOCHS = 12


MAX_ARCHIVE_BYTES = 200 * 1024 * 1024


_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass(frozen=True)
class SavedEpoch:
    """One kept epoch: its number (1-based), its ``.keras`` file and its metrics.

    Metrics a run did not measure (no validation split, an epoch cut short) are None.
    """

    epoch: int
    path: Path
    loss: float | None = None
    accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None


def epoch_file_name(epoch: int) -> str:
    """The file name of an epoch's model.

    >>> epoch_file_name(3)
    'epoch-0003.keras'
    """
    return f"epoch-{check_int(epoch, 'epoch', minimum=0):04d}.keras"


def epochs_to_keep(epochs, *, limit: int = MAX_KEPT_EPOCHS) -> list[int]:
    """Of the epochs saved so far, the at most ``limit`` to keep, spread over the run.

    The first and the latest always stay (a run can end at any epoch); while there are too
    many, the inner epoch whose neighbours are closest together goes (the earlier one on a
    tie), so the kept epochs stay evenly spread however long the run turns out to be.

    >>> epochs_to_keep(range(1, 6), limit=12)
    [1, 2, 3, 4, 5]
    >>> epochs_to_keep(range(1, 21), limit=6)
    [1, 5, 9, 13, 17, 20]
    """
    limit = check_int(limit, "limit", minimum=2)
    kept = sorted(set(epochs))
    while len(kept) > limit:
        gaps = [kept[i + 1] - kept[i - 1] for i in range(1, len(kept) - 1)]
        del kept[1 + gaps.index(min(gaps))]
    return kept


def read_epochs(run_dir: str | os.PathLike) -> list[SavedEpoch]:
    """The epochs a run kept whose files are there, oldest first (``[]`` when none).

    Entries naming a file outside the epochs folder, or one that is missing, are left out.
    """
    folder = Path(run_dir) / EPOCHS_DIR
    index = read_json(folder / EPOCH_INDEX_FILE, default=None)
    entries = index.get("epochs") if isinstance(index, dict) else None
    found = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        epoch = entry.get("epoch")
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            continue
        path = folder / epoch_file_name(epoch)
        if not path.is_file():
            continue
        metrics = {key: _number(entry.get(key)) for key in _METRICS}
        found[epoch] = SavedEpoch(epoch, path, **metrics)
    return [found[epoch] for epoch in sorted(found)]


def epochs_seen(run_dir: str | os.PathLike) -> int:
    """How many epochs the run had finished when it last saved one (0 when unknown)."""
    index = read_json(Path(run_dir) / EPOCHS_DIR / EPOCH_INDEX_FILE, default=None)
    seen = index.get("epochs_seen") if isinstance(index, dict) else None
    return seen if isinstance(seen, int) and not isinstance(seen, bool) else 0


def run_dir_of_model(
    metadata: dict, *, runs_root_dir: str | os.PathLike | None = None
) -> Path | None:
    """The run folder a saved model was trained in (from its sidecar's ``run_id``), or None.

    Bundled and uploaded models, and models whose run was deleted, have none.

    >>> run_dir_of_model({}) is None
    True
    """
    run_id = metadata.get("run_id") if isinstance(metadata, dict) else None
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        return None
    run_dir = runs_root(runs_root_dir) / run_id
    return run_dir if run_dir.is_dir() else None


def _number(value) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
