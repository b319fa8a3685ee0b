"""Benchmark of a lecture room: how soon do students' pages show the lecturer's change?

Starts ``streamlit run app.py`` (its own room file), opens the lecturer's page in Debian's
headless Chromium, opens a room, and lets N students join. Then, alternately, the
lecturer switches page (Kernel Playground ↔ Convolution Arithmetic) and changes a
control (the Kernel Playground's row stride).

Students come in two kinds, both real Streamlit sessions that poll, follow and rerun:

- browser students (``--browsers``, default 1): each a Chromium page in its own browser
  context. "Shows the change" is the first moment the page's title, or the label of the
  popover that holds the stride, reads the new value, watched every 10 ms inside the page
  (``Date.now()``);
- the rest are websocket students (``bench/streamlit_client.py``): the Streamlit
  frontend's own protocol without a browser, polling the room's fragment every time the
  server asks (``auto_rerun``), as the frontend's timer does, but one poll at a time.
  "Shows the change" is the arrival of the element that draws it (the title, or the
  popover labelled with the new stride): what a browser would then paint, less its drawing time.
  30 Chromium pages do not fit a 2-core machine beside the server; these do.

Each change is timed with one clock (the machine's): from the lecturer's key or pointer
press in the lecturer's page. Prints p50 and p95 over all students and changes, for page
changes and control changes, per kind of student, with the changes some student never
showed within ``TIMEOUT_S`` (lost follows), and, side by side, when the store held the
change and when the lecturer's own page showed the same page change (a loaded machine
slows every page; what following adds is the difference).

The follow path it measures: the start of the lecturer's run publishes the page and the
values the browser sent (the end of the run, or the lecturer's polling fragment for a
change inside a page's fragment, publishes what the page then wrote, if different); the
server's room watcher (``ui.room.wake``) reads the room's version every 0.1 s and, on a
change of page or link, starts each following student's full run of the lecturer's page
and link itself, a few students at a time (``FOLLOW_RUNS_AT_ONCE``); a question opened or
revealed reruns the students' polling fragments instead (which otherwise run every
``PUSHED_POLL_SECONDS``, or ``STUDENT_POLL_SECONDS`` where sessions cannot be woken: then
the poll switches the page). Printed too: the full runs of the page each
websocket student made per change (1 is a follow and nothing else).

The machine's load average (1 minute) before and after each measurement is printed with
it: other work on a shared machine slows every page, the lecturer's own included.

``--servers 2`` starts two app processes on one rooms file, as replicas behind a load
balancer with sticky sessions: the lecturer and the browser students on the first, the
websocket students spread over all (one Streamlit process runs every session's script under
one interpreter lock, so a second process is how a server uses a second core).

Run: ``python bench/follow_latency.py [--followers 1 30] [--changes 6] [--browsers 1]
[--servers 1]``;
against an app already running (another checkout, to compare side by side): ``--url URL
--pid PID --rooms-db FILE`` (its process for the CPU figures, its rooms file).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.streamlit_client import StreamlitSession
from core.jobs.room_store import SqliteRoomStore
from tests.browser_helpers import open_browser, running_app

SIDEBAR = '[data-testid="stSidebar"]'
FOLLOWING_TEXT = "Following the lecturer"
STRIDE_LABEL = "Stride ↓ rows"  # the Kernel Playground's row stride (ui/kernel_playground)
SLIDING_POPOVER = ".st-key-kernel-sliding_more"  # the popover that holds it, named by its values
VERBOSE = False
IDLE_S = 10.0  # how long the server's CPU is read while every student only polls
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


def wait_for_app(page, timeout_ms: int = 30_000) -> None:
    """Wait until the page has a title and Streamlit runs no script for it."""
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout_ms)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')""",
        timeout=timeout_ms,
    )
    page.wait_for_timeout(300)


def title_is(title: str) -> str:
    """JS: the page's main title reads ``title``."""
    return f"document.querySelector('h1')?.textContent.trim() === {title!r}"


