"""ui.page_index: a page's address gets Streamlit's own page plus the one script, nothing else.

The browser side (the frontend no longer guesses, under a base path too) is checked in
tests/browser/test_browser_page_index.py.
"""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request
from starlette.routing import Match
from streamlit import config

from ui.page_index import BACKEND_SCRIPT, STREAMLIT_INDEX, page_routes, with_backend_script

PAGE_ADDRESSES = ["/kernel_playground", "/inspect_network", "/train_cnn", "/pixels_channels"]
NOT_PAGES = [
    "/",
    "/favicon.png",
    "/manifest.json",
    "/index.html",
    "/_stcore/health",
    "/_stcore/host-config",
    "/kernel_playground/_stcore/health",
    "/kernel_playground/_stcore/host-config",
    "/kernel_playground/",
    "/static/js/index.js",
    "/media/0123abcd.png",
]


def scope(path: str, method: str = "GET") -> dict:
    return {
        "type": "http",
        "path": path,
        "method": method,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }


def matches(route, path: str, method: str = "GET") -> Match:
    return route.matches(scope(path, method))[0]


def served(route, path: str):
    match, child = route.matches(scope(path))
    assert match == Match.FULL
    return asyncio.run(route.endpoint(Request({**scope(path), **child})))


def test_the_script_goes_first_into_streamlits_own_page():
    index = STREAMLIT_INDEX.read_text(encoding="utf-8")
    page = with_backend_script(index)
    assert page is not None
    # it runs before the frontend's code reads window.__streamlit
    assert page.index(BACKEND_SCRIPT) < page.index('<script type="module"')
    assert page.index("<head>") < page.index(BACKEND_SCRIPT)
    # and nothing else of Streamlit's page changes
    assert page.replace(f"\n    {BACKEND_SCRIPT}", "", 1) == index
    assert page.count(BACKEND_SCRIPT) == 1


def test_the_route_takes_each_pages_address_and_nothing_else():
    (route,) = page_routes("")
    for address in PAGE_ADDRESSES:
        assert matches(route, address) == Match.FULL, address
        assert matches(route, address, "HEAD") == Match.FULL, address
    for address in NOT_PAGES:
        assert matches(route, address) == Match.NONE, address
    assert matches(route, "/kernel_playground", "POST") == Match.PARTIAL  # not allowed


def test_the_page_served_is_the_one_with_the_script_and_never_cached():
    (route,) = page_routes("")
    response = served(route, "/kernel_playground")
    assert response.status_code == 200
    assert response.media_type == "text/html"
    assert response.headers["cache-control"] == "no-cache"
    assert response.body.decode("utf-8") == with_backend_script(
        STREAMLIT_INDEX.read_text(encoding="utf-8")
    )


@pytest.mark.parametrize("base", ["convscope", "/convscope/", "course/convscope"])
def test_under_a_base_path_only_the_addresses_below_it_are_taken(base):
    (route,) = page_routes(base)
    prefix = "/" + base.strip("/")
    assert matches(route, f"{prefix}/kernel_playground") == Match.FULL
    assert matches(route, "/kernel_playground") == Match.NONE
    assert matches(route, f"{prefix}/") == Match.NONE
    assert matches(route, f"{prefix}/kernel_playground/_stcore/health") == Match.NONE
    assert BACKEND_SCRIPT in served(route, f"{prefix}/kernel_playground").body.decode()


def test_the_base_path_comes_from_streamlits_config():
    before = config.get_option("server.baseUrlPath")
    try:
        config.set_option("server.baseUrlPath", "lecture")
        (route,) = page_routes()
        assert matches(route, "/lecture/pooling") == Match.FULL
        assert matches(route, "/pooling") == Match.NONE
    finally:
        config.set_option("server.baseUrlPath", before)


def test_without_a_usable_page_there_is_no_route_and_streamlit_serves_as_before(tmp_path):
    assert page_routes("", tmp_path / "missing.html") == []
    headless = tmp_path / "index.html"
    headless.write_text("<html><body>no head</body></html>")
    assert page_routes("", headless) == []
