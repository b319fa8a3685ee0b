""" "Explain one unit" in headless Chromium at 1280×720, device scale 1.5 (a laptop): a click
on the feature map picks the unit, and the page redoes its arithmetic."""

import pytest

from tests.browser_helpers import ARTIFACTS, EXCEPTION_SELECTOR, open_browser, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def wait_for_run(page, timeout_ms: int) -> None:
    """Wait until Streamlit has finished running the script (no 'running' indicator)."""
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')""",
        timeout=timeout_ms,
    )
    page.wait_for_timeout(500)


def test_a_click_on_the_feature_map_explains_that_unit(app_url):
    with open_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720}, device_scale_factor=1.5)
        page.goto(f"{app_url}/inspect_network")
        page.wait_for_selector("text=Prediction: 7", timeout=180_000)
        wait_for_run(page, 120_000)
        page.get_by_role("tab", name="Feature maps").click()
        heading = page.get_by_text("Explain one unit")
        heading.wait_for(timeout=60_000)
        chart = page.locator(".st-key-inspect-unit_map")
        chart.scroll_into_view_if_needed()
        picture = chart.locator(".heatmaplayer image").first  # the map's pixels
        picture.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)  # let the chart settle after scrolling
        box = picture.bounding_box()
        row, col = 5, 20  # the map is 28×28
        page.mouse.click(
            box["x"] + (col + 0.5) * box["width"] / 28, box["y"] + (row + 0.5) * box["height"] / 28
        )
        page.get_by_text(f"Unit (row {row}, column {col}) of map 0").wait_for(timeout=60_000)
        wait_for_run(page, 60_000)
        assert page.locator(EXCEPTION_SELECTOR).count() == 0
        assert page.get_by_text("they agree").count() == 1
        assert page.locator(".st-key-inspect-unit_row input").input_value() == str(row)
        chart.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "inspect_network-unit-view.png"))
        screenshot(page, "inspect_network-unit")
        # The link opens the Kernel Playground with the filter's kernel in its grid.
        link = page.get_by_role(
            "link", name="Try input channel 0's kernel in the Kernel Playground"
        )
        href = link.get_attribute("href")
        assert href.startswith("kernel_playground?k=")
        page.goto(f"{app_url}/{href}")
        page.get_by_text("Kernel Playground").first.wait_for(timeout=60_000)
        wait_for_run(page, 60_000)
        assert page.locator(EXCEPTION_SELECTOR).count() == 0
        # Every linked value was taken (a refused one would be named in a warning and
        # dropped from the address, which the page rewrites from its own state).
        assert page.locator('[data-testid="stAlertContentWarning"]').count() == 0
        assert "k=" in page.url and "bias=" in page.url
        screenshot(page, "inspect_network-unit-playground")
        page.close()


def test_a_click_on_the_confusion_matrix_opens_that_cell(app_url):
    with open_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720}, device_scale_factor=1.5)
        page.goto(f"{app_url}/inspect_network?tab=summary")
        page.wait_for_selector("text=Prediction: 7", timeout=180_000)
        wait_for_run(page, 120_000)
        page.get_by_role("button", name="Find the mistakes among 10,000 test images").click()
        page.get_by_text("Accuracy on").wait_for(timeout=300_000)
        wait_for_run(page, 120_000)
        chart = page.locator(".st-key-inspect-confusion")
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        box = chart.locator(".heatmaplayer image").first.bounding_box()
        true, predicted = 4, 9  # the matrix is 10×10
        page.mouse.click(
            box["x"] + (predicted + 0.5) * box["width"] / 10,
            box["y"] + (true + 0.5) * box["height"] / 10,
        )
        page.get_by_text("answered 9 (wrong)").wait_for(timeout=60_000)
        wait_for_run(page, 60_000)
        assert page.locator(EXCEPTION_SELECTOR).count() == 0
        assert "of 4 answered 9" in page.get_by_text("answered 9 (wrong)").inner_text()
        page.screenshot(path=str(ARTIFACTS / "inspect_network-mistakes-view.png"))
        page.close()
