"""AppTest for Inspect's "Compare & replay" tab on the real inference worker: two bundled
models side by side, and a model trained here (through the command line) whose run kept its
epochs, compared epoch against epoch and replayed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from core.jobs import run_epochs
from tests.app_pages.test_screen_words import problems
from tests.apptest_helpers import markdown_text, screen_text
from tests.conftest import ROOT, SHARED_DATA
from tests.helpers_training import write_tiny_dataset
from tests.inspect_helpers import build_test_models
from ui.inspect.replay import NEEDS_RUN

PAGE = str(ROOT / "app_pages" / "inspect_network.py")
TAB = "Compare & replay"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def environment(tmp_path_factory):
    """Shared data, and a models and a runs folder holding one tiny model trained for 3 epochs."""
    folder = tmp_path_factory.mktemp("compare")
    names = ("CONVSCOPE_DATA_DIR", "CONVSCOPE_MODELS_DIR", "CONVSCOPE_RUNS_DIR")
    saved = {key: os.environ.get(key) for key in names}
    os.environ.update(
        CONVSCOPE_DATA_DIR=str(SHARED_DATA),
        CONVSCOPE_MODELS_DIR=str(folder / "models"),
        CONVSCOPE_RUNS_DIR=str(folder / "runs"),
    )
    dataset = write_tiny_dataset(folder / "tiny.npz")
    completed = subprocess.run(
        [sys.executable, "-m", "core.worker.cli", "--model", "mnist_cnn_a"]
        + ["--dataset", str(dataset), "--epochs", "3", "--batch-size", "32"]
        + ["--learning-rate", "0.01", "--save-as", "tiny-run"]
        + ["--runs-dir", str(folder / "runs"), "--models-dir", str(folder / "models")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    yield folder
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def open_tab(**state) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=180)
    app.run()  # the first run restores the (empty) link: the first tab
    app.session_state["inspect.tab"] = TAB
    for key, value in state.items():
        app.session_state[key] = value
    app.run()
    assert_clean(app)
    return app


def series_names(app: AppTest) -> list[str]:
    """The series of the one chart of both models' probabilities (its bars are grouped)."""
    figures = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    [figure] = [f for f in figures if f["layout"].get("barmode") == "group"]
    return [trace["name"] for trace in figure["data"]]


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [item.value for item in app.exception]
    assert not app.error, [item.value for item in app.error]


def test_two_bundled_models_side_by_side_on_one_input():
    app = open_tab()
    assert app.selectbox(key="inspect.compare_model").value == "bundled:fashion_mnist_cnn"
    assert series_names(app) == ["MNIST CNN A", "Fashion-MNIST CNN"]
    # No shared convolution names: matched by order, and said so.
    assert app.selectbox(key="inspect.compare_layer").options == [
        "conv2d ↔ conv1 (the 1st convolution of each)",
        "conv2d_1 ↔ conv2 (the 2nd convolution of each)",
    ]
    text = markdown_text(app)
    assert "MNIST CNN A · **conv2d** · 32 maps" in text
    assert "Fashion-MNIST CNN · **conv1** · 32 maps" in text
    captions = [caption.value for caption in app.caption]
    assert any(c.startswith("MNIST CNN A: evidence for **7** at conv2d_1") for c in captions)
    assert any(c.startswith("Fashion-MNIST CNN: evidence for **Sneaker**") for c in captions)
    assert any("name their classes differently" in c for c in captions)
    assert problems(screen_text(app)) == []  # no code names, raw floats or "1 epochs"

    app.selectbox(key="inspect.compare_layer").set_value("conv2d_1").run()
    assert_clean(app)
    assert "Fashion-MNIST CNN · **conv2** · 64 maps" in markdown_text(app)


def test_a_bundled_model_says_replay_needs_a_training_run_of_this_app():
    app = open_tab()
    assert NEEDS_RUN in [item.value for item in app.info]
    app.radio(key="inspect.compare_with").set_value("epochs").run()
    assert_clean(app)
    assert [item.value for item in app.info].count(NEEDS_RUN) == 2


def test_a_trained_models_epochs_are_compared_and_replayed(environment):
    [run_dir] = [path for path in (environment / "runs").iterdir() if path.is_dir()]
    assert [saved.epoch for saved in run_epochs.read_epochs(run_dir)] == [1, 2, 3]
    app = open_tab(
        **{"inspect.model_source": "saved", "inspect.compare_with": "epochs"},
    )
    assert app.selectbox(key="inspect.compare_epoch_a").value == 1
    assert app.selectbox(key="inspect.compare_epoch_b").value == 3
    assert series_names(app) == ["epoch 1", "epoch 3"]
    assert app.selectbox(key="inspect.compare_layer").options[0] == "conv2d (same name in both)"
    assert any("The run kept 3 of its 3 epochs" in c.value for c in app.caption)
    assert app.select_slider(key="inspect.replay_epoch").value == 3
    assert "**epoch 3 · validation accuracy" in markdown_text(app)
    assert problems(screen_text(app)) == []

    app.select_slider(key="inspect.replay_epoch").set_value(1).run()
    assert_clean(app)
    assert "**epoch 1 · validation accuracy" in markdown_text(app)
    app.selectbox(key="inspect.replay_channel").set_value(2).run()
    assert_clean(app)
    assert any(c.value.startswith("conv2d, channel 2:") for c in app.caption)


def test_a_model_for_other_images_or_without_maps_is_said_so(environment):
    from core.jobs import model_store

    models = build_test_models()
    for name in ("inception", "mlp"):
        model_store.save_model_file(models / f"{name}.keras", f"test-{name}", {})
    app = open_tab(**{"inspect.compare_model": "saved:test-inception"})
    assert [item.value for item in app.warning] == [
        "**test-inception** cannot look at this input: it takes 32×32 colour images and this "
        "input is a 28×28 grayscale image. Pick a model made for the same kind of images."
    ]
    app.selectbox(key="inspect.compare_model").set_value("saved:test-mlp").run()
    assert_clean(app)
    infos = [item.value for item in app.info]
    assert "These two models have no layers with feature maps to match." in infos
    assert "No Grad-CAM for test-mlp: it has no feature maps to weigh." in infos
    assert series_names(app) == ["MNIST CNN A", "test-mlp"]
