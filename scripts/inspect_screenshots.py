"""The README's screenshots of Inspect's newer tabs, taken from the real app at 1440×900.

Starts ``streamlit run app.py`` (the bundled MNIST model, the shared data sets), opens each
tab from a link in headless Chromium, waits until its results are drawn, scrolls the tab to
the top of the window and saves the window as a small PNG (256 colours) in docs/screenshots/.

Run: ``python scripts/inspect_screenshots.py`` (a few minutes: it starts the inference worker).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image

from tests.browser_helpers import EXCEPTION_SELECTOR, open_browser, running_app, wait_for_app

OUT = ROOT / "docs" / "screenshots"

VIEWPORT = {"width": 1440, "height": 900}

TABS = '[data-testid="stTabs"] [role="tablist"]'  # the row of tabs

# Puts an element at the top of the window, below Streamlit's header bar.
SCROLL_TO_TOP = """e => {
    e.scrollIntoView({block: 'start'});
    for (let box = e.parentElement; box; box = box.parentElement) {
        if (box.scrollHeight > box.clientHeight && getComputedStyle(box).overflowY !== 'visible') {
            box.scrollTop -= 70;
            break;
        }
    }
}"""

# file name, link, texts to wait for, what goes to the top of the window, a button to press
SHOTS = (
    (
        "inspect-compare.png",
        "/inspect_network?tab=compare",
        ("Grad-CAM for the same class", "Fashion-MNIST CNN: evidence for"),
        "text=Feature maps of matching layers",
        None,
    ),
    (
        "inspect-attack.png",
        "/inspect_network?tab=attack&attack=pgd&eps=40&asteps=10",
        ("the attack changed its answer.", "Grad-CAM after:"),
        TABS,
        None,
    ),
    (
        "inspect-feature-visualisation.png",
        "/inspect_network?tab=top&tlayer=conv2d_1&tfilter=3&dseed=2",
        ("Made from faint grey noise",),
        TABS,
        "Find the top 9",
    ),
)


def small_png(png: bytes) -> bytes:
    """The screenshot in 256 colours: a fraction of the size, no visible loss for a page."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    buffer = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        buffer, format="PNG", optimize=True
    )
    return buffer.getvalue()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with running_app(timeout_s=120) as app, open_browser() as browser:
        for name, link, waits, top, button in SHOTS:  # top: a Playwright selector
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(app.url + link)
            for text in waits:
                page.get_by_text(text).first.wait_for(timeout=240_000)
            if button:
                search = page.get_by_role("button", name=button)
                if search.is_enabled():
                    search.click()
                page.get_by_text("Searched in").wait_for(timeout=240_000)
            wait_for_app(page, 120_000)
            if page.locator(EXCEPTION_SELECTOR).count():
                raise RuntimeError(f"{link}: the page shows an exception")
            page.locator(top).first.evaluate(SCROLL_TO_TOP)
            page.wait_for_timeout(800)
            path = OUT / name
            path.write_bytes(small_png(page.screenshot()))
            print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KiB")
            page.close()


if __name__ == "__main__":
    main()
