"""The model a run folder holds and what is known of it, even when the worker was killed
between writing the model and its sidecar.

A checkpoint is two files written one after the other: ``model.keras``, then ``model.json``,
which records the model file it describes (`model_fingerprint`). A kill between the two
leaves a model newer than its sidecar, or one without any; it is still the run's last model,
saved after the last epoch its progress records, so it is kept and described from there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.jobs.files import read_json

# The sidecar's record of the model file it was written for.
FINGERPRINT_KEY = "model_file"


def model_fingerprint(path: str | os.PathLike) -> dict:
    """What tells one written model file from the next: its size and modification time.

    Each checkpoint replaces the file by a rename, so a new file has a new fingerprint.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.keras"
    >>> _ = path.write_bytes(b"1234")
    >>> model_fingerprint(path)["size"]
    4
    """
    stat = Path(path).stat()
    return {"size": int(stat.st_size), "mtime_ns": int(stat.st_mtime_ns)}


@dataclass(frozen=True)
class KeptModel:
    """A run's model file and what is known of it.

    Attributes:
        path: The ``model.keras`` file.
        metadata: Its sidecar; where the sidecar lags behind the file (or is missing), the
            sidecar's lasting fields with ``epochs_completed`` and ``history`` from the
            run's progress.
        epochs: Epochs finished before it was saved (None when not known).
        described: Whether the sidecar was written for this very file.
    """

    path: Path
    metadata: dict
    epochs: int | None
    described: bool


def kept_model(
    model_path: str | os.PathLike, sidecar_path: str | os.PathLike, epoch_records: list[dict]
) -> KeptModel | None:
    """The model file a run left (None without one), described by its sidecar or its progress.

    Args:
        model_path: The run's ``model.keras``.
        sidecar_path: The run's ``model.json``.
        epoch_records: The run's finished epochs, as its progress records them.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "model.keras").write_bytes(b"PK")
    >>> kept = kept_model(folder / "model.keras", folder / "model.json", [{"epoch": 1}])
    >>> kept.described, kept.epochs
    (False, 1)
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        return None
    sidecar = read_json(sidecar_path, default={})
    sidecar = sidecar if isinstance(sidecar, dict) else {}
    recorded = sidecar.get(FINGERPRINT_KEY, "unrecorded")  # older sidecars have none
    try:
        current = model_fingerprint(model_path)
    except FileNotFoundError:
        return None  # replaced or removed just now
    if sidecar and recorded in ("unrecorded", current):
        epochs = sidecar.get("epochs_completed")
        epochs = epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None
        return KeptModel(model_path, sidecar, epochs or None, described=True)
    # The model was written after its sidecar's epoch: after the last epoch recorded.
    epochs = len(epoch_records) or None
    metadata = {
        **{key: value for key, value in sidecar.items() if key not in ("metrics", "end_reason")},
        FINGERPRINT_KEY: current,
        "epochs_completed": epochs or 0,
        "history": list(epoch_records),
        "checkpoint": True,
        "metrics": {},
    }
    return KeptModel(model_path, metadata, epochs, described=False)


def kept_model_message(kept: KeptModel | None) -> str:
    """What a failed run says of the model it leaves.

    >>> kept_model_message(None)
    'It had not finished an epoch, so there is no model to keep.'
    >>> kept_model_message(KeptModel(Path("model.keras"), {}, 3, described=False))
    'The model saved after epoch 3 is kept: you can save or inspect it.'
    """
    if kept is None:
        return "It had not finished an epoch, so there is no model to keep."
    if kept.epochs is None:
        return "The last model it saved is kept: you can save or inspect it."
    return f"The model saved after epoch {kept.epochs} is kept: you can save or inspect it."
