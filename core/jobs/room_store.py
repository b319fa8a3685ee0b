"""The default room store: one SQLite file beside the runs folder, nothing to install.

``SqliteRoomStore`` implements ``core.jobs.rooms.RoomStore``. SQLite in WAL mode lets
readers (every student's page polls twice a second) run while one writer writes, across
threads and processes of one server; every write is one short ``BEGIN IMMEDIATE``
transaction. Each thread (and each process) opens its own connection.

The file is ``$CONVSCOPE_ROOMS_DB`` when set, else ``rooms.sqlite3`` beside the runs
folder (``core.jobs.runs.runs_root``).

>>> import tempfile, pathlib
>>> store = SqliteRoomStore(pathlib.Path(tempfile.mkdtemp()) / "rooms.sqlite3")
>>> keys = store.create_room()
>>> store.publish(keys.code, keys.token, page="pooling", params={"pool": "2"})
1
>>> store.read_room(keys.code).params
{'pool': '2'}
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from core.jobs.rooms import (
    FOLLOWER_WINDOW_SECONDS,
    ROOM_TTL_SECONDS,
    Followers,
    NotLecturerError,
    Question,
    RoomKeys,
    RoomNotFoundError,
    RoomPulse,
    RoomState,
    check_page,
    check_params,
    new_lecturer_token,
    new_room_code,
    normalize_code,
    token_digest,
    token_matches,
)
from core.jobs.runs import runs_root
from core.jobs.sqlite_file import SqliteFile

ROOMS_DB_ENV = "CONVSCOPE_ROOMS_DB"


ROOMS_DB_FILE = "rooms.sqlite3"


# A student's row is forgotten this long after their page last reported.
FORGET_FOLLOWER_SECONDS = 3600.0


_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    code TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    page TEXT NOT NULL DEFAULT '',
    params TEXT NOT NULL DEFAULT '{}',
    version INTEGER NOT NULL DEFAULT 0,
    question_id INTEGER,
    revealed INTEGER NOT NULL DEFAULT 0,
    active REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS followers (
    code TEXT NOT NULL,
    follower TEXT NOT NULL,
    seen REAL NOT NULL,
    following INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (code, follower)
);
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    question_id INTEGER NOT NULL,
    follower TEXT NOT NULL,
    answer TEXT NOT NULL,
    PRIMARY KEY (question_id, follower)
);
CREATE INDEX IF NOT EXISTS questions_by_room ON questions (code);
"""


def default_rooms_db() -> Path:
    """``$CONVSCOPE_ROOMS_DB``, else ``rooms.sqlite3`` beside the runs folder.

    >>> default_rooms_db().name
    'rooms.sqlite3'
    """
    configured = os.environ.get(ROOMS_DB_ENV)
    if configured:
        return Path(configured)
    return runs_root().parent / ROOMS_DB_FILE


