"""The training queue: jobs past the server's cap wait here, first come, first served.

A queue entry names a run folder that is already prepared (its ``config.json`` written, its
status ``"waiting"``) and the browser that asked for it (the *owner*). Nothing else lives in
the queue, so a store only has to keep an ordered list of small records and one lock.

Who starts the next job? Whoever calls `JobQueue.promote` first: the server process whose
worker just ended, every Train page's live view while it polls, and each server once at
start. ``promote`` runs under the store's exclusive lock, so any number of promoters
racing start each waiting job exactly once, and never more jobs than there are free slots.

The store sits behind the small `JobQueue` interface, so a server farm can swap the
embedded SQLite file (`SqliteJobQueue`, the default: nothing to install, survives a
restart) for a shared store; `core.jobs.stores.open_job_queue` is the one place that chooses.

>>> import tempfile
>>> queue = SqliteJobQueue(Path(tempfile.mkdtemp()) / "queue.sqlite3")
>>> queue.enqueue("run-a", "browser-1"), queue.enqueue("run-b", "browser-2")
(1, 2)
>>> [entry.run_id for entry in queue.promote(lambda: 1, lambda entry: None)]
['run-a']
>>> queue.position("run-b")
1
"""

from __future__ import annotations

import contextlib
import heapq
import math
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core.base.checks import check_int, check_string, received
from core.jobs.runs import RUN_ID_PATTERN, runs_root
from core.jobs.sqlite_file import SqliteFile

QUEUE_DB_ENV = "CONVSCOPE_QUEUE_DB"


QUEUE_DB_FILE = ".queue.sqlite3"


# An owner is an opaque browser or session id: letters, digits, '-', '_', ':' and '.'.
MAX_OWNER_CHARS = 120


class AlreadyQueuedError(RuntimeError):
    """This browser already has a job waiting: at most one waiting job per browser."""


@dataclass(frozen=True)
class QueueEntry:
    """One waiting job.

    Attributes:
        run_id: The prepared run folder's name (unique in the queue).
        owner: The browser (or session) that queued it.
        enqueued: When it joined the queue, in seconds since the epoch.
    """

    run_id: str
    owner: str
    enqueued: float


class JobQueue(Protocol):
    """Where waiting jobs live. Every method is safe to call from many threads and processes
    (and, for a shared store, from many servers at once).

    Run ids are checked with `check_run_id` and owners with `check_owner` (TypeError or
    ValueError for a bad one) before anything is read or written.
    """

    def enqueue(self, run_id: str, owner: str) -> int:
        """Add ``run_id`` at the tail of the queue for ``owner``; returns its 1-based place.

        Raises:
            AlreadyQueuedError: ``owner`` already has a waiting entry (nothing is added).
            ValueError: ``run_id`` is already in the queue.
        """

    def position(self, run_id: str) -> int | None:
        """``run_id``'s 1-based place (1: starts next), or None once it has left the queue
        (started by `promote`, cancelled, or never queued)."""

    def cancel(self, run_id: str, owner: str | None = None) -> bool:
        """Take ``run_id`` out of the queue; True when this call removed it.

        With ``owner`` given, only that owner's entry is removed (a student cannot cancel
        another's job). False when the entry had already left the queue — in particular
        when a promoter took it first, so the caller must then treat the job as started.
        """

    def promote(
        self, free_slots: Callable[[], int], start: Callable[[QueueEntry], None]
    ) -> list[QueueEntry]:
        """Start waiting jobs while slots are free, each exactly once, oldest first.

        Holds the store's exclusive lock (the same one `enqueue` and `cancel` take)
        for the whole call: calls ``free_slots()`` once (how many more jobs may run now;
        0 or less starts none), then for each free slot removes the head entry and calls
        ``start(entry)`` before the lock is released, so that a racing promoter counting
        the running jobs already counts it. ``start`` should record its own failures (in
        the run folder) instead of raising; if it raises anyway, its entry stays removed,
        no further entry is started, and the exception propagates.

        Returns:
            The entries removed and started, in queue order.
        """

    def list(self) -> list[QueueEntry]:
        """Every waiting entry, head first."""

    def waiting_for(self, owner: str) -> QueueEntry | None:
        """``owner``'s waiting entry, or None."""


