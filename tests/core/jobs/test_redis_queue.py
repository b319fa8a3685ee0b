"""core.jobs.redis_queue: the training queue's tests against SQLite and a real redis-server.

The ``queue`` fixture runs each contract test on both stores; racing promoters are real
processes, each with its own store object, as separate servers would be.
"""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from core.jobs.job_queue import AlreadyQueuedError, QueueEntry, SqliteJobQueue
from core.jobs.redis_queue import RedisJobQueue
from tests.redis_helpers import flushed, redis_server_url  # noqa: F401 (a fixture)


@pytest.fixture()
def redis_url(redis_server_url):  # noqa: F811 (the fixture imported above)
    return flushed(redis_server_url)


def open_queue(kind: str, where: str, clock=None):
    """A store of ``kind`` on ``where`` (a file, or a Redis URL), as a new server opens it."""
    options = {} if clock is None else {"clock": clock}
    return SqliteJobQueue(where, **options) if kind == "sqlite" else RedisJobQueue(where, **options)


@pytest.fixture(params=["sqlite", "redis"])
def kind_and_place(request, tmp_path):
    if request.param == "sqlite":
        return "sqlite", str(tmp_path / "queue.sqlite3")
    return "redis", request.getfixturevalue("redis_url")


@pytest.fixture()
def queue(kind_and_place):
    ticks = iter(range(1000))
    return open_queue(*kind_and_place, clock=lambda: float(next(ticks)))


def test_first_come_first_served(queue):
    places = [queue.enqueue(f"run-{n}", f"browser-{n}") for n in range(4)]
    assert places == [1, 2, 3, 4]
    assert [queue.position(f"run-{n}") for n in range(4)] == [1, 2, 3, 4]
    assert [entry.run_id for entry in queue.list()] == ["run-0", "run-1", "run-2", "run-3"]
    assert queue.list()[0] == QueueEntry("run-0", "browser-0", 0.0)
    started = queue.promote(lambda: 2, lambda entry: None)
    assert [entry.run_id for entry in started] == ["run-0", "run-1"]
    assert started[1] == QueueEntry("run-1", "browser-1", 1.0)
    assert queue.position("run-0") is None
    assert (queue.position("run-2"), queue.position("run-3")) == (1, 2)
    assert queue.enqueue("run-4", "browser-0") == 3  # to the tail


def test_one_waiting_job_per_browser(queue):
    queue.enqueue("run-a", "browser-1")
    with pytest.raises(AlreadyQueuedError, match="already have a training job waiting"):
        queue.enqueue("run-b", "browser-1")
    assert [entry.run_id for entry in queue.list()] == ["run-a"]
    assert queue.waiting_for("browser-1").run_id == "run-a"
    assert queue.waiting_for("browser-2") is None
    queue.promote(lambda: 1, lambda entry: None)
    assert queue.waiting_for("browser-1") is None
    assert queue.enqueue("run-b", "browser-1") == 1  # once started, another may wait


def test_a_run_is_queued_once(queue):
    queue.enqueue("run-a", "browser-1")
    with pytest.raises(ValueError, match="already in the queue"):
        queue.enqueue("run-a", "browser-2")
    assert queue.waiting_for("browser-2") is None


def test_cancel_only_by_its_owner_and_once(queue):
    for n in range(3):
        queue.enqueue(f"run-{n}", f"browser-{n}")
    assert not queue.cancel("run-1", "browser-2")
    assert queue.position("run-1") == 2
    assert queue.cancel("run-1", "browser-1")
    assert not queue.cancel("run-1", "browser-1")
    assert (queue.position("run-1"), queue.position("run-2")) == (None, 2)
    assert queue.cancel("run-0")  # the server itself may cancel without an owner
    assert queue.position("run-2") == 1
    assert queue.enqueue("run-9", "browser-1") == 2  # a cancelled owner may queue again


def test_cancel_after_promotion_says_it_started(queue):
    queue.enqueue("run-a", "browser-1")
    queue.promote(lambda: 1, lambda entry: None)
    assert not queue.cancel("run-a", "browser-1")


