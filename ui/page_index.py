"""The HTML page a browser loads first, telling Streamlit's frontend where the server is.

Opened at a page's address (``/kernel_playground``), the frontend cannot tell whether the
app lives at ``/`` or at ``/kernel_playground``. It asks the longer address first
(``/kernel_playground/_stcore/health``), gets a 404, waits 100 ms and only then asks ``/``.
So every first visit of a page other than Home started 0.1 s late: 0.10–0.14 of a bare
page's whole first visit (``bench/page_load.py``). The frontend skips that guess when the
page sets ``window.__streamlit.BACKEND_BASE_URL``.

``app.py`` serves each page's address with Streamlit's own ``index.html`` plus one script
that sets it. The value is the folder above the page's address, the same folder the page's
``./static/...`` files come from, so it is right behind a proxy that adds a path prefix too.
Home (``/``) and every file (a name with a dot) are still served by Streamlit itself.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from streamlit import config

STREAMLIT_INDEX = Path(streamlit.__file__).parent / "static" / "index.html"
HEAD = "<head>"
BACKEND_SCRIPT = (
    '<script>window.__streamlit = {BACKEND_BASE_URL: new URL("./", location.href).href};</script>'
)
PAGE_CONVERTOR = "convscope_page"

_LOGGER = logging.getLogger(__name__)


class PageName(Convertor):
    """One path segment without a dot: a page's address, never a file like ``favicon.png``."""

    regex = "[A-Za-z0-9_-]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor(PAGE_CONVERTOR, PageName())


def with_backend_script(index: str) -> str | None:
    """``index`` with ``BACKEND_SCRIPT`` first in its head; ``None`` if it has no head.

    It goes first so that it runs before the frontend's module script reads it.

    >>> with_backend_script("<html><head><title>x</title></head></html>").startswith(
    ...     "<html><head>\\n    <script>window.__streamlit")
    True
    >>> with_backend_script("<html></html>") is None
    True
    """
    if HEAD not in index:
        return None
    return index.replace(HEAD, f"{HEAD}\n    {BACKEND_SCRIPT}", 1)


def page_path(base_url_path: str) -> str:
    """The route of every page's address under Streamlit's ``server.baseUrlPath``.

    >>> page_path(""), page_path("/convscope/")
    ('/{page:convscope_page}', '/convscope/{page:convscope_page}')
    """
    base = base_url_path.strip("/")
    return ("/" + base if base else "") + "/{page:" + PAGE_CONVERTOR + "}"


def page_routes(base_url_path: str | None = None, index_file: Path = STREAMLIT_INDEX) -> list:
    """The route that serves every page's address (none if Streamlit's page has changed shape).

    ``base_url_path``: Streamlit's ``server.baseUrlPath`` (read from its config when ``None``).
    Without a route Streamlit serves its page as before: only the guess costs 0.1 s again.
    """
    if base_url_path is None:
        base_url_path = config.get_option("server.baseUrlPath") or ""
    try:
        page = with_backend_script(index_file.read_text(encoding="utf-8"))
    except OSError as error:
        _LOGGER.warning("Streamlit's index.html could not be read (%s)", error)
        page = None
    if page is None:
        _LOGGER.warning("Streamlit's index.html has no <head>: pages are served as before")
        return []

    async def serve_page(request: Request) -> HTMLResponse:
        # no-cache, as Streamlit serves its page: a new version of the app is seen at once
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    return [Route(page_path(base_url_path), serve_page, methods=["GET", "HEAD"])]
