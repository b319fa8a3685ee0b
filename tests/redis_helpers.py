"""A real ``redis-server`` for the tests (Debian's package): its own port, folder, no persistence.

The README's test command installs ``redis-server``; a missing binary fails the tests that
need it, with a message saying what to install, rather than skipping them silently.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.browser_helpers import free_port

REDIS_SERVER = "redis-server"


@contextlib.contextmanager
def running_redis(folder: Path, timeout_s: float = 30.0):
    """Start ``redis-server`` on a free local port in ``folder``; yield its URL, then stop it."""
    binary = shutil.which(REDIS_SERVER)
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install -y redis-server")
    import redis

    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = open(folder / "redis.log", "wb")  # noqa: SIM115 (closed in finally)
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start; see {log.name}")
            time.sleep(0.05)
        yield url
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory):
    """One redis-server for the test session; tests empty it with ``flushed``."""
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


def flushed(url: str) -> str:
    """``url`` after emptying its database, so a test starts from nothing."""
    import redis

    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return url
