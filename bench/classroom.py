"""A classroom on one server: N simulated students against one running ``streamlit run app.py``.

No browser per student: each student is a ``bench/streamlit_client.StreamlitSession``, which
speaks the Streamlit frontend's own websocket protocol (``/_stcore/stream``, ``BackMsg`` /
``ForwardMsg``) and fetches every new image over HTTP, as a browser tab does. To the
server each student is one real session: its own session state, script runs, fragments,
media files.

What a student does, round and round until the time is up (students arrive spread over
``--arrive`` seconds, as a class does):

1. opens the Kernel Playground (by its address the first time, by the navigation later);
2. edits a random cell of the kernel grid, waits for the answer, and edits again about every
   ``--interval`` seconds (± ``--jitter``), ``--edits`` times: each edit sends the new text
   with every widget's state and reruns the page's fragment, as the browser would;
3. opens Convolution Arithmetic and steps the window forward (the ▶ button), ``--steps``
   times at the same pace, back to the first position at the end.

A student waits for the answer to one change before the next (a person looks before typing
again), so when the server falls behind, the students slow down with it.

Printed per number of students: edit → new output (from sending the edit until the delta
carrying the new output picture, p50 and p95; also until the script-finished message, and
until the picture itself was fetched), step → finished, page open → finished, errors
(exceptions drawn, error boxes, disconnects, timeouts, failed image fetches), the server's
CPU (its process tree's CPU seconds per wall second, on this many cores) and memory (RSS at
the start, the peak, and 5 s after the students left), and the number of students at which
p95 first passes 1 s (the knee). The client's own CPU is printed too: it shares the machine.

    .venv/bin/python bench/classroom.py                          # 1, 10, 30, 60 students, 60 s each
    .venv/bin/python bench/classroom.py --students 1,5 --seconds 20    # quick
    .venv/bin/python bench/classroom.py --url http://127.0.0.1:8501    # a server already running
    .venv/bin/python bench/classroom.py --json figures.json      # also the figures as JSON
    .venv/bin/python bench/classroom.py --servers 2              # two app processes, students split
    .venv/bin/python bench/classroom.py --linger 130             # memory once the sessions are gone

One Streamlit process runs every session's script under one interpreter lock, so it uses
about one core however many the machine has; ``--servers 2`` starts two app processes and
sends each student to one of them (as sticky sessions behind a load balancer would), to see
what a second process buys on the same machine. A closed tab's session is kept for
``server.disconnectedSessionTTL`` seconds (120) in case it reconnects; ``--linger 130``
prints the memory once those sessions are gone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.streamlit_client import ProtocolError, Run, StreamlitSession  # noqa: E402
from tests.browser_helpers import running_app  # noqa: E402

KERNEL_PAGE, ARITHMETIC_PAGE = "kernel_playground", "convolution_arithmetic"
CELL_KEY = r"kernel\.grid\.\d+\.\d+\.\d+"  # ui/kernel_playground/kernel_editor.py
VIEW_CELL_KEY = r"kernel\.view\.\d+\.\d+"  # its buttons, before a cell is clicked
FORWARD_KEY, FIRST_KEY = r"arith\.stepper\.forward", r"arith\.stepper\.first"  # ui/widgets/stepper
KNEE_S = 1.0
GOAL = (30, 0.5)  # issue 12: 30 students at p95 ≤ 500 ms, no errors
SETTLE_S = 5.0
DATA = ROOT.parent / "shared" / "data"  # the real data sets (CONVSCOPE_DATA_DIR overrides)


def is_output(kind: str, proto) -> bool:
    """The Kernel Playground's output picture (caption "Output — …", ui/widgets/image_view)."""
    return kind == "imgs" and bool(proto.imgs) and proto.imgs[0].caption.startswith("Output")


def output_url(run: Run) -> str | None:
    return next((p.imgs[0].url for _, k, p in run.elements if is_output(k, p)), None)


