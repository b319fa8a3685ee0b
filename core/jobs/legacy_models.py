"""Legacy ``.h5`` model uploads: recognised here, converted to ``.keras`` by the worker.

An HDF5 upload is written beside its destination and handed to the warm worker
(``core.worker.legacy_h5.convert_h5``), which refuses anything that would run code and
saves the model as a ``.keras`` file. From then on it is an ordinary upload: the server
never opens the HDF5 file itself and never imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import tempfile
import threading
from pathlib import Path

from core.jobs.inspection import ModelInfo, ModelRejectedError
from core.jobs.uploads import HDF5_SIGNATURE, prune_uploads, upload_dir

# What a page says about a model that arrived as an .h5 file.
LEGACY_NOTE = (
    "Converted from the older .h5 format to .keras: the network and its weights, without "
    "any optimizer state."
)


# The sidecar field (model store) that records the conversion.
CONVERTED_FROM = "converted_from"


CONVERSION_TIMEOUT_SECONDS = 120.0


def is_hdf5(data: bytes) -> bool:
    """Whether ``data`` starts like an HDF5 file, as Keras' legacy ``.h5`` models do.

    >>> is_hdf5(b"\\x89HDF\\r\\n\\x1a\\n" + bytes(8)), is_hdf5(b"PK\\x03\\x04")
    (True, False)
    """
    return data[: len(HDF5_SIGNATURE)] == HDF5_SIGNATURE


def convert_to_keras(data: bytes, target: Path, client, *, timeout=CONVERSION_TIMEOUT_SECONDS):
    """Have the worker convert the ``.h5`` bytes ``data`` into the ``.keras`` file ``target``.

    ``client`` is a `core.jobs.worker_client.WorkerClient`.

    Raises:
        ModelRejectedError: the worker refused the file; the message says why.
        WorkerCrashedError: the worker died or took longer than ``timeout``.
    """
    source = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.h5")
    try:
        source.write_bytes(data)
        return client.request(
            "convert_h5", source=os.fspath(source), target=os.fspath(target), timeout=timeout
        )
    finally:
        with contextlib.suppress(FileNotFoundError):
            source.unlink()


def converted_bytes(data: bytes, client) -> bytes:
    """The ``.keras`` file the worker makes of the ``.h5`` bytes ``data`` (`convert_to_keras`)."""
    with tempfile.TemporaryDirectory(prefix="convscope-h5-") as folder:
        target = Path(folder) / "converted.keras"
        convert_to_keras(data, target, client)
        return target.read_bytes()


def load_legacy_upload(client, data: bytes) -> ModelInfo:
    """Convert an uploaded ``.h5`` model and describe it, with `LEGACY_NOTE` first in its notes.

    The converted file is kept with the other uploads under the ``.h5``'s hash, so the same
    file uploaded twice is converted once.

    Raises:
        ModelRejectedError: the file cannot be converted safely, or the pages cannot use it.
    """
    digest = hashlib.sha256(data).hexdigest()[:20]
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}-h5.keras"
    if not path.is_file():
        temporary = folder / f".{digest}.{os.getpid()}.{threading.get_ident()}.keras"
        try:
            convert_to_keras(data, temporary, client)
            os.replace(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        prune_uploads(folder, keep=path)
    try:
        info = client.model_info(path)
    except ModelRejectedError:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return dataclasses.replace(info, notes=(LEGACY_NOTE, *info.notes))
