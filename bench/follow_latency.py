"""Browser benchmark of a lecture room: how soon do students' pages show the lecturer's change?

Starts ``streamlit run app.py`` (its own room file), opens one lecturer page and N student
pages in Debian's headless Chromium (each student in its own browser context, so its own
Streamlit session: every follower is a real page that polls, reruns and redraws), opens a
room and joins it. Then, alternately, the lecturer switches page (Kernel Playground ↔
Convolution Arithmetic) and changes a control (the Kernel Playground's row stride).

Each change is timed with one clock (the machine's, ``Date.now()`` in every page): from
the lecturer's key or pointer press to the moment each student's page shows it (the
page's title, or the stride box's value), watched every 10 ms inside each student page.
Prints p50 and p95 over all students and changes, for page changes and for control
changes, for 1 and 30 followers (``--followers 1 30``), with, side by side, when the store
held the change and when the lecturer's own page showed the same page change (a loaded
machine slows every page; what following adds is the difference).

The follow path it measures: the lecturer's polling fragment (every 0.25 s) or the end of
the lecturer's run publishes to the store; each student's polling fragment (every 0.5 s)
sees the new version and reruns the student's page with the lecturer's link.

Run: ``python bench/follow_latency.py [--followers 1 30] [--changes 6]``
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.jobs.room_store import SqliteRoomStore
from tests.browser_helpers import open_browser, running_app, wait_for_app

SIDEBAR = '[data-testid="stSidebar"]'
FOLLOWING_TEXT = "Following the lecturer"
STRIDE_LABEL = "Stride ↓ rows"  # the Kernel Playground's row stride (ui/kernel_playground)
VERBOSE = False
TIMEOUT_S = 120.0  # a student page that has not shown a change by then counts as missed
PAGES = ("Kernel Playground", "Convolution Arithmetic")
# The lecturer's action, stamped inside the lecturer's page.
STOPWATCH = """() => {
    window.__actedAt = 0;
    for (const type of ['keydown', 'pointerdown']) {
        addEventListener(type, () => { window.__actedAt = Date.now(); }, true);
    }
}"""
# Stamps the first moment ``condition`` (a JS expression) holds in a student's page.
WATCH = """(condition) => {
    window.__seenAt = null;
    clearInterval(window.__watcher);
    const holds = new Function('return (' + condition + ');');
    window.__watcher = setInterval(() => {
        let ok = false;
        try { ok = holds(); } catch (error) {}
        if (ok) { window.__seenAt = Date.now(); clearInterval(window.__watcher); }
    }, 10);
}"""


def title_is(title: str) -> str:
    """JS: the page's main title reads ``title``."""
    return f"document.querySelector('h1')?.textContent.trim() === {title!r}"


def input_value_is(label: str, value: str) -> str:
    """JS: the input labelled ``label`` holds ``value``."""
    return (
        f"[...document.querySelectorAll('input')].find("
        f"e => e.getAttribute('aria-label') === {label!r})?.value === {value!r}"
    )


def open_lecture_room(page, app_url: str, *, on_dialog=None) -> str:
    """As the lecturer: open the app, present to a room, return the room's code.

    ``on_dialog(page)`` runs while the dialog with the code and the QR code is open.
    """
    page.goto(app_url)
    wait_for_app(page, 60_000)
    sidebar = page.locator(SIDEBAR)
    sidebar.get_by_text("Lecture room").click()
    sidebar.get_by_role("button", name="Present to a room").click()
    code_box = page.locator('[role="dialog"] .room-code')
    code_box.wait_for(timeout=30_000)
    page.locator('[role="dialog"] img').first.wait_for(timeout=15_000)
    if on_dialog is not None:
        on_dialog(page)
    code = code_box.inner_text().strip()
    page.keyboard.press("Escape")
    code_box.wait_for(state="detached", timeout=10_000)
    sidebar.get_by_text("Presenting to room").wait_for(timeout=10_000)
    return code


def join_room(page, app_url: str, code: str, *, navigate: bool = True) -> None:
    """As a student: open the join link (unless done) and wait until the page follows."""
    if navigate:
        page.goto(f"{app_url}/?room={code}", timeout=180_000)
    page.get_by_text(FOLLOWING_TEXT).first.wait_for(timeout=180_000)


def go_to_page(page, title: str) -> None:
    """The lecturer clicks ``title`` in the sidebar's navigation."""
    page.locator(f'{SIDEBAR} [data-testid="stSidebarNav"] a', has_text=title).first.click()


def set_number(page, label: str, value: str) -> None:
    """The lecturer types ``value`` into the number box ``label`` and presses Enter."""
    box = page.get_by_label(label, exact=True)
    box.scroll_into_view_if_needed()
    box.fill(value)
    box.press("Enter")


