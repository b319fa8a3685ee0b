"""Where the lecture rooms and the training queue live: the one place that chooses.

Without ``$CONVSCOPE_REDIS_URL`` they are SQLite files (nothing to install): the rooms'
file of ``core.jobs.room_store.default_rooms_db`` and the queue file in the runs folder.
With it they are in that shared Redis, so several app servers act as one; the ``redis``
package is imported only then.
"""

from __future__ import annotations

import os

from core.jobs.job_queue import JobQueue, SqliteJobQueue, default_queue_db
from core.jobs.redis_client import redis_url
from core.jobs.redis_queue import RedisJobQueue
from core.jobs.redis_rooms import RedisRoomStore
from core.jobs.room_store import SqliteRoomStore
from core.jobs.rooms import RoomStore


def open_room_store() -> RoomStore:
    """The room store this server uses: the shared Redis, else the SQLite file."""
    url = redis_url()
    return RedisRoomStore(url) if url else SqliteRoomStore()


def open_job_queue(runs_root_dir: str | os.PathLike | None = None) -> JobQueue:
    """The training queue this server uses: the shared Redis (one queue for every server,
    whatever ``runs_root_dir``), else the SQLite file in the runs folder."""
    url = redis_url()
    return RedisJobQueue(url) if url else SqliteJobQueue(default_queue_db(runs_root_dir))
