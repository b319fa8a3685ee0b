"""Uploaded `.keras` files: checking their bytes, and where they wait while the worker
inspects them.

The folder is pruned whenever a new file arrives, so it never grows without bound.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
import zipfile
from pathlib import Path

from core.base.checks import check_instance

UPLOAD_DIR_NAME = "convscope-inspect-uploads"


MAX_UPLOAD_BYTES = 50 * 1024 * 1024


UPLOAD_MAX_AGE_SECONDS = 24 * 3600  # older uploads are deleted when a new one arrives


UPLOADS_KEPT = 20  # and never more than this many (newest first), at most ~1 GB


ZIP_SIGNATURE = b"PK\x03\x04"  # a .keras file is a zip archive


# What the members of an uploaded model may add up to once unpacked. Weights hardly compress,
# so a real model unpacks to about its own size; a file claiming far more is a zip bomb (or
# broken) and would keep the worker busy for many seconds before Keras gave up.
MAX_UNPACKED_BYTES = 500 * 1024 * 1024


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"  # the legacy .h5 format


# A config.json describes layers: a few MB even for very deep networks.
MAX_CONFIG_BYTES = 16 * 1024 * 1024


# Class names in a Keras config that stand for Python code: a Lambda layer and the
# serialized function (of a Lambda layer, or passed where Keras expects a name).
PYTHON_CODE_CLASSES = frozenset({"Lambda", "__lambda__"})


def upload_bytes(data, name: str = "data") -> bytes:
    """The contents of an uploaded file (``bytes``, ``bytearray`` or ``memoryview``) as bytes.

    Raises:
        TypeError: ``data`` is none of those.

    >>> upload_bytes(bytearray(b"PK"))
    b'PK'
    """
    check_instance(data, name, (bytes, bytearray, memoryview), "bytes")
    return bytes(data)


def is_zip_archive(data: bytes) -> bool:
    """Whether ``data`` starts like a zip archive, as every Keras 3 ``.keras`` file does.

    >>> is_zip_archive(ZIP_SIGNATURE + b"rest"), is_zip_archive(b"GIF89a")
    (True, False)
    """
    return data[:4] == ZIP_SIGNATURE


def zip_problem(data: bytes, *, max_unpacked: int = MAX_UNPACKED_BYTES) -> str | None:
    """Why an uploaded zip must be refused before anything unpacks it, or None.

    Reads only the archive's directory: what the members claim to unpack to, and whether
    any is encrypted. It takes milliseconds whatever the members claim.

    >>> import io, zipfile
    >>> buffer = io.BytesIO()
    >>> with zipfile.ZipFile(buffer, "w") as archive:
    ...     archive.writestr("config.json", "{}")
    >>> zip_problem(buffer.getvalue()) is None
    True
    >>> zip_problem(b"PK\x03\x04 and then nonsense")[:70]
    'The file is not a readable zip archive, so it cannot be a .keras model'
    """
    members = _zip_members(data)
    if members is None:
        return (
            "The file is not a readable zip archive, so it cannot be a .keras model; it may "
            "have been cut off. Download or save it again."
        )
    if any(member.flag_bits & 0x1 for member in members):
        return "The file is password-protected; a .keras model never is. Save the model again."
    unpacked = sum(member.file_size for member in members)
    if unpacked > max_unpacked:
        return (
            f"The file says it unpacks to {unpacked / 1e6:,.0f} MB, more than the "
            f"{max_unpacked / 1e6:,.0f} MB a model may take here; it was not opened."
        )
    return None


def model_file_problem(data: bytes, *, max_unpacked: int = MAX_UNPACKED_BYTES) -> str | None:
    """Why an uploaded file cannot be a Keras 3 model this app may open, or None.

    The checks both model uploaders make before a worker sees the file, in milliseconds
    whatever the file claims: it must be a zip archive (`zip_problem`) with the members
    ``model.save`` writes (``config.json`` and ``model.weights.h5``), and its
    ``config.json`` must name no ``Lambda`` layer or other serialized Python function.
    Other files get a message naming what they are (empty, a pickle, an HDF5 file, text, a
    zipped TensorFlow SavedModel or checkpoint) and what to do. Nothing is unpickled or
    unpacked beyond ``config.json``. The worker still loads what passes with Keras' safe mode.

    >>> model_file_problem(b"")
    "The file is empty (0 bytes). Upload the .keras file that model.save('name.keras') wrote."
    >>> import pickle
    >>> model_file_problem(pickle.dumps([1, 2])).startswith("This file is a Python pickle")
    True
    """
    if not data:
        return (
            "The file is empty (0 bytes). Upload the .keras file that model.save('name.keras') "
            "wrote."
        )
    if not is_zip_archive(data):
        return _not_a_zip_problem(data)
    if (problem := zip_problem(data, max_unpacked=max_unpacked)) is not None:
        return problem
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {member.filename: member for member in archive.infolist()}
        return _members_problem(archive, members)


def _zip_members(data: bytes) -> list[zipfile.ZipInfo] | None:
    """The members an archive's directory lists, or None when it is not a readable zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None