class StoreWatch:
    """Stamps (wall clock) each new version of a room as the store holds it."""

    def __init__(self, path: Path, code: str):
        self.store, self.code = SqliteRoomStore(path), code
        self.stamps: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            state = self.store.read_room(self.code)
            if state is not None and state.version not in self.stamps:
                self.stamps[state.version] = time.time()
            time.sleep(0.005)

    def latest(self) -> tuple[int, float]:
        version = max(self.stamps, default=0)
        return version, self.stamps.get(version, 0.0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def timed_change(
    lecturer, students, condition: str, act, *, watch: StoreWatch | None = None, timeout_s=30.0
):
    """Run ``act()`` on the lecturer page; each student's delay (s) until ``condition``.

    A student that has not shown the change after ``timeout_s`` counts as None. With a
    ``watch``, also returns the delay until the store held the change (else None).
    """
    for page in students:
        page.evaluate(WATCH, condition)
    lecturer.evaluate("() => { window.__actedAt = 0; }")
    before = watch.latest()[0] if watch else 0
    act()
    deadline = time.monotonic() + timeout_s
    seen = [None] * len(students)
    while time.monotonic() < deadline and None in seen:
        for index, page in enumerate(students):
            if seen[index] is None:
                seen[index] = page.evaluate("() => window.__seenAt")
        time.sleep(0.05)
    acted = lecturer.evaluate("() => window.__actedAt")
    if VERBOSE:
        print(f"    acted {acted / 1000:.3f}, seen", [at and at / 1000 for at in seen])
    stored = None
    if watch is not None:
        version, at = watch.latest()
        stored = at - acted / 1000.0 if version > before else None
    return [None if at is None else (at - acted) / 1000.0 for at in seen], stored


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(delays: list[float | None]) -> str:
    shown = [d for d in delays if d is not None]
    missed = len(delays) - len(shown)
    if not shown:
        return "no student showed the change"
    text = (
        f"p50 {statistics.median(shown):.2f} s, p95 {percentile(shown, 0.95):.2f} s, "
        f"max {max(shown):.2f} s over {len(shown)}"
    )
    return text + (f" ({missed} missed)" if missed else "")


def measure(app_url: str, followers: int, changes: int, db: Path | None) -> dict[str, list]:
    """Page and control change delays with ``followers`` student pages.

    ``page`` and ``control`` hold the students' delays; ``store page`` and ``store
    control`` the delay until the store held the change (when ``db`` is known);
    ``own page`` the lecturer's own page's delay for the same page change, and ``page
    beyond own`` how much later each student's page showed it than the lecturer's.
    """
    results: dict[str, list] = {
        key: []
        for key in (
            "page",
            "control",
            "store page",
            "store control",
            "own page",
            "page beyond own",
        )
    }
    with open_browser() as browser:
        lecturer = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        code = open_lecture_room(lecturer, app_url)
        watch = StoreWatch(db, code) if db is not None else None
        go_to_page(lecturer, PAGES[0])
        wait_for_app(lecturer, 60_000)
        lecturer.evaluate(STOPWATCH)
        students = [
            browser.new_context(viewport={"width": 1024, "height": 640}).new_page()
            for _ in range(followers)
        ]
        for page in students:  # all pages load at once
            page.goto(f"{app_url}/?room={code}", wait_until="commit", timeout=180_000)
        for page in students:
            join_room(page, app_url, code, navigate=False)
            page.wait_for_function(f"() => {title_is(PAGES[0])}", timeout=180_000)
        time.sleep(2)  # let every page settle
        for change in range(changes):
            title = PAGES[(change + 1) % 2]
            delays, stored = timed_change(
                lecturer,
                [lecturer, *students],
                title_is(title),
                lambda t=title: go_to_page(lecturer, t),
                watch=watch,
                timeout_s=TIMEOUT_S,
            )
            own = delays[0]
            results["own page"].append(own)
            results["page"] += delays[1:]
            results["page beyond own"] += [
                None if d is None or own is None else d - own for d in delays[1:]
            ]
            results["store page"].append(stored)
            wait_for_app(lecturer)
            if title == PAGES[0]:
                stride = str(2 + change % 3)
                delays, stored = timed_change(
                    lecturer,
                    students,
                    input_value_is(STRIDE_LABEL, stride),
                    lambda s=stride: set_number(lecturer, STRIDE_LABEL, s),
                    watch=watch,
                    timeout_s=TIMEOUT_S,
                )
                results["control"] += delays
                results["store control"].append(stored)
                wait_for_app(lecturer)
            time.sleep(1)
        if watch is not None:
            watch.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, nargs="+", default=[1, 30])
    parser.add_argument("--changes", type=int, default=6, help="page changes per run")
    parser.add_argument("--url", help="a running app instead of starting one")
    parser.add_argument("--verbose", action="store_true", help="print every change's times")
    args = parser.parse_args()
    # A stopped benchmark still stops its server and browser.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    global VERBOSE
    VERBOSE = args.verbose
    with contextlib.ExitStack() as stack:
        app_url, db = args.url, None
        if app_url is None:
            db = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "rooms.sqlite3"
            app_url = stack.enter_context(running_app({"CONVSCOPE_ROOMS_DB": str(db)})).url
        for followers in args.followers:
            results = measure(app_url, followers, args.changes, db)
            print(f"{followers} follower{'s' if followers != 1 else ''}:")
            for kind in ("page", "control"):
                print(f"  {kind} change, lecturer → students' pages: {summary(results[kind])}")
                if db is not None:
                    print(f"  {kind} change, lecturer → store: {summary(results['store ' + kind])}")
            print(f"  page change, lecturer → lecturer's own page: {summary(results['own page'])}")
            print(
                "  page change, a student's page after the lecturer's own: "
                f"{summary(results['page beyond own'])}"
            )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
