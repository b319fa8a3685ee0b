"""The real app in headless Chromium: every page opens from the sidebar without an exception box."""

from urllib.parse import urlparse

import pytest

from tests.browser_helpers import EXCEPTION_SELECTOR, screenshot, wait_for_app
from ui.page_icon import icon_address

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = [
    ("Pixels & Channels", "pixels_channels"),
    ("Kernel Playground", "kernel_playground"),
    ("Convolution Arithmetic", "convolution_arithmetic"),
    ("Pooling", "pooling"),
    ("Backpropagation", "backpropagation"),
    ("Train a CNN", "train_cnn"),
    ("Inspect a Network", "inspect_network"),
    ("Famous Architectures", "architectures"),
]


def test_home_page_shows_every_topic(browser_page, app_url):
    browser_page.goto(app_url)
    wait_for_app(browser_page)
    assert browser_page.locator("h1", has_text="ConvScope").count() == 1
    for title, _ in PAGES:
        assert browser_page.get_by_text(f"Open {title}").count() == 1
    assert browser_page.locator(EXCEPTION_SELECTOR).count() == 0
    # the tab shows the app's own icon, sent inline (no request, nothing from the internet)
    icons = browser_page.eval_on_selector_all(
        "link[rel~='icon']", "links => links.map(link => link.href)"
    )
    assert icons and all(href == icon_address() for href in icons)
    screenshot(browser_page, "home")


def test_every_page_opens_from_the_sidebar(browser_page, app_url, app_server):
    requests: list[str] = []
    browser_page.on("request", lambda request: requests.append(request.url))
    browser_page.goto(app_url)
    wait_for_app(browser_page)
    sidebar = browser_page.locator('[data-testid="stSidebarNav"]')
    for title, stem in PAGES:
        sidebar.get_by_text(title, exact=True).click()
        browser_page.wait_for_url(f"**/{stem}**")  # a page may add its state to the link
        wait_for_app(browser_page)
        assert browser_page.locator(EXCEPTION_SELECTOR).count() == 0, title
        assert browser_page.locator("h1").count() >= 1, title
        screenshot(browser_page, f"page-{stem}")
    # The pages must never pull TensorFlow into the server process (issue 5's measurement).
    assert "libtensorflow" not in app_server.loaded_libraries()
    # The app works offline: nothing the pages load comes from another machine (a Material
    # page icon used to be fetched from a font server).
    outside = {
        url
        for url in requests
        if urlparse(url).hostname not in ("127.0.0.1", "localhost", None)
        and not url.startswith(("data:", "blob:"))
    }
    assert outside == set()


def test_a_shared_link_opens_the_page_inside_the_app_on_a_fresh_server():
    """A lecturer's link is often the first request a newly started server sees."""
    from tests.browser_helpers import open_browser, running_app

    with running_app() as server, open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server.url}/pooling")
        wait_for_app(page)
        sidebar = page.locator('[data-testid="stSidebarNav"]')
        sidebar.get_by_text("Foundations").wait_for()
        assert sidebar.get_by_text("Pixels & Channels", exact=True).count() == 1
        assert sidebar.get_by_text("app", exact=True).count() == 0  # no bare file list
        assert page.locator("h1", has_text="Pooling").count() == 1
        screenshot(page, "shared-link-fresh-server")