@dataclass
class Figures:
    """What one phase (one number of students) measured; times in seconds."""

    students: int
    edit_output: list[float] = field(default_factory=list)
    edit_finished: list[float] = field(default_factory=list)
    edit_image: list[float] = field(default_factory=list)
    step_finished: list[float] = field(default_factory=list)
    open_finished: list[float] = field(default_factory=list)
    outputs_changed: int = 0
    exceptions: list[str] = field(default_factory=list)
    error_boxes: list[str] = field(default_factory=list)
    disconnects: list[str] = field(default_factory=list)
    timeouts: int = 0
    media_failures: list[str] = field(default_factory=list)
    auto_reruns_asked: int = 0
    wall_s: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    rss_start_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_after_mb: float = 0.0

    @property
    def errors(self) -> int:
        return (
            len(self.exceptions)
            + len(self.error_boxes)
            + len(self.disconnects)
            + self.timeouts
            + len(self.media_failures)
        )

    def note(self, run: Run, kind: str) -> None:
        """Count what a run drew that is an error."""
        self.exceptions.extend(run.exceptions)
        self.error_boxes.extend(run.error_boxes)
        self.media_failures.extend(run.media_failures)
        if kind == "open":
            self.open_finished.append(run.seconds(run.finished_at))
        elif kind == "step":
            self.step_finished.append(run.seconds(run.finished_at))


# ---------------------------------------------------------------------- the server's process
def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (workers the server started count as the server)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(*pids: int) -> float:
    """User + system CPU seconds of the process trees of ``pids`` (living processes)."""
    total = 0
    for each in (p for pid in pids for p in _tree(pid)):
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(*pids: int) -> float:
    """Resident memory of the process trees of ``pids``, in MB."""
    total = 0
    for each in (p for pid in pids for p in _tree(pid)):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


# ---------------------------------------------------------------------- one student
@dataclass
class Plan:
    interval: float
    jitter: float
    edits: int
    steps: int
    timeout: float
    fetch_media: bool


async def pause(plan: Plan, since: float, rng: random.Random) -> None:
    """Wait until about ``plan.interval`` seconds after ``since`` (a person's pace)."""
    wait = plan.interval * (1 + rng.uniform(-plan.jitter, plan.jitter))
    await asyncio.sleep(max(0.0, since + wait - time.perf_counter()))


async def edit_cell(
    session: StreamlitSession, figures: Figures, rng: random.Random, before: str | None
) -> str | None:
    """Type a new whole number into a random kernel cell; the output picture's address after."""
    cells = session.find(CELL_KEY, "text_input")
    if not cells and session.find(VIEW_CELL_KEY, "button"):  # a click turns them into boxes
        await session.click(session.find(VIEW_CELL_KEY, "button")[0])
        cells = session.find(CELL_KEY, "text_input")
    if not cells:
        raise ProtocolError("the Kernel Playground drew no kernel grid")
    cell = rng.choice(cells)
    old = session.value(cell)
    new = str(rng.choice([v for v in range(-4, 5) if str(v) != old]))
    try:
        run = await session.set_value(cell, new, watch=is_output)
    except TimeoutError:  # counted as an error, and as an edit that never got its answer
        figures.edit_output.append(math.inf)
        figures.edit_finished.append(math.inf)
        raise
    figures.note(run, "edit")
    if run.watched_at is None:
        if not run.exceptions and not run.error_boxes:
            figures.error_boxes.append("an edit drew no output picture")
        return before
    figures.edit_output.append(run.seconds(run.watched_at))
    figures.edit_finished.append(run.seconds(run.finished_at))
    if run.media_done_at is not None:
        figures.edit_image.append(run.seconds(run.media_done_at))
    after = output_url(run)
    figures.outputs_changed += after != before
    return after


async def step(session: StreamlitSession, figures: Figures) -> None:
    forward = session.find(FORWARD_KEY, "button")
    if not forward:
        raise ProtocolError("Convolution Arithmetic drew no step buttons")
    button = forward[0]
    if button.disabled:  # at the last position: back to the first
        button = session.find(FIRST_KEY, "button")[0]
    figures.note(await session.click(button), "step")


