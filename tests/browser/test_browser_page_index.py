"""A page opened by its address asks the server where it is once, not twice (ui/page_index.py).

Streamlit's frontend used to try ``/<page>/_stcore/health`` first, get a 404 and wait 100 ms
before trying the app's real address: 0.1 s on every first visit of a page but Home.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.browser_helpers import EXCEPTION_SELECTOR, open_browser, running_app, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def first_visit(url: str) -> tuple[list[str], list[str], object]:
    """Open ``url`` in a fresh browser: the paths it requested, its websockets and its
    ``window.__streamlit`` (``None`` when unset)."""
    with open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        requested: list[str] = []
        sockets: list[str] = []
        page.on("request", lambda request: requested.append(urlparse(request.url).path))
        page.on("websocket", lambda socket: sockets.append(urlparse(socket.url).path))
        page.goto(url)
        wait_for_app(page)
        assert page.locator(EXCEPTION_SELECTOR).count() == 0
        assert page.locator('[data-testid="stMain"] h1').count() >= 1
        settings = page.evaluate("() => window.__streamlit ?? null")
        page.close()
    return requested, sockets, settings


def test_a_page_opened_by_its_address_finds_the_server_at_once(app_url):
    requested, sockets, settings = first_visit(f"{app_url}/kernel_playground?s=2,2")
    assert settings == {"BACKEND_BASE_URL": f"{app_url}/"}
    assert not [path for path in requested if path.startswith("/kernel_playground/")]
    assert requested.count("/_stcore/health") == 1
    assert sockets == ["/_stcore/stream"]


def test_home_is_served_by_streamlit_as_before(app_url):
    requested, sockets, settings = first_visit(f"{app_url}/")
    assert settings is None
    assert requested.count("/_stcore/health") == 1
    assert sockets == ["/_stcore/stream"]


def test_under_a_base_path_the_page_finds_the_server_below_it():
    with running_app(base_url_path="convscope") as server:
        requested, sockets, settings = first_visit(f"{server.url}/pooling")
        assert settings == {"BACKEND_BASE_URL": f"{server.url}/"}
        assert not [path for path in requested if path.startswith("/convscope/pooling/")]
        assert requested.count("/convscope/_stcore/health") == 1
        assert sockets == ["/convscope/_stcore/stream"]
        _, home_sockets, home_settings = first_visit(f"{server.url}/")
        assert home_settings is None and home_sockets == ["/convscope/_stcore/stream"]
