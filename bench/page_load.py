"""First paint of every page, next to a bare Streamlit page with one image (issue 12).

Starts ``streamlit run app.py`` and, on another port, ``bench/page_load_reference.py`` (a
bare page with one image). After one visit of the home page (the
app's first run, which starts the inference worker) it waits ``--up-s`` seconds, as a
server in use has been up a while. For each page it then makes one cold visit (the server's
first run of that page: its imports; Inspect's model; printed apart), then
``--rounds`` rounds that each visit the reference and the page in turn, each in a fresh
headless Chromium context (nothing cached, a new Streamlit session).

A visit has settled when Streamlit has run the script and is not running it (the app's
``data-test-script-state``, no running indicator), the main area shows content and no
placeholder, and nothing in the page has changed for ``QUIET_MS`` (no DOM change, no image
loading): its time is that of the last change, from the start of navigation, read in the
page. The ratio of the page's median to the reference's median measured in the same rounds
is the figure to watch (target: at most 1.5×); absolute times on a shared machine say little.

Beside the time it prints what the browser spent it on (Chrome's own counters through the
DevTools protocol, medians over the rounds): script, layout and style time, DOM elements,
Plotly figures (and how many of them are hidden, in a closed tab or expander), pictures, and
the CPU time of the visit's renderer process with its ratio to the reference's. Script, layout
and style are wall-clock times of the main thread, which grow with every other process on a
shared machine; the renderer's CPU time much less (single visits within about 5 % at load 20,
medians of two runs within 0.1× at load 30, where the settle ratios moved by 0.5×), so it is
the figure to compare changes by when the machine is busy; the settle ratio stays the goal.

With ``--shell`` it also times ``shell``: a throwaway copy of the app (in a temporary folder)
whose home page is the reference page itself, so the difference from the reference is what the
app's shell costs (the sidebar's navigation, presentation switch and lecture room, the CSS).

With ``--before DIR`` (an older checkout, e.g. ``git archive <commit> | tar -x -C DIR``)
each round also visits that app's page, so the ratio before and after a change is measured
side by side too. ``--before . --before-options=--server.fileWatcherType=auto`` times this
app with Streamlit's file watcher on, as it ran before its config turned the watcher off.

Run: ``python bench/page_load.py [--rounds 5] [--pages pooling,inspect_network]
[--before DIR] [--profile] [--shell]``
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser_helpers import free_port, open_browser

# Every page of navigation.py, by its address.
PAGES = {
    "home": "/",
    "pixels_channels": "/pixels_channels",
    "kernel_playground": "/kernel_playground",
    "convolution_arithmetic": "/convolution_arithmetic",
    "pooling": "/pooling",
    "backpropagation": "/backpropagation",
    "train_cnn": "/train_cnn",
    "inspect_network": "/inspect_network",
    "architectures": "/architectures",
}

TARGET_RATIO = 1.5

QUIET_MS = 800

VIEWPORT = {"width": 1400, "height": 900}

# Installed before the page's own scripts: notes the time of every change to the page.
WATCH = """() => {
    window.__lastChange = 0;
    const mark = () => { window.__lastChange = performance.now(); };
    addEventListener('load', mark, true);  // pictures (capture: load does not bubble)
    addEventListener('DOMContentLoaded', () => {
        new MutationObserver(mark).observe(document.body, {
            subtree: true, childList: true, attributes: true, characterData: true,
        });
    });
}"""

SETTLED = f"""() => {{
    const app = document.querySelector('[data-testid="stApp"]');
    // 'initial' until the first run has started; skeletons stand for elements still coming.
    const running = document.querySelector('[data-testid="stStatusWidget"]')
        || !app || app.getAttribute('data-test-script-state') !== 'notRunning'
        || document.querySelector('[data-testid="stMain"] [data-testid="stSkeleton"]');
    const content = document.querySelector(
        '[data-testid="stMain"] [data-testid="stElementContainer"]');
    const busy = [...document.images].some(image => !image.complete);
    return !running && content && !busy && performance.now() - window.__lastChange > {QUIET_MS};
}}"""

COUNTS = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    return {
        elements: document.getElementsByTagName('*').length,
        main_elements: main ? main.getElementsByTagName('*').length : 0,
        plotly: plots.length,
        plotly_hidden: plots.filter(plot => plot.offsetParent === null).length,
        plotly_hidden_keys: plots.filter(plot => plot.offsetParent === null).map(plot => {
            const keyed = plot.closest('[class*="st-key-"]');
            return keyed ? [...keyed.classList].find(c => c.startsWith('st-key-')) : '?';
        }),
        images: document.images.length,
        iframes: document.querySelectorAll('iframe').length,
        settled_ms: window.__lastChange,
        kinds: [...document.querySelectorAll(
            '[data-testid="stMain"] [data-testid="stElementContainer"] > [data-testid]')]
            .map(element => element.getAttribute('data-testid')),
    };
}"""

# Chrome's counters (seconds) that say where the time went.
CDP_METRICS = {
    "script": "ScriptDuration",
    "layout": "LayoutDuration",
    "style": "RecalcStyleDuration",
    "tasks": "TaskDuration",
}


