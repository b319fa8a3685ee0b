"""Writing files so that a crash never leaves a half-written one, and reading JSON forgivingly.

Every write goes to a temporary sibling first and is moved into place with `os.replace`, so a
reader (or a restarted server) sees the old content or the new, never a mix. A temporary
sibling is named ``.<target>.<pid>.<random>.tmp`` (hidden, and owned by the writer's process),
so one left behind by a killed process is told from a save in progress and removed later by
`remove_leftovers`."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# The errors a full disk (or a file-size or quota limit) gives a writer.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


# A temporary sibling whose writer is gone is removed; one older than this is removed anyway
# (its pid may have been reused by another process).
LEFTOVER_MAX_AGE_SECONDS = 24 * 3600.0


_TEMPORARY_NAME = re.compile(r"^\..+\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp(\.keras)?$")


def temporary_name(name: str, *, suffix: str = "") -> str:
    """A hidden temporary name for ``name``, owned by this process.

    >>> temporary_name("model.keras", suffix=".keras").startswith(f".model.keras.{os.getpid()}.")
    True
    """
    return f".{name}.{os.getpid()}.{os.urandom(6).hex()}.tmp{suffix}"


@contextlib.contextmanager
def _temporary_sibling(path: Path, *, suffix: str = "") -> Iterator[Path]:
    """Yield a fresh temporary path in ``path``'s folder; remove it if it is left over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp" + suffix, dir=path.parent
    )
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary_path.unlink()


def fsync_folder(folder: str | os.PathLike) -> None:
    """Flush a folder's entries to disk, so a rename into it survives a power cut."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def fsync_file(path: str | os.PathLike) -> None:
    """Flush a file's bytes to disk (for files that another library wrote by path)."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


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
    if durable:
        fsync_folder(path.parent)
    return path


def atomic_write_json(path: str | os.PathLike, value, *, durable: bool = True) -> Path:
    """Write ``value`` as indented JSON to ``path`` atomically (see `atomic_write_bytes`)."""
    text = json.dumps(value, indent=2, allow_nan=False, default=_json_default)
    return atomic_write_bytes(path, (text + "\n").encode("utf-8"), durable=durable)


def atomic_copy(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Copy ``source`` to ``target`` atomically (temporary file in ``target``'s folder)."""
    target = Path(target)
    with _temporary_sibling(target) as temporary:
        copy_durably(source, temporary)
        os.replace(temporary, target)
    fsync_folder(target.parent)
    return target


def copy_durably(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Copy ``source``'s bytes into ``target`` and flush them to disk."""
    with open(source, "rb") as reader, open(target, "wb") as writer:
        while chunk := reader.read(1 << 20):
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new contents to; on success it replaces ``path``.

    For writers that want a file name (``model.save(...)``): the bytes are flushed to disk,
    then moved into place in one rename. If the block raises, ``path`` is untouched and the
    temporary file removed.

    Args:
        path: The target file.
        suffix: Ending the temporary name needs (Keras recognises ``.keras``).

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_output(target) as temporary:
    ...     _ = temporary.write_text("whole")
    >>> target.read_text(), [p.name for p in target.parent.iterdir()]
    ('whole', ['notes.txt'])
    """
    path = Path(path)
    with _temporary_sibling(path, suffix=suffix) as temporary:
        yield temporary
        fsync_file(temporary)
        os.replace(temporary, path)
    fsync_folder(path.parent)


def remove_leftovers(
    folder: str | os.PathLike, *, max_age: float = LEFTOVER_MAX_AGE_SECONDS
) -> list[Path]:
    """Delete the temporary siblings in ``folder`` that no running process is still writing.

    A process killed mid-write (``SIGKILL``, a crash, the machine going down) leaves its
    temporary file behind: it is hidden and never read, and this removes it once its writer
    is gone (or it is older than ``max_age`` seconds). A save in progress is left alone.

    Returns:
        The files removed.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = _TEMPORARY_NAME.match(entry.name)
        if match is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            stale = now - entry.stat(follow_symlinks=False).st_mtime > max_age
            if stale or not _process_exists(int(match["pid"])):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` says the disk (or a size or quota limit) has no room for the write.

    >>> is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    True
    >>> is_disk_full(OSError(errno.EACCES, "Permission denied"))
    False
    """
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS


def disk_full_message(what: str, folder: str | os.PathLike) -> str:
    """Plain words for a write that found the disk full: what failed, what was kept, what to do.

    >>> disk_full_message("The model was not saved", "models")[:70]
    "The model was not saved: the disk is full (no room left in 'models'). "
    """
    return (
        f"{what}: the disk is full (no room left in {os.fspath(folder)!r}). Nothing saved "
        "earlier was changed. Free some space (delete old models or training runs you no "
        "longer need) and try again."
    )


def read_json(path: str | os.PathLike, default=None):
    """Return the JSON in ``path``, or ``default`` when it is missing or not valid JSON."""
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except (
        FileNotFoundError,
        NotADirectoryError,
        IsADirectoryError,
        PermissionError,
        json.JSONDecodeError,
        UnicodeDecodeError,
        RecursionError,
    ):
        return default


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _json_default(value):
    """Let numpy scalars and arrays, paths and tuples pass through ``json.dumps``."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
