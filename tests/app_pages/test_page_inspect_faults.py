"""The Inspect page when its warm worker is killed (SIGKILL) in the middle of a request: the
page says so in plain words (no exception box), and the next rerun works with a new worker."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.jobs.worker_client import shared_client
from tests.conftest import ROOT
from tests.helpers_training import wait_for

PAGE = str(ROOT / "app_pages" / "inspect_network.py")
pytestmark = pytest.mark.slow


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def kill_when_busy(pid: int, done: threading.Event, killed: list) -> None:
    """SIGKILL ``pid`` as soon as it spends CPU, i.e. while it answers a request."""
    idle = cpu_ticks(pid)
    while not done.is_set():
        try:
            busy = cpu_ticks(pid) >= idle + 2
        except OSError:
            return
        if busy:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.002)


def test_the_worker_killed_mid_request_gives_a_message_and_the_next_rerun_works(
    monkeypatch, shared_data, tmp_path
):
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(shared_data))
    monkeypatch.setenv("CONVSCOPE_MODELS_DIR", str(tmp_path / "models"))
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    first = shared_client().worker_pid
    assert first is not None
    time.sleep(1.0)  # let the worker settle, so its CPU time stands still until asked

    done, killed = threading.Event(), []
    killer = threading.Thread(target=kill_when_busy, args=(first, done, killed))
    killer.start()
    try:
        at.run()  # the rerun asks the worker for feature maps, filters, ...
    finally:
        done.set()
        killer.join()
    assert killed == [first], "the worker was never caught answering"
    assert not at.exception, [e.value for e in at.exception]
    messages = " ".join(e.value for e in at.error)
    assert "stopped unexpectedly (killed by SIGKILL)" in messages
    assert "It starts again on the next request" in messages

    at.run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    assert shared_client().worker_pid not in (None, first)
    wait_for(lambda: not Path(f"/proc/{first}").exists(), timeout=30, what="the old worker reaped")
