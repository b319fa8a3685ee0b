"""core.jobs.redis_queue: what only the Redis store has (its lock, key prefixes, an unreachable
server). The queue's contract runs on Redis and SQLite alike in test_job_queue.py."""

from __future__ import annotations

import pytest

from core.jobs.job_queue import SqliteJobQueue
from core.jobs.redis_queue import RedisJobQueue
from tests.redis_helpers import flushed, redis_server_url  # noqa: F401 (a fixture)


@pytest.fixture()
def redis_url(redis_server_url):  # noqa: F811 (the fixture imported above)
    return flushed(redis_server_url)


# -- Redis itself ------------------------------------------------------------------------------


def test_a_dead_holders_lock_frees_itself(redis_url):
    queue = RedisJobQueue(redis_url, lock_seconds=0.3)
    queue._lock().acquire()  # a server that took the lock and died
    queue.enqueue("run-a", "browser-1")  # waits for the lock to expire, then goes on
    assert queue.position("run-a") == 1


def test_queues_under_other_prefixes_are_apart(redis_url):
    RedisJobQueue(redis_url, prefix="course-a:").enqueue("run-a", "browser-1")
    assert RedisJobQueue(redis_url, prefix="course-b:").list() == []


def test_the_redis_queue_has_every_method_of_the_interface_and_the_sqlite_queue():
    from core.jobs.job_queue import JobQueue

    def public(kind) -> set[str]:
        return {name for name in dir(kind) if not name.startswith("_")}

    missing = (public(JobQueue) | public(SqliteJobQueue)) - public(RedisJobQueue)
    assert missing <= {"path"}, missing  # the SQLite file's path has no Redis counterpart


def test_an_unreachable_redis_is_an_os_error():
    queue = RedisJobQueue("redis://127.0.0.1:1/0")
    with pytest.raises(OSError, match="cannot be reached"):
        queue.enqueue("run-a", "browser-1")
    with pytest.raises(OSError, match="cannot be reached"):
        queue.promote(lambda: 1, lambda entry: None)