def check_run_id(run_id) -> str:
    """``run_id`` if it is a plain run folder name.

    >>> check_run_id("../etc")
    Traceback (most recent call last):
    ValueError: `run_id` must be a run folder name. Received: run_id='../etc'.
    """
    return check_string(run_id, "run_id", pattern=RUN_ID_PATTERN, expected="a run folder name")


def check_owner(owner) -> str:
    """``owner`` if it is a non-empty id of at most `MAX_OWNER_CHARS` plain characters.

    >>> check_owner("browser:3f2a")
    'browser:3f2a'
    """
    owner = check_string(owner, "owner")
    if not owner or len(owner) > MAX_OWNER_CHARS or not _plain(owner):
        raise ValueError(
            f"`owner` must be 1 to {MAX_OWNER_CHARS} letters, digits or '-_:.'. "
            f"{received('owner', owner)}"
        )
    return owner


def _plain(text: str) -> bool:
    return all(c.isascii() and (c.isalnum() or c in "-_:.") for c in text)


def default_queue_db(runs_root_dir: str | os.PathLike | None = None) -> Path:
    """``$CONVSCOPE_QUEUE_DB``, else ``.queue.sqlite3`` in the runs folder.

    >>> default_queue_db("runs").as_posix()
    'runs/.queue.sqlite3'
    """
    configured = os.environ.get(QUEUE_DB_ENV)
    if configured and runs_root_dir is None:
        return Path(configured)
    return runs_root(runs_root_dir) / QUEUE_DB_FILE


def default_job_queue(runs_root_dir: str | os.PathLike | None = None) -> JobQueue:
    """The SQLite queue of `default_queue_db`; `core.jobs.stores.open_job_queue` is the
    one place that chooses between it and a shared Redis.
    """
    return SqliteJobQueue(default_queue_db(runs_root_dir))


def estimate_start_seconds(
    remaining: Sequence[float | None], ahead: Sequence[float | None], slots: int
) -> float | None:
    """Seconds until a waiting job starts, or None when a needed figure is unknown.

    Simulates the slots: ``slots`` jobs may run at once; ``remaining`` holds the seconds
    each running job still needs (its ETA); ``ahead`` the expected length of each job
    waiting before this one, in queue order. Each waiting job takes the slot that frees
    first. A free slot counts as 0 s remaining.

    >>> estimate_start_seconds([120.0, 30.0], [], 2)     # next slot frees in 30 s
    30.0
    >>> estimate_start_seconds([120.0, 30.0], [60.0], 2)  # one ahead: 30 + 60 vs 120
    90.0
    >>> estimate_start_seconds([], [], 1)
    0.0
    >>> estimate_start_seconds([None], [], 1) is None
    True
    >>> estimate_start_seconds([None, 40.0], [], 2)      # the known one frees first
    40.0
    """
    slots = check_int(slots, "slots", minimum=1)
    # A running job with no ETA yet holds its slot for an unknown time (infinity).
    times = [math.inf if value is None else max(0.0, float(value)) for value in remaining]
    times = times[:slots] + [0.0] * (slots - len(times))
    heapq.heapify(times)
    for length in ahead:
        if length is None:
            return None
        heapq.heappush(times, heapq.heappop(times) + max(0.0, float(length)))
    return None if math.isinf(times[0]) else float(times[0])


