"""Browser tests: the Backpropagation page in a real Streamlit server and headless Chromium.

Open the page, check that the gradient tables appear with the right numbers, step
the weight, open the ∂L/∂X tab, load the stride-2 setup, and keep screenshots in
``test-artifacts/`` for a person to look at. The server must still never load
TensorFlow.
"""

from __future__ import annotations

import pytest

from tests.browser_helpers import (
    EXCEPTION_SELECTOR,
    load_worked_example,
    reveal,
    screenshot,
    wait_for_app,
)

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


def test_the_layer_popover_names_its_settings_and_changes_the_layer(browser_page, app_url):
    """The layer's inputs sit in a popover (not built until opened); its label lists them."""
    page = browser_page
    open_page(page, app_url)
    layer = by_key(page, "backprop.layer")
    assert "X 5×5 · W 3×3 · stride 1 · valid" in layer.inner_text()
    assert not by_key(page, "backprop.stride_rows").count()  # closed: not in the page
    reveal(page, "backprop.stride_rows", "backprop.layer")
    screenshot(page, "backpropagation_layer_popover")
    for key in ("backprop.stride_rows", "backprop.stride_cols"):
        field = by_key(page, key).locator("input")
        field.fill("2")
        field.press("Enter")
        wait_for_app(page)
    page.keyboard.press("Escape")
    page.get_by_text("Output Y (2×2)").first.wait_for()
    assert "X 5×5 · W 3×3 · stride 2 · valid" in layer.inner_text()
    assert page.locator(EXCEPTION_SELECTOR).count() == 0


def test_the_layer_popover_once_opened_keeps_what_a_setup_set(browser_page, app_url):
    """Opened once, then shut: a setup's stride survives the next change made outside the
    popover (a browser that kept the popover's old widgets sent stride 1 back)."""
    page = browser_page
    open_page(page, app_url)
    layer = by_key(page, "backprop.layer")
    reveal(page, "backprop.stride_rows", "backprop.layer")
    page.keyboard.press("Escape")  # shut it
    by_key(page, "backprop.example.stride2").locator("button").first.click()
    wait_for_app(page)
    assert "stride 2" in layer.inner_text()
    by_key(page, "backprop.source").get_by_text(
        "From a loss: MSE against a target", exact=True
    ).click()  # a change outside the popover
    wait_for_app(page)
    assert "stride 2" in layer.inner_text()
    reveal(page, "backprop.stride_rows", "backprop.layer")  # it opens on the setup's values
    assert by_key(page, "backprop.stride_rows").locator("input").input_value() == "2"
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
