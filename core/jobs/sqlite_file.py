"""One SQLite file shared by threads and processes: the embedded stores' connections.

The room store and the job queue each keep small state in a file beside the runs folder.
Both need the same things from SQLite: a connection per thread (and a new one after a
fork), write-ahead logging so readers never wait for a writer, and write transactions
taken at once (``BEGIN IMMEDIATE``) so concurrent writers queue instead of failing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 30.0


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

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (a forked process opens its own)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            connection = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,
                check_same_thread=True,
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
            local.connection, local.pid = connection, os.getpid()
        return local.connection

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