_SAVE_AGAIN = (
    "load the model in Keras and save it with model.save('name.keras'), then upload that file"
)


def _not_a_zip_problem(data: bytes) -> str:
    """What a file that is not a zip archive is, in words, and what to do instead."""
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return (
            "This file is a Python pickle, not a Keras 3 model. Opening a pickle can run any "
            f"code, so this app never does; {_SAVE_AGAIN}."
        )
    if data[:8] == HDF5_SIGNATURE:
        return (
            "This is an HDF5 (.h5) file, the format of older Keras versions, not a Keras 3 "
            f"model; {_SAVE_AGAIN}."
        )
    head = data[:4096]
    try:
        text = b"\0" not in head and head.decode("utf-8", errors="strict")
    except UnicodeDecodeError:  # a multi-byte character cut at the end is still text
        text = b"\0" not in head and head[:-3].decode("utf-8", errors="ignore")
    if text and sum(character.isprintable() or character.isspace() for character in text) > (
        0.95 * len(text)
    ):
        return (
            "This is a text file, not a Keras 3 model. Upload the .keras file that "
            "model.save('name.keras') wrote (a zip archive)."
        )
    return (
        "This file is not a Keras 3 model: a .keras file is a zip archive, as "
        "model.save('name.keras') writes it. TensorFlow SavedModels (.pb), checkpoints and "
        f"pickles cannot be opened here; {_SAVE_AGAIN}."
    )


def _members_problem(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo]) -> str | None:
    """What keeps a readable zip from being a safe .keras model, judged from its members."""
    names = list(members)
    if any(name.rsplit("/", 1)[-1] in ("saved_model.pb", "saved_model.pbtxt") for name in names):
        return (
            "This zip holds a TensorFlow SavedModel folder, not a Keras 3 .keras file. "
            "In Python, load the model it was exported from (or rebuild it) and save it with "
            "model.save('name.keras'), then upload that file."
        )
    if any(name.endswith(".index") or ".data-0" in name for name in names):
        return (
            "This zip holds a TensorFlow checkpoint: weights without the network they belong "
            "to, not a Keras 3 .keras file. Build the model in Keras, load the checkpoint into "
            "it and save it with model.save('name.keras'), then upload that file."
        )
    if "config.json" not in members:
        return (
            "This zip is not a Keras 3 model: it has no config.json describing the layers. "
            "Upload the .keras file that model.save('name.keras') wrote, unchanged."
        )
    if "model.weights.h5" not in members:
        return (
            "This .keras file holds no weights (model.weights.h5 is missing from it), so the "
            "network could not compute anything. Save the model again with "
            "model.save('name.keras')."
        )
    if members["config.json"].file_size > MAX_CONFIG_BYTES:
        return (
            f"This .keras file's config.json says it is "
            f"{members['config.json'].file_size / 1e6:,.0f} MB, far more than a description "
            "of layers takes; it was not opened. Save the model again."
        )
    try:
        config = json.loads(archive.read("config.json"))
    except (ValueError, RecursionError, OSError, zipfile.BadZipFile, EOFError):
        return (
            "This .keras file's config.json, which describes the layers, cannot be read. "
            "Save the model again with model.save('name.keras')."
        )
    if _names_python_code(config):
        return (
            "This model contains a Lambda layer or other Python code, which this app never "
            "loads (Keras safe_mode). Rebuild it from standard Keras layers and save it again."
        )
    return None


def _names_python_code(config) -> bool:
    """Whether a Keras config names a ``Lambda`` layer or a serialized Python function.

    >>> _names_python_code({"layers": [{"class_name": "Lambda", "config": {}}]})
    True
    >>> _names_python_code({"layers": [{"class_name": "Conv2D", "config": {}}]})
    False
    """
    stack = [config]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if value.get("class_name") in PYTHON_CODE_CLASSES:
                return True
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def upload_dir() -> Path:
    """Where uploaded `.keras` files wait for the worker (one file per content hash)."""
    return Path(tempfile.gettempdir()) / UPLOAD_DIR_NAME


def prune_uploads(
    folder: Path,
    *,
    keep: Path | None = None,
    max_age_s: float = UPLOAD_MAX_AGE_SECONDS,
    max_files: int = UPLOADS_KEPT,
    now: float | None = None,
) -> list[Path]:
    """Delete uploads older than `max_age_s` and all but the newest `max_files`; never `keep`.

    Uploaded models are only needed while someone inspects them, and a
    teaching server can run for weeks: without this the folder only grows.
    A session whose file was pruned gets a clear "could not load" message
    and can upload it again. Returns the deleted paths.
    """
    now = time.time() if now is None else now
    uploads = []
    for path in folder.glob("*.keras"):
        with contextlib.suppress(OSError):
            uploads.append((path.stat().st_mtime, path))
    uploads.sort(reverse=True)
    deleted = []
    for rank, (mtime, path) in enumerate(uploads):
        if path == keep or (rank < max_files and now - mtime <= max_age_s):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            deleted.append(path)
    return deleted
