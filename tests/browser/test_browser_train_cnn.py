"""Train a CNN in a real browser: a tiny run live, to the end, then proof the server stayed TF-free.

The app runs with its own runs and models folders (temporary), so the test leaves nothing
behind. Screenshots of the live run and of the results go to ``test-artifacts/``.
"""

from __future__ import annotations

import re

import pytest

from tests.browser_helpers import (
    EXCEPTION_SELECTOR,
    by_key,
    reveal,
    running_app,
    screenshot,
    wait_for_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The layer editor is a canvas grid: the "filters" column's centre, in pixels from its left
# edge, at this viewport width (row marker, "Layer", then "filters").
FILTERS_COLUMN_X = 190
OTHER_PAGES = (
    "Home",
    "Pixels & Channels",
    "Kernel Playground",
    "Convolution Arithmetic",
    "Pooling",
    "Inspect a Network",
)


@pytest.fixture(scope="module")
def train_app(tmp_path_factory):
    """The app with temporary runs and models folders (shared data for MNIST)."""
    folder = tmp_path_factory.mktemp("train-app")
    env = {
        "CONVSCOPE_RUNS_DIR": str(folder / "runs"),
        "CONVSCOPE_MODELS_DIR": str(folder / "models"),
    }
    with running_app(extra_env=env) as server:
        yield server


def metric_value(page, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]', has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def accuracy_metric(page):
    """The Train page's result metric (Inspect's model list also says "test accuracy")."""
    return page.locator('[data-testid="stMetric"]', has_text="Test accuracy").first


def open_page(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()


def set_number(page, label: str, value: int) -> None:
    field = page.get_by_role("spinbutton", name=label)
    field.fill(str(value))
    field.press("Enter")
    wait_for_app(page)


def test_tiny_run_live_in_the_browser_and_the_server_never_loads_tensorflow(
    train_app, browser_page
):
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 4200})
    # Open the app at its root and follow the sidebar, as a user does.
    page.goto(train_app.url)
    wait_for_app(page, timeout_ms=60_000)
    open_page(page, "Train a CNN")
    page.get_by_text("2 · Architecture").wait_for(timeout=60_000)
    wait_for_app(page, timeout_ms=60_000)
    assert metric_value(page, "Parameters") == "220,234"  # MNIST CNN A

    # Edit the layer table: 8 filters in the first Conv2D; the summary follows at once.
    assert page.locator('[data-testid="stDataFrame"]').count() == 0  # folded: no data grid
    page.get_by_text("Edit the layers", exact=False).click()
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
    wait_for_app(page, timeout_ms=60_000)
    editor = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
    page.mouse.click(editor["x"] + FILTERS_COLUMN_X, editor["y"] + 35 + 17)  # row 1
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")  # open the cell editor
    page.wait_for_timeout(500)
    page.keyboard.press("Control+A")
    page.keyboard.type("8", delay=50)
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stMetricValue"]')]
                 .some(e => e.innerText === "206,170")""",
        timeout=30_000,
    )
    wait_for_app(page)

    # The settings sit in a popover whose label reads their values.
    settings = by_key(page, "train.settings_open")
    assert "2 epochs" in settings.inner_text() and "all images" in settings.inner_text()
    reveal(page, "train.epochs", "train.settings_open")
    set_number(page, "Train on at most", 2048)
    set_number(page, "Epochs", 1)
    page.keyboard.press("Escape")  # shut again: the label keeps the new values
    by_key(page, "train.epochs").wait_for(state="detached")
    assert "1 epoch ·" in settings.inner_text() and "2,048 images" in settings.inner_text()
    page.get_by_role("button", name="Start", exact=True).click()

    # Live: the progress bar shows epochs, batches and speed; the curves and filters appear.
    page.get_by_text("samples/s").first.wait_for(timeout=120_000)
    page.get_by_text(re.compile(r"conv2d after \d+ batches")).wait_for(timeout=60_000)
    assert page.get_by_text(re.compile(r"8 filters 3×3\. Signed weights")).count() == 1
    assert page.locator('[data-testid="stProgress"]').count() == 1
    for chart in ("train-curves_chart", "train-filters_chart"):  # the live charts
        # One each. While a rerun draws the new chart the old one may still show for a
        # moment (a tiny run can end between two polls), so wait for the page to settle.
        page.wait_for_function(
            "(css) => document.querySelectorAll(css).length === 1",
            arg=f".st-key-{chart} .js-plotly-plot",
            timeout=30_000,
        )
    screenshot(page, "train_cnn-live")

    accuracy_metric(page).wait_for(timeout=120_000)
    wait_for_app(page)
    assert page.get_by_text("predicted (true)", exact=False).count() >= 1
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
    screenshot(page, "train_cnn-finished")

    for title in OTHER_PAGES:
        open_page(page, title)
        page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=60_000)
        wait_for_app(page, timeout_ms=60_000)
        assert page.locator(EXCEPTION_SELECTOR).count() == 0, title

    # Coming back to the page, and reloading it, shows the same run.
    open_page(page, "Train a CNN")
    accuracy_metric(page).wait_for(timeout=60_000)
    page.reload()
    accuracy_metric(page).wait_for(timeout=60_000)
    assert page.locator(EXCEPTION_SELECTOR).count() == 0

    libraries = train_app.loaded_libraries()
    assert "libtensorflow" not in libraries
    assert "_pywrap_tensorflow" not in libraries
