"""Browser test: editing a kernel cell in real Chromium changes the output picture."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from bench.kernel_page import (
    GRID_BUTTONS,
    GRID_INPUTS,
    OUTPUT_CHANGED,
    OUTPUT_SRC,
    edit_kernel_cell,
)
from tests.browser_helpers import EXCEPTION_SELECTOR, by_key, reveal, screenshot, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_playground(page, app_url: str, query: str = "") -> None:
    page.goto(app_url)  # the home page first: it sets up the app's navigation and layout
    wait_for_app(page, 60_000)
    page.goto(f"{app_url}/kernel_playground{query}")
    wait_for_app(page, 60_000)
    try:
        page.wait_for_function(f"() => ({OUTPUT_SRC})() !== null", timeout=30_000)
    finally:
        screenshot(page, "kernel_playground_opened")
    assert page.query_selector(EXCEPTION_SELECTOR) is None


def test_editing_a_cell_changes_the_output(browser_page, app_url):
    page = browser_page
    open_playground(page, app_url, "?img=synthetic%3Aexample4&pad=valid")
    before = page.evaluate(OUTPUT_SRC)
    assert before, "no output picture on the page"
    edit_kernel_cell(page, 0, 0, "2")
    page.keyboard.press("Enter")
    page.wait_for_function(OUTPUT_CHANGED, arg=before, timeout=15_000)
    wait_for_app(page)
    assert page.query_selector(EXCEPTION_SELECTOR) is None
    screenshot(page, "kernel_playground_after_edit")
    # The preset turned into "Custom" and the step-by-step shows the new sum (19 + 3·10).
    page.get_by_text("Your own kernel").first.wait_for(timeout=10_000)
    page.get_by_text("= 49").first.wait_for(timeout=10_000)
    # The page body reruns as a fragment; the lecture link in the address bar still follows.
    page.wait_for_function("() => new URLSearchParams(location.search).get('k')?.startsWith('2,')")
    assert parse_qs(urlparse(page.url).query)["preset"] == ["custom"]


def test_a_bad_cell_shows_a_message_and_keeps_the_output(browser_page, app_url):
    page = browser_page
    open_playground(page, app_url, "?img=synthetic%3Astep_edge")
    before = page.evaluate(OUTPUT_SRC)
    edit_kernel_cell(page, 1, 1, "banana")
    page.keyboard.press("Enter")
    page.get_by_text("last good kernel stays in use").wait_for(timeout=15_000)
    wait_for_app(page)
    assert page.evaluate(OUTPUT_SRC) == before
    assert page.query_selector(EXCEPTION_SELECTOR) is None
    screenshot(page, "kernel_playground_bad_cell")


def test_clicking_an_output_pixel_explains_it(browser_page, app_url):
    page = browser_page
    open_playground(page, app_url, "?img=synthetic%3Aexample4&pad=valid")
    chart = page.locator(".st-key-kernel-output_click .nsewdrag").first
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    # The valid output of worked example 4 is 2×4: click row 1, column 2.
    page.mouse.click(box["x"] + box["width"] * 2.5 / 4, box["y"] + box["height"] * 1.5 / 2)
    page.get_by_text("The output image holds 48 at row 1, column 2.").wait_for(timeout=15_000)
    assert page.query_selector(EXCEPTION_SELECTOR) is None
    screenshot(page, "kernel_playground_clicked_pixel")


def test_typing_a_row_of_cells_with_tab(browser_page, app_url):
    """Tab moves to the next cell and commits the one left; no keystroke is lost to a rerun."""
    page = browser_page
    open_playground(page, app_url, "?img=synthetic%3Aexample4&pad=valid")
    cells = page.locator(GRID_INPUTS)
    assert not cells.count()  # buttons until a cell is clicked
    page.locator(GRID_BUTTONS).nth(0).click()  # the grid turns into boxes, the cursor in this one
    cells.nth(0).wait_for(timeout=30_000)
    page.wait_for_function(
        "() => document.activeElement?.closest('.st-key-kernel-grid') !== null"
        " && document.activeElement === document.querySelector('.st-key-kernel-grid input')"
    )
    for text in ("1", "0", "-1"):  # the top row becomes 1 0 -1
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type(text)
        page.keyboard.press("Tab")
    wait_for_app(page)
    page.wait_for_function(
        "() => new URLSearchParams(location.search).get('k')?.startsWith('1,0,-1;')"
    )
    assert [cells.nth(i).input_value() for i in range(3)] == ["1", "0", "-1"]
    assert page.query_selector(EXCEPTION_SELECTOR) is None


def sliding_label(page) -> str:
    """The text of the sliding popover's button: the values of the settings inside it."""
    return by_key(page, "kernel.sliding_more").locator("button").first.inner_text()


def test_the_folded_sliding_settings_keep_what_an_example_set(browser_page, app_url):
    """Opened once, then shut: a worked example's padding survives the next edit, and the
    popover opens on the page's values (a browser used to send its old ones back)."""
    page = browser_page
    open_playground(page, app_url, "?img=synthetic%3Aexample4&pad=same&bias=4")
    reveal(page, "kernel.bias", "kernel.sliding_more")
    assert page.input_value(".st-key-kernel-bias input") == "4.00"
    page.keyboard.press("Escape")  # shut it
    by_key(page, "kernel.example.example4_stride").locator("button").first.click()
    page.wait_for_function(
        "() => new URLSearchParams(location.search).get('pad') === 'valid'", timeout=30_000
    )
    wait_for_app(page)
    before = page.evaluate(OUTPUT_SRC)
    edit_kernel_cell(page, 0, 0, "2")
    page.keyboard.press("Enter")
    page.wait_for_function(OUTPUT_CHANGED, arg=before, timeout=30_000)
    wait_for_app(page)
    assert "valid padding" in sliding_label(page)
    assert "bias" not in sliding_label(page)  # the example set the bias to 0
    assert parse_qs(urlparse(page.url).query)["pad"] == ["valid"]
    reveal(page, "kernel.bias", "kernel.sliding_more")
    assert page.input_value(".st-key-kernel-bias input") == "0.00"
    assert by_key(page, "kernel.padding").get_by_role("radio", name="valid").is_checked()
    # A change inside changes the label: the popover stays open for the next change.
    by_key(page, "kernel.padding").get_by_text("full", exact=True).click()
    page.wait_for_function(
        "() => new URLSearchParams(location.search).get('pad') === 'full'", timeout=30_000
    )
    wait_for_app(page)
    assert "full padding" in sliding_label(page)
    assert by_key(page, "kernel.bias").is_visible()
    screenshot(page, "kernel_playground_sliding_open")
    assert page.query_selector(EXCEPTION_SELECTOR) is None
