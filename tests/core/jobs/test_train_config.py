"""Tests for core.jobs.train_config: TrainConfig and Augmentation, checked once when made."""

from __future__ import annotations

import json

import pytest

from core.jobs.train_config import Augmentation, TrainConfig

# ---------------------------------------------------------------------------
# TrainConfig
# ---------------------------------------------------------------------------


def test_train_config_normalises_the_optimizer_name():
    assert TrainConfig(optimizer="RMSprop").optimizer == "rmsprop"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"optimizer": "adagrad"}, "`optimizer` must be one of 'sgd', 'rmsprop', 'adam'"),
        ({"learning_rate": 0}, "Received: learning_rate=0"),
        ({"batch_size": 0}, "`batch_size` must be >= 1. Received: batch_size=0"),
        ({"epochs": -2}, "Received: epochs=-2"),
        ({"validation_fraction": 1.0}, "Received: validation_fraction=1.0"),
        ({"momentum": 1.0}, "Received: momentum=1.0"),
        ({"max_train_samples": 0}, "Received: max_train_samples=0"),
        ({"augmentation": {"rotation": 0.9}}, "Received: rotation=0.9"),
        ({"augmentation": {"flip": "diagonal"}}, "Received: flip='diagonal'"),
    ],
)
def test_train_config_refuses_bad_values_naming_them(arguments, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(**arguments)


def test_train_config_refuses_a_float_batch_size():
    with pytest.raises(
        TypeError, match="`batch_size` must be an integer. Received: batch_size=32.0"
    ):
        TrainConfig(batch_size=32.0)


def test_train_config_round_trips_through_a_dict():
    config = TrainConfig(optimizer="sgd", augmentation={"flip": "horizontal", "zoom": 0.1})
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.augmentation.active


def test_train_config_turns_an_augmentation_dict_into_an_augmentation():
    config = TrainConfig(augmentation={"rotation": 0.05})
    assert config.augmentation == Augmentation(rotation=0.05)


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"augmentation": "flip"}, "augmentation"),
        ({"restore_best_weights": 1}, "restore_best_weights"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_train_config_refuses_values_of_the_wrong_type_naming_them(arguments, name):
    with pytest.raises(TypeError, match=f"`{name}`"):
        TrainConfig(**arguments)


@pytest.mark.parametrize("seconds", [0, -1.0, float("inf")])
def test_a_time_budget_must_be_a_positive_finite_number_of_seconds(seconds):
    with pytest.raises(ValueError, match=f"Received: time_budget_seconds={seconds!r}"):
        TrainConfig(time_budget_seconds=seconds)


def test_from_dict_refuses_fields_it_does_not_know():
    values = {**TrainConfig().to_dict(), "colour": "red"}
    with pytest.raises(ValueError, match="'colour'"):
        TrainConfig.from_dict(values)


def test_a_train_config_is_frozen():
    config = TrainConfig()
    with pytest.raises(AttributeError):
        config.epochs = 5


# ---------------------------------------------------------------------------
# Augmentation
# ---------------------------------------------------------------------------


def test_the_default_augmentation_is_inactive_and_any_change_activates_it():
    assert not Augmentation().active
    for change in ({"flip": "vertical"}, {"rotation": 0.1}, {"translation": 0.1}, {"zoom": 0.2}):
        assert Augmentation(**change).active, change


def test_augmentation_normalises_the_flip_mode():
    assert Augmentation(flip="Horizontal_And_Vertical").flip == "horizontal_and_vertical"


@pytest.mark.parametrize(
    ("arguments", "received"),
    [
        ({"rotation": -0.1}, "rotation=-0.1"),
        ({"translation": 1.0}, "translation=1.0"),
        ({"zoom": 1.5}, "zoom=1.5"),
    ],
)
def test_augmentation_refuses_fractions_out_of_range(arguments, received):
    with pytest.raises(ValueError, match=f"Received: {received}"):
        Augmentation(**arguments)


def test_half_a_turn_is_the_largest_rotation():
    assert Augmentation(rotation=0.5).rotation == 0.5
