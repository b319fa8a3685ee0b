"""The training queue in a real browser: a job past the cap waits with its place; a second tab
of the same browser (same cookie) sees it instead of offering Start; another browser does not;
Cancel takes it out of the queue.

The cap (``CONVSCOPE_MAX_JOBS=1``) is filled by a run folder that looks live (this test
process as its worker, its pulse kept fresh), so no TensorFlow worker is needed.
"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from tests.browser_helpers import (
    EXCEPTION_SELECTOR,
    open_browser,
    running_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


WAITING = "Waiting in the queue: place 1 of 1"


def busy_run(runs_root, stop: threading.Event) -> None:
    """A live-looking run filling the only slot; its pulse is touched until ``stop`` is set."""
    run_dir = runs_root / "20260101-000000-busy-000000"
    run_dir.mkdir(parents=True)
    config = {"run_id": run_dir.name, "created": time.time(), "model": {"preset": "mlp"}}
    (run_dir / "config.json").write_text(json.dumps({**config, "dataset": {"name": "mnist"}}))
    status = {"state": "running", "epochs": 1, "eta_seconds": 170.0, "elapsed_seconds": 20.0}
    (run_dir / "status.json").write_text(json.dumps(status))
    (run_dir / "worker.pid").write_text(str(os.getpid()))

    def pulse():
        while not stop.is_set():
            (run_dir / "pulse").touch()
            stop.wait(5)

    threading.Thread(target=pulse, daemon=True).start()


def settle(page) -> None:
    """Wait until the script has run (no 'running' indicator)."""
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')""", timeout=90_000
    )
    page.wait_for_timeout(500)


def open_train(page, url: str, *, polling: bool = False) -> None:
    """Open the Train page; one that polls a job (every second) never settles, so the
    test waits for what it looks for instead."""
    page.goto(f"{url}/train_cnn")
    page.get_by_text("3 · Train").wait_for(timeout=90_000)
    if not polling:
        settle(page)


def test_a_queued_job_shows_in_every_tab_of_the_browser_and_can_be_cancelled(tmp_path):
    stop = threading.Event()
    busy_run(tmp_path / "runs", stop)
    env = {
        "CONVSCOPE_RUNS_DIR": str(tmp_path / "runs"),
        "CONVSCOPE_MODELS_DIR": str(tmp_path / "models"),
        "CONVSCOPE_MAX_JOBS": "1",
    }
    try:
        with running_app(extra_env=env) as server, open_browser() as browser:
            student = browser.new_context(viewport={"width": 1400, "height": 2400})
            first = student.new_page()
            open_train(first, server.url)
            first.get_by_role("button", name="Start", exact=True).click()
            first.get_by_text(WAITING).wait_for(timeout=60_000)
            assert "should start in about 3 minutes" in first.inner_text("body")
            cookies = {c["name"]: c["value"] for c in student.cookies()}
            assert cookies["convscope_browser"].startswith("b-")

            # A second tab of the same browser, without the run in its address.
            second = student.new_page()
            open_train(second, server.url, polling=True)
            second.get_by_text(WAITING).wait_for(timeout=60_000)
            assert second.get_by_role("button", name="Start", exact=True).is_disabled()

            first.close()  # one polling tab is enough for the loaded test machine

            # Another browser sees no job of its own and may start one.
            other = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
            open_train(other, server.url, polling=True)
            other.get_by_text("Recent runs on this server").wait_for(timeout=90_000)
            start = other.get_by_role("button", name="Start", exact=True)
            start.wait_for(timeout=90_000)
            assert start.is_enabled()
            assert "Waiting in the queue" not in other.inner_text("body")

            # The live view reruns every second: give the click time on a loaded machine.
            second.get_by_role("button", name="Cancel", exact=True).click(timeout=90_000)
            second.get_by_text("Your job left the queue").wait_for(timeout=90_000)
            assert second.get_by_role("button", name="Start", exact=True).is_enabled()
            assert [p.name for p in (tmp_path / "runs").iterdir() if p.is_dir()] == [
                "20260101-000000-busy-000000"
            ]
            for page in (second, other):
                assert page.locator(EXCEPTION_SELECTOR).count() == 0
    finally:
        stop.set()
