"""Soak: many minutes of scripted use of a real app server, watching memory and processes.

A real ``streamlit run app.py`` (its own runs and models folders) is driven by several browser
sessions at once (Playwright + Debian's /usr/bin/chromium), each going round: train a tiny
MNIST CNN with the Train page's own controls and save it, inspect a network, upload a
``.keras`` model into the store, and walk through the other pages. Training runs in real
worker processes started by the server's runner; inspection and upload checks in its warm
worker. Every ``--interval`` seconds it prints the server's memory (RSS), the memory of all
its worker processes, the number of processes, the server's open file descriptors and the
number of run folders; at the end, whether memory and process counts stayed flat (the last
third of the samples against the middle third), whether the workers went away once the
sessions ended, and how many tracebacks the server logged.

    .venv/bin/python bench/soak.py                 # 30 minutes, 3 sessions
    .venv/bin/python bench/soak.py --minutes 2     # the short version (tests/test_soak.py)
    .venv/bin/python bench/soak.py --minutes 2 --json soak.json   # also the figures as JSON
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from tests.browser_helpers import (  # noqa: E402 - after the path is set
    ARTIFACTS,
    EXCEPTION_SELECTOR,
    by_key,
    open_browser,
    reveal,
    running_app,
    screenshot,
    wait_for_app,
)

PAGES = (
    "Home",
    "Pixels & Channels",
    "Kernel Playground",
    "Convolution Arithmetic",
    "Pooling",
    "Backpropagation",
    "Famous Architectures",
)
ACTIONS = ("train", "inspect", "upload", "navigate")
UPLOAD = ROOT / "assets" / "models" / "fashion_mnist_cnn.keras"
TRAIN_TIMEOUT_S = 240
KEEP_MODELS = 6
IDLE_STOP_S = 20  # a run nobody watches stops itself after this (so workers leave at the end)


# -- what the server is running ---------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (workers run in their own sessions, still children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and fields[0] not in ("Z", "X"):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def worker_task(pid: int) -> str:
    """``train``, ``serve`` (the warm worker) or ``other``."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "gone"
    for task in (b"train", b"serve"):
        if b"core.worker" in argv and task in argv:
            return task.decode()
    return "other"


@dataclass
class Sample:
    seconds: float
    server_mb: float
    children_mb: float
    processes: int
    fds: int
    runs: int
    training: int


def sample(server_pid: int, runs_dir: Path, started: float) -> Sample:
    children = descendants(server_pid)
    try:
        runs = sum(1 for p in runs_dir.iterdir() if p.is_dir() and p.name != "datasets")
    except OSError:
        runs = 0
    return Sample(
        seconds=time.monotonic() - started,
        server_mb=rss_mb(server_pid),
        children_mb=sum(rss_mb(pid) for pid in children),
        processes=1 + len(children),
        fds=open_fds(server_pid),
        runs=runs,
        training=sum(worker_task(pid) == "train" for pid in children),
    )


def print_sample(s: Sample) -> None:
    minutes, seconds = divmod(int(s.seconds), 60)
    print(
        f"{minutes:3d}:{seconds:02d}  {s.server_mb:9.1f}  {s.children_mb:11.1f}  "
        f"{s.processes:9d}  {s.training:8d}  {s.fds:4d}  {s.runs:4d}",
        flush=True,
    )


# -- the scripted sessions ------------------------------------------------------------------------


@dataclass
class Session:
    """One browser session and where it is in its round of actions."""

    number: int
    page: object
    actions: itertools.cycle | None = None
    training_since: float | None = None
    done: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    exceptions: int = 0

    def __post_init__(self):
        # Each session starts its round at another action, so even a short soak does each.
        start = (self.number - 1) % len(ACTIONS)
        self.actions = itertools.cycle(ACTIONS[start:] + ACTIONS[:start])


