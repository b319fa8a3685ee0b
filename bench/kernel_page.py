"""Browser benchmark of the Kernel Playground: how fast does the output follow a kernel edit?

Starts ``streamlit run app.py`` (as tests/browser.py does), opens the Kernel
Playground on a 512×512 colour photo (astronaut, "same kernel on R, G, B") in
headless Chromium, then edits one kernel cell 20 times. Each edit is timed
inside the page, from the Enter key that commits the cell until the output
picture in the page has changed (its ``src`` URL is replaced). Prints every
time and the median.

Target (issue 3): well under 250 ms per change on the 2-core machine.

Absolute times on a shared machine say little, so ``--baseline`` also times
the same edit on a bare Streamlit page (the same grid of text boxes, one small
image, no computation) under the same conditions: the difference is what the Kernel
Playground itself costs. ``--controls`` also times the other kinds of
control (number inputs, radio, toggle, ◀ ▶ buttons) the same way: the target
is for any control.

Run: ``python bench/kernel_page.py [--edits 20] [--baseline] [--controls] [--url URL]``
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser_helpers import free_port, open_browser, reveal, running_app, wait_for_app

# "abs": the output mapping steps to its neighbours, "clip" and back, two different pictures.
PAGE_QUERY = "/kernel_playground?img=photo%3Aastronaut.png&color=per_channel&map=abs"
OUTPUT_SRC = """() => {
    const figure = [...document.querySelectorAll('[data-testid="stImage"]')]
        .find(e => e.innerText.startsWith('Output'));
    return figure ? figure.querySelector('img').src : null;
}"""
OUTPUT_CHANGED = f"(before) => {{ const now = ({OUTPUT_SRC})(); return now && now !== before; }}"
# Timed inside the page, so Playwright's own delays do not count: from the last key press or
# pointer press (the user's action) to the moment the output picture's address changes.
STOPWATCH = """() => {
    window.__lastInput = 0;
    for (const type of ['keydown', 'pointerdown']) {
        addEventListener(type, () => { window.__lastInput = performance.now(); }, true);
    }
}"""
WATCH_OUTPUT = f"""(before) => {{
    window.__outputChangedAfter = null;
    const observer = new MutationObserver(() => {{
        const now = ({OUTPUT_SRC})();
        if (now && now !== before) {{
            window.__outputChangedAfter = performance.now() - window.__lastInput;
            observer.disconnect();
        }}
    }});
    observer.observe(document.body, {{subtree: true, childList: true, attributes: true}});
}}"""
GRID_INPUTS = ".st-key-kernel-grid input"  # the kernel's cells, row by row (ui/kernel_editor.py)


GRID_BUTTONS = ".st-key-kernel-grid button"  # the cells before one is clicked (ui/kernel_editor.py)


def edit_kernel_cell(page, row: int, col: int, text: str, *, columns: int = 3) -> None:
    """Type ``text`` into a cell of the kernel grid (Enter then commits it).

    The Kernel Playground shows the cells as buttons until one is clicked; the click
    turns them into text boxes, the clicked one holding the cursor.
    """
    cell = page.locator(GRID_INPUTS).nth(row * columns + col)
    if not page.locator(GRID_INPUTS).count():
        page.locator(GRID_BUTTONS).nth(row * columns + col).click()
        cell.wait_for(timeout=60_000)
    cell.scroll_into_view_if_needed()
    cell.fill(text)


BARE_PAGE = """
import cv2, numpy as np, streamlit as st

st.set_page_config(layout="wide")
columns = st.columns(3)
total = 0.0
with columns[1], st.container(key="kernel.grid"):
    for r, row_values in enumerate([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]):
        row = st.container(horizontal=True)
        for c, value in enumerate(row_values):
            text = row.text_input(f"Row {r}, column {c}", str(value), key=f"cell.{r}.{c}",
                                  label_visibility="collapsed", width=64)
            total += float(text)
