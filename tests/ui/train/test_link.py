"""ui.train.link: the Train page's data, augmentation, architecture and settings survive a
link; ``run=`` stays the page's own; the gallery's "Train this" opens through the link."""

from __future__ import annotations

import pytest

from tests.apptest_helpers import choose
from tests.link_helpers import controls, differing, link_warnings, open_page, reopened
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.train.link import LINK, train_this

PAGE = "train_cnn"


@pytest.fixture(autouse=True)
def isolated_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CONVSCOPE_MODELS_DIR", str(tmp_path / "models"))


def test_a_first_visit_has_an_empty_address():
    at = open_page(PAGE, timeout=120)
    assert link_warnings(at) == []
    assert set(at.query_params) <= {"size", "color", "resize", "preset"}  # drawn defaults


def test_the_settings_round_trip():
    at = open_page(PAGE, timeout=120)
    choose(at, "train.dataset", "fashion_mnist")
    choose(at, "train.target_size.fashion_mnist", 32)
    at.session_state["train.aug_open"] = True  # the reader unfolds the augmentation
    at.run()
    at.selectbox(key="train.aug_flip").set_value("horizontal").run()
    at.slider(key="train.aug_rotation").set_value(15).run()
    choose(at, "train.preset.fashion_mnist", "lenet5")
    at.selectbox(key="train.optimizer").set_value("sgd").run()
    at.number_input(key="train.epochs").set_value(5).run()
    at.slider(key="train.validation").set_value(0.2).run()
    at.number_input(key="train.seed").set_value(42).run()
    at.checkbox(key="train.restore_best").check().run()
    assert not at.exception
    params = dict(at.query_params)
    assert params["data"] == "fashion_mnist" and params["size"] == "32"
    assert params["preset"] == "lenet5" and params["epochs"] == "5" and params["best"] == "1"
    again = reopened(PAGE, at, LINK)
    assert again.session_state["train.preset.fashion_mnist"] == "lenet5"


def test_run_is_kept_and_not_reported():
    at = open_page(PAGE, {"run": "no-such-run", "epochs": "3"}, timeout=120)
    assert link_warnings(at) == []
    assert at.number_input(key="train.epochs").value == 3


def test_bad_parameters_are_named_and_the_page_is_at_defaults():
    at = open_page(PAGE, {"data": "imagenet", "epochs": "-1", "lr": "inf", "batch": "7"})
    (warning,) = link_warnings(at)
    for given in ('"data=imagenet"', '"epochs=-1"', '"lr=inf"', '"batch=7"'):
        assert given in warning
    assert differing(controls(at, LINK), controls(open_page(PAGE), LINK)) == []


def test_a_cap_above_the_data_set_is_pulled_inside():
    at = open_page(PAGE, {"cap": "999999"}, timeout=120)
    assert not at.exception
    cap = at.number_input(key="train.max_samples")
    assert 0 < cap.value == cap.proto.max < 999999


def test_train_this_opens_the_preset_on_its_data_set():
    at = open_page(PAGE, train_this("tinyvgg", "cifar10"), timeout=120)
    assert at.session_state["train.dataset"] == "cifar10"
    assert at.session_state["train.preset.cifar10"] == "tinyvgg"