SERVER_PIDS: dict[str, int] = {}  # a started server's URL → its process id


@contextlib.contextmanager
def streamlit_server(script: Path, root: Path = ROOT, options: tuple[str, ...] = ()):
    """``streamlit run script`` from ``root`` on a free port, with Streamlit ``options`` after
    those of the folder's config; yields its URL (its process id: ``SERVER_PIDS[url]``)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.setdefault("CONVSCOPE_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.headless=true",
            f"--server.port={port}",
            "--server.address=127.0.0.1",
            "--browser.gatherUsageStats=false",
            *options,
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so its workers end with it
    )
    url = f"http://127.0.0.1:{port}"
    SERVER_PIDS[url] = process.pid
    try:
        for _ in range(300):
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2),
            ):
                break
            if process.poll() is not None:
                raise RuntimeError(f"streamlit did not start {script}")
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def shell_copy(root: Path, into: Path) -> Path:
    """A throwaway copy of the app at ``root`` whose home page is the reference page.

    Timed like a page (``--shell``), it shows what the shell every page shares costs.
    """
    shutil.copytree(
        root,
        into,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "runs", "test-artifacts", "__pycache__", "*.sqlite3", "tests", "docs"
        ),
    )
    bare = (ROOT / "bench" / "page_load_reference.py").read_text()
    config = 'st.set_page_config(page_title="Reference", layout="wide")\n'
    assert config in bare, "the reference page's set_page_config line changed"
    (into / "app_pages" / "home.py").write_text(bare.replace(config, ""))
    return into


def processes(system) -> dict[int, tuple[str, float]]:
    """Chrome's processes (a browser-level CDP session): id → (type, CPU seconds so far)."""
    info = system.send("SystemInfo.getProcessInfo")["processInfo"]
    return {p["id"]: (p["type"], p["cpuTime"]) for p in info}


def script_time_by_file(profile: dict) -> collections.Counter:
    """Milliseconds of JavaScript run per script file, from a CDP CPU profile's samples."""
    files = {}
    for node in profile["nodes"]:
        url = node["callFrame"]["url"]
        files[node["id"]] = (
            url.rsplit("/", 1)[-1].split("?")[0] or node["callFrame"]["functionName"]
        )
    spent = collections.Counter()
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        spent[files.get(node_id) or "(other)"] += delta / 1e3
    return spent


def visit(browser, url: str, timeout_ms: int, *, profile: bool = False) -> dict:
    """Open ``url`` in a fresh context; return its settle time (ms), counts and CDP figures.

    With ``profile``, also the JavaScript time per script file (``"profile"``). ``"cpu"``:
    CPU milliseconds of the renderer processes the visit started (its page).
    """
    system = browser.new_browser_cdp_session()
    before = processes(system)
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.add_init_script(f"({WATCH})()")
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        if profile:
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
            cdp.send("Profiler.start")
        page.goto(url)
        try:
            page.wait_for_function(SETTLED, timeout=timeout_ms, polling=100)
            settled = True
        except PlaywrightTimeoutError:  # still changing (a live chart?): counted as the limit
            settled = False
        result = page.evaluate(COUNTS)
        result["cpu"] = 1e3 * sum(
            cpu
            for pid, (kind, cpu) in processes(system).items()
            if kind == "renderer" and pid not in before
        )
        if not settled:
            result["settled_ms"], result["unsettled"] = float(timeout_ms), True
        if page.query_selector('[data-testid="stException"]'):
            result["error"] = True
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        for name, key in CDP_METRICS.items():
            result[name] = metrics.get(key, 0.0) * 1e3
        if profile:
            result["profile"] = script_time_by_file(cdp.send("Profiler.stop")["profile"])
        return result
    finally:
        context.close()
        system.detach()


def element_kinds(kinds: list[str], top: int = 6) -> str:
    """The most frequent kinds of element in the main area, e.g. ``stMarkdown×12``.

    >>> element_kinds(["stMarkdown", "stImage", "stMarkdown"])
    'stMarkdown×2 stImage×1'
    """
    counts = collections.Counter(kinds).most_common(top)
    return " ".join(f"{kind}×{count}" for kind, count in counts)


