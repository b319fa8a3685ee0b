"""The Inspect page when its warm worker is killed (SIGKILL) in the middle of a request: the
page says so in plain words (no exception box), and the next rerun works with a new worker."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.jobs.worker_client import shared_client
from tests.conftest import ROOT
from tests.helpers_training import wait_for

PAGE = str(ROOT / "app_pages" / "inspect_network.py")
pytestmark = pytest.mark.slow


def kill_on_first_request(client, monkeypatch, killed: list) -> None:
    """SIGKILL ``client``'s worker once its next request has been sent, before any answer.

    The worker is stopped (SIGSTOP) first, so it cannot answer in the moment between the
    request leaving and the kill: the request is always in flight when the worker dies.
    """
    pid = client.worker_pid
    os.kill(pid, signal.SIGSTOP)
    receive = client._receive

    def killing_receive(timeout, *, what):
        if not killed:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        return receive(timeout, what=what)

    monkeypatch.setattr(client, "_receive", killing_receive)


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

    killed = []
    kill_on_first_request(shared_client(), monkeypatch, killed)
    try:
        at.run()  # the rerun asks the worker for feature maps, filters, ...
    finally:
        if not killed:  # never asked: let the worker go on for the tests that follow
            os.kill(first, signal.SIGCONT)
    assert killed == [first], "the rerun never asked the worker"
    assert not at.exception, [e.value for e in at.exception]
    messages = " ".join(e.value for e in at.error)
    assert "stopped unexpectedly (killed by SIGKILL)" in messages
    assert "It starts again on the next request" in messages

    at.run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    assert shared_client().worker_pid not in (None, first)
    wait_for(lambda: not Path(f"/proc/{first}").exists(), timeout=30, what="the old worker reaped")
