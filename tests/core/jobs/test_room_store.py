"""Tests for core.jobs.room_store: the SQLite room store, from one thread and from many.

The contract both stores keep (versions, answers, counts, reveals) is tested once for both,
SQLite and Redis, in ``test_redis_rooms.py``; what is the SQLite file's own stays here.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading

import pytest

from core.jobs import room_store
from core.jobs.room_store import SqliteRoomStore
from core.jobs.rooms import (
    FOLLOWER_WINDOW_SECONDS,
    ROOM_TTL_SECONDS,
    NotLecturerError,
    Question,
    RoomNotFoundError,
    RoomPulse,
)


class FakeClock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock():
    return FakeClock()


@pytest.fixture()
def store(tmp_path, clock):
    return SqliteRoomStore(tmp_path / "rooms.sqlite3", clock=clock)


SIZE = Question.number("How many rows?", 3, minimum=0, maximum=100)


WHERE = Question.choice("Where?", ["top left", "top right", "bottom left"], "top right")


# ---------------------------------------------------------------- where the file lives


def test_default_file_is_beside_the_runs_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(room_store.ROOMS_DB_ENV, raising=False)
    monkeypatch.setenv("CONVSCOPE_RUNS_DIR", str(tmp_path / "data" / "runs"))
    assert room_store.default_rooms_db() == tmp_path / "data" / "rooms.sqlite3"
    monkeypatch.setenv(room_store.ROOMS_DB_ENV, str(tmp_path / "x.db"))
    assert room_store.default_rooms_db() == tmp_path / "x.db"


def test_the_file_is_in_wal_mode(store):
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# ---------------------------------------------------------------- rooms and tokens


def test_a_new_room_is_empty(store):
    keys = store.create_room()
    state = store.read_room(keys.code)
    assert (state.code, state.page, state.params, state.version) == (keys.code, "", {}, 0)
    assert state.question is None and not state.revealed


def test_read_room_accepts_a_typed_code(store):
    keys = store.create_room()
    assert store.read_room(f" {keys.code.lower()[:3]}-{keys.code[3:]} ").code == keys.code


def test_unknown_or_impossible_codes_read_as_none(store):
    store.create_room()
    assert store.read_room("ZZZZZZ") is None
    assert store.read_room("not a code") is None
    assert store.read_room(None) is None


def test_only_the_lecturer_token_changes_the_room(store):
    keys = store.create_room()
    other = store.create_room()
    store.publish(keys.code, keys.token, page="pooling", params={"a": "1"})
    for token in ["", "guess", other.token, keys.token + "x"]:
        with pytest.raises(NotLecturerError):
            store.publish(keys.code, token, page="home", params={"evil": "1"})
        with pytest.raises(NotLecturerError):
            store.ask(keys.code, token, SIZE)
        with pytest.raises(NotLecturerError):
            store.close_room(keys.code, token)
    question_id = store.ask(keys.code, keys.token, SIZE)
    for action in (store.reveal, store.close_question):
        with pytest.raises(NotLecturerError):
            action(keys.code, other.token)
    state = store.read_room(keys.code)
    assert (state.page, state.params, state.version) == ("pooling", {"a": "1"}, 1)
    assert state.question_id == question_id and not state.revealed


def test_the_token_is_never_stored(store):
    keys = store.create_room()
    store.publish(keys.code, keys.token, page="pooling", params={})
    assert keys.token.encode() not in store.path.read_bytes()


@pytest.mark.parametrize(
    "page, params",
    [
        ("../etc/passwd", {}),
        ("pooling", {"a": 1}),
        ("pooling", ["a"]),
        ("pooling", {"a": "x" * 70_000}),
    ],
)
def test_bad_publications_are_refused(store, page, params):
    keys = store.create_room()
    with pytest.raises((TypeError, ValueError)):
        store.publish(keys.code, keys.token, page=page, params=params)
    assert store.read_room(keys.code).version == 0


def test_room_version_follows_every_change_students_must_see(store, clock):
    keys = store.create_room()
    assert store.room_version(keys.code) == RoomPulse(0, None, False)
    store.publish(keys.code, keys.token, page="pooling", params={"a": "1"})
    assert store.room_version(keys.code.lower()) == RoomPulse(1, None, False)
    question_id = store.ask(keys.code, keys.token, SIZE)
    assert store.room_version(keys.code) == RoomPulse(1, question_id, False)
    store.reveal(keys.code, keys.token)
    assert store.room_version(keys.code) == RoomPulse(1, question_id, True)
    store.close_question(keys.code, keys.token)
    assert store.room_version(keys.code) == RoomPulse(1, None, False)
    state = store.read_room(keys.code)
    assert (state.version, state.question_id, state.revealed) == (1, None, False)
    assert store.room_version("ZZZZZZ") is None
    assert store.room_version("not a code") is None
    clock.now += ROOM_TTL_SECONDS + 1
    assert store.room_version(keys.code) is None


def test_closing_a_room_ends_it_for_everyone(store):
    keys = store.create_room()
    follower = store.join(keys.code)
    store.close_room(keys.code, keys.token)
    assert store.read_room(keys.code) is None
    with pytest.raises(RoomNotFoundError):
        store.heartbeat(keys.code, follower)
    with pytest.raises(RoomNotFoundError):
        store.join(keys.code)


# ---------------------------------------------------------------- expiry


def test_rooms_expire_after_the_lecturers_last_action(store, clock):
    keys = store.create_room()
    clock.now += ROOM_TTL_SECONDS - 60
    store.publish(keys.code, keys.token, page="pooling", params={})  # the lecturer is active
    clock.now += ROOM_TTL_SECONDS - 120
    assert store.read_room(keys.code) is not None
    follower = store.join(keys.code)
    clock.now += 61
    store.heartbeat(keys.code, follower)  # students do not keep a room alive
    clock.now += 60
    assert store.read_room(keys.code) is None
    with pytest.raises(RoomNotFoundError):
        store.publish(keys.code, keys.token, page="home", params={})


def test_expired_rooms_are_purged(store, clock):
    old = store.create_room()
    store.join(old.code)
    store.ask(old.code, old.token, SIZE)
    clock.now += ROOM_TTL_SECONDS + 1
    new = store.create_room()  # creating a room purges the expired ones
    with sqlite3.connect(store.path) as connection:
        for table in ("rooms", "followers", "questions"):
            rows = connection.execute(f"SELECT code FROM {table}").fetchall()
            assert old.code not in {code for (code,) in rows}, table
    assert store.read_room(new.code) is not None
    assert store.purge_expired() == 0


# ---------------------------------------------------------------- followers


def test_followers_are_counted_while_their_pages_report(store, clock):
    keys = store.create_room()
    students = [store.join(keys.code) for _ in range(3)]
    assert store.count_followers(keys.code) == (3, 0)
    store.heartbeat(keys.code, students[0], following=False)
    assert store.count_followers(keys.code) == (2, 1)
    clock.now += FOLLOWER_WINDOW_SECONDS - 1
    store.heartbeat(keys.code, students[1])
    clock.now += 2
    assert store.count_followers(keys.code) == (1, 0)  # two pages went quiet
    store.leave(keys.code, students[1])
    assert store.count_followers(keys.code) == (0, 0)


# ---------------------------------------------------------------- questions


def test_one_answer_per_student_per_question(store):
    keys = store.create_room()
    students = [store.join(keys.code) for _ in range(4)]
    question_id = store.ask(keys.code, keys.token, SIZE)
    assert store.read_room(keys.code).question == SIZE
    for student, answer in zip(students, ["3", "3.0", "4", " 3 "], strict=True):
        assert store.submit_answer(keys.code, question_id, student, answer) is True
    assert store.submit_answer(keys.code, question_id, students[2], "3") is False
    assert store.answer_counts(keys.code, question_id) == {"3": 3, "4": 1}


def test_only_students_of_the_room_answer_the_open_question(store):
    keys, other = store.create_room(), store.create_room()
    student, stranger = store.join(keys.code), store.join(other.code)
    first = store.ask(keys.code, keys.token, SIZE)
    with pytest.raises(ValueError, match="Join the room"):
        store.submit_answer(keys.code, first, stranger, "3")
    with pytest.raises(ValueError, match="Join the room"):
        store.submit_answer(keys.code, first, "made-up-id", "3")
    second = store.ask(keys.code, keys.token, WHERE)
    with pytest.raises(ValueError, match="closed"):
        store.submit_answer(keys.code, first, student, "3")
    store.reveal(keys.code, keys.token)
    assert store.read_room(keys.code).revealed
    with pytest.raises(ValueError, match="revealed"):
        store.submit_answer(keys.code, second, student, "top right")
    store.close_question(keys.code, keys.token)
    state = store.read_room(keys.code)
    assert state.question is None and state.question_id is None and not state.revealed
    with pytest.raises(ValueError, match="no open question"):
        store.reveal(keys.code, keys.token)


# ---------------------------------------------------------------- many threads and processes


def test_many_threads_publish_join_and_answer(tmp_path):
    store = SqliteRoomStore(tmp_path / "rooms.sqlite3")
    keys = store.create_room()
    question_id = store.ask(keys.code, keys.token, SIZE)
    errors = []

    def lecturer(worker: int) -> None:
        try:
            for step in range(25):
                store.publish(
                    keys.code, keys.token, page="pooling", params={"w": f"{worker}.{step}"}
                )
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    def students(worker: int) -> None:
        try:
            for step in range(10):
                follower = store.join(keys.code)
                store.heartbeat(keys.code, follower)
                store.read_room(keys.code)
                store.submit_answer(keys.code, question_id, follower, str(worker % 3 + step % 2))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=lecturer, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=students, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.read_room(keys.code).version == 4 * 25
    counts = store.answer_counts(keys.code, question_id)
    assert sum(counts.values()) == 8 * 10
    assert store.count_followers(keys.code).following == 8 * 10


def _students_in_a_process(path: str, code: str, question_id: int, count: int) -> None:
    store = SqliteRoomStore(path)
    for index in range(count):
        follower = store.join(code)
        store.heartbeat(code, follower, following=index % 2 == 0)
        store.submit_answer(code, question_id, follower, "3" if index % 4 else "4")


def test_many_processes_share_one_file(tmp_path):
    path = tmp_path / "rooms.sqlite3"
    store = SqliteRoomStore(path)
    keys = store.create_room()
    question_id = store.ask(keys.code, keys.token, SIZE)
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_students_in_a_process, args=(str(path), keys.code, question_id, 12))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    for step in range(20):  # the lecturer keeps publishing meanwhile
        store.publish(keys.code, keys.token, page="pooling", params={"step": str(step)})
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert store.answer_counts(keys.code, question_id) == {"3": 36, "4": 12}
    assert store.count_followers(keys.code) == (24, 24)
    assert store.read_room(keys.code).version == 20