async def student(
    base_url: str, plan: Plan, figures: Figures, start_at: float, stop_at: float, seed: int
) -> None:
    """One student's lecture: Kernel Playground edits, then Convolution Arithmetic steps."""
    rng = random.Random(seed)
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    session: StreamlitSession | None = None
    while time.perf_counter() < stop_at:
        try:
            if session is None:
                session = StreamlitSession(base_url, fetch_media=plan.fetch_media)
                session.timeout = plan.timeout
                run = await session.open(KERNEL_PAGE, watch=is_output)
            else:
                run = await session.navigate(KERNEL_PAGE, watch=is_output)
            figures.note(run, "open")
            shown = output_url(run)
            for _ in range(plan.edits):
                started = time.perf_counter()
                if started >= stop_at:
                    break
                shown = await edit_cell(session, figures, rng, shown)
                await pause(plan, started, rng)
            if time.perf_counter() >= stop_at:
                break
            figures.note(await session.navigate(ARITHMETIC_PAGE), "open")
            for _ in range(plan.steps):
                started = time.perf_counter()
                if started >= stop_at:
                    break
                await step(session, figures)
                await pause(plan, started, rng)
        except TimeoutError:
            figures.timeouts += 1
            session = await _drop(session)
        except (ProtocolError, OSError) as error:
            figures.disconnects.append(str(error))
            session = await _drop(session)
    if session is not None:
        figures.auto_reruns_asked += session.auto_reruns_asked
        await session.close()


async def _drop(session: StreamlitSession | None) -> None:
    """Close a session that went wrong; the student starts again in a new tab."""
    if session is not None:
        with contextlib.suppress(Exception):
            await session.close()
    await asyncio.sleep(0.5)


# ---------------------------------------------------------------------- one phase
async def phase(
    urls: list[str], pids: list[int], students: int, seconds: float, arrive: float, plan: Plan
) -> Figures:
    """``students`` students for ``seconds``; student i uses server i mod len(urls) (sticky)."""
    figures = Figures(students)
    start = time.perf_counter()
    arrive = min(arrive, seconds / 2)
    stop_at = start + arrive + seconds
    rss_samples: list[float] = []
    cpu0, client0 = cpu_seconds(*pids), time.process_time()
    figures.rss_start_mb = rss_mb(*pids)

    async def sample_memory() -> None:
        while pids:
            rss_samples.append(rss_mb(*pids))
            await asyncio.sleep(1.0)

    sampler = asyncio.create_task(sample_memory())
    rng = random.Random(students)
    await asyncio.gather(
        *(
            student(urls[i % len(urls)], plan, figures, start + rng.uniform(0, arrive), stop_at, i)
            for i in range(students)
        )
    )
    figures.wall_s = time.perf_counter() - start
    figures.server_cpu_s = cpu_seconds(*pids) - cpu0
    figures.client_cpu_s = time.process_time() - client0
    sampler.cancel()
    if pids:
        figures.rss_peak_mb = max(rss_samples or [figures.rss_start_mb])
        await asyncio.sleep(SETTLE_S)
        figures.rss_after_mb = rss_mb(*pids)
    return figures


async def released(urls: list[str], pids: list[int], linger: float) -> float:
    """RSS once the class has left and Streamlit has let its sessions go.

    A closed tab's session is kept ``server.disconnectedSessionTTL`` seconds (120 by
    default) for a reconnect and dropped at the next disconnect after that: wait
    ``linger`` seconds, then open and close one tab on every server.
    """
    await asyncio.sleep(linger)
    for url in urls:
        session = StreamlitSession(url, timeout=120)
        await session.open(KERNEL_PAGE)
        await session.close()
    await asyncio.sleep(SETTLE_S)
    return rss_mb(*pids)


