"""Browser test: a lecturer's projector (1280×720 at 150 %) can read every page's pictures.

Checked on element boxes in real Chromium, not on screenshots: every picture has a visible
frame; no number in a small matrix is wider than its cell (``scrollWidth`` ≤ ``clientWidth``)
and none is printed below 12 px; no matrix and no page scrolls sideways (the MNIST digit's 28
columns fit, on a laptop at 150 % too); no label is cut; the 5-wide kernel grid fits its column;
and wherever a step-by-step is shown, the sliding window is drawn on the whole input. The
screenshots go to ``test-artifacts/readability_*.png`` for a person to look at.
"""

from __future__ import annotations

import pytest

from tests.browser_helpers import CHROMIUM, CHROMIUM_FLAGS, EXCEPTION_SELECTOR, wait_for_app
from tests.browser_helpers import screenshot as save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


PROJECTOR = {"viewport": {"width": 1280, "height": 720}, "device_scale_factor": 1.5}


WINDOW_RGB = "rgb(255, 127, 14)"  # the window's orange (ui.widgets.matrix_view.HIGHLIGHT_COLOR)


MEASURE = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const visible = (el) => el.offsetParent !== null && el.clientWidth > 2;
  const cells = [...main.querySelectorAll('td')].filter(visible)
    .filter(td => td.textContent.trim());
  const cut = [];
  for (const el of main.querySelectorAll('*')) {
    const skip = 'td, svg, .js-plotly-plot, [data-testid="stDataFrame"], '
      + '[data-testid="stIconMaterial"]';
    if (el.closest(skip)) continue;
    if (!visible(el) || !el.textContent.trim()) continue;
    const cs = getComputedStyle(el);
    const clips = cs.textOverflow === 'ellipsis' || ['hidden', 'clip'].includes(cs.overflowX);
    if (clips && el.scrollWidth > el.clientWidth + 1) cut.push(el.textContent.trim().slice(0, 60));
  }
  return {
    cells: cells.length,
    overflowing: cells.filter(td => td.scrollWidth > td.clientWidth)
      .map(td => `${td.textContent.trim()} ${td.scrollWidth}>${td.clientWidth}`),
    smallest_font: Math.min(...cells.map(td => parseFloat(getComputedStyle(td).fontSize))),
    frames: [...main.querySelectorAll('[data-testid="stImage"] img')].filter(visible).map(img => {
      const cs = getComputedStyle(img);
      return cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1;
    }),
    window_cells: cells.filter(td => getComputedStyle(td).boxShadow.includes('%WINDOW%')).length,
    overlays: [...main.querySelectorAll('.cs-window-overlay')].filter(visible).map(box => {
      const img = box.querySelector('img').getBoundingClientRect();
      const win = box.querySelector('.cs-window').getBoundingClientRect();
      return {inside: win.right > img.left && win.left < img.right && win.bottom > img.top
                      && win.top < img.bottom,
              window: [win.width, win.height], picture: [img.width, img.height]};
    }),
    cut: cut,
    scrolling: [...main.querySelectorAll('.cs-matrix')].filter(visible)
      .filter(box => box.scrollWidth > box.clientWidth + 1)
      .map(box => `${box.querySelectorAll("td").length} cells: ${box.scrollWidth} px`),
    main_scrolls_sideways: main.scrollWidth > main.clientWidth + 1,
  };
}""".replace("%WINDOW%", WINDOW_RGB)


@pytest.fixture(scope="module")
def projector(app_url):
    """One 1280×720 page at 150 % for the whole module (home opened first, as a visitor)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_context(**PROJECTOR).new_page()
            page.goto(app_url)
            wait_for_app(page, 60_000)
            yield page
        finally:
            browser.close()


WINDOW_DRAWN = (
    "() => [...document.querySelectorAll('td')].some(td => getComputedStyle(td).boxShadow"
    f".includes('{WINDOW_RGB}'))"
)


def visit(page, app_url: str, path: str, ready: str, name: str, drawn: str = "() => true") -> dict:
    """Open ``path``, wait for ``ready`` text and the ``drawn`` condition (JS), measure, and
    save a full-length screenshot."""
    page.set_viewport_size(PROJECTOR["viewport"])
    page.goto(f"{app_url}/{path}")
    wait_for_app(page, 60_000)
    page.get_by_text(ready).first.wait_for(timeout=60_000)
    wait_for_app(page, 60_000)
    page.wait_for_function(drawn, timeout=30_000)  # the page settled (links may rerun it)
    wait_for_app(page, 60_000)
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
    measured = page.evaluate(MEASURE)
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1280, "height": min(int(height), 6000)})
    page.wait_for_timeout(800)
    save_screenshot(page, f"readability_{name}")
    return measured


def assert_readable(measured: dict) -> None:
    assert measured["overflowing"] == [], "numbers wider than their cells"
    assert measured["cells"] == 0 or measured["smallest_font"] >= 12
    assert all(measured["frames"]), "a picture without a frame"
    assert measured["cut"] == [], "cut labels"
    assert measured["scrolling"] == [], "a matrix that scrolls sideways"
    assert not measured["main_scrolls_sideways"]


