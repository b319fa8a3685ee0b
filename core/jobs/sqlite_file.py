"""One SQLite file shared by threads and processes: the embedded stores' connections.

The room store and the job queue each keep small state in a file beside the runs folder.
Both need the same things from SQLite: a connection per thread (and a new one after a
fork), write-ahead logging so readers never wait for a writer, and write transactions
taken at once (``BEGIN IMMEDIATE``) so concurrent writers queue instead of failing.

Streamlit runs every script run in a thread of its own, so a connection per thread would be
a new connection (and its pragmas) per run of every student's page: a thread that ends
leaves its connection to the next thread instead (py-spy put opening them at 5 % of a
follow's server time with 30 students in a room).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 30.0


MAX_IDLE_CONNECTIONS = 8  # kept for the next threads; more are closed


def _use_write_ahead_log(connection: sqlite3.Connection) -> None:
    """Switch the file to write-ahead logging once; later connections only read the mode.

    The switch needs the file to itself and SQLite answers "locked" at once, without waiting,
    while other connections open it: it is tried again until the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            connection.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class _Lease:
    """Lives in a thread's local values: its end tells that the thread has ended."""


class SqliteFile:
    """Connections to the SQLite file at ``path``, one per thread and process.

    >>> import tempfile
    >>> db = SqliteFile(Path(tempfile.mkdtemp()) / "x.sqlite3")
    >>> with db.write() as connection:
    ...     _ = connection.execute("CREATE TABLE t (n INTEGER)")
    ...     _ = connection.execute("INSERT INTO t VALUES (1)")
    >>> db.connection().execute("SELECT n FROM t").fetchall()
    [(1,)]
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._idle: list[tuple[int, sqlite3.Connection]] = []  # (pid, left by an ended thread)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (a forked process opens its own)."""
        local = self._local
        pid = os.getpid()
        if getattr(local, "pid", None) != pid:
            connection = self._left_over(pid) or self._open()
            # The thread's local values go when it ends, and the lease with them.
            local.lease = _Lease()
            weakref.finalize(local.lease, self._leave, pid, connection)
            local.connection, local.pid = connection, pid
        return local.connection

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,  # one thread at a time: the next once this one ends
        )
        _use_write_ahead_log(connection)
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        return connection

    def _left_over(self, pid: int) -> sqlite3.Connection | None:
        with self._lock:
            while self._idle:
                owner, connection = self._idle.pop()
                if owner == pid:
                    return connection
        return None  # none left, or only a parent process's (never used after a fork)

    def _leave(self, pid: int, connection: sqlite3.Connection) -> None:
        if connection.in_transaction:  # a thread ended inside a write: not for the next one
            connection.close()
            return
        with self._lock:
            if len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append((pid, connection))
                return
        connection.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once so concurrent writers queue."""
        connection = self.connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