# ---------------------------------------------------------------------- report
def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank) in seconds, ``None`` without values.

    >>> percentile([0.1, 0.2, 0.3, 0.4], 50), percentile([0.1, 0.2, 0.3, 0.4], 95)
    (0.2, 0.4)
    """
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def ms(value: float | None) -> str:
    """Seconds as whole milliseconds; "never" for an edit that timed out.

    >>> ms(0.1234), ms(None), ms(math.inf)
    ('123', '–', 'never')
    """
    if value is None:
        return "–"
    return "never" if math.isinf(value) else f"{value * 1000:.0f}"


ERROR_LISTS = ("exceptions", "error_boxes", "disconnects", "media_failures")
COUNTED = (*ERROR_LISTS, "timeouts", "auto_reruns_asked", "wall_s", "server_cpu_s", "client_cpu_s")
COUNTED += ("rss_start_mb", "rss_peak_mb", "rss_after_mb")


def summary(f: Figures) -> dict:
    """The figures of one phase, as printed and as written to ``--json``."""
    return {
        "students": f.students,
        "edits": len(f.edit_output),
        "outputs_changed": f.outputs_changed,
        "edit_output_p50_s": percentile(f.edit_output, 50),
        "edit_output_p95_s": percentile(f.edit_output, 95),
        "edit_finished_p95_s": percentile(f.edit_finished, 95),
        "edit_image_p95_s": percentile(f.edit_image, 95),
        "steps": len(f.step_finished),
        "step_p50_s": percentile(f.step_finished, 50),
        "step_p95_s": percentile(f.step_finished, 95),
        "opens": len(f.open_finished),
        "open_p95_s": percentile(f.open_finished, 95),
        "errors": f.errors,
        "server_cores": f.server_cpu_s / f.wall_s if f.wall_s else None,
        "client_cores": f.client_cpu_s / f.wall_s if f.wall_s else None,
        **{k: len(v) if k in ERROR_LISTS else v for k, v in asdict(f).items() if k in COUNTED},
        "error_samples": (f.exceptions + f.error_boxes + f.disconnects + f.media_failures)[:5],
    }


HEADER = (
    f"{'N':>4} {'edits':>6} {'out p50':>8} {'out p95':>8} {'fin p95':>8} {'img p95':>8}"
    f" {'step p95':>9} {'open p95':>9} {'exc/box/disc/tmo/img':>21} {'server CPU':>11}"
    f" {'client':>7} {'RSS start/peak/after MB':>24}"
)


def line(s: dict) -> str:
    errors = "/".join(
        str(s[k])
        for k in ("exceptions", "error_boxes", "disconnects", "timeouts", "media_failures")
    )
    cores = (
        "–" if s["server_cores"] is None or not s["server_cpu_s"] else f"{s['server_cores']:.2f}"
    )
    rss = f"{s['rss_start_mb']:.0f}/{s['rss_peak_mb']:.0f}/{s['rss_after_mb']:.0f}"
    return (
        f"{s['students']:>4} {s['edits']:>6} {ms(s['edit_output_p50_s']):>8}"
        f" {ms(s['edit_output_p95_s']):>8} {ms(s['edit_finished_p95_s']):>8}"
        f" {ms(s['edit_image_p95_s']):>8} {ms(s['step_p95_s']):>9} {ms(s['open_p95_s']):>9}"
        f" {errors:>21} {cores:>11} {s['client_cores']:>7.2f} {rss:>24}"
    )


def verdicts(rows: list[dict]) -> list[str]:
    knee = next((r for r in rows if (r["edit_output_p95_s"] or 0) > KNEE_S), None)
    below = [r["students"] for r in rows if knee is None or r["students"] < knee["students"]]
    said = [
        f"edit → output p95 passes {KNEE_S:g} s at N = {knee['students']}"
        + (f" (under it at N = {max(below)})" if below else "")
        if knee
        else f"edit → output p95 stays under {KNEE_S:g} s up to N = {rows[-1]['students']}"
    ]
    with_errors = [r["students"] for r in rows if r["errors"]]
    if with_errors:
        said.append(f"errors at N = {', '.join(map(str, with_errors))}")
    goal = next((r for r in rows if r["students"] == GOAL[0]), None)
    if goal is not None:
        held = (goal["edit_output_p95_s"] or 0) <= GOAL[1] and not goal["errors"]
        said.append(
            f"goal ({GOAL[0]} students, p95 ≤ {GOAL[1] * 1000:.0f} ms, no errors): "
            + ("held" if held else "missed")
            + f" (p95 {ms(goal['edit_output_p95_s'])} ms, {goal['errors']} errors)"
        )
    return said


# ---------------------------------------------------------------------- one student's cost
async def solo_costs(base_url: str, pid: int, repeats: int = 20) -> dict[str, float]:
    """Server CPU seconds per kernel edit, per step and per page open, one student alone.

    CPU time, unlike latency, barely depends on what else the machine runs: this is the
    figure to compare before and after a change on a shared machine.
    """
    session = StreamlitSession(base_url, timeout=120)
    figures, rng, costs = Figures(1), random.Random(0), {}
    try:
        await session.open(KERNEL_PAGE)
        await session.navigate(ARITHMETIC_PAGE)
        before = cpu_seconds(pid)
        for _ in range(repeats // 4):
            await session.navigate(KERNEL_PAGE)
            await session.navigate(ARITHMETIC_PAGE)
        costs["open"] = (cpu_seconds(pid) - before) / (2 * (repeats // 4))
        before = cpu_seconds(pid)
        for _ in range(repeats):
            await step(session, figures)
        costs["step"] = (cpu_seconds(pid) - before) / repeats
        await session.navigate(KERNEL_PAGE)
        shown, before = None, cpu_seconds(pid)
        for _ in range(repeats):
            shown = await edit_cell(session, figures, rng, shown)
        costs["edit"] = (cpu_seconds(pid) - before) / repeats
    finally:
        await session.close()
    if figures.errors:
        raise ProtocolError(f"errors while measuring one student: {summary(figures)}")
    return costs


# ---------------------------------------------------------------------- main
def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", default="1,10,30,60", help="numbers of students, e.g. 1,5")
    parser.add_argument("--seconds", type=float, default=60, help="seconds per number")
    parser.add_argument("--arrive", type=float, default=10, help="students arrive over this")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between changes")
    parser.add_argument("--jitter", type=float, default=0.3, help="± share of the interval")
    parser.add_argument("--edits", type=int, default=8, help="kernel edits per visit")
    parser.add_argument("--steps", type=int, default=5, help="arithmetic steps per visit")
    parser.add_argument("--timeout", type=float, default=15, help="a change unanswered → error")
    parser.add_argument("--no-media", action="store_true", help="do not fetch the images")
    parser.add_argument(
        "--url", action="append", help="a running server (repeat for several; CPU not measured)"
    )
    parser.add_argument(
        "--servers", type=int, default=1, help="app servers to start (students split among them)"
    )
    parser.add_argument(
        "--linger", type=float, default=0, help="then wait this long: memory once sessions go"
    )
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    return parser.parse_args(argv)


async def run_phases(args, urls: list[str], pids: list[int]) -> tuple[dict, list[dict]]:
    plan = Plan(args.interval, args.jitter, args.edits, args.steps, args.timeout, not args.no_media)
    counts = [int(n) for n in args.students.split(",")]
    rows, extra = [], {}
    # One student opens the pages first, so the servers' first-run imports are not timed.
    for url in urls:
        warm = StreamlitSession(url, timeout=120)
        await warm.open(KERNEL_PAGE)
        await warm.navigate(ARITHMETIC_PAGE)
        await warm.close()
    if pids:
        costs = extra["solo_cpu_s"] = await solo_costs(urls[0], pids[0])
        print(
            "server CPU per change, one student alone: "
            + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in costs.items()),
            flush=True,
        )
    print(HEADER, flush=True)
    for count in counts:
        figures = await phase(urls, pids, count, args.seconds, args.arrive, plan)
        rows.append(summary(figures))
        print(line(rows[-1]), flush=True)
        for sample in dict.fromkeys(rows[-1]["error_samples"]):
            print(f"      error: {sample[:300]}", flush=True)
    if args.linger and pids:
        after = await released(urls, pids, args.linger)
        extra["rss_released_mb"] = after
        print(f"RSS {args.linger:g} s after the last student left: {after:.0f} MB", flush=True)
    return extra, rows


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # A plain kill still stops the server this started (the context managers below run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(
        f"{os.cpu_count()} cores, {args.servers if not args.url else len(args.url)} server(s), "
        f"load average {os.getloadavg()[0]:.1f} at the start; "
        f"times in ms; every student: {args.edits} kernel edits, then {args.steps} steps, "
        f"one change every {args.interval:g} s ± {args.jitter:.0%}",
        flush=True,
    )
    with contextlib.ExitStack() as stack:
        urls, pids = list(args.url or []), []
        if not urls:  # replicas share the runs, models and rooms, as behind a load balancer
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            env = {
                "CONVSCOPE_DATA_DIR": os.environ.get("CONVSCOPE_DATA_DIR", str(DATA)),
                "CONVSCOPE_RUNS_DIR": str(folder / "runs"),
                "CONVSCOPE_MODELS_DIR": str(folder / "models"),
                "CONVSCOPE_ROOMS_DB": str(folder / "rooms.sqlite3"),
            }
            for _ in range(args.servers):
                server = stack.enter_context(running_app(env, timeout_s=120))
                urls.append(server.url)
                pids.append(server.pid)
        extra, rows = asyncio.run(run_phases(args, urls, pids))
    for said in verdicts(rows):
        print(said)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        args.json.write_text(json.dumps({**extra, "phases": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