def open_sidebar_page(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=90_000)
    wait_for_app(page, timeout_ms=90_000)


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_role("spinbutton", name=label)
    box.fill(str(value))
    box.press("Enter")
    wait_for_app(page, timeout_ms=60_000)


def start_training(session: Session) -> None:
    page = session.page
    open_sidebar_page(page, "Train a CNN")
    # The training settings sit in a popover: open it, set two values, shut it.
    reveal(page, "train.epochs", "train.settings_open")
    set_number(page, "Train on at most", 256)
    set_number(page, "Epochs", 1)
    page.keyboard.press("Escape")
    by_key(page, "train.epochs").wait_for(state="detached")
    start = page.get_by_role("button", name="Start", exact=True)
    if start.is_disabled():  # one of this session's runs is still live
        return
    start.click()
    page.get_by_text(re.compile(r"^Run \d{8}-")).first.wait_for(timeout=60_000)
    session.training_since = time.monotonic()


def finish_training(session: Session, counter: itertools.count) -> bool:
    """Save the run once it has results; False while it is still training."""
    page = session.page
    # The results' metric (Inspect's model list also says "test accuracy").
    if page.locator('[data-testid="stMetric"]', has_text="Test accuracy").count() == 0:
        if time.monotonic() - session.training_since > TRAIN_TIMEOUT_S:
            session.failures.append(f"a run gave no results within {TRAIN_TIMEOUT_S} s")
            session.training_since = None
        return False
    wait_for_app(page, timeout_ms=60_000)
    name = f"soak {session.number}-{next(counter)}"
    box = page.get_by_role("textbox", name="Save the model as")
    box.fill(name)
    box.press("Enter")
    wait_for_app(page)
    save_and_confirm(page, name)
    session.training_since = None
    session.done["trained and saved"] = session.done.get("trained and saved", 0) + 1
    return True


def save_and_confirm(page, name: str) -> None:
    """Press Save and wait for "Saved as <name>"; a click that brought no answer at all (lost
    in a rerun of a loaded server) is repeated once. Raises, with a screenshot, otherwise."""
    saved = page.get_by_text(f"Saved as {name}")
    refused = page.get_by_text("Not saved:")
    for attempt in (1, 2):
        page.get_by_role("button", name="Save", exact=True).click()
        with contextlib.suppress(PlaywrightTimeout):
            saved.or_(refused).first.wait_for(timeout=45_000)
        if saved.count():
            return
        if refused.count() or attempt == 2:
            shot = screenshot(page, f"soak-save-{name.replace(' ', '-')}")
            errors = [e.inner_text() for e in page.locator('[data-testid="stAlert"]').all()]
            raise AssertionError(f"{name!r} was not saved (screenshot {shot}); the page: {errors}")


def inspect(session: Session) -> None:
    page = session.page
    open_sidebar_page(page, "Inspect a Network")
    page.get_by_text("Feature maps").first.wait_for(timeout=180_000)
    wait_for_app(page, timeout_ms=180_000)


def upload(session: Session, counter: itertools.count) -> None:
    page = session.page
    open_sidebar_page(page, "Train a CNN")
    expander = page.locator('[data-testid="stExpander"]', has_text="Models folder")
    if not expander.get_by_text("Upload a .keras model").is_visible():
        expander.get_by_text("Models folder").first.click()
    expander.locator('input[type="file"]').set_input_files(str(UPLOAD))
    name = f"upload {session.number}-{next(counter)}"
    box = page.get_by_role("textbox", name="Store it as")
    box.wait_for(timeout=60_000)
    box.fill(name)
    box.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Add to the store").click()
    page.get_by_text(f"Added {name}").wait_for(timeout=180_000)


def navigate(session: Session) -> None:
    for title in PAGES:
        open_sidebar_page(session.page, title)


