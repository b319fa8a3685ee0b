"""Inspect's "Attack" tab and the feature visualisation beside the top 9 images, in headless
Chromium on the bundled MNIST model, opened from links. Screenshots at 1440×900 and at
1280×720 with the browser at 150 %."""

from __future__ import annotations

import pytest

from tests.browser_helpers import EXCEPTION_SELECTOR, open_browser, screenshot, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = {
    "1440": ({"width": 1440, "height": 900}, 1),
    "1280x1.5": ({"width": 1280, "height": 720}, 1.5),
}


def open_page(browser, url: str, size: str):
    viewport, scale = SIZES[size]
    page = browser.new_page(viewport=viewport, device_scale_factor=scale)
    page.goto(url)
    return page


def shoot(page, text: str, name: str) -> None:
    """A screenshot with ``text`` scrolled into view (the page scrolls inside the app)."""
    page.get_by_text(text).first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    screenshot(page, name)


def test_a_pgd_attack_from_a_link_changes_the_answer(app_url):
    link = "/inspect_network?tab=attack&attack=pgd&eps=40&asteps=10"
    with open_browser() as browser:
        for size in SIZES:
            page = open_page(browser, app_url + link, size)
            page.get_by_text("the attack changed its answer.").wait_for(timeout=180_000)
            wait_for_app(page, 120_000)
            assert page.locator(EXCEPTION_SELECTOR).count() == 0
            assert page.get_by_text("Change × 3").count() == 1  # 0.5 / (40 / 255) ≈ 3
            assert page.get_by_text("ε = 40 / 255 per pixel, 10 steps").count() == 1
            assert page.get_by_text("Grad-CAM after:").count() == 1
            shoot(page, "Grad-CAM after:", f"inspect_attack-pgd-{size}")
            page.close()


def test_fgsm_by_default_and_the_epsilon_slider_moves_by_grey_levels(app_url):
    with open_browser() as browser:
        page = open_page(browser, app_url + "/inspect_network?tab=attack", "1440")
        page.get_by_text("ε = 8 / 255 per pixel, one step of ε").wait_for(timeout=180_000)
        wait_for_app(page, 120_000)
        assert page.get_by_text("Change × 16").count() == 1
        slider = page.get_by_role("slider", name="ε: how far each pixel may move")
        slider.focus()
        page.keyboard.press("ArrowRight")
        page.get_by_text("ε = 9 / 255 per pixel").wait_for(timeout=120_000)
        wait_for_app(page, 120_000)
        assert page.locator(EXCEPTION_SELECTOR).count() == 0
        assert "eps=9" in page.url  # the link follows the control
        page.close()


def test_the_feature_visualisation_sits_beside_the_top_9(app_url):
    link = "/inspect_network?tab=top&tlayer=conv2d_1&tfilter=3&dseed=2"
    with open_browser() as browser:
        for size in SIZES:
            page = open_page(browser, app_url + link, size)
            page.get_by_text("What filter 3 of conv2d_1 likes most").wait_for(timeout=180_000)
            page.get_by_text("Made from faint grey noise").wait_for(timeout=120_000)
            wait_for_app(page, 120_000)
            assert page.locator(EXCEPTION_SELECTOR).count() == 0
            search = page.get_by_role("button", name="Find the top 9")
            if search.is_enabled():  # the server keeps a finished search for the next page
                search.click()
            page.get_by_text("Searched in").wait_for(timeout=180_000)
            wait_for_app(page, 120_000)
            assert page.locator(EXCEPTION_SELECTOR).count() == 0
            shoot(page, "What filter 3 of conv2d_1 likes most", f"inspect_dream-top9-{size}")
            page.close()
