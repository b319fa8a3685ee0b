"""Training hyperparameters as frozen dataclasses, checked once when they are made.

`TrainConfig` (optimizer, learning rate, epochs, batch size, validation split, time budget,
...) and `Augmentation` travel to the worker as JSON (`to_dict` / `from_dict`)."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field

OPTIMIZERS = ("sgd", "rmsprop", "adam")


LEARNING_RATE_SCHEDULES = ("constant", "cosine")


FLIP_MODES = ("none", "horizontal", "vertical", "horizontal_and_vertical")


@dataclass(frozen=True)
class Augmentation:
    """Random changes applied to each training batch (Keras preprocessing layers).

    Args:
        flip: ``"none"``, ``"horizontal"``, ``"vertical"`` or
            ``"horizontal_and_vertical"`` (``keras.layers.RandomFlip`` modes).
            Leave digits unflipped: a mirrored 2 is not a 2.
        rotation: Largest rotation as a fraction of a full turn, 0 to 0.5
            (``keras.layers.RandomRotation(factor)``; 0.05 is ±18°).
        translation: Largest shift as a fraction of height and width, 0 to 1
            (``keras.layers.RandomTranslation``).
        zoom: Largest zoom in or out as a fraction, 0 to 1 (``keras.layers.RandomZoom``).

    >>> Augmentation(rotation=0.05).active
    True
    """

    flip: str = "none"
    rotation: float = 0.0
    translation: float = 0.0
    zoom: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "flip", check_choice_field(self.flip, "flip", FLIP_MODES))
        object.__setattr__(self, "rotation", check_real_field(self.rotation, "rotation", 0.0, 0.5))
        object.__setattr__(
            self,
            "translation",
            check_real_field(self.translation, "translation", 0.0, 1.0, open_max=True),
        )
        object.__setattr__(
            self, "zoom", check_real_field(self.zoom, "zoom", 0.0, 1.0, open_max=True)
        )

    @property
    def active(self) -> bool:
        """Whether any augmentation is switched on."""
        return self.flip != "none" or bool(self.rotation or self.translation or self.zoom)


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimizer, schedule, augmentation and what to record.

    The defaults are the Train page's defaults: Adam at 2e-3 with a cosine
    schedule, batches of 64, two epochs. With them MNIST CNN A reaches about
    99.0% test accuracy on the full MNIST in under a minute of training on two
    CPU cores (``bench/train.py`` measures it).

    Args:
        optimizer: ``"sgd"`` (with ``momentum``), ``"rmsprop"`` or ``"adam"``.
        learning_rate: Step size, > 0 (the starting one with a schedule).
        learning_rate_schedule: ``"constant"``, or ``"cosine"``: the step size
            falls along half a cosine from ``learning_rate`` to 0 over the planned
            batches (``keras.optimizers.schedules.CosineDecay``), which reaches a
            given accuracy in fewer epochs.
        momentum: SGD momentum, 0 <= momentum < 1 (ignored by the others).
        batch_size: Images per gradient step, >= 1.
        epochs: Passes over the training images, >= 1.
        validation_fraction: Share of the training images held out for
            validation, 0 <= fraction < 1 (0: no validation).
        augmentation: An `Augmentation` (or a dict of its fields).
        seed: Seeds the split, the shuffling, the initial weights and the augmentation.
        snapshot_every_batches: Save the first conv layer's kernels every N batches.
        restore_best_weights: When training ends or is stopped, go back to
            the weights of the epoch with the best validation accuracy.
        max_train_samples: Train on at most this many images (None: all) —
            for quick demos and tests.
        time_budget_seconds: End training after this many seconds of it
            (pauses excluded), keeping the weights reached: the run then
            finishes with ``reason="time_budget"``. For comparing an MLP and a
            CNN on the same budget. None: no limit.

    Raises:
        ValueError: naming the argument and the value received.

    >>> TrainConfig(optimizer="Adam", epochs=2).optimizer
    'adam'
    """

    optimizer: str = "adam"
    learning_rate: float = 2e-3
    learning_rate_schedule: str = "cosine"
    momentum: float = 0.9
    batch_size: int = 64
    epochs: int = 2
    validation_fraction: float = 0.1
    augmentation: Augmentation = field(default_factory=Augmentation)
    seed: int = 0
    snapshot_every_batches: int = 25
    restore_best_weights: bool = False
    max_train_samples: int | None = None
    time_budget_seconds: float | None = None

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "optimizer", check_choice_field(self.optimizer, "optimizer", OPTIMIZERS))
        set_(
            self,
            "learning_rate",
            check_real_field(self.learning_rate, "learning_rate", 0.0, math.inf, open_min=True),
        )
        set_(
            self,
            "learning_rate_schedule",
            check_choice_field(
                self.learning_rate_schedule, "learning_rate_schedule", LEARNING_RATE_SCHEDULES
            ),
        )
        set_(self, "momentum", check_real_field(self.momentum, "momentum", 0.0, 1.0, open_max=True))
        set_(self, "batch_size", check_integer_field(self.batch_size, "batch_size", 1))
        set_(self, "epochs", check_integer_field(self.epochs, "epochs", 1))
        set_(
            self,
            "validation_fraction",
            check_real_field(
                self.validation_fraction, "validation_fraction", 0.0, 1.0, open_max=True
            ),
        )
        augmentation = self.augmentation
        if isinstance(augmentation, dict):
            augmentation = Augmentation(**augmentation)
        if not isinstance(augmentation, Augmentation):
            raise TypeError(
                "`augmentation` must be an Augmentation or a dict of its fields. "
                f"Received: augmentation={augmentation!r}"
            )
        set_(self, "augmentation", augmentation)
        set_(self, "seed", check_integer_field(self.seed, "seed", 0))
        set_(
            self,
            "snapshot_every_batches",
            check_integer_field(self.snapshot_every_batches, "snapshot_every_batches", 1),
        )
        if not isinstance(self.restore_best_weights, bool):
            raise TypeError(
                "`restore_best_weights` must be True or False. "
                f"Received: restore_best_weights={self.restore_best_weights!r}"
            )
        if self.max_train_samples is not None:
            set_(
                self,
                "max_train_samples",
                check_integer_field(self.max_train_samples, "max_train_samples", 1),
            )
        if self.time_budget_seconds is not None:
            set_(
                self,
                "time_budget_seconds",
                check_real_field(
                    self.time_budget_seconds, "time_budget_seconds", 0.0, math.inf, open_min=True
                ),
            )

    def to_dict(self) -> dict:
        """Return the config as plain JSON-safe values."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Rebuild a config from `to_dict`'s output (unknown keys are refused)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"Unknown TrainConfig fields: {unknown}. Expected some of {sorted(known)}"
            )
        return cls(**values)


def check_choice_field(value, name, choices):
    if not isinstance(value, str) or value.lower() not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {allowed}. Received: {name}={value!r}")
    return value.lower()


def check_real_field(value, name, low, high, *, open_min=False, open_max=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    number = float(value)
    too_low = number <= low if open_min else number < low
    too_high = number >= high if open_max else number > high
    if not math.isfinite(number) or too_low or too_high:
        left = "(" if open_min else "["
        right = ")" if open_max else "]"
        raise ValueError(
            f"`{name}` must be in {left}{low:g}, {high:g}{right}. Received: {name}={value!r}"
        )
    return number


def check_integer_field(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer. Received: {name}={value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}. Received: {name}={value!r}")
    return int(value)
