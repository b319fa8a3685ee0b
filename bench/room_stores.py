"""The room store's operations on the SQLite file and on a Redis, side by side in one run.

A student's page polls ``room_version`` four times a second and reports itself
(``heartbeat``) now and then; the lecturer's page ``publish``es each change; a change makes
every student ``read_room``. Each is timed on both stores here, one after the other on the
same machine, with a ``redis-server`` this script starts on a free local port (Debian's
package; no persistence) and stops. Printed: microseconds per call and Redis / SQLite.

    .venv/bin/python bench/room_stores.py [--calls 3000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.jobs.redis_rooms import RedisRoomStore  # noqa: E402
from core.jobs.room_store import SqliteRoomStore  # noqa: E402
from core.jobs.rooms import Question  # noqa: E402
from tests.redis_helpers import running_redis  # noqa: E402


def per_call_us(action, calls: int) -> float:
    """Microseconds per call of ``action()``, over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - start) / calls * 1e6


def measure(store, calls: int) -> dict[str, float]:
    keys = store.create_room()
    store.ask(keys.code, keys.token, Question.number("How many rows?", 3))
    follower = store.join(keys.code)
    counter = iter(range(10**9))
    return {
        "room_version": per_call_us(lambda: store.room_version(keys.code), calls),
        "read_room": per_call_us(lambda: store.read_room(keys.code), calls),
        "heartbeat": per_call_us(lambda: store.heartbeat(keys.code, follower), calls // 3),
        "publish": per_call_us(
            lambda: store.publish(
                keys.code, keys.token, page="pooling", params={"n": str(next(counter))}
            ),
            calls // 3,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls per read operation")
    calls = parser.parse_args().calls
    folder = Path(tempfile.mkdtemp(prefix="room-stores-"))
    with running_redis(folder / "redis") as url:
        sqlite = measure(SqliteRoomStore(folder / "rooms.sqlite3"), calls)
        redis = measure(RedisRoomStore(url), calls)
    print(f"{'operation':14s} {'SQLite µs':>10s} {'Redis µs':>10s} {'Redis/SQLite':>13s}")
    for name, sqlite_us in sqlite.items():
        print(f"{name:14s} {sqlite_us:10.0f} {redis[name]:10.0f} {redis[name] / sqlite_us:12.1f}×")


if __name__ == "__main__":
    main()
