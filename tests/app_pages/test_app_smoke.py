"""Every page runs inside the real navigation (navigation.py) under AppTest without an exception."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "app_pages").glob("*.py"))


def test_every_topic_has_a_page():
    names = {Path(p).stem for p in PAGES}
    assert {
        "home",
        "pixels_channels",
        "kernel_playground",
        "convolution_arithmetic",
        "pooling",
        "backpropagation",
        "train_cnn",
        "architectures",
        "inspect_network",
    } <= names


def test_app_entry_builds_navigation_and_runs_home():
    app = AppTest.from_file(str(ROOT / "navigation.py"), default_timeout=60)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert [t.value for t in app.title] == ["ConvScope"]
    topics = {Path(p).stem for p in PAGES} - {"home"}
    cards = [html.proto.body for html in app.get("html") if "cs-card" in html.proto.body]
    assert len(topics) == 8  # one card per topic, each with its live thumbnail inline
    assert sum(card.count('<img src="data:image/png;base64,') for card in cards) == 8
    assert len(app.get("page_link")) == 8


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_inside_the_app_without_exception(page):
    app = AppTest.from_file(str(ROOT / "navigation.py"), default_timeout=90)
    app.run()
    app.switch_page(page)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    if not page.endswith("home.py"):  # the switch really happened
        assert "ConvScope" not in [t.value for t in app.title]


def test_an_edited_kernel_survives_a_visit_to_another_page():
    """Streamlit forgets widgets on a page switch; the kernel in use must come back."""
    app = AppTest.from_file(str(ROOT / "navigation.py"), default_timeout=90)
    app.run()
    app.switch_page("app_pages/kernel_playground.py").run()
    app.button(key="kernel.view.1.1").click().run()  # the cells turn into text boxes
    version = app.session_state["kernel.version"]
    app.text_input(key=f"kernel.grid.{version}.1.1").input("7").run()
    assert app.session_state["kernel.preset"] == "custom"
    app.switch_page("app_pages/pooling.py").run()
    app.switch_page("app_pages/kernel_playground.py").run()
    assert not app.exception, [e.message for e in app.exception]
    version = app.session_state["kernel.version"]
    assert app.text_input(key=f"kernel.grid.{version}.1.1").value == "7"
    assert app.session_state["kernel.preset"] == "custom"
    assert app.session_state["kernel.last_good"][1, 1] == 7
