"""AppTest for "Explain one unit" and "Mistakes on the test images" on the Inspect page,
with the real inference worker (slow).

The unit's arithmetic must agree with the model's own output (the page says so in a
caption); the mistakes must match an independent count from the model's predictions.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.data import builtin, preprocessing
from core.jobs.worker_client import shared_client
from tests.apptest_helpers import markdown_text
from tests.conftest import ROOT, SHARED_DATA
from tests.inspect_helpers import MNIST_MODEL, build_test_models, open_tab

PAGE = str(ROOT / "app_pages" / "inspect_network.py")
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("inspect_environment")]


def run_page() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=240)
    app.run()
    assert_clean(app)
    return app


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [item.value for item in app.exception]
    assert not app.error, [item.value for item in app.error]


def agreement(app: AppTest) -> str:
    (caption,) = [c.value for c in app.caption if c.value.startswith("The model's own output")]
    return caption


def unit_lines(app: AppTest) -> str:
    return next(m.value for m in app.markdown if m.value.startswith("Unit (row"))


def test_a_unit_of_each_layer_agrees_with_the_model():
    app = open_tab(run_page(), "maps")
    # It opens on the strongest unit of the first map of the first conv layer.
    assert "agree" in agreement(app) and "below 10⁻⁵" in agreement(app)
    assert "its input channel" in unit_lines(app)
    text = markdown_text(app)
    assert "**max_pooling2d** (MaxPooling2D): this unit" in text
    (button,) = app.get("link_button")
    assert button.proto.label == "Try input channel 0's kernel in the Kernel Playground"
    assert button.proto.url.startswith("kernel_playground?k=")

    app.selectbox(key="inspect.unit_layer").set_value("conv2d_1").run()
    app.number_input(key="inspect.unit_filter").set_value(5).run()
    app.number_input(key="inspect.unit_row").set_value(0).run()
    app.number_input(key="inspect.unit_col").set_value(13).run()
    assert_clean(app)
    assert "Unit (row 0, column 13) of map 5" in unit_lines(app)
    assert "each of its 32 input channels" in unit_lines(app)
    assert "below 10⁻⁵" in agreement(app)
    # 32 input channels: one shown at a time, with every channel's sum in a table.
    assert app.number_input(key="inspect.unit_channel").value in range(32)
    app.number_input(key="inspect.unit_channel").set_value(7).run()
    assert_clean(app)
    assert "**Input channel 7**: products summed" in markdown_text(app)
    assert app.get("link_button")[0].proto.label.startswith("Try input channel 7's kernel")
    assert any("zero padding" in c.value for c in app.caption)  # column 13 of 14, 'same'


@pytest.mark.parametrize("layer", ["block2_conv1", "block2_shortcut"])
def test_strided_layers_of_a_residual_model_agree_with_the_model(layer):
    app = run_page()
    app.radio(key="inspect.model_source").set_value("upload").run()
    data = (build_test_models() / "residual.keras").read_bytes()
    app.file_uploader(key="inspect.model_upload").set_value(
        ("residual.keras", data, "application/octet-stream")
    ).run()
    open_tab(app, "maps").selectbox(key="inspect.unit_layer").set_value(layer).run()
    app.number_input(key="inspect.unit_row").set_value(6).run()
    assert_clean(app)
    assert "strides (2, 2)" in unit_lines(app)
    assert "below 10⁻⁵" in agreement(app)


@pytest.fixture(scope="module")
def predictions():
    """An independent count: the model's answers on the 10,000 MNIST test images."""
    dataset = builtin.load_builtin("mnist", data_dir=SHARED_DATA)
    images = preprocessing.preprocess(dataset.x_test, preprocessing.Preprocessing())
    probabilities = shared_client().predict(MNIST_MODEL, images)
    return probabilities.argmax(axis=1), dataset.y_test


def test_mistakes_open_their_cell_and_match_the_model_s_answers(predictions):
    predicted, labels = predictions
    app = open_tab(run_page(), "summary")
    assert "inspect.mistakes_go" in [button.key for button in app.button]
    app.button(key="inspect.mistakes_go").click().run()
    assert_clean(app)
    wrong = int((predicted != labels).sum())
    accuracy = next(m.value for m in app.markdown if m.value.startswith("Accuracy on"))
    assert f"({wrong} mistakes)" in accuracy or f"({wrong:,} mistakes)" in accuracy
    # It opens on the commonest mistake.
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (labels, predicted), 1)
    np.fill_diagonal(confusion, -1)
    worst = np.unravel_index(confusion.argmax(), confusion.shape)
    assert app.selectbox(key="inspect.mistake_true").value == worst[0]
    assert app.selectbox(key="inspect.mistake_predicted").value == worst[1]

    app.selectbox(key="inspect.mistake_true").set_value(4).run()
    app.selectbox(key="inspect.mistake_predicted").set_value(9).run()
    assert_clean(app)
    count = int(((labels == 4) & (predicted == 9)).sum())
    cell = next(m.value for m in app.markdown if "answered *9*" in m.value)
    assert re.match(rf"\*\*{count} images?\*\* of \*4\* answered \*9\* \(wrong\)", cell)
    assert any(m.value.startswith("**Top losses**") for m in app.markdown)
    labels_shown = [button.label for button in app.get("download_button")]
    csv_downloads = [label for label in labels_shown if label != "PNG"]  # PNG: the pictures'
    assert csv_downloads == ["Predictions (CSV)", "Confusion matrix (CSV)"]
    # Asked once, the evaluation stays: the next run shows it without the button.
    app.run()
    assert "inspect.mistakes_go" not in [button.key for button in app.button]