_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    enqueued REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_by_owner ON queue (owner);
"""


class SqliteJobQueue:
    """`JobQueue` on one SQLite file (WAL mode; safe with many threads and processes).

    Every write (``enqueue``, ``cancel``, ``promote``) is one ``BEGIN IMMEDIATE``
    transaction, which is the lock: SQLite lets one writer in at a time, across
    processes, so two promoters never take the same entry or overfill the slots.

    Args:
        path: The database file; its folder is created.
        clock: Seconds since the epoch (tests pass a fake one).
    """

    def __init__(self, path: str | os.PathLike, *, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.clock = clock
        self._db = SqliteFile(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection().executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"SqliteJobQueue({os.fspath(self.path)!r})"

    def _connection(self) -> sqlite3.Connection:
        return self._db.connection()

    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return self._db.write()

    def enqueue(self, run_id: str, owner: str) -> int:
        run_id, owner = check_run_id(run_id), check_owner(owner)
        with self._write() as db:
            if db.execute("SELECT 1 FROM queue WHERE owner = ?", (owner,)).fetchone():
                raise AlreadyQueuedError(
                    "You already have a training job waiting in the queue; cancel it "
                    "before queueing another."
                )
            if db.execute("SELECT 1 FROM queue WHERE run_id = ?", (run_id,)).fetchone():
                raise ValueError(f"That run is already in the queue. {received('run_id', run_id)}")
            db.execute(
                "INSERT INTO queue (run_id, owner, enqueued) VALUES (?, ?, ?)",
                (run_id, owner, float(self.clock())),
            )
            return db.execute("SELECT COUNT(*) FROM queue").fetchone()[0]

    def position(self, run_id: str) -> int | None:
        run_id = check_run_id(run_id)
        row = (
            self._connection()
            .execute(
                "SELECT (SELECT COUNT(*) FROM queue AS ahead WHERE ahead.seq <= queue.seq) "
                "FROM queue WHERE run_id = ?",
                (run_id,),
            )
            .fetchone()
        )
        return None if row is None else int(row[0])

    def cancel(self, run_id: str, owner: str | None = None) -> bool:
        run_id = check_run_id(run_id)
        with self._write() as db:
            if owner is None:
                cursor = db.execute("DELETE FROM queue WHERE run_id = ?", (run_id,))
            else:
                cursor = db.execute(
                    "DELETE FROM queue WHERE run_id = ? AND owner = ?",
                    (run_id, check_owner(owner)),
                )
            return cursor.rowcount > 0

    def promote(
        self, free_slots: Callable[[], int], start: Callable[[QueueEntry], None]
    ) -> list[QueueEntry]:
        if not self._connection().execute("SELECT 1 FROM queue LIMIT 1").fetchone():
            return []  # the usual case, answered without taking the lock
        started: list[QueueEntry] = []
        failure: BaseException | None = None
        with self._write() as db:
            free = int(free_slots())
            rows = db.execute(
                "SELECT seq, run_id, owner, enqueued FROM queue ORDER BY seq LIMIT ?",
                (max(0, free),),
            ).fetchall()
            for seq, run_id, owner, enqueued in rows:
                db.execute("DELETE FROM queue WHERE seq = ?", (seq,))
                entry = QueueEntry(run_id, owner, enqueued)
                started.append(entry)
                try:
                    start(entry)
                except Exception as error:  # the removal is kept: never start it twice
                    failure = error
                    break
        if failure is not None:
            raise failure
        return started

    def list(self) -> list[QueueEntry]:
        rows = (
            self._connection()
            .execute("SELECT run_id, owner, enqueued FROM queue ORDER BY seq")
            .fetchall()
        )
        return [QueueEntry(*row) for row in rows]

    def waiting_for(self, owner: str) -> QueueEntry | None:
        owner = check_owner(owner)
        row = (
            self._connection()
            .execute(
                "SELECT run_id, owner, enqueued FROM queue WHERE owner = ? ORDER BY seq LIMIT 1",
                (owner,),
            )
            .fetchone()
        )
        return None if row is None else QueueEntry(*row)