def act(session: Session, counter: itertools.count, base_url: str) -> None:
    """One step of ``session``: look at its training run, or do its next action."""
    if session.training_since is not None:
        finish_training(session, counter)
        return
    action = next(session.actions)
    try:
        if action == "train":
            start_training(session)
        elif action == "inspect":
            inspect(session)
        elif action == "upload":
            upload(session, counter)
        else:
            navigate(session)
        session.done[action] = session.done.get(action, 0) + 1
    except Exception as error:  # noqa: BLE001 - a soak reports what failed and goes on
        session.failures.append(f"{action}: {type(error).__name__}: {str(error)[:160]}")
        with contextlib.suppress(Exception):
            session.page.goto(base_url)
            wait_for_app(session.page, timeout_ms=90_000)
    session.exceptions += session.page.locator(EXCEPTION_SELECTOR).count()


def keep_store_small(models_dir: Path) -> None:
    """Another user tidying the models folder: the oldest models beyond a few are deleted."""
    from core.jobs import model_store

    with contextlib.suppress(OSError, model_store.ModelStoreError):
        for model in model_store.list_models(models_dir=models_dir)[KEEP_MODELS:]:
            model_store.delete_model(model.name, models_dir=models_dir)


# -- the run ------------------------------------------------------------------------------------