def test_kernel_playground_example_1_is_framed_and_shows_the_window(projector, app_url):
    measured = visit(
        projector,
        app_url,
        "kernel_playground?img=synthetic%3Aexample1&pad=same",
        "Where the window sits on the input",
        "kernel_playground_example1",
        "() => document.querySelector('.cs-window-overlay .cs-window') !== null",
    )
    assert_readable(measured)
    assert measured["frames"], "the input picture is on the page"
    (overlay,) = measured["overlays"]
    assert overlay["inside"] and overlay["window"][0] >= 8  # on the picture, big enough to see
    assert measured["cells"] >= 27  # patch × kernel = products, 3×3 each


def test_a_7x7_real_kernel_prints_legibly_and_a_5_wide_grid_fits(projector, app_url):
    from core.ops.kernels import gaussian_kernel

    def link(size: int, sigma: float) -> str:
        rows = gaussian_kernel(size, sigma)
        return ";".join(",".join(f"{v:.4f}" for v in row) for row in rows)

    measured = visit(
        projector,
        app_url,
        f"kernel_playground?img=synthetic%3Astep_edge&pad=valid&k={link(7, 1.5)}",
        "Where the window sits on the input",
        "kernel_playground_gaussian7",
        "() => document.querySelectorAll('.cs-matrix td').length >= 3 * 49",
    )
    assert_readable(measured)
    assert measured["cells"] >= 3 * 49
    visit(
        projector,
        app_url,
        f"kernel_playground?img=synthetic%3Astep_edge&pad=valid&k={link(5, 1.0)}",
        "Where the window sits on the input",
        "kernel_playground_gaussian5",
        "() => document.querySelectorAll('.st-key-kernel-grid button').length === 25",
    )
    projector.set_viewport_size(PROJECTOR["viewport"])
    grid = projector.locator(".st-key-kernel-grid").first
    grid.scroll_into_view_if_needed()
    for cells in ("button", "input"):  # as shown, then as text boxes once a cell is clicked
        if cells == "input":
            grid.locator("button").first.click()
            projector.wait_for_function(
                "() => document.querySelectorAll('.st-key-kernel-grid input').length === 25"
            )
            grid = projector.locator(".st-key-kernel-grid").first
        right_edge = grid.bounding_box()["x"] + grid.bounding_box()["width"]
        boxes = grid.locator(cells)
        assert boxes.count() == 25
        for index in range(5):  # the first row: its 5th cell must end inside the grid
            box = boxes.nth(index).bounding_box()
            assert box["x"] + box["width"] <= right_edge + 0.5, f"column {index} is clipped"


def test_the_mnist_grid_at_window_32_has_no_overlapping_numbers(projector, app_url):
    measured = visit(
        projector,
        app_url,
        "pixels_channels?img=digit%3A0&window=32",
        "Each square is one pixel",
        "pixels_mnist_window32",
        "() => document.querySelectorAll('.cs-matrix td').length >= 784",
    )
    assert_readable(measured)  # the whole 28 columns fit: nothing scrolls sideways
    assert measured["cells"] >= 28 * 28


def test_the_mnist_grid_fits_a_laptop_at_150_percent(projector, app_url):
    """1280×720 at 150 % zoom leaves 853 CSS pixels, the sidebar open: the 28 columns still
    fit (smaller type, every number whole) rather than scroll."""
    projector.set_viewport_size({"width": 853, "height": 480})
    projector.goto(f"{app_url}/pixels_channels?img=digit%3A0&window=32")
    wait_for_app(projector, 60_000)
    projector.get_by_text("Each square is one pixel").first.wait_for(timeout=60_000)
    projector.wait_for_function(
        "() => document.querySelectorAll('.cs-matrix td').length >= 784", timeout=30_000
    )
    wait_for_app(projector, 60_000)
    measured = projector.evaluate(MEASURE)
    assert measured["scrolling"] == [] and not measured["main_scrolls_sideways"]
    assert measured["overflowing"] == [], "numbers wider than their cells"
    assert measured["smallest_font"] >= 8  # 12 device pixels at 150 %
    cells = projector.evaluate(
        "() => [...document.querySelectorAll('.cs-matrix td')].slice(0, 28)"
        ".map(td => td.getBoundingClientRect()).map(b => [b.width, b.height])"
    )
    assert all(abs(width - height) <= 1 for width, height in cells)  # square pixels
    save_screenshot(projector, "readability_pixels_mnist_laptop_150")


def test_the_train_page_cuts_no_label(projector, app_url):
    measured = visit(projector, app_url, "train_cnn", "Augmentation", "train_cnn")
    assert_readable(measured)


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("convolution_arithmetic?pad=explicit&p=1", "Position 1 of"),
        ("pooling", "Position 1 of"),
        ("backpropagation", "∂L/∂W so far"),
    ],
)
def test_every_step_by_step_draws_the_window_on_the_whole_input(projector, app_url, path, ready):
    measured = visit(projector, app_url, path, ready, path.split("?")[0], WINDOW_DRAWN)
    assert_readable(measured)
    assert measured["window_cells"] >= 4, "no window drawn on the input"