ok, png = cv2.imencode(".png", np.full((64, 64), int(total * 20) % 255, np.uint8))
st.image(png.tobytes(), caption="Output", output_format="PNG")
"""


@contextlib.contextmanager
def bare_app():
    """A minimal Streamlit page with the same kernel grid and an image that follows it."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "bare.py"
        script.write_text(BARE_PAGE)
        port = free_port()
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
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                with (
                    contextlib.suppress(OSError),
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=2),
                ):
                    break
                time.sleep(0.3)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def open_page(browser, base_url: str, page_path: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.add_init_script(f"({STOPWATCH})()")
    page.goto(base_url)  # the home page first, so the app's navigation is set up
    wait_for_app(page, 60_000)
    if page_path:
        page.goto(base_url + page_path)
        wait_for_app(page, 60_000)
    return page


def time_changes(page, edits: int, prepare) -> list[float]:
    """Milliseconds until the output picture changes, for ``edits`` changes of one control.

    ``prepare(page, index)`` gets the control ready (types, opens a list) and
    returns the action that commits the change; only that action is timed.
    """
    times = []
    for index in range(edits):
        commit = prepare(page, index)
        page.evaluate(WATCH_OUTPUT, page.evaluate(OUTPUT_SRC))
        commit()
        page.wait_for_function("() => window.__outputChangedAfter !== null", timeout=15_000)
        times.append(page.evaluate("window.__outputChangedAfter"))
        wait_for_app(page)
    return times


def kernel_cell(page, index):
    edit_kernel_cell(page, 1, 1, str(index % 2 + 1 + index / 100))
    return lambda: page.keyboard.press("Enter")


SLIDING_MORE = "kernel.sliding_more"  # the popover that holds padding … ReLU


def shown(page, key: str) -> None:
    """Open the popover that holds the control ``key`` unless it shows (the stride is out)."""
    if key != "kernel-stride_rows":
        reveal(page, key.replace("-", "."), SLIDING_MORE)


def number_box(key: str, values):
    def prepare(page, index):
        shown(page, key)
        box = page.locator(f".st-key-{key} input")
        box.fill(str(values[index % len(values)]))
        return lambda: box.press("Enter")

    return prepare


def radio(key: str, options):
    def prepare(page, index):
        shown(page, key)
        choice = page.locator(f".st-key-{key} label").filter(has_text=options[index % 2])
        return lambda: choice.first.click()

    return prepare


def toggle(key: str):
    def prepare(page, index):
        shown(page, key)
        return lambda: page.locator(f".st-key-{key} label").first.click()

    return prepare


def steps(key: str):
    """◀ ▶ buttons of a long choice (``ui.widgets.short_choice``): on, then back."""

    def prepare(page, index):
        button = page.locator(f".st-key-{key}_{'back' if index % 2 else 'next'} button")
        return lambda: button.click()

    return prepare


# Every kind of control on the page; each change alters the output picture.
CONTROLS = {
    "kernel cell": kernel_cell,
    "bias (number input)": number_box("kernel-bias", [5, 10]),
    "stride (number input)": number_box("kernel-stride_rows", [2, 1]),
    "padding (radio)": radio("kernel-padding", ["valid", "same"]),
    "flip (toggle)": toggle("kernel-flip"),
    "output mapping (◀ ▶)": steps("kernel-mapping"),
}


def measure(base_url: str, edits: int, page_path: str = PAGE_QUERY) -> list[float]:
    """Milliseconds from Enter to a changed output picture, for ``edits`` cell edits."""
    with open_browser() as browser:
        return time_changes(open_page(browser, base_url, page_path), edits, kernel_cell)


def measure_controls(base_url: str, edits: int) -> dict[str, list[float]]:
    """The same timing for every kind of control on the page."""
    with open_browser() as browser:
        page = open_page(browser, base_url, PAGE_QUERY)
        return {name: time_changes(page, edits, prepare) for name, prepare in CONTROLS.items()}


def report(label: str, times: list[float]) -> None:
    print(f"{label}: change → output changed (ms):", " ".join(f"{t:.0f}" for t in times))
    print(
        f"{label}: median {statistics.median(times):.0f} ms, min {min(times):.0f} ms, "
        f"max {max(times):.0f} ms over {len(times)} changes"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--url", help="an app that is already running (default: start one)")
    parser.add_argument("--baseline", action="store_true", help="also time a bare page")
    parser.add_argument(
        "--controls", action="store_true", help="also time every other kind of control"
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = args.url.rstrip("/") if args.url else stack.enter_context(running_app()).url
        report("Kernel Playground, kernel cell", measure(url, args.edits))
        if args.controls:
            for name, times in measure_controls(url, max(args.edits // 2, 5)).items():
                report(f"Kernel Playground, {name}", times)
    if args.baseline:
        with bare_app() as url:
            report("bare Streamlit page, same kernel grid", measure(url, args.edits, page_path=""))


if __name__ == "__main__":
    main()
