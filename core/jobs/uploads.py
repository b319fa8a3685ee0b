"""Uploaded `.keras` files: checking their bytes, and where they wait while the worker
inspects them.

The folder is pruned whenever a new file arrives, so it never grows without bound.
"""

from __future__ import annotations

import contextlib
import io
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
    >>> zip_problem(b"PK\x03\x04 and then nonsense")
    'The file is not a readable zip archive, so it cannot be a .keras model.'
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return "The file is not a readable zip archive, so it cannot be a .keras model."
    if any(member.flag_bits & 0x1 for member in members):
        return "The file is password-protected; a .keras model never is. Save the model again."
    unpacked = sum(member.file_size for member in members)
    if unpacked > max_unpacked:
        return (
            f"The file says it unpacks to {unpacked / 1e6:,.0f} MB, more than the "
            f"{max_unpacked / 1e6:,.0f} MB a model may take here; it was not opened."
        )
    return None


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
