"""ui.inspect.compare: the models offered for comparison, the one probability chart, and the
tab's link. The whole tab runs on the real worker in
tests/app_pages/test_page_inspect_compare.py."""

from __future__ import annotations

import numpy as np

from core.base.paths import BUNDLED_MODELS_DIR
from core.jobs.inspection import ModelInfo
from tests.inspect_helpers import MNIST_MODEL
from ui.inspect.compare import Side, model_options, probabilities_figure
from ui.inspect.link import LINK, TAB_NAMES, TAB_SLUGS


def side(label: str, names) -> Side:
    info = ModelInfo(f"{label}.keras", label, (28, 28, 1), len(names), (), 0)
    return Side(label, info.path, info, tuple(names))


def test_every_model_but_the_pages_own_is_offered(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_MODELS_DIR", str(tmp_path / "none"))
    assert list(model_options(str(MNIST_MODEL))) == ["bundled:fashion_mnist_cnn"]
    everything = model_options(str(tmp_path / "uploaded.keras"))
    assert list(everything) == ["bundled:fashion_mnist_cnn", "bundled:mnist_cnn_a"]
    assert everything["bundled:mnist_cnn_a"].path.parent == BUNDLED_MODELS_DIR


def test_both_probabilities_share_one_axis_as_two_named_series():
    left, right = side("a", ["cat", "dog"]), side("b", ["kitten", "puppy"])
    figure = probabilities_figure(left, right, np.array([0.9, 0.1]), np.array([0.25, 0.75]))
    assert [trace.name for trace in figure.data] == ["a", "b"]
    assert list(figure.data[1].y) == ["cat", "dog"]  # one set of rows for both
    assert list(figure.data[1].customdata) == ["kitten", "puppy"]  # its own names on hover
    assert list(figure.data[1].text) == ["25.0%", "75.0%"]
    assert figure.layout.barmode == "group" and tuple(figure.layout.xaxis.range) == (0, 1)


def test_the_tab_and_its_controls_are_in_the_link():
    assert TAB_NAMES[TAB_SLUGS.index("compare")] == "Compare & replay"
    state = {
        "inspect.compare_with": "epochs",
        "inspect.compare_model": "saved:my-model",
        "inspect.compare_epoch_a": 2,
        "inspect.replay_epoch": 5,
    }
    params = {item.name: LINK.value(item, state) for item in LINK.fields}
    assert params["cmp"] == "epochs" and params["cmodel"] == "saved:my-model"
    assert (params["ca"], params["cb"], params["repoch"]) == (2, "auto", 5)
