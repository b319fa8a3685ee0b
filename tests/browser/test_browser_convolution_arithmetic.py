"""Browser tests: a real Streamlit server and headless Chromium.

Load a worked example, step the window with the ◀ ▶ buttons, check the
numbers the page prints, and keep screenshots in ``test-artifacts/`` for a
person to look at. Also plays the animation and opens the Pooling page.
"""

from __future__ import annotations

import re

import pytest

from tests.browser_helpers import (
    EXCEPTION_SELECTOR,
    load_worked_example,
    reveal,
    screenshot,
    wait_for_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_page(page, app_url: str, path: str) -> None:
    """Open the app's home first, then the page: on a fresh server the very first request
    to a page URL is served as a bare script (see the report), not through navigation.py."""
    page.goto(app_url)
    wait_for_app(page)
    page.goto(f"{app_url}/{path}")
    wait_for_app(page)


def by_key(page, key: str):
    """The element container Streamlit tags with ``st-key-<key>`` (dots become dashes)."""
    return page.locator(f".st-key-{key.replace('.', '-')}")


def choose_example(page, title: str) -> None:
    load_worked_example(page, "arith", title)


def test_step_through_example_4_in_the_browser(browser_page, app_url):
    page = browser_page
    open_page(page, app_url, "convolution_arithmetic")
    page.get_by_text("Convolution Arithmetic", exact=True).first.wait_for()
    choose_example(page, "4a · Bottom Sobel on a 4×6 image, no padding")
    assert page.get_by_text("The output is 2 × 4.").is_visible()
    page.get_by_text(re.compile(r"= 19$")).first.wait_for()
    forward = by_key(page, "arith.stepper.forward").get_by_role("button")
    for _ in range(2):
        forward.click()
        wait_for_app(page)
    page.get_by_text("Output (0, 2)").first.wait_for()
    page.get_by_text(re.compile(r"= 26$")).first.wait_for()
    by_key(page, "arith.view.input").scroll_into_view_if_needed()
    path = screenshot(page, "convolution_arithmetic_example4_step3")
    assert path.stat().st_size > 10_000
    assert page.locator(EXCEPTION_SELECTOR).count() == 0


def test_play_animates_without_blocking(browser_page, app_url):
    page = browser_page
    open_page(page, app_url, "convolution_arithmetic")
    choose_example(page, "1 · Binary image, 3×3 'X' kernel")
    by_key(page, "arith.stepper.play").get_by_role("button").click()
    page.get_by_text("Position 3 of 9").wait_for(timeout=20_000)
    # the rest of the page still answers while the animation runs
    assert page.get_by_text("The output is 3 × 3.").is_visible()
    page.get_by_text("Position 9 of 9").wait_for(timeout=30_000)
    screenshot(page, "convolution_arithmetic_played")
    assert page.locator(EXCEPTION_SELECTOR).count() == 0


def test_pooling_page_renders_every_tab(browser_page, app_url):
    page = browser_page
    open_page(page, app_url, "pooling")
    page.get_by_text("max(10, 12, 6, 8) = 12").first.wait_for()
    screenshot(page, "pooling_small_matrix")
    for tab in ("Pooling a photo", "Translation invariance", "Global pooling"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(500)
        screenshot(page, "pooling_" + tab.lower().replace(" ", "_"))
    assert page.locator(EXCEPTION_SELECTOR).count() == 0


def test_predict_mode_reveals_the_whole_result_at_the_last_position(browser_page, app_url):
    page = browser_page
    open_page(page, app_url, "convolution_arithmetic")
    choose_example(page, "2 · 5×5 image, kernel used as is (no flip)")
    by_key(page, "arith.guess").locator("label").first.click()
    wait_for_app(page)
    page.get_by_text("Check your prediction of the output size").wait_for()
    by_key(page, "arith.size_check").get_by_role("button").click()
    wait_for_app(page)
    page.get_by_text("Hidden in predict mode").wait_for()
    # the stepper's buttons rerun only their fragment; reaching the end must still reveal
    by_key(page, "arith.stepper.last").get_by_role("button").click()
    wait_for_app(page)
    page.get_by_text("Hidden in predict mode").wait_for(state="detached", timeout=15_000)
    screenshot(page, "convolution_arithmetic_predict_revealed")
    assert page.locator(EXCEPTION_SELECTOR).count() == 0


def test_the_folded_sliding_settings_keep_what_an_example_set(browser_page, app_url):
    """Opened once, then shut: a worked example's settings survive the next change made
    outside the popover (a browser that kept the popover's old widgets sent them back)."""
    page = browser_page
    open_page(page, app_url, "convolution_arithmetic")
    sliding = by_key(page, "arith.sliding").locator("button").first
    reveal(page, "arith.padding", "arith.sliding")
    by_key(page, "arith.padding").get_by_text("same", exact=True).click()
    wait_for_app(page)
    assert "padding same" in sliding.inner_text()
    assert by_key(page, "arith.padding").is_visible()  # still open after the change
    page.keyboard.press("Escape")  # shut it
    by_key(page, "arith.example.ex4_strides").locator("button").first.click()
    wait_for_app(page)
    assert "Stride 1, 2" in sliding.inner_text()
    assert "padding valid" in sliding.inner_text()
    by_key(page, "arith.relu").locator("label").first.click()  # a change outside the popover
    wait_for_app(page)
    assert "Stride 1, 2" in sliding.inner_text()
    assert "padding valid" in sliding.inner_text()
    reveal(page, "arith.padding", "arith.sliding")  # it opens on the example's values
    assert by_key(page, "arith.padding").get_by_role("radio", name="valid").is_checked()
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
