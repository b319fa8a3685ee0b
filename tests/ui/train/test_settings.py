"""The Train page's settings popover: its values make the TrainConfig, open or shut."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.jobs.train_config import Augmentation, TrainConfig
from ui.train.settings import SETTINGS_OPEN_KEY, settings_summary


def settings_script(augmentation, num_train_images):
    import streamlit as st

    from ui.train.settings import train_settings

    st.session_state["result"] = train_settings(augmentation, num_train_images)


def open_settings(augmentation=None, num_train_images=1000, *, shut=False) -> AppTest:
    """The settings after one run, with their popover open (as a visitor who opened it)."""
    augmentation = Augmentation() if augmentation is None else augmentation
    at = AppTest.from_function(settings_script, args=(augmentation, num_train_images))
    at.session_state[SETTINGS_OPEN_KEY] = not shut
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def popover_label(at: AppTest) -> str:
    (label,) = [b.proto.popover.label for b in at.get("popover")]
    return label


def test_the_default_settings_are_the_train_configs_defaults():
    for shut in (False, True):
        at = open_settings(num_train_images=60_000, shut=shut)
        assert at.session_state["result"] == TrainConfig(snapshot_every_batches=42)  # 844 × 2 / 40


def test_changed_settings_arrive_in_the_config():
    augmentation = Augmentation(flip="horizontal")
    at = open_settings(augmentation, 1000)
    at.selectbox(key="train.optimizer").set_value("sgd")
    at.number_input(key="train.learning_rate").set_value(0.01)
    at.select_slider(key="train.batch_size").set_value(16)
    at.number_input(key="train.epochs").set_value(5)
    at.slider(key="train.validation").set_value(0.2)
    at.number_input(key="train.max_samples").set_value(512)
    at.number_input(key="train.seed").set_value(7)
    at.checkbox(key="train.restore_best").check().run()
    config = at.session_state["result"]
    assert config == TrainConfig(
        optimizer="sgd",
        learning_rate=0.01,
        batch_size=16,
        epochs=5,
        validation_fraction=0.2,
        augmentation=augmentation,
        seed=7,
        snapshot_every_batches=4,  # min(512, 800) images: 32 batches × 5 epochs / 40
        restore_best_weights=True,
        max_train_samples=512,
    )
    assert popover_label(at) == "Settings: " + settings_summary(at.session_state)
    assert "SGD + momentum · learning rate 0.01 · batch 16 · 5 epochs" in popover_label(at)


def test_shut_the_popover_draws_no_widget_and_keeps_every_value():
    at = open_settings()
    at.number_input(key="train.epochs").set_value(7)
    at.number_input(key="train.seed").set_value(3).run()
    at.session_state[SETTINGS_OPEN_KEY] = False
    at.run()
    assert not at.number_input and not at.selectbox and not at.checkbox and not at.slider
    config = at.session_state["result"]
    assert (config.epochs, config.seed) == (7, 3)
    assert "7 epochs" in popover_label(at) and "seed 3" in popover_label(at)
    at.session_state[SETTINGS_OPEN_KEY] = True
    at.run()  # opened again, the widgets show the values the page held
    assert at.number_input(key="train.epochs").value == 7
    assert at.number_input(key="train.seed").value == 3


def test_values_set_while_shut_are_used_and_shown():
    """A link writes the settings' entries before the page runs, with the popover shut."""
    at = AppTest.from_function(settings_script, args=(Augmentation(), 1000))
    at.session_state["train.epochs"] = 4
    at.session_state["train.max_samples"] = 2000  # more than the data set has: capped
    at.run()
    config = at.session_state["result"]
    assert (config.epochs, config.max_train_samples) == (4, 1000)
    assert "4 epochs" in popover_label(at) and "1,000 images" in popover_label(at)


def test_keeping_the_best_epoch_needs_a_validation_share():
    at = open_settings()
    at.checkbox(key="train.restore_best").check()
    at.slider(key="train.validation").set_value(0.0).run()
    assert at.session_state["result"].restore_best_weights is False


def test_the_image_cap_stops_at_the_number_of_images():
    at = open_settings(num_train_images=300)
    assert at.number_input(key="train.max_samples").max == 300


def test_settings_that_do_not_make_a_config_are_an_error():
    at = open_settings(augmentation="lots")
    assert at.session_state["result"] is None
    assert at.error[0].value.startswith("These training settings do not work: `augmentation`")
