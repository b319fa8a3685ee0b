"""Helpers for the browser tests: a real ``streamlit run`` and Debian's headless Chromium.

The app runs as CI would see it, on a free local port; Playwright drives
``/usr/bin/chromium`` (Playwright's own browser download is not available
offline). Screenshots go to ``test-artifacts/`` so a person can look at them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
EXCEPTION_SELECTOR = '[data-testid="stException"]'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class AppServer:
    """A running ``streamlit run app.py``: its URL and process id."""

    url: str
    pid: int

    def loaded_libraries(self) -> str:
        """The server's memory map (Linux), to prove what it never loaded."""
        return Path(f"/proc/{self.pid}/maps").read_text()


@contextlib.contextmanager
def running_app(
    extra_env: dict[str, str] | None = None, timeout_s: float = 60.0, base_url_path: str = ""
):
    """Start the app in a subprocess and yield an ``AppServer`` once it answers health checks.

    ``base_url_path``: Streamlit's ``server.baseUrlPath``; the yielded URL then ends with it.
    """
    port = free_port()
    env = {**os.environ, **(extra_env or {})}
    env.setdefault("CONVSCOPE_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"streamlit-{port}.log", "wb")  # noqa: SIM115 (closed in finally)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless=true",
            f"--server.port={port}",
            "--server.address=127.0.0.1",
            "--browser.gatherUsageStats=false",
            *([f"--server.baseUrlPath={base_url_path}"] if base_url_path else []),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}" + (f"/{base_url_path}" if base_url_path else "")
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.3)
        yield AppServer(url=url, pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextlib.contextmanager
def open_browser():
    """Yield a Playwright browser running Debian's Chromium headless."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_for_app(page, timeout_ms: int = 30_000) -> None:
    """Wait until Streamlit has finished running the script (no 'running' indicator)."""
    page.wait_for_selector(
        '[data-testid="stMain"] [data-testid="stElementContainer"]', timeout=timeout_ms
    )
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')""",
        timeout=timeout_ms,
    )
    page.wait_for_timeout(300)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def by_key(page, key: str):
    """The element Streamlit tags with ``st-key-<key>`` (dots become dashes)."""
    return page.locator(f".st-key-{key.replace('.', '-')}")


def reveal(page, key: str, popover: str) -> None:
    """Make the keyed control ``key`` reachable: open the popover keyed ``popover`` that
    holds it, unless it shows already. A closed popover's controls are not in the page at
    all (the browser builds them only when it opens), though the app keeps their values.
    """
    if by_key(page, key).is_visible():
        return
    by_key(page, popover).locator("button").first.click()
    by_key(page, key).wait_for(state="visible")


def load_worked_example(page, prefix: str, title: str) -> None:
    """Load the worked example ``title`` from the page's "All worked examples" popover.

    ``prefix`` is the page's key prefix (``arith``, ``backprop``): its list is
    ``<prefix>.example``, the popover ``<prefix>.all_examples``, the button ``<prefix>.load``.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    def keyed(name: str):
        return page.locator(f".st-key-{prefix}-{name}")

    option = page.get_by_role("option", name=title)
    for attempt in range(3):  # a click that lands mid-rerun does not open the list
        if not keyed("example").is_visible():  # the list sits in a popover
            keyed("all_examples").locator("button").first.click()
        keyed("example").get_by_role("combobox").click()  # focus it: typed
        # text elsewhere would be keys (2 loads example 2, p toggles presentation mode)
        page.keyboard.type(title)  # filters the list, which only renders the options in view
        try:
            option.wait_for(timeout=10_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            wait_for_app(page)
    option.click()
    wait_for_app(page)
    if not keyed("load").is_visible():  # the popover closed
        keyed("all_examples").locator("button").first.click()
    keyed("load").get_by_role("button").click()
    wait_for_app(page)
    page.keyboard.press("Escape")  # close the examples' popover
    page.wait_for_timeout(300)
