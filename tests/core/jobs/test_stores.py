"""core.jobs.stores: SQLite files without CONVSCOPE_REDIS_URL, one shared Redis with it."""

from __future__ import annotations

from core.jobs import redis_client
from core.jobs.job_queue import SqliteJobQueue
from core.jobs.redis_queue import RedisJobQueue
from core.jobs.redis_rooms import RedisRoomStore
from core.jobs.room_store import SqliteRoomStore
from core.jobs.stores import open_job_queue, open_room_store
from tests.redis_helpers import flushed, redis_server_url  # noqa: F401 (a fixture)


def test_without_the_url_everything_stays_in_sqlite_files(monkeypatch, tmp_path):
    monkeypatch.delenv(redis_client.REDIS_URL_ENV, raising=False)
    monkeypatch.setenv("CONVSCOPE_ROOMS_DB", str(tmp_path / "r.sqlite3"))
    rooms = open_room_store()
    assert isinstance(rooms, SqliteRoomStore) and rooms.path == tmp_path / "r.sqlite3"
    queue = open_job_queue(tmp_path / "runs")
    assert isinstance(queue, SqliteJobQueue)
    assert queue.path == tmp_path / "runs" / ".queue.sqlite3"


def test_with_the_url_two_servers_share_rooms_and_queue(monkeypatch, redis_server_url, tmp_path):  # noqa: F811
    url = flushed(redis_server_url)
    monkeypatch.setenv(redis_client.REDIS_URL_ENV, url)
    monkeypatch.setenv("CONVSCOPE_ROOMS_DB", str(tmp_path / "unused.sqlite3"))
    rooms_a, rooms_b = open_room_store(), open_room_store()  # two servers
    assert isinstance(rooms_a, RedisRoomStore)
    keys = rooms_a.create_room()
    rooms_a.publish(keys.code, keys.token, page="pooling", params={"pool": "3"})
    assert rooms_b.read_room(keys.code).params == {"pool": "3"}
    queue_a, queue_b = open_job_queue(tmp_path / "a"), open_job_queue(tmp_path / "b")
    assert isinstance(queue_a, RedisJobQueue)
    queue_a.enqueue("run-a", "browser-1")
    assert queue_b.position("run-a") == 1  # one queue, whatever each server's runs folder
    assert list(tmp_path.iterdir()) == []  # no SQLite file was made
