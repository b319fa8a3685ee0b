"""Browser benchmark of the Kernel Playground: how fast does the output follow a kernel edit?

Starts ``streamlit run app.py`` (as tests/browser.py does), opens the Kernel
Playground on a 512×512 colour photo (astronaut, "same kernel on R, G, B") in
headless Chromium, then edits one kernel cell 20 times. Each edit is timed
from the Enter key that commits the cell until the output picture in the page
has changed (its ``src`` URL is replaced). Prints every time and the median.

Target (issue 3): well under 250 ms per change on the 2-core machine.

Absolute times on a shared machine say little, so ``--baseline`` also times
the same edit on a bare Streamlit page (the same grid of text boxes, one small
image, no computation) under the same conditions: the difference is what the Kernel
Playground itself costs.

Run: ``python bench/kernel_page.py [--edits 20] [--baseline] [--url http://127.0.0.1:PORT]``
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

from tests.browser import free_port, open_browser, running_app, wait_for_app  # noqa: E402

PAGE_QUERY = "/kernel_playground?img=photo%3Aastronaut.png&color=per_channel"
OUTPUT_SRC = """() => {
    const figure = [...document.querySelectorAll('[data-testid="stImage"]')]
        .find(e => e.innerText.startsWith('Output'));
    return figure ? figure.querySelector('img').src : null;
}"""
OUTPUT_CHANGED = f"(before) => {{ const now = ({OUTPUT_SRC})(); return now && now !== before; }}"
GRID_INPUTS = ".st-key-kernel-grid input"  # the kernel's cells, row by row (ui/kernel_editor.py)


def edit_kernel_cell(page, row: int, col: int, text: str, *, columns: int = 3) -> None:
    """Type ``text`` into a cell of the kernel grid (Enter then commits it)."""
    cell = page.locator(GRID_INPUTS).nth(row * columns + col)
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
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless=true",
             f"--server.port={port}", "--server.address=127.0.0.1",
             "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
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


def measure(base_url: str, edits: int, page_path: str = PAGE_QUERY) -> list[float]:
    """Milliseconds from Enter to a changed output picture, for ``edits`` cell edits."""
    with open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(base_url)  # the home page first, so the app's navigation is set up
        wait_for_app(page, 60_000)
        if page_path:
            page.goto(base_url + page_path)
            wait_for_app(page, 60_000)
        times = []
        for index in range(edits):
            before = page.evaluate(OUTPUT_SRC)
            edit_kernel_cell(page, 1, 1, str(index % 2 + 1 + index / 100))
            start = time.perf_counter()
            page.keyboard.press("Enter")
            page.wait_for_function(OUTPUT_CHANGED, arg=before, timeout=15_000)
            times.append((time.perf_counter() - start) * 1e3)
            wait_for_app(page)
        return times


def report(label: str, times: list[float]) -> None:
    print(f"{label}: edit → output changed (ms):", " ".join(f"{t:.0f}" for t in times))
    print(f"{label}: median {statistics.median(times):.0f} ms, min {min(times):.0f} ms, "
          f"max {max(times):.0f} ms over {len(times)} edits")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--url", help="an app that is already running (default: start one)")
    parser.add_argument("--baseline", action="store_true", help="also time a bare page")
    args = parser.parse_args()
    if args.url:
        report("Kernel Playground", measure(args.url.rstrip("/"), args.edits))
    else:
        with running_app() as server:
            url = getattr(server, "url", server)
            report("Kernel Playground", measure(url, args.edits))
    if args.baseline:
        with bare_app() as url:
            report("bare Streamlit page", measure(url, args.edits, page_path=""))


if __name__ == "__main__":
    main()
