"""Browser tests: the Backpropagation page in a real Streamlit server and headless Chromium.

Open the page, check that the gradient tables appear with the right numbers, step
the weight, open the ∂L/∂X tab, load the stride-2 setup, and keep screenshots in
``test-artifacts/`` for a person to look at. The server must still never load
TensorFlow.
"""

from __future__ import annotations

import pytest

from tests.browser_helpers import EXCEPTION_SELECTOR, load_worked_example, screenshot, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_page(page, app_url: str) -> None:
    """Home first, then the page (see test_browser_convolution_arithmetic.open_page)."""
    page.goto(app_url)
    wait_for_app(page)
    page.goto(f"{app_url}/backpropagation")
    wait_for_app(page)
    page.get_by_text("∂L/∂W so far").first.wait_for(timeout=30_000)


def by_key(page, key: str):
    return page.locator(f".st-key-{key.replace('.', '-')}")


def cell(page, table_title: str, row: int, col: int):
    """The <td> of a table drawn by ui.backpropagation.grids, found by its hover title."""
    heading = page.locator("div", has_text=table_title).filter(has_not=page.locator("div"))
    table = heading.first.locator("xpath=following-sibling::table[1]")
    return table.locator(f'td[title^="row {row}, column {col}:"]')


def test_the_gradient_tables_appear_with_the_slides_numbers(browser_page, app_url, app_server):
    page = browser_page
    open_page(page, app_url)
    page.locator("h1", has_text="Backpropagation through a convolution").wait_for()
    assert cell(page, "Output Y (3×3)", 0, 2).inner_text() == "17"
    assert page.get_by_text("∂L/∂W[0, 0] = 3·1 + 3·0 + 2·(−1)").first.is_visible()
    by_key(page, "backprop.w_stepper.forward").get_by_role("button").click()
    wait_for_app(page)
    page.get_by_text("Weight (0, 1), 2 of 9").wait_for()
    screenshot(page, "backpropagation_weights")
    page.get_by_role("tab", name="∂L/∂X — the input").click()
    page.get_by_text("∂L/∂X, scattered back through the windows").first.wait_for()
    scattered = cell(page, "∂L/∂X, scattered back through the windows", 2, 1)
    transposed = cell(page, "∂L/∂X from one transposed convolution", 2, 1)
    assert scattered.inner_text() == transposed.inner_text() == "5"
    screenshot(page, "backpropagation_input_gradient")
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
    assert "libtensorflow" not in app_server.loaded_libraries()


def test_the_stride_2_setup_shows_the_zero_stuffed_gradient(browser_page, app_url):
    page = browser_page
    open_page(page, app_url)
    title = "Stride 2: zeros between the output gradients"
    load_worked_example(page, "backprop", title)
    page.get_by_text("∂L/∂Y with stride − 1 zeros between").first.wait_for()
    assert cell(page, "∂L/∂Y with stride − 1 zeros between", 0, 1).inner_text() == "0"
    screenshot(page, "backpropagation_stride2")
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