def thirds(values: list[float]) -> tuple[float, float]:
    """Mean of the middle third and of the last third of ``values``."""
    third = max(1, len(values) // 3)
    middle = values[third : 2 * third] or values[:1]
    return statistics.fmean(middle), statistics.fmean(values[-third:])


def soak(minutes: float, sessions: int, interval: float) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="convscope-soak-"))
    runs_dir, models_dir = folder / "runs", folder / "models"
    env = {
        "CONVSCOPE_RUNS_DIR": str(runs_dir),
        "CONVSCOPE_MODELS_DIR": str(models_dir),
        "CONVSCOPE_IDLE_STOP_SECONDS": str(IDLE_STOP_S),
        "CONVSCOPE_MAX_JOBS": str(sessions),
    }
    samples: list[Sample] = []
    with running_app(extra_env=env, timeout_s=120) as server:
        log_path = ARTIFACTS / f"streamlit-{server.url.rsplit(':', 1)[1]}.log"
        started = time.monotonic()
        print(f"app {server.url} (pid {server.pid}), {sessions} sessions, {minutes:g} min")
        print("  time  server MB  children MB  processes  training   fds  runs")
        stop_sampling = threading.Event()

        def sampler():
            while True:
                samples.append(sample(server.pid, runs_dir, started))
                print_sample(samples[-1])
                if stop_sampling.wait(interval):
                    return

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        counter = itertools.count(1)
        with open_browser() as browser:
            contexts = [browser.new_context(viewport={"width": 1400, "height": 1600})]
            contexts += [
                browser.new_context(viewport={"width": 1400, "height": 1600})
                for _ in range(sessions - 1)
            ]
            people = []
            for number, context in enumerate(contexts, start=1):
                context.set_default_timeout(120_000)  # a loaded machine answers slowly
                page = context.new_page()
                page.goto(server.url)
                wait_for_app(page, timeout_ms=120_000)
                people.append(Session(number, page))
            deadline = started + minutes * 60
            for person in itertools.cycle(people):
                if time.monotonic() >= deadline:
                    break
                act(person, counter, server.url)
                keep_store_small(models_dir)
            for context in contexts:
                context.close()  # the sessions end; their runs stop when nobody watches
        ended = time.monotonic()
        # Wait for the training workers to go (idle stop), then take the final count.
        settle_deadline = ended + IDLE_STOP_S + 90
        while time.monotonic() < settle_deadline:
            if not any(worker_task(p) == "train" for p in descendants(server.pid)):
                break
            time.sleep(1)
        stop_sampling.set()
        thread.join()
        final = sample(server.pid, runs_dir, started)
        print_sample(final)
        workers_at_end = {pid: worker_task(pid) for pid in descendants(server.pid)}
        settle_seconds = time.monotonic() - ended
    # The server has stopped: none of its workers may outlive it.
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() and _stat(pid) for pid in workers_at_end):
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    outlived = [pid for pid in workers_at_end if _stat(pid) and _stat(pid)[0] not in ("Z", "X")]
    log = log_path.read_text(errors="replace") if log_path.is_file() else ""
    middle_mb, last_mb = thirds([s.server_mb for s in samples])
    middle_total, last_total = thirds([s.server_mb + s.children_mb for s in samples])
    middle_processes, last_processes = thirds([float(s.processes) for s in samples])
    half = samples[len(samples) // 2]
    summary = {
        "minutes": minutes,
        "sessions": sessions,
        "samples": [s.__dict__ for s in samples],
        "first_server_mb": samples[0].server_mb,
        "server_mb_middle_third": middle_mb,
        "server_mb_last_third": last_mb,
        "total_mb_middle_third": middle_total,
        "total_mb_last_third": last_total,
        "processes_middle_third": middle_processes,
        "processes_last_third": last_processes,
        # Growth of the server's memory over the last half, as a share of the first sample.
        "server_growth_last_half": (samples[-1].server_mb - half.server_mb) / samples[0].server_mb,
        "workers_after_sessions": sorted(workers_at_end.values()),
        "first_processes": samples[0].processes,
        "final_processes": final.processes,
        "settle_seconds": settle_seconds,
        "workers_outliving_the_server": outlived,
        "tracebacks_in_log": log.count("Traceback"),
        "exception_boxes": sum(p.exceptions for p in people),
        "actions": {p.number: p.done for p in people},
        "failures": [f"session {p.number}: {f}" for p in people for f in p.failures],
    }
    report(summary)
    return summary


def report(summary: dict) -> None:
    def flat(middle: float, last: float, tolerance: float) -> str:
        ratio = last / middle if middle else float("nan")
        return f"ratio {ratio:.2f} ({'flat' if ratio <= 1 + tolerance else 'GROWING'})"

    print()
    print(
        f"server memory: middle third {summary['server_mb_middle_third']:.0f} MB, last third "
        f"{summary['server_mb_last_third']:.0f} MB, "
        + flat(summary["server_mb_middle_third"], summary["server_mb_last_third"], 0.10)
    )
    print(
        f"server + workers memory: middle third {summary['total_mb_middle_third']:.0f} MB, last "
        f"third {summary['total_mb_last_third']:.0f} MB, "
        + flat(summary["total_mb_middle_third"], summary["total_mb_last_third"], 0.25)
    )
    print(
        f"processes: middle third {summary['processes_middle_third']:.1f}, last third "
        f"{summary['processes_last_third']:.1f}, "
        + flat(summary["processes_middle_third"], summary["processes_last_third"], 0.34)
    )
    print(
        f"server memory growth over the last half: {summary['server_growth_last_half']:+.1%} "
        f"of the first sample ({summary['first_server_mb']:.0f} MB)"
    )
    print(
        f"after the sessions ended ({summary['settle_seconds']:.0f} s later): "
        f"{summary['final_processes']} processes (at the start: {summary['first_processes']}), "
        f"workers {summary['workers_after_sessions'] or 'none'}; outliving the server: "
        f"{summary['workers_outliving_the_server'] or 'none'}"
    )
    print(
        f"tracebacks in the server log: {summary['tracebacks_in_log']}; exception boxes seen: "
        f"{summary['exception_boxes']}"
    )
    for number, done in summary["actions"].items():
        print(f"session {number}: {done}")
    for failure in summary["failures"]:
        print(f"FAILED {failure}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long (default 30)")
    parser.add_argument("--sessions", type=int, default=3, help="browser sessions (default 3)")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    options = parser.parse_args(argv)
    summary = soak(options.minutes, options.sessions, options.interval)
    if options.json is not None:
        options.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
