"""Files a training worker reads that the page writes: an in-memory data set as an ``.npz``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.jobs.files import atomic_write_bytes
from core.jobs.runs import runs_root


def write_dataset_file(dataset, *, folder: str | os.PathLike | None = None) -> Path:
    """Save an in-memory data set (e.g. an uploaded image-folder zip) for a worker to train on.

    The worker cannot share the page's memory, so the page writes the arrays
    once and passes the returned path as `TrainingJob.start`'s ``dataset``.
    The file name holds a hash of the contents, so the same data is written once.

    Args:
        dataset: A ``core.data.image_dataset.ImageDataset``.
        folder: Where to write (default: ``datasets/`` in the runs folder).

    Returns:
        The ``.npz`` path (``x_train``, ``y_train``, ``x_test``, ``y_test``,
        ``class_names``, ``source``). A data set without test images is
        evaluated on its validation split.
    """
    import hashlib
    import io

    arrays = {
        "x_train": np.asarray(dataset.x_train),
        "y_train": np.asarray(dataset.y_train),
        "x_test": np.asarray(dataset.x_test),
        "y_test": np.asarray(dataset.y_test),
        "class_names": np.asarray([str(name) for name in dataset.class_names]),
        "source": np.asarray(str(dataset.source)),
    }
    digest = hashlib.sha1(usedforsecurity=False)
    for key, value in arrays.items():
        digest.update(key.encode())
        digest.update(str(value.shape).encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    target_folder = Path(folder) if folder is not None else runs_root() / "datasets"
    path = target_folder / f"{slug(str(dataset.name))}-{digest.hexdigest()[:12]}.npz"
    if not path.is_file():
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(path, buffer.getvalue(), durable=False)
    return path


def slug(text: str) -> str:
    """``text`` as a short file-name part: lower case, runs of other characters as one '-'.

    >>> slug("Tiny CNN / MNIST"), slug("???")
    ('tiny-cnn-mnist', 'run')
    """
    cleaned = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(part for part in cleaned.split("-") if part)[:40] or "run"
