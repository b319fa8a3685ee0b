"""Shared by the page-link tests: open a page on a link in AppTest, read every linked
control, and check that a fresh session on the address shows the same page."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from core.base.paths import PROJECT_ROOT
from ui.widgets.page_link import PageLink


def open_page(page: str, query: dict[str, str] | None = None, *, timeout: float = 60) -> AppTest:
    """``app_pages/<page>.py`` in AppTest, first run on ``query``; no exception allowed."""
    at = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / f"{page}.py"), default_timeout=timeout)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def link_warnings(at: AppTest) -> list[str]:
    """The page's link warning(s): the one that lists the link's unusable parameters."""
    return [w.value for w in at.warning if "this link could not be used" in w.value]


def controls(at: AppTest, link: PageLink) -> dict:
    """What every linked control holds, as the link reads it."""
    return {item.name: link.value(item, at.session_state) for item in link.fields}


def differing(a: dict, b: dict) -> list[str]:
    """The names whose values differ (none when two pages show the same)."""
    return [
        name
        for name in a
        if not (
            np.array_equal(a[name], b[name])
            if isinstance(a[name], np.ndarray) or isinstance(b[name], np.ndarray)
            else a[name] == b[name]
        )
    ]


def reopened(page: str, at: AppTest, link: PageLink, *, ignore: tuple[str, ...] = ()) -> AppTest:
    """A fresh session on the address ``at`` shows: same controls, same address, no warning.

    ``ignore`` names picks of controls not on screen in either session.
    """
    again = open_page(page, dict(at.query_params))
    assert link_warnings(again) == [], link_warnings(again)
    before, after = controls(at, link), controls(again, link)
    changed = [name for name in differing(after, before) if name not in ignore]
    assert changed == [], [(name, before[name], after[name]) for name in changed]
    assert dict(again.query_params) == dict(at.query_params), (
        dict(at.query_params),
        dict(again.query_params),
    )
    return again