def stride_shown(rows: str) -> str:
    """JS: the Kernel Playground's sliding options read a row stride of ``rows``.

    The strides sit in a popover whose label names their values ("stride 2×1 · same
    padding · ..."), so a page with the popover shut shows them too.
    """
    return (
        f"[...document.querySelectorAll('{SLIDING_POPOVER} button')]"
        f".some(b => b.innerText.includes('stride {rows}×1 '))"
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
    """The lecturer clicks ``title`` in the sidebar's navigation, whatever is open.

    An open popover inside a page's fragment is shut by that click, and its request to
    rerun the fragment under the page left behind is dropped (``ui/room/stale_runs.py``).
    """
    page.locator(f'{SIDEBAR} [data-testid="stSidebarNav"] a', has_text=title).first.click()


def set_stride(page, rows: str) -> None:
    """The lecturer types ``rows`` into the row stride (opening its popover) and presses Enter."""
    box = page.get_by_label(STRIDE_LABEL, exact=True)
    if not box.is_visible():
        button = page.locator(f"{SLIDING_POPOVER} button").first
        button.scroll_into_view_if_needed()
        button.click()
        box.wait_for(state="visible", timeout=60_000)
    box.fill(rows)
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


def heading_is(title: str):
    """A websocket student's watch: the page's title element reads ``title``."""
    return lambda kind, proto: kind == "heading" and proto.tag == "h1" and proto.body == title


def stride_is(rows: str):
    """A websocket student's watch: the sliding options' popover reads a row stride of ``rows``."""
    return lambda kind, proto: kind == "popover" and f"stride {rows}×1 " in proto.label


class PollingSession(StreamlitSession):
    """A websocket student: also keeps the fragments the server asks to rerun on a timer."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.polls: dict[str, float] = {}  # fragment id -> seconds between reruns
        self.full_runs = 0  # full runs of the page finished (a follow's switch is one)
        self.runs_ended = 0  # runs of any kind that ended (a poll's too, and a switch's)

    def _handle(self, msg, now: float) -> None:
        kind = msg.WhichOneof("type")
        if kind == "script_finished" and msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
            self.full_runs += 1
        if kind == "script_finished":
            self.runs_ended += 1
        if kind == "auto_rerun":
            self.polls[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                self.polls.pop(fragment_id, None)
        super()._handle(msg, now)


class WebsocketStudents:
    """``count`` websocket students in one room, each polling as the frontend does.

    ``arm(match)`` sets what the students wait for; ``seen(generation)`` gives, per
    student, the wall-clock time the element that shows it arrived (None: not yet).
    """

    def __init__(self, app_urls: list[str], code: str, count: int):
        self.app_urls, self.code, self.count = app_urls, code, count
        self._lock = threading.Lock()
        self._generation, self._match = 0, None
        self._seen: dict[int, list[float | None]] = {}
        self.errors: list[str] = []
        self.sessions: list[PollingSession] = []
        self.runs_per_change: list[int] = []  # full runs each student made per change
        self._counted: list[int] | None = None
        self._joined = threading.Semaphore(0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        for _ in range(count):
            if not self._joined.acquire(timeout=600):
                raise TimeoutError("the websocket students did not all join within 10 minutes")

    def count_runs(self) -> None:
        """Add each student's full runs since the last count (one change's follow)."""
        counts = [session.full_runs for session in self.sessions]
        if self._counted is not None:
            self.runs_per_change += [b - a for a, b in zip(self._counted, counts, strict=True)]
        self._counted = counts

    def arm(self, match) -> int:
        self.count_runs()
        with self._lock:
            self._generation += 1
            self._match = match
            self._seen[self._generation] = [None] * self.count
            return self._generation

    def seen(self, generation: int) -> list[float | None]:
        with self._lock:
            return list(self._seen[generation])

    def _arrived(self, index: int, kind: str, proto) -> bool:
        """An element reached student ``index``: is it the change awaited now?

        Checked as it arrives (a poll sent before the change can bring it).
        """
        at = time.time()
        with self._lock:
            seen = self._seen.get(self._generation)
            if seen is not None and seen[index] is None and self._match(kind, proto):
                seen[index] = at
        return False

    async def _main(self) -> None:
        await asyncio.gather(*(self._student(index) for index in range(self.count)))

    async def _student(self, index: int) -> None:
        # The first server also holds the lecturer and the browser students.
        url = self.app_urls[(index + 1) % len(self.app_urls)]
        session = PollingSession(url, timeout=TIMEOUT_S)
        self.sessions.append(session)
        try:
            await session.open("", f"room={self.code}")
            self._joined.release()
            while not self._stop.is_set():
                if not session.polls:
                    raise RuntimeError("the student's page asks for no poll")
                fragment_id, interval = next(reversed(session.polls.items()))
                started = time.perf_counter()
                await session._rerun(
                    fragment_id=fragment_id,
                    watch=lambda kind, proto, i=index: self._arrived(i, kind, proto),
                )
                await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))
        except Exception as error:  # noqa: BLE001 - counted and printed, the others go on
            self.errors.append(f"student {index}: {type(error).__name__}: {error}")
            self._joined.release()
        finally:
            await session.close()

    def stop(self) -> None:
        self.count_runs()
        self._stop.set()
        self._thread.join(timeout=TIMEOUT_S + 10)


def timed_change(
    lecturer,
    students,
    condition: str,
    act,
    *,
    watch: StoreWatch | None = None,
    timeout_s=30.0,
    crowd: WebsocketStudents | None = None,
    element=None,
    pid: int | tuple[int, ...] | None = None,
    cpu: list | None = None,
):
    """Run ``act()`` on the lecturer page; each student's delay (s) until ``condition``.

    ``students`` are browser pages; a ``crowd`` of websocket students waits for
    ``element`` (their delays come after the pages'). A student that has not shown the
    change after ``timeout_s`` counts as None. With a ``watch``, also returns the delay
    until the store held the change (else None).
    """
    for page in students:
        page.evaluate(WATCH, condition)
    generation = crowd.arm(element) if crowd is not None else None
    lecturer.evaluate("() => { window.__actedAt = 0; }")
    before = watch.latest()[0] if watch else 0
    cpu_before = cpu_seconds(pid) if pid is not None else None
    own_before = time.process_time()  # this benchmark's own websocket students
    act()
    deadline = time.monotonic() + timeout_s
    seen = [None] * len(students)
    crowd_seen: list[float | None] = []
    while time.monotonic() < deadline:
        for index, page in enumerate(students):
            if seen[index] is None:
                seen[index] = page.evaluate("() => window.__seenAt")
        if crowd is not None:
            crowd_seen = [None if at is None else at * 1000 for at in crowd.seen(generation)]
        if None not in seen and None not in crowd_seen:
            break
        time.sleep(0.05)
    if cpu_before is not None and cpu is not None:  # the server's work for this change
        cpu.append((cpu_seconds(pid) - cpu_before, time.process_time() - own_before))
    acted = lecturer.evaluate("() => window.__actedAt")
    seen += crowd_seen
    if VERBOSE:
        shown = sorted(round((at - acted) / 1000, 2) for at in seen if at is not None)
        print(f"    acted {acted / 1000:.3f}, delays {shown}, missed {seen.count(None)}")
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


def cpu_seconds(pid: int | tuple[int, ...]) -> float:
    """CPU seconds (user + system) the process ``pid`` (or all of them) used so far (Linux)."""
    total = 0.0
    for one in (pid,) if isinstance(pid, int) else pid:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def idle_load(pid: int | tuple[int, ...] | None, seconds: float = IDLE_S) -> float | None:
    """The server's CPU seconds per wall second while the room is idle (students poll)."""
    if pid is None:
        return None
    start, cpu = time.monotonic(), cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - cpu) / (time.monotonic() - start)


