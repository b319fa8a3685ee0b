"""Keep each epoch's model of a training run, so Inspect can compare epochs and replay the run.

The training loop saves ``model.keras`` after every epoch, overwriting it; `keep_epoch`
also saves that epoch as ``<run>/epochs/epoch-NNNN.keras`` without the optimizer state (a
third of an Adam-trained file), and thins the folder to at most
`core.jobs.run_epochs.MAX_KEPT_EPOCHS` epochs spread over the run, fewer when the files are
large. Keeping an epoch never fails the training: a full disk only means fewer epochs kept.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from core.jobs.files import atomic_output, atomic_write_json, read_json
from core.jobs.model_store import ModelStoreError, without_optimizer
from core.jobs.run_epochs import (
    EPOCH_INDEX_FILE,
    EPOCHS_DIR,
    MAX_ARCHIVE_BYTES,
    MAX_KEPT_EPOCHS,
    epoch_file_name,
    epochs_to_keep,
)

_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


def keep_epoch(model, run_dir: str | os.PathLike, record: dict) -> bool:
    """Save ``model`` as the epoch ``record["epoch"]`` of the run; True when it was kept.

    Args:
        model: The Keras model at the end of the epoch.
        run_dir: The run folder.
        record: The recorder's epoch record (``epoch`` and its metrics).
    """
    folder = Path(run_dir) / EPOCHS_DIR
    epoch = int(record["epoch"])
    target = folder / epoch_file_name(epoch)
    try:
        folder.mkdir(exist_ok=True)
        for leftover in folder.glob(".*"):  # a save cut short by a killed worker
            leftover.unlink(missing_ok=True)
        full = folder / f".full-{epoch_file_name(epoch)}"
        try:
            model.save(full)
            with atomic_output(target, suffix=".keras") as temporary:
                without_optimizer(full, temporary)
        finally:
            full.unlink(missing_ok=True)
        _update_index(folder, epoch, record, target.stat().st_size)
    except (OSError, ModelStoreError):
        with contextlib.suppress(OSError):
            target.unlink(missing_ok=True)
        return False
    return target.is_file()


def _update_index(folder: Path, epoch: int, record: dict, size: int) -> None:
    index = read_json(folder / EPOCH_INDEX_FILE, default={}) or {}
    entries = {
        entry["epoch"]: entry
        for entry in index.get("epochs", [])
        if isinstance(entry, dict) and isinstance(entry.get("epoch"), int)
    }
    entries[epoch] = {
        "epoch": epoch,
        "file": epoch_file_name(epoch),
        **{key: record[key] for key in _METRICS if key in record},
    }
    limit = max(2, min(MAX_KEPT_EPOCHS, MAX_ARCHIVE_BYTES // max(size, 1)))
    kept = epochs_to_keep(entries, limit=limit)
    atomic_write_json(
        folder / EPOCH_INDEX_FILE,
        {
            "epochs": [entries[number] for number in kept],
            "epochs_seen": epoch,
            "limit": limit,
        },
    )
    for number in set(entries) - set(kept):  # dropped from the index first, then deleted
        (folder / epoch_file_name(number)).unlink(missing_ok=True)
