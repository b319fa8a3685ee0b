"""ui.inspect.compare: the models offered for comparison, the one probability chart, and the
tab's link. The whole tab runs on the real worker in
tests/app_pages/test_page_inspect_compare.py."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

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
    assert list(figure.data[0].text) == ["90.0%", "10.0%"]
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


def closed_tab():
    import streamlit as st

    from core.jobs.inspection import ModelInfo
    from tests.inspect_helpers import MNIST_MODEL
    from ui.inspect.compare import compare_and_replay
    from ui.inspect.models import ModelChoice
    from ui.widgets.tab_charts import in_tab

    class NoWorker:
        def __getattr__(self, name):
            raise AssertionError(f"a closed tab asked the worker for {name}")

    info = ModelInfo(str(MNIST_MODEL), "m", (28, 28, 1), 10, (), 0)
    tabs = st.tabs(["Other", "Compare & replay"], key="tab", on_change="rerun")
    with in_tab(tabs[1]):
        choice = ModelChoice(str(MNIST_MODEL), "mnist_cnn_a", {})
        compare_and_replay(NoWorker(), choice, info, None, None, [str(i) for i in range(10)])


def test_a_closed_tab_draws_its_controls_and_asks_the_worker_nothing():
    app = AppTest.from_function(closed_tab).run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.selectbox(key="inspect.compare_model").value == "bundled:fashion_mnist_cnn"
    app.radio(key="inspect.compare_with").set_value("epochs").run()
    assert not app.exception, [e.value for e in app.exception]


def test_bars_below_half_a_percent_go_unlabelled():
    left, right = side("a", ["cat", "dog"]), side("b", ["cat", "dog"])
    figure = probabilities_figure(left, right, np.array([0.004, 0.996]), np.array([0.5, 0.5]))
    assert list(figure.data[0].text) == ["", "99.6%"]