def lost(delays: list[float | None], students: int) -> int:
    """How many changes some student never showed (delays are per change, then student)."""
    return sum(
        None in delays[start : start + students] for start in range(0, len(delays), students)
    )


def measure(
    app_urls: list[str],
    followers: int,
    changes: int,
    db: Path | None,
    browsers: int,
    pid: int | tuple[int, ...] | None = None,
) -> dict[str, list]:
    """Page and control change delays with ``followers`` students, ``browsers`` of them pages.

    ``page`` and ``control`` hold every student's delays (``browser page`` and ``browser
    control`` the browser students' only), change after change; ``store page`` and
    ``store control`` the delay until the store held the change (when ``db`` is known);
    ``own page`` the lecturer's own page's delay for the same page change, and ``page
    beyond own`` how much later each browser student's page showed it; ``idle`` the
    server's CPU seconds per second while the room is idle (when ``pid`` is known).
    The lecturer and the browser students use the first of ``app_urls``.
    """
    app_url = app_urls[0]
    browsers = min(browsers, followers)
    keys = ("page", "control", "browser page", "browser control", "store page")
    keys += ("store control", "own page", "page beyond own", "cpu")
    results: dict[str, list] = {key: [] for key in keys}
    results["load"] = [os.getloadavg()[0]]
    crowd = None
    with open_browser() as browser:
        lecturer = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        code = open_lecture_room(lecturer, app_url)
        watch = StoreWatch(db, code) if db is not None else None
        go_to_page(lecturer, PAGES[0])
        wait_for_app(lecturer, 60_000)
        lecturer.evaluate(STOPWATCH)
        time.sleep(2)
        results["idle alone"] = [idle_load(pid)]  # the lecturer's page only, side by side
        students = [
            browser.new_context(viewport={"width": 1024, "height": 640}).new_page()
            for _ in range(browsers)
        ]
        for page in students:  # all pages load at once
            page.goto(f"{app_url}/?room={code}", wait_until="commit", timeout=180_000)
        for page in students:
            join_room(page, app_url, code, navigate=False)
            page.wait_for_function(f"() => {title_is(PAGES[0])}", timeout=180_000)
        try:
            if followers > browsers:
                crowd = WebsocketStudents(app_urls, code, followers - browsers)
            time.sleep(2)  # let every page settle
            results["idle"] = [idle_load(pid)]
            for change in range(changes):
                title = PAGES[(change + 1) % 2]
                delays, stored = timed_change(
                    lecturer,
                    [lecturer, *students],
                    title_is(title),
                    lambda t=title: go_to_page(lecturer, t),
                    watch=watch,
                    timeout_s=TIMEOUT_S,
                    crowd=crowd,
                    element=heading_is(title),
                    pid=pid,
                    cpu=results["cpu"],
                )
                own = delays[0]
                results["own page"].append(own)
                results["page"] += delays[1:]
                results["browser page"] += delays[1 : browsers + 1]
                results["page beyond own"] += [
                    None if d is None or own is None else d - own for d in delays[1 : browsers + 1]
                ]
                results["store page"].append(stored)
                wait_for_app(lecturer)
                if title == PAGES[0]:
                    stride = str(2 + change % 3)
                    delays, stored = timed_change(
                        lecturer,
                        students,
                        stride_shown(stride),
                        lambda s=stride: set_stride(lecturer, s),
                        watch=watch,
                        timeout_s=TIMEOUT_S,
                        crowd=crowd,
                        element=stride_is(stride),
                        pid=pid,
                        cpu=results["cpu"],
                    )
                    results["control"] += delays
                    results["browser control"] += delays[:browsers]
                    results["store control"].append(stored)
                    wait_for_app(lecturer)
                time.sleep(1)
        finally:
            if crowd is not None:
                crowd.stop()
                results["errors"] = crowd.errors
                results["runs"] = crowd.runs_per_change
            if watch is not None:
                watch.stop()
    results["load"].append(os.getloadavg()[0])
    return results


