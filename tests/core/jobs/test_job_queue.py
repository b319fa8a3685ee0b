"""The training queue (core.jobs.job_queue): its contract on both stores, the embedded SQLite
file and a real redis-server (the ``queue`` fixture runs each contract test on each), racing
promoters as real processes with a store object each as separate servers would have, where the
SQLite file lives by default, and the start-time estimate. Redis-only behaviour is in
test_redis_queue.py."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from core.jobs.job_queue import (
    AlreadyQueuedError,
    QueueEntry,
    SqliteJobQueue,
    check_owner,
    default_job_queue,
    default_queue_db,
    estimate_start_seconds,
)
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


def test_owner_check_keeps_a_well_formed_owner():
    assert check_owner("session:ab-12.x_y") == "session:ab-12.x_y"


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


def test_default_queue_lives_in_the_runs_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVSCOPE_QUEUE_DB", raising=False)
    assert default_queue_db(tmp_path) == tmp_path / ".queue.sqlite3"
    queue = default_job_queue(tmp_path)
    queue.enqueue("run-a", "browser-1")
    assert default_job_queue(tmp_path).position("run-a") == 1
    monkeypatch.setenv("CONVSCOPE_QUEUE_DB", str(tmp_path / "elsewhere.sqlite3"))
    assert default_queue_db() == tmp_path / "elsewhere.sqlite3"


# -- when a waiting job starts ----------------------------------------------------------------


def test_estimate_waits_for_the_first_free_slot():
    assert estimate_start_seconds([300.0, 60.0], [], 2) == 60.0
    assert estimate_start_seconds([300.0], [], 2) == 0.0  # a slot is free now


def test_estimate_counts_the_jobs_ahead():
    # One slot, 100 s left; two jobs of 50 s and 70 s ahead: 100 + 50 + 70.
    assert estimate_start_seconds([100.0], [50.0, 70.0], 1) == 220.0
    # Two slots: the first waiting job takes the slot freed at 20 s (busy to 80 s), the
    # second takes it again at 80 s (to 120 s); this job gets the one freed at 100 s.
    assert estimate_start_seconds([100.0, 20.0], [60.0, 40.0], 2) == 100.0
    assert estimate_start_seconds([100.0, 20.0], [60.0, 10.0], 2) == 90.0


def test_estimate_is_unknown_without_the_figures_it_needs():
    assert estimate_start_seconds([None], [], 1) is None
    assert estimate_start_seconds([30.0], [None], 1) is None
    assert estimate_start_seconds([None, 30.0], [], 2) == 30.0
    assert estimate_start_seconds([None, 30.0], [10.0], 2) == 40.0
    assert estimate_start_seconds([-5.0], [], 1) == 0.0  # an overdue ETA is "now"
