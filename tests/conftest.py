"""Shared pytest fixtures: paths to the shared data and a running app for browser tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

# Keep TensorFlow quiet in any test that imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository (real data sets, read-only)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def app_server():
    """Start ``streamlit run app.py`` once for all browser tests (see tests/browser.py)."""
    from tests.browser_helpers import running_app

    with running_app() as server:
        yield server


@pytest.fixture(scope="session")
def app_url(app_server) -> str:
    """URL of the running app, e.g. ``http://127.0.0.1:PORT``; pages at ``/<page_file_stem>``."""
    return app_server.url


@pytest.fixture()
def browser_page(app_url):
    """A fresh headless-Chromium page (Playwright) for one test."""
    from tests.browser_helpers import open_browser

    with open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        page.close()


@pytest.fixture(scope="module")
def inspect_environment(tmp_path_factory):
    """The real data sets and an empty saved-models folder for one module, restored after.

    The Inspect page's AppTests use it (``pytest.mark.usefixtures("inspect_environment")``),
    so that no model saved on this machine changes what the page offers.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONVSCOPE_DATA_DIR", str(SHARED_DATA))
        patch.setenv("CONVSCOPE_MODELS_DIR", str(tmp_path_factory.mktemp("no-saved-models")))
        yield


@pytest.fixture(scope="module")
def client():
    """One warm inference worker (``python -m core.worker serve``) per test module, closed
    after it: TensorFlow starts once per module, never in the test process."""
    from core.jobs.worker_client import WorkerClient

    instance = WorkerClient()
    yield instance
    instance.close()