def median_of(visits: list[dict], key: str) -> float:
    return statistics.median(v[key] for v in visits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="reference/page pairs per page")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated page names")
    parser.add_argument(
        "--profile", action="store_true", help="also the script time per file of each page"
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout of the app (e.g. `git archive` of an older commit): its pages "
        "are timed in the same rounds, for a before/after ratio",
    )
    parser.add_argument(
        "--before-options",
        default="",
        help="Streamlit options for the --before server, e.g. "
        "'--server.fileWatcherType=auto' with `--before .`: what a setting of this app's "
        "config saves",
    )
    parser.add_argument(
        "--up-s",
        type=float,
        default=60.0,
        help="seconds the servers run before the first page is timed (the inference worker "
        "starts with the server and takes tens of seconds)",
    )
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds per visit")
    parser.add_argument(
        "--shell",
        action="store_true",
        help="also time the reference page inside a throwaway copy of the app: the shell's cost",
    )
    args = parser.parse_args()
    names = [name.strip() for name in args.pages.split(",") if name.strip()]
    unknown = sorted(set(names) - set(PAGES))
    if unknown:
        parser.error(f"unknown pages {unknown}; known: {', '.join(PAGES)}")
    timeout_ms = int(args.timeout * 1e3)

    with contextlib.ExitStack() as stack:
        app = stack.enter_context(streamlit_server(ROOT / "app.py"))
        reference = stack.enter_context(streamlit_server(ROOT / "bench" / "page_load_reference.py"))
        before = None
        if args.before:
            before = stack.enter_context(
                streamlit_server(
                    args.before / "app.py",
                    args.before.resolve(),
                    tuple(args.before_options.split()),
                )
            )
        # name → (its address, the same in the older checkout or None)
        targets = {name: (app + PAGES[name], before and before + PAGES[name]) for name in names}
        shells = []
        if args.shell:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="shell-")))
            copies = [shell_copy(ROOT, folder / "app")]
            copies += [shell_copy(args.before, folder / "before")] if before else []
            shells = [stack.enter_context(streamlit_server(c / "app.py", c)) for c in copies]
            targets = {"shell": (shells[0] + "/", before and shells[1] + "/"), **targets}
        browser = stack.enter_context(open_browser())
        visit(browser, reference, timeout_ms)  # the reference server's first run
        for url in filter(None, (app, before, *shells)):
            visit(browser, url, timeout_ms)  # the app's first run starts its worker
        time.sleep(args.up_s)  # pages are timed on servers that have been up a while
        print(
            f"{args.rounds} rounds per page, each a fresh context; medians "
            f"(load average {os.getloadavg()[0]:.1f})"
        )
        header = (
            f"{'page':24s} {'cold ms':>8s} {'page ms':>8s} {'ref ms':>7s} {'ratio':>6s}"
            f" {'script':>7s} {'layout':>7s} {'style':>6s} {'cpu×':>5s} {'nodes':>6s}"
            f" {'plotly':>7s} {'images':>6s}" + ("  before: cold ms, ratio, cpu×" if before else "")
        )
        print(header)
        worst, all_references = 0.0, []
        for name, (url, old_url) in targets.items():
            cold = visit(browser, url, timeout_ms)
            old_cold = visit(browser, old_url, timeout_ms) if before else None
            pages, references, olds = [], [], []
            for _ in range(args.rounds):
                references.append(visit(browser, reference, timeout_ms))
                pages.append(visit(browser, url, timeout_ms))
                if before:
                    olds.append(visit(browser, old_url, timeout_ms))
            all_references += references
            ours, ref = median_of(pages, "settled_ms"), median_of(references, "settled_ms")
            ref_cpu = median_of(references, "cpu") or 1.0
            if name != "shell":
                worst = max(worst, ours / ref)
            last = pages[-1]
            print(
                f"{name:24s} {cold['settled_ms']:8.0f} {ours:8.0f} {ref:7.0f} {ours / ref:6.2f}"
                f" {median_of(pages, 'script'):7.0f} {median_of(pages, 'layout'):7.0f}"
                f" {median_of(pages, 'style'):6.0f} {median_of(pages, 'cpu') / ref_cpu:5.2f}"
                f" {last['elements']:6d}"
                f" {last['plotly']:>3d}/{last['plotly_hidden']:<3d} {last['images']:6d}"
                + (
                    f"  {old_cold['settled_ms']:8.0f} {median_of(olds, 'settled_ms') / ref:6.2f}"
                    f" {median_of(olds, 'cpu') / ref_cpu:5.2f}"
                    f" ({olds[-1]['plotly']}/{olds[-1]['plotly_hidden']} Plotly)"
                    if before
                    else ""
                )
                + ("  (error shown)" if any(v.get("error") for v in pages) else "")
                + ("  (did not settle)" if any(v.get("unsettled") for v in pages) else ""),
            )
            print(f"{'':24s} {element_kinds(last['kinds'])}", flush=True)
            if args.profile:
                spent = visit(browser, url, timeout_ms, profile=True)["profile"]
                files = " ".join(f"{name} {ms:.0f}" for name, ms in spent.most_common(6))
                print(f"{'':24s} script ms by file: {files}", flush=True)
                if last["plotly_hidden_keys"]:
                    print(f"{'':24s} hidden Plotly: {' '.join(last['plotly_hidden_keys'])}")
        print(
            f"reference page: script {median_of(all_references, 'script'):.0f} ms, "
            f"renderer CPU {median_of(all_references, 'cpu'):.0f} ms, "
            f"{all_references[-1]['elements']} nodes"
        )
        print(
            f"worst page / reference: {worst:.2f}×  (target <= {TARGET_RATIO}×); "
            "script/layout/style: ms of the browser's main thread; cpu×: the renderer's CPU "
            "time / the reference's; plotly: figures/hidden"
        )


if __name__ == "__main__":
    main()
