"""Tests for core.jobs.sqlite_file: the embedded stores' SQLite connections."""

from __future__ import annotations

import threading

import pytest

from core.jobs.sqlite_file import SqliteFile


@pytest.fixture()
def db(tmp_path):
    db = SqliteFile(tmp_path / "state.sqlite3")
    with db.write() as connection:
        connection.execute("CREATE TABLE t (n INTEGER)")
    return db


def test_the_file_is_in_wal_mode(db):
    assert db.connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_each_thread_gets_its_own_connection(db):
    seen = []
    thread = threading.Thread(target=lambda: seen.append(db.connection()))
    thread.start()
    thread.join()
    assert seen[0] is not db.connection()
    assert db.connection() is db.connection()


def test_a_failed_write_is_rolled_back(db):
    with pytest.raises(RuntimeError), db.write() as connection:
        connection.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("stop half way")
    assert db.connection().execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0


def test_writers_in_many_threads_all_land(db):
    def add(n):
        for _ in range(20):
            with db.write() as connection:
                connection.execute("INSERT INTO t VALUES (?)", (n,))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert db.connection().execute("SELECT COUNT(*) FROM t").fetchone()[0] == 80


def connection_of_a_thread(db):
    seen = []
    thread = threading.Thread(target=lambda: seen.append(db.connection()))
    thread.start()
    thread.join()
    return seen[0]


def test_a_thread_that_ended_leaves_its_connection_to_the_next(db):
    first = connection_of_a_thread(db)
    assert connection_of_a_thread(db) is first  # Streamlit: a new thread for every run
    with db.write() as connection:
        connection.execute("INSERT INTO t VALUES (7)")
    assert first.execute("SELECT n FROM t").fetchall() == [(7,)]


def test_two_threads_at_once_never_share_a_connection(db):
    both_in = threading.Barrier(2)
    seen = []

    def hold():
        seen.append(db.connection())
        both_in.wait(timeout=10)

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen[0] is not seen[1]


def test_a_thread_ending_inside_a_write_leaves_no_open_transaction(db):
    def end_inside_a_write():
        connection = db.connection()
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO t VALUES (1)")

    thread = threading.Thread(target=end_inside_a_write)
    thread.start()
    thread.join()
    with db.write() as connection:  # the file's write lock was given back
        connection.execute("INSERT INTO t VALUES (2)")
    assert db.connection().execute("SELECT n FROM t").fetchall() == [(2,)]
