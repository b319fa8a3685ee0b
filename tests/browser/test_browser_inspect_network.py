""" "Inspect a Network" in headless Chromium with the bundled MNIST model."""

import pytest

from tests.browser_helpers import EXCEPTION_SELECTOR, screenshot, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_inspect_page_shows_feature_maps_and_runs_the_top_nine_search(
    browser_page, app_url, app_server
):
    page = browser_page
    page.goto(f"{app_url}/inspect_network")
    # The first visit starts the inference worker (TensorFlow import): allow for it.
    page.wait_for_selector("text=Prediction: 7", timeout=120_000)
    wait_for_app(page, 120_000)
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
    # A first visit draws pictures and printed numbers: no Plotly figure to load.
    page.locator(".st-key-inspect-filter_grid img").wait_for(timeout=30_000)
    assert page.locator(".st-key-inspect-filter_weights td").count() == 9  # 3×3 printed
    assert page.locator(".js-plotly-plot").count() == 0
    screenshot(page, "inspect_network")

    page.get_by_role("tab", name="Feature maps").click()
    page.get_by_text("conv2d (Conv2D, relu) → 28×28×32").wait_for(timeout=30_000)
    # Opening the tab reruns the page: its pictures, left out while it was closed, come.
    page.locator('[data-testid="stExpander"] [data-testid="stImage"] img').first.wait_for(
        timeout=60_000
    )
    screenshot(page, "inspect_network-feature-maps")

    page.get_by_role("tab", name="Top 9 images").click()
    page.get_by_role("button", name="Find the top 9 among 10,000 test images").click()
    page.get_by_text("Searched in").wait_for(timeout=90_000)
    wait_for_app(page, 30_000)
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
    screenshot(page, "inspect_network-top9")

    # All TensorFlow work happened in the worker, never in the Streamlit server.
    assert "libtensorflow" not in app_server.loaded_libraries()


def test_a_digit_drawn_on_the_canvas_is_classified(browser_page, app_url):
    page = browser_page
    page.goto(f"{app_url}/inspect_network")
    page.wait_for_selector("text=Prediction:", timeout=120_000)
    wait_for_app(page, 60_000)
    page.get_by_text("Draw a digit").click()
    page.get_by_text("Draw a digit with the mouse").wait_for(timeout=30_000)
    canvas = page.locator("canvas").first
    box = canvas.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 40
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 21):  # a vertical stroke: a "1"
        page.mouse.move(x, y + step * 10)
    page.mouse.up()
    page.wait_for_selector("text=Prediction: 1", timeout=30_000)
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
    screenshot(page, "inspect_network-drawn-digit")


TAB_ROW = """() => {
    const row = document.querySelector('[data-testid="stTabs"] [role="tablist"]');
    const box = row.getBoundingClientRect();
    return {
        scroll: row.scrollWidth, client: row.clientWidth, left: box.left, right: box.right,
        tabs: [...row.querySelectorAll('[role="tab"]')].map(tab => {
            const b = tab.getBoundingClientRect();
            return {name: tab.innerText.trim(), left: b.left, right: b.right, top: b.top};
        }),
    };
}"""


@pytest.mark.parametrize(
    "size",
    [
        ({"width": 1280, "height": 720}, 1.5),  # a projector at 150 %
        ({"width": 1440, "height": 900}, 1),
    ],
    ids=["1280x720x1.5", "1440x900"],
)
def test_every_tab_is_reachable_without_scrolling_sideways(app_url, size):
    """The row of nine tabs fits the main area: every tab lies inside the row's box (none
    hidden behind a sideways scroll), and a link naming the last tab opens it."""
    from tests.browser_helpers import open_browser
    from ui.inspect.link import TAB_NAMES

    viewport, scale = size
    with open_browser() as browser:
        page = browser.new_page(viewport=viewport, device_scale_factor=scale)
        page.goto(f"{app_url}/inspect_network?tab=attack")
        page.get_by_role("tab", name="Attack", selected=True).wait_for(timeout=180_000)
        wait_for_app(page, 120_000)
        row = page.evaluate(TAB_ROW)
        assert [tab["name"] for tab in row["tabs"]] == list(TAB_NAMES)
        assert row["scroll"] <= row["client"], row  # nothing to scroll to
        for tab in row["tabs"]:
            assert row["left"] - 1 <= tab["left"] and tab["right"] <= row["right"] + 1, row
            assert tab["right"] <= viewport["width"], row
        assert len({round(tab["top"]) for tab in row["tabs"]}) == 1  # one row
        page.get_by_role("tab", name="Attack").scroll_into_view_if_needed()
        screenshot(page, f"inspect_network-tabs-{viewport['width']}")
        page.close()
