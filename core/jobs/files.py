"""Writing files so that a crash never leaves a half-written one, and reading JSON forgivingly.

Every write goes to a temporary sibling first and is moved into place with `os.replace`, so a
reader (or a restarted server) sees the old content or the new, never a mix."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def _temporary_sibling(path: Path) -> Iterator[Path]:
    """Yield a fresh temporary path in ``path``'s folder; remove it if it is left over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary_path.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    Args:
        path: Target file; its folder is created if needed.
        data: The complete new contents.
        durable: Also flush the bytes to disk (``fsync``) before the replace,
            so the new file survives a power cut too. A killed process never
            leaves half a file either way; status files skip the few
            milliseconds this costs.

    Returns:
        The target path.
    """
    path = Path(path)
    with _temporary_sibling(path) as temporary:
        with open(temporary, "wb") as stream:
            stream.write(data)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    return path


def atomic_write_json(path: str | os.PathLike, value, *, durable: bool = True) -> Path:
    """Write ``value`` as indented JSON to ``path`` atomically (see `atomic_write_bytes`)."""
    text = json.dumps(value, indent=2, allow_nan=False, default=_json_default)
    return atomic_write_bytes(path, (text + "\n").encode("utf-8"), durable=durable)


def atomic_copy(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Copy ``source`` to ``target`` atomically (temporary file in ``target``'s folder)."""
    target = Path(target)
    with _temporary_sibling(target) as temporary:
        with open(source, "rb") as reader, open(temporary, "wb") as writer:
            while chunk := reader.read(1 << 20):
                writer.write(chunk)
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(temporary, target)
    return target


def read_json(path: str | os.PathLike, default=None):
    """Return the JSON in ``path``, or ``default`` when it is missing or not valid JSON."""
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return default


def _json_default(value):
    """Let numpy scalars and arrays, paths and tuples pass through ``json.dumps``."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
