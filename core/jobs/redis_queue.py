"""The training queue in a shared Redis, so every server of a farm sees one queue.

``RedisJobQueue`` implements ``core.jobs.job_queue.JobQueue`` with the meaning of
``SqliteJobQueue``; ``core.jobs.stores.open_job_queue`` picks it when
``$CONVSCOPE_REDIS_URL`` is set.
The store's exclusive lock is a Redis lock (``SET NX`` with an expiry, released only by
its holder), taken by ``enqueue``, ``cancel`` and ``promote`` as SQLite's write
transaction is, so promoters on any number of servers start each waiting job once.
The lock expires by itself after ``lock_seconds`` if its holder dies.

Keys (``KEY_PREFIX`` first): ``queue:order`` a sorted set of run id → arrival number,
``queue:entries`` a hash of run id → [owner, enqueued], ``queue:owners`` a hash of owner →
run id, ``queue:arrivals`` the arrival counter and ``queue:lock``. The queue survives a
restart of the app servers; across a restart of Redis itself only if Redis persists
(its ``appendonly`` setting).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from core.base.checks import received
from core.jobs.job_queue import AlreadyQueuedError, QueueEntry, check_owner, check_run_id
from core.jobs.redis_client import KEY_PREFIX, connect, reports_outages

# The lock frees itself this long after its holder took it, should the holder die.
LOCK_SECONDS = 120.0


# A caller waits at most this long for the lock before giving up with an error.
LOCK_WAIT_SECONDS = 60.0


@reports_outages
class RedisJobQueue:
    """`JobQueue` in a shared Redis (any number of threads, processes and servers).

    Args:
        redis: a ``redis://`` URL, or a client made with ``decode_responses=True``.
        clock: seconds since the epoch (tests pass a fake one).
        prefix: the start of every key this queue writes.
        lock_seconds: how long the lock outlives a holder that died.
    """

    def __init__(
        self,
        redis,
        *,
        clock: Callable[[], float] = time.time,
        prefix: str = KEY_PREFIX,
        lock_seconds: float = LOCK_SECONDS,
    ):
        self.redis = connect(redis) if isinstance(redis, str) else redis
        self.clock = clock
        self.prefix = prefix
        self.lock_seconds = float(lock_seconds)
        base = f"{prefix}queue:"
        self._order, self._entries = base + "order", base + "entries"
        self._owners, self._arrivals = base + "owners", base + "arrivals"
        self._lock_key = base + "lock"

    def __repr__(self) -> str:
        return f"RedisJobQueue(prefix={self.prefix!r})"

    def _lock(self):
        """The store's exclusive lock (a context manager)."""
        return self.redis.lock(
            self._lock_key,
            timeout=self.lock_seconds,
            sleep=0.005,
            blocking_timeout=LOCK_WAIT_SECONDS,
        )

    def _entry(self, run_id: str, raw: str | None) -> QueueEntry | None:
        if raw is None:
            return None
        owner, enqueued = json.loads(raw)
        return QueueEntry(run_id, owner, float(enqueued))

    def _remove(self, entry: QueueEntry) -> None:
        pipeline = self.redis.pipeline(transaction=True)
        pipeline.zrem(self._order, entry.run_id)
        pipeline.hdel(self._entries, entry.run_id)
        pipeline.hdel(self._owners, entry.owner)
        pipeline.execute()

    def enqueue(self, run_id: str, owner: str) -> int:
        run_id, owner = check_run_id(run_id), check_owner(owner)
        with self._lock():
            if self.redis.hexists(self._owners, owner):
                raise AlreadyQueuedError(
                    "You already have a training job waiting in the queue; cancel it "
                    "before queueing another."
                )
            if self.redis.zscore(self._order, run_id) is not None:
                raise ValueError(f"That run is already in the queue. {received('run_id', run_id)}")
            arrival = self.redis.incr(self._arrivals)
            pipeline = self.redis.pipeline(transaction=True)
            pipeline.hset(self._entries, run_id, json.dumps([owner, float(self.clock())]))
            pipeline.hset(self._owners, owner, run_id)
            pipeline.zadd(self._order, {run_id: arrival})
            pipeline.zcard(self._order)
            return int(pipeline.execute()[-1])

    def position(self, run_id: str) -> int | None:
        rank = self.redis.zrank(self._order, check_run_id(run_id))
        return None if rank is None else int(rank) + 1

    def cancel(self, run_id: str, owner: str | None = None) -> bool:
        run_id = check_run_id(run_id)
        owner = None if owner is None else check_owner(owner)
        with self._lock():
            entry = self._entry(run_id, self.redis.hget(self._entries, run_id))
            if entry is None or owner not in (None, entry.owner):
                return False
            self._remove(entry)
            return True

    def promote(
        self, free_slots: Callable[[], int], start: Callable[[QueueEntry], None]
    ) -> list[QueueEntry]:
        if not self.redis.zcard(self._order):
            return []  # the usual case, answered without taking the lock
        started: list[QueueEntry] = []
        with self._lock():
            free = int(free_slots())
            if free <= 0:
                return []
            for run_id in self.redis.zrange(self._order, 0, free - 1):
                entry = self._entry(run_id, self.redis.hget(self._entries, run_id))
                if entry is None:
                    continue
                self._remove(entry)
                started.append(entry)
                start(entry)  # if it raises, its entry stays removed and no other starts
        return started

    def list(self) -> list[QueueEntry]:
        pipeline = self.redis.pipeline(transaction=True)
        pipeline.zrange(self._order, 0, -1)
        pipeline.hgetall(self._entries)
        order, entries = pipeline.execute()
        return [self._entry(run_id, entries.get(run_id)) for run_id in order if run_id in entries]

    def waiting_for(self, owner: str) -> QueueEntry | None:
        owner = check_owner(owner)
        run_id = self.redis.hget(self._owners, owner)
        if run_id is None:
            return None
        return self._entry(run_id, self.redis.hget(self._entries, run_id))
