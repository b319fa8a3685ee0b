"""Inspect's "Compare & replay" tab in headless Chromium: two bundled models side by side,
and a model trained here on 1,000 MNIST digits for 3 epochs, its epochs compared and replayed.
Screenshots at 1440×900 and at 1280×720 with the browser at 150 %."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from core.data import builtin
from tests.browser_helpers import (
    EXCEPTION_SELECTOR,
    open_browser,
    running_app,
    screenshot,
    wait_for_app,
)
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = {
    "1440": ({"width": 1440, "height": 900}, 1),
    "1280x1.5": ({"width": 1280, "height": 720}, 1.5),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory, shared_data):
    """The app, with a saved model whose run kept its 3 epochs."""
    folder = tmp_path_factory.mktemp("compare-browser")
    mnist = builtin.load_builtin("mnist", data_dir=shared_data)
    np.savez(
        folder / "digits.npz",
        x_train=mnist.x_train[:1000],
        y_train=mnist.y_train[:1000],
        x_test=mnist.x_test[:200],
        y_test=mnist.y_test[:200],
        class_names=np.array([str(digit) for digit in range(10)]),
    )
    completed = subprocess.run(
        [sys.executable, "-m", "core.worker.cli", "--model", "mnist_cnn_a"]
        + ["--dataset", str(folder / "digits.npz"), "--epochs", "3", "--batch-size", "32"]
        + ["--save-as", "digits-3-epochs"]
        + ["--runs-dir", str(folder / "runs"), "--models-dir", str(folder / "models")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    environment = {
        "CONVSCOPE_MODELS_DIR": str(folder / "models"),
        "CONVSCOPE_RUNS_DIR": str(folder / "runs"),
    }
    with running_app(environment) as app:
        yield app


def shoot(page, text: str, name: str) -> None:
    """A screenshot of the window scrolled to ``text`` (the page scrolls inside the app)."""
    page.get_by_text(text).first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    screenshot(page, name)


def open_page(browser, url: str, size: str):
    viewport, scale = SIZES[size]
    page = browser.new_page(viewport=viewport, device_scale_factor=scale)
    page.goto(url)
    return page


def test_two_bundled_models_side_by_side(server):
    with open_browser() as browser:
        for size in SIZES:
            page = open_page(browser, f"{server.url}/inspect_network?tab=compare", size)
            page.get_by_text("Grad-CAM for the same class").wait_for(timeout=180_000)
            page.get_by_text("Fashion-MNIST CNN: evidence for").wait_for(timeout=120_000)
            wait_for_app(page, 120_000)
            assert page.locator(EXCEPTION_SELECTOR).count() == 0
            shoot(page, "Probabilities on the same input", f"inspect_compare-models-{size}")
            shoot(page, "Grad-CAM for the same class", f"inspect_compare-models-cam-{size}")
            assert page.locator("strong", has_text="conv1").count() >= 1  # matched by order
            assert page.get_by_text("need a training run of this app").count() == 1
            page.close()


def test_a_trained_models_epochs_compared_and_replayed(server):
    link = "/inspect_network?model=saved:digits-3-epochs&tab=compare&cmp=epochs"
    with open_browser() as browser:
        for size in SIZES:
            page = open_page(browser, server.url + link, size)
            page.get_by_text("Training replay").wait_for(timeout=180_000)
            page.get_by_text("epoch 3 · validation accuracy").first.wait_for(timeout=120_000)
            wait_for_app(page, 120_000)
            assert page.locator(EXCEPTION_SELECTOR).count() == 0
            assert page.get_by_text("The run kept 3 of its 3 epochs").count() == 1
            shoot(page, "Feature maps of matching layers", f"inspect_compare-epochs-{size}")
            shoot(page, "The run kept 3 of its 3 epochs", f"inspect_compare-replay-{size}")
            page.close()
        page = open_page(browser, server.url + link + "&repoch=1", "1440")
        page.get_by_text("Training replay").wait_for(timeout=180_000)
        page.get_by_text("— predicts").wait_for(timeout=120_000)
        wait_for_app(page, 120_000)
        assert page.locator("strong", has_text="epoch 1 · validation accuracy").count() == 1
        page.get_by_role("button", name="▶ Play").click()
        wait_for_app(page, 120_000)
        assert page.locator(EXCEPTION_SELECTOR).count() == 0
        assert page.locator("strong", has_text="epoch 1 · validation accuracy").count() == 1
        shoot(page, "The run kept 3 of its 3 epochs", "inspect_compare-replay-epoch1-1440")
        page.close()