def report(followers: int, browsers: int, results: dict[str, list], db: Path | None) -> None:
    before, after = results["load"]
    print(
        f"{followers} follower{'s' if followers != 1 else ''} ({browsers} in a browser), "
        f"load average {before:.1f} before, {after:.1f} after:"
    )
    for kind in ("page", "control"):
        delays = results[kind]
        print(f"  {kind} change, lecturer → every student's page: {summary(delays)}")
        print(f"    changes some student never showed: {lost(delays, followers)}")
        if followers > browsers:
            print(f"    browser students only: {summary(results['browser ' + kind])}")
        if db is not None:
            print(f"    lecturer → store: {summary(results['store ' + kind])}")
    print(f"  page change, lecturer → lecturer's own page: {summary(results['own page'])}")
    print(
        "  page change, a browser student's page after the lecturer's own: "
        f"{summary(results['page beyond own'])}"
    )
    if results["idle"][0] is not None:
        print(
            f"  server CPU while the room is idle: {results['idle'][0]:.2f} s per second "
            f"({results['idle alone'][0]:.2f} with the lecturer's page alone)"
        )
    if results["cpu"]:
        cpu = statistics.median(server for server, _ in results["cpu"])
        own = statistics.median(own for _, own in results["cpu"])
        print(
            f"  server CPU from the lecturer's change until every student showed it: p50 "
            f"{cpu:.2f} s ({cpu / followers * 1000:.0f} ms per student); this benchmark's "
            f"own process (its websocket students) used {own:.2f} s of the same cores"
        )
    runs = results.get("runs")
    if runs:
        print(
            f"  full page runs per websocket student per change: mean "
            f"{statistics.mean(runs):.2f}, max {max(runs)} (a follow is one)"
        )
    for error in results.get("errors", []):
        print(f"  error: {error}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, nargs="+", default=[1, 30])
    parser.add_argument("--changes", type=int, default=6, help="page changes per run")
    parser.add_argument("--browsers", type=int, default=1, help="students in a browser page")
    parser.add_argument(
        "--servers", type=int, default=1, help="app processes to start, sharing one rooms file"
    )
    parser.add_argument("--url", help="a running app instead of starting one")
    parser.add_argument("--pid", type=int, help="with --url: its process, for its CPU")
    parser.add_argument("--rooms-db", type=Path, help="with --url: its rooms file")
    parser.add_argument("--verbose", action="store_true", help="print every change's times")
    args = parser.parse_args()
    # A stopped benchmark still stops its server and browser.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    global VERBOSE
    VERBOSE = args.verbose
    with contextlib.ExitStack() as stack:
        app_urls, db, pid = [args.url], args.rooms_db, args.pid
        if args.url is None:
            db = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "rooms.sqlite3"
            servers = [
                stack.enter_context(running_app({"CONVSCOPE_ROOMS_DB": str(db)}))
                for _ in range(max(1, args.servers))
            ]
            app_urls = [server.url for server in servers]
            pid = tuple(server.pid for server in servers)
        if len(app_urls) > 1:
            print(f"{len(app_urls)} app servers on one rooms file")
        for followers in args.followers:
            results = measure(app_urls, followers, args.changes, db, args.browsers, pid)
            report(followers, min(args.browsers, followers), results, db)


if __name__ == "__main__":
    main()
