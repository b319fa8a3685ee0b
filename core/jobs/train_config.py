"""Training hyperparameters as frozen dataclasses, checked once when they are made.

`TrainConfig` (optimizer, learning rate, epochs, batch size, validation split, time budget,
...) and `Augmentation` travel to the worker as JSON (`to_dict` / `from_dict`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from core.base.checks import (
    as_choice,
    check_bool,
    check_instance,
    check_int,
    check_real,
    received,
)

OPTIMIZERS = ("sgd", "rmsprop", "adam")


LEARNING_RATE_SCHEDULES = ("constant", "cosine")


FLIP_MODES = ("none", "horizontal", "vertical", "horizontal_and_vertical")


def check_keys(values, name: str, known) -> dict:
    """Check that ``values`` is a dict whose keys are all in ``known``; return it.

    Raises:
        TypeError: ``values`` is not a dict.
        ValueError: it has a key that is not in ``known``.

    >>> check_keys({"blur": 2}, "augmentation", ("flip", "zoom"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: `augmentation` takes only the keys 'flip', 'zoom', not ['blur']. Received: ...
    """
    check_instance(values, name, dict)
    unknown = sorted((key for key in values if key not in known), key=str)
    if unknown:
        listing = ", ".join(repr(key) for key in known)
        raise ValueError(
            f"`{name}` takes only the keys {listing}, not {unknown}. {received(name, values)}"
        )
    return values


def from_fields(cls, values, name: str):
    """Make the dataclass ``cls`` from a dict of its fields, refusing keys it does not have.

    The fields themselves are checked by ``cls``, naming the field.

    >>> from_fields(Augmentation, {"zoom": 0.1}, "augmentation")
    Augmentation(flip='none', rotation=0.0, translation=0.0, zoom=0.1)
    """
    known = tuple(item.name for item in dataclasses.fields(cls))
    return cls(**check_keys(values, name, known))


def _fraction(value, name: str) -> float:
    """A share of something: 0 <= value < 1."""
    return check_real(value, name, minimum=0.0, maximum=1.0, open_max=True)


def _positive(value, name: str) -> float:
    """A step size or a duration: a finite number > 0."""
    return check_real(value, name, minimum=0.0, open_min=True)


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
        set_ = object.__setattr__
        set_(self, "flip", as_choice(self.flip, "flip", FLIP_MODES))
        set_(self, "rotation", check_real(self.rotation, "rotation", minimum=0.0, maximum=0.5))
        for name in ("translation", "zoom"):
            set_(self, name, _fraction(getattr(self, name), name))

    @property
    def active(self) -> bool:
        """Whether any augmentation is switched on."""
        return self.flip != "none" or bool(self.rotation or self.translation or self.zoom)


def as_augmentation(value, name: str = "augmentation") -> Augmentation:
    """An `Augmentation`, or a dict of its fields made into one.

    Raises:
        TypeError: neither an `Augmentation` nor a dict.
        ValueError: a dict with a key that is not a field, or a field out of range.

    >>> as_augmentation({"flip": "horizontal"}).flip
    'horizontal'
    """
    if isinstance(value, dict):
        value = from_fields(Augmentation, value, name)
    return check_instance(value, name, Augmentation, "an Augmentation or a dict of its fields")


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
        TypeError: a field of the wrong type (e.g. ``batch_size=32.0``).
        ValueError: a value out of range; both name the field and the value received.

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
        set_(self, "optimizer", as_choice(self.optimizer, "optimizer", OPTIMIZERS))
        set_(self, "learning_rate", _positive(self.learning_rate, "learning_rate"))
        schedule = as_choice(
            self.learning_rate_schedule, "learning_rate_schedule", LEARNING_RATE_SCHEDULES
        )
        set_(self, "learning_rate_schedule", schedule)
        set_(self, "momentum", _fraction(self.momentum, "momentum"))
        set_(self, "batch_size", check_int(self.batch_size, "batch_size", minimum=1))
        set_(self, "epochs", check_int(self.epochs, "epochs", minimum=1))
        set_(
            self, "validation_fraction", _fraction(self.validation_fraction, "validation_fraction")
        )
        set_(self, "augmentation", as_augmentation(self.augmentation))
        set_(self, "seed", check_int(self.seed, "seed", minimum=0))
        every = check_int(self.snapshot_every_batches, "snapshot_every_batches", minimum=1)
        set_(self, "snapshot_every_batches", every)
        set_(
            self,
            "restore_best_weights",
            check_bool(self.restore_best_weights, "restore_best_weights"),
        )
        if self.max_train_samples is not None:
            samples = check_int(self.max_train_samples, "max_train_samples", minimum=1)
            set_(self, "max_train_samples", samples)
        if self.time_budget_seconds is not None:
            seconds = _positive(self.time_budget_seconds, "time_budget_seconds")
            set_(self, "time_budget_seconds", seconds)

    def to_dict(self) -> dict:
        """Return the config as plain JSON-safe values, for the worker's command line.

        >>> TrainConfig(epochs=3).to_dict()["epochs"]
        3
        """
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Rebuild a config from `to_dict`'s output (unknown keys are refused).

        Raises:
            TypeError: ``values`` is not a dict, or a field has the wrong type.
            ValueError: a key that is not a field, or a field out of range.

        >>> TrainConfig.from_dict({"optimizer": "sgd"}).optimizer
        'sgd'
        """
        return from_fields(cls, values, "values")