class SqliteRoomStore:
    """``RoomStore`` on one SQLite file (WAL mode; safe with many threads and processes).

    Args:
        path: the database file; its folder is created. Defaults to ``default_rooms_db()``.
        clock: seconds since the epoch (tests pass a fake one to check expiry).
        ttl_seconds: how long a room lives after the lecturer's last action.
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        clock: Callable[[], float] = time.time,
        ttl_seconds: float = ROOM_TTL_SECONDS,
    ):
        self.path = Path(path) if path is not None else default_rooms_db()
        self.clock = clock
        self.ttl_seconds = float(ttl_seconds)
        self._db = SqliteFile(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection().executescript(_SCHEMA)

    # ------------------------------------------------------------ connections
    def _connection(self) -> sqlite3.Connection:
        return self._db.connection()

    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return self._db.write()

    def _live_since(self) -> float:
        """Rooms whose lecturer acted after this moment are open."""
        return self.clock() - self.ttl_seconds

    def _room_row(self, connection, code: str):
        row = connection.execute(
            "SELECT token_hash, page, params, version, question_id, revealed FROM rooms "
            "WHERE code = ? AND active > ?",
            (code, self._live_since()),
        ).fetchone()
        if row is None:
            raise RoomNotFoundError(f"There is no open room {code}.")
        return row

    def _as_lecturer(self, connection, code: str, token: str):
        """The room's row after checking the token; marks the lecturer active."""
        code = normalize_code(code)
        row = self._room_row(connection, code)
        if not token_matches(token, row[0]):
            raise NotLecturerError(f"Only the lecturer of room {code} can change it.")
        connection.execute("UPDATE rooms SET active = ? WHERE code = ?", (self.clock(), code))
        return code, row

    # ------------------------------------------------------------ lecturer
    def create_room(self) -> RoomKeys:
        self.purge_expired()
        token = new_lecturer_token()
        while True:
            code = new_room_code()
            try:
                with self._write() as connection:
                    connection.execute(
                        "INSERT INTO rooms (code, token_hash, active) VALUES (?, ?, ?)",
                        (code, token_digest(token), self.clock()),
                    )
            except sqlite3.IntegrityError:
                continue  # the code is taken: draw another
            return RoomKeys(code=code, token=token)

    def publish(self, code: str, token: str, *, page: str, params: dict[str, str]) -> int:
        page, params = check_page(page), check_params(params)
        encoded = json.dumps(params, sort_keys=True)
        with self._write() as connection:
            code, row = self._as_lecturer(connection, code, token)
            if (row[1], row[2]) == (page, encoded):
                return row[3]
            connection.execute(
                "UPDATE rooms SET page = ?, params = ?, version = version + 1 WHERE code = ?",
                (page, encoded, code),
            )
            return row[3] + 1

    def close_room(self, code: str, token: str) -> None:
        with self._write() as connection:
            code, _ = self._as_lecturer(connection, code, token)
            self._delete_rooms(connection, [code])

    def ask(self, code: str, token: str, question: Question) -> int:
        if not isinstance(question, Question):
            raise TypeError("`question` must be a Question.")
        with self._write() as connection:
            code, _ = self._as_lecturer(connection, code, token)
            cursor = connection.execute(
                "INSERT INTO questions (code, body) VALUES (?, ?)", (code, question.to_json())
            )
            question_id = cursor.lastrowid
            connection.execute(
                "UPDATE rooms SET question_id = ?, revealed = 0 WHERE code = ?",
                (question_id, code),
            )
            return question_id

    def reveal(self, code: str, token: str) -> None:
        with self._write() as connection:
            code, row = self._as_lecturer(connection, code, token)
            if row[4] is None:
                raise ValueError("There is no open question to reveal.")
            connection.execute("UPDATE rooms SET revealed = 1 WHERE code = ?", (code,))

    def close_question(self, code: str, token: str) -> None:
        with self._write() as connection:
            code, _ = self._as_lecturer(connection, code, token)
            connection.execute(
                "UPDATE rooms SET question_id = NULL, revealed = 0 WHERE code = ?", (code,)
            )

    # ------------------------------------------------------------ everyone
    def read_room(self, code: str) -> RoomState | None:
        try:
            code = normalize_code(code)
        except (TypeError, ValueError):
            return None
        connection = self._connection()
        row = connection.execute(
            "SELECT r.page, r.params, r.version, r.question_id, r.revealed, q.body "
            "FROM rooms r LEFT JOIN questions q ON q.id = r.question_id "
            "WHERE r.code = ? AND r.active > ?",
            (code, self._live_since()),
        ).fetchone()
        if row is None:
            return None
        page, params, version, question_id, revealed, body = row
        return RoomState(
            code=code,
            page=page,
            params=json.loads(params),
            version=version,
            question_id=question_id,
            question=Question.from_json(body) if body else None,
            revealed=bool(revealed),
        )

    def room_version(self, code: str) -> RoomPulse | None:
        try:
            code = normalize_code(code)
        except (TypeError, ValueError):
            return None
        row = (
            self._connection()
            .execute(
                "SELECT version, question_id, revealed FROM rooms WHERE code = ? AND active > ?",
                (code, self._live_since()),
            )
            .fetchone()
        )
        return None if row is None else RoomPulse(row[0], row[1], bool(row[2]))

    def join(self, code: str) -> str:
        follower = secrets.token_urlsafe(12)
        with self._write() as connection:
            code = normalize_code(code)
            self._room_row(connection, code)
            connection.execute(
                "INSERT INTO followers (code, follower, seen) VALUES (?, ?, ?)",
                (code, follower, self.clock()),
            )
        return follower

    def heartbeat(self, code: str, follower: str, *, following: bool = True) -> None:
        with self._write() as connection:
            code = normalize_code(code)
            self._room_row(connection, code)
            connection.execute(
                "INSERT INTO followers (code, follower, seen, following) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (code, follower) DO UPDATE SET seen = excluded.seen, "
                "following = excluded.following",
                (code, str(follower), self.clock(), int(bool(following))),
            )

    def leave(self, code: str, follower: str) -> None:
        with self._write() as connection:
            connection.execute(
                "DELETE FROM followers WHERE code = ? AND follower = ?",
                (normalize_code(code), str(follower)),
            )

    def count_followers(self, code: str) -> Followers:
        connection = self._connection()
        code = normalize_code(code)
        self._room_row(connection, code)
        following, total = connection.execute(
            "SELECT COALESCE(SUM(following), 0), COUNT(*) FROM followers "
            "WHERE code = ? AND seen > ?",
            (code, self.clock() - FOLLOWER_WINDOW_SECONDS),
        ).fetchone()
        return Followers(following=following, exploring=total - following)

    def submit_answer(self, code: str, question_id: int, follower: str, answer) -> bool:
        with self._write() as connection:
            code = normalize_code(code)
            row = self._room_row(connection, code)
            if row[4] is None or row[4] != question_id:
                raise ValueError("This question is closed: the lecturer has moved on.")
            if row[5]:
                raise ValueError("The answer has been revealed: no more answers are counted.")
            known = connection.execute(
                "SELECT 1 FROM followers WHERE code = ? AND follower = ?", (code, str(follower))
            ).fetchone()
            if known is None:
                raise ValueError("Join the room before answering.")
            body = connection.execute(
                "SELECT body FROM questions WHERE id = ?", (question_id,)
            ).fetchone()[0]
            canonical = Question.from_json(body).canonical(answer)
            cursor = connection.execute(
                "INSERT OR IGNORE INTO answers (question_id, follower, answer) VALUES (?, ?, ?)",
                (question_id, str(follower), canonical),
            )
            return cursor.rowcount == 1

    def answer_counts(self, code: str, question_id: int) -> dict[str, int]:
        connection = self._connection()
        code = normalize_code(code)
        self._room_row(connection, code)
        rows = connection.execute(
            "SELECT a.answer, COUNT(*) FROM answers a JOIN questions q ON q.id = a.question_id "
            "WHERE q.code = ? AND a.question_id = ? GROUP BY a.answer "
            "ORDER BY COUNT(*) DESC, a.answer",
            (code, question_id),
        ).fetchall()
        return dict(rows)

    # ------------------------------------------------------------ housekeeping
    def _delete_rooms(self, connection, codes: list[str]) -> None:
        for code in codes:
            connection.execute(
                "DELETE FROM answers WHERE question_id IN "
                "(SELECT id FROM questions WHERE code = ?)",
                (code,),
            )
            connection.execute("DELETE FROM questions WHERE code = ?", (code,))
            connection.execute("DELETE FROM followers WHERE code = ?", (code,))
            connection.execute("DELETE FROM rooms WHERE code = ?", (code,))

    def purge_expired(self) -> int:
        with self._write() as connection:
            codes = [
                code
                for (code,) in connection.execute(
                    "SELECT code FROM rooms WHERE active <= ?", (self._live_since(),)
                )
            ]
            self._delete_rooms(connection, codes)
            connection.execute(
                "DELETE FROM followers WHERE seen < ?",
                (self.clock() - FORGET_FOLLOWER_SECONDS,),
            )
        return len(codes)
