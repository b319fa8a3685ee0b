"""Every page runs inside the real navigation (app.py) under AppTest without an exception."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "app_pages").glob("*.py"))


def test_every_topic_has_a_page():
    names = {Path(p).stem for p in PAGES}
    assert {
        "home", "pixels_channels", "kernel_playground", "convolution_arithmetic", "pooling",
        "train_cnn", "inspect_network",
    } <= names  # fmt: skip


def test_app_entry_builds_navigation_and_runs_home():
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert [t.value for t in app.title] == ["ConvScope"]
    assert len(app.get("image")) == 6  # one live thumbnail per topic


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_inside_the_app_without_exception(page):
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    app.run()
    app.switch_page(page)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    if not page.endswith("home.py"):  # the switch really happened
        assert "ConvScope" not in [t.value for t in app.title]
