"""ui.train.compare: queueing an MLP against a CNN, and the side-by-side table.

The table is read from real run folders filled as a worker would; queueing only writes the
session state, and the tests never let the view start a worker (both runs already exist,
or the job cap is full).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.data.image_dataset import ImageDataset
from core.data.preprocessing import Preprocessing
from core.jobs.train_config import TrainConfig
from core.nets.presets import preset
from core.nets.specs import spec_to_dict
from tests.ui.train.run_files import new_run, write_evaluation, write_status
from ui.train.compare import COMPARE_KEY, ERROR_KEY, MAX_EPOCHS, _has_conv
from ui.train.data import DataChoice

MLP_PARAMS = (784 * 512 + 512) + (512 * 512 + 512) + (512 * 10 + 10)  # 669,706
CNN_A_PARAMS = 220_234  # SEEDS.md


@pytest.fixture(autouse=True)
def runs_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    monkeypatch.setenv("CONVSCOPE_RUNS_DIR", str(root))
    monkeypatch.setenv("CONVSCOPE_MAX_JOBS", "2")
    return root


def mnist_shaped_choice() -> DataChoice:
    labels = np.arange(10)
    images = np.zeros((10, 28, 28), np.uint8)
    dataset = ImageDataset(
        "digits", tuple(map(str, range(10))), images, labels, images, labels, "a test"
    )
    return DataChoice("mnist", dataset, "mnist", Preprocessing(), (28, 28, 1))


def test_a_cnn_is_a_stack_with_a_conv_layer():
    assert _has_conv(preset("lenet5"))
    assert not _has_conv(preset("mlp"))


def controls_script(choice, cnn_spec, config, state):
    import streamlit as st

    from ui.train.compare import COMPARE_KEY, compare_controls

    if state is not None and COMPARE_KEY not in st.session_state:
        st.session_state[COMPARE_KEY] = state
    compare_controls(choice, cnn_spec, config)


def open_controls(cnn_spec=None, config=None, state=None) -> AppTest:
    config = TrainConfig(batch_size=32, seed=3) if config is None else config
    at = AppTest.from_function(
        controls_script, args=(mnist_shaped_choice(), cnn_spec, config, state)
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize(
    ("cnn_spec", "reason"),
    [
        (None, "is not a CNN built from scratch (a transfer model, or a stack with an error)"),
        (preset("mlp"), "has no Conv2D layer"),
    ],
)
def test_without_a_cnn_above_the_comparison_uses_mnist_cnn_a(cnn_spec, reason):
    at = open_controls(cnn_spec)
    assert [c.value for c in at.caption] == [
        f"The architecture above {reason}, so the CNN here is MNIST CNN A."
    ]
    at.button(key="train.compare_start").click().run()
    labels = [entry["label"] for entry in at.session_state[COMPARE_KEY]["entries"]]
    assert labels == ["MLP", "CNN (mnist_cnn_a)"]


def test_train_both_queues_both_runs_with_the_budget_and_the_pages_settings():
    cnn = preset("lenet5", input_shape=(28, 28, 1), num_classes=10)
    at = open_controls(cnn, TrainConfig(batch_size=32, seed=3, restore_best_weights=True))
    assert not at.caption
    at.radio(key="train.compare_budget").set_value(15)
    at.button(key="train.compare_start").click().run()
    state = at.session_state[COMPARE_KEY]
    assert state["budget"] == 15.0
    assert state["source"] == "mnist"
    assert state["preprocessing"] == {
        "target_size": None,
        "color_mode": "grayscale",
        "resize_mode": "pad",
    }
    config = TrainConfig.from_dict(state["config"])
    assert config == TrainConfig(
        batch_size=32,
        seed=3,
        epochs=MAX_EPOCHS,
        learning_rate_schedule="constant",
        restore_best_weights=False,
        time_budget_seconds=15.0,
    )
    mlp, cnn_entry = state["entries"]
    assert mlp["spec"] == spec_to_dict(preset("mlp", input_shape=(28, 28, 1), num_classes=10))
    assert (cnn_entry["label"], cnn_entry["spec"]) == ("CNN (lenet5)", spec_to_dict(cnn))
    assert mlp["run_dir"] is None and cnn_entry["run_dir"] is None
    assert at.button(key="train.compare_start").disabled  # one comparison at a time


def test_a_comparison_whose_runs_have_ended_lets_another_start(runs_root):
    entries = [{"label": "MLP", "spec": {}, "run_dir": str(finished(runs_root))}] * 2
    at = open_controls(state={"entries": entries})
    assert not at.button(key="train.compare_start").disabled


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------


def finished(runs_root: Path, *, accuracy_of_ten: int = 9, **status) -> Path:
    run_dir = new_run(runs_root)
    write_status(run_dir, **({"state": "finished"} | status))
    predicted = [0] * accuracy_of_ten + [1] * (10 - accuracy_of_ten)
    write_evaluation(run_dir, [0] * 10, predicted, ["a", "b"])
    return run_dir


def comparison(*run_dirs, budget=5.0) -> dict:
    specs = {
        "MLP": preset("mlp", input_shape=(28, 28, 1), num_classes=10),
        "CNN (mnist_cnn_a)": preset("mnist_cnn_a", input_shape=(28, 28, 1), num_classes=10),
    }
    return {
        "budget": budget,
        "config": TrainConfig(epochs=MAX_EPOCHS, time_budget_seconds=budget).to_dict(),
        "source": "mnist",
        "preprocessing": {},
        "entries": [
            {
                "label": label,
                "spec": spec_to_dict(spec),
                "run_dir": None if path is None else str(path),
            }
            for (label, spec), path in zip(specs.items(), run_dirs, strict=True)
        ],
    }


def view_script(state):
    import streamlit as st

    from ui.train.compare import COMPARE_KEY, compare_view

    if "opened" not in st.session_state:
        st.session_state["opened"] = True
        if state is not None:
            st.session_state[COMPARE_KEY] = state
    compare_view()


def open_view(state) -> AppTest:
    at = AppTest.from_function(view_script, args=(state,)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_no_comparison_no_table():
    at = open_view(None)
    assert not at.dataframe and not at.error


def test_two_finished_runs_side_by_side(runs_root):
    mlp = finished(
        runs_root,
        accuracy_of_ten=8,
        elapsed_seconds=5.04,
        step=30,
        batches_per_epoch=20,
        samples_per_second=812.6,
    )
    cnn = finished(
        runs_root, elapsed_seconds=5.26, step=7, batches_per_epoch=20, samples_per_second=95.2
    )
    at = open_view(comparison(mlp, cnn))
    table = at.dataframe[0].value
    assert table.to_dict("records") == [
        {
            "Model": "MLP",
            "Parameters": MLP_PARAMS,
            "State": "finished",
            "Training time (s)": 5.0,
            "Epochs done": 1.5,
            "Samples/s": 813,
            "Test accuracy": 0.8,
        },
        {
            "Model": "CNN (mnist_cnn_a)",
            "Parameters": CNN_A_PARAMS,
            "State": "finished",
            "Training time (s)": 5.3,
            "Epochs done": 0.35,
            "Samples/s": 95,
            "Test accuracy": 0.9,
        },
    ]
    assert at.caption[0].value.startswith("Budget: 5 s of training each, one after the other")


def test_a_run_still_to_start_waits_for_a_free_slot(runs_root, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_MAX_JOBS", "1")
    busy = new_run(runs_root)
    write_status(busy, state="running")  # someone else's run fills the only slot
    at = open_view(comparison(finished(runs_root), None))
    [warning] = [w.value for w in at.warning]
    assert warning.startswith("Waiting for a free training slot: 1 training job is already")
    table = at.dataframe[0].value
    assert list(table["State"]) == ["finished", "waiting"]
    assert at.session_state[COMPARE_KEY]["entries"][1]["run_dir"] is None  # nothing started


def test_a_run_folder_that_has_gone_ends_the_comparison_with_a_message(runs_root, tmp_path):
    state = comparison(tmp_path / "deleted", finished(runs_root))
    at = open_view(state)
    assert COMPARE_KEY not in at.session_state
    [error] = [e.value for e in at.error]
    assert error.startswith("The comparison could not go on: `run_dir` is not a training run")
    assert not at.dataframe
    at.run()
    assert not at.error  # said once
    assert ERROR_KEY not in at.session_state