def test_no_free_slot_starts_nothing(queue):
    queue.enqueue("run-a", "browser-1")
    called = []
    assert queue.promote(lambda: 0, called.append) == []
    assert queue.promote(lambda: -3, called.append) == []
    assert called == [] and queue.position("run-a") == 1


def test_empty_queue_does_not_ask_for_slots(queue):
    def never():
        raise AssertionError("free_slots called on an empty queue")

    assert queue.promote(never, never) == []


def test_a_failing_start_is_not_retried(queue):
    queue.enqueue("run-a", "browser-1")
    queue.enqueue("run-b", "browser-2")

    def start(entry):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        queue.promote(lambda: 2, start)
    assert [entry.run_id for entry in queue.list()] == ["run-b"]
    assert [entry.run_id for entry in queue.promote(lambda: 2, lambda e: None)] == ["run-b"]


def test_survives_a_restart(kind_and_place):
    first = open_queue(*kind_and_place)
    first.enqueue("run-a", "browser-1")
    first.enqueue("run-b", "browser-2")
    del first
    again = open_queue(*kind_and_place)
    assert [entry.run_id for entry in again.list()] == ["run-a", "run-b"]
    with pytest.raises(AlreadyQueuedError):
        again.enqueue("run-c", "browser-1")
    assert [e.run_id for e in again.promote(lambda: 1, lambda e: None)] == ["run-a"]


@pytest.mark.parametrize(
    ("owner", "error"),
    [(None, TypeError), ("", ValueError), ("a b", ValueError), ("x" * 121, ValueError)],
)
def test_bad_owner_is_refused(queue, owner, error):
    with pytest.raises(error, match="owner"):
        queue.enqueue("run-a", owner)
    assert queue.list() == []


def test_bad_run_id_is_refused(queue):
    with pytest.raises(ValueError, match="run folder name"):
        queue.enqueue("../../etc", "browser-1")
    with pytest.raises(ValueError, match="run folder name"):
        queue.position("../../etc")
    assert queue.list() == []


# -- racing promoters: real processes (servers), one shared slot count ---------------------

CAP = 3
JOBS = 8


def _started(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def _promoter(kind: str, where: str, folder: str, barrier, rounds: int) -> None:
    """Promote in a loop like a page's live view: count the running jobs, start the head."""
    queue, folder = open_queue(kind, where), Path(folder)

    def start(entry):
        with open(folder / entry.run_id, "x") as record:  # a second start raises here
            record.write(str(multiprocessing.current_process().pid))

    barrier.wait()
    for _ in range(rounds):
        queue.promote(lambda: CAP - len(_started(folder)), start)


def test_racing_promoters_start_each_job_once_within_the_cap(kind_and_place, tmp_path):
    folder = tmp_path / "started"
    folder.mkdir()
    queue = open_queue(*kind_and_place)
    for n in range(JOBS):
        queue.enqueue(f"run-{n}", f"browser-{n}")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    processes = [
        context.Process(target=_promoter, args=(*kind_and_place, str(folder), barrier, 40))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    assert _started(folder) == [f"run-{n}" for n in range(CAP)]
    assert [entry.run_id for entry in queue.list()] == [f"run-{n}" for n in range(CAP, JOBS)]


def test_racing_threads_promote_once(kind_and_place):
    open_queue(*kind_and_place).enqueue("run-a", "browser-1")
    calls, barrier = [], threading.Barrier(6)

    def race():
        barrier.wait()
        open_queue(*kind_and_place).promote(lambda: 1 - len(calls), calls.append)

    threads = [threading.Thread(target=race) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [entry.run_id for entry in calls] == ["run-a"]


def test_racing_owners_queue_one_job_each(kind_and_place):
    """Two tabs of one browser press Train at once: one job waits, the other is refused."""
    outcomes, barrier = [], threading.Barrier(8)

    def press(n: int) -> None:
        barrier.wait()
        try:
            open_queue(*kind_and_place).enqueue(f"run-{n}", f"browser-{n % 2}")
            outcomes.append("queued")
        except AlreadyQueuedError:
            outcomes.append("refused")

    threads = [threading.Thread(target=press, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["queued"] * 2 + ["refused"] * 6
    assert len(open_queue(*kind_and_place).list()) == 2


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
