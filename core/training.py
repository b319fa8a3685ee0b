"""Train a network in a worker process and follow it through its run directory.

Training never happens in the Streamlit server: once Keras is imported there,
every rerun of every page slows down (Streamlit clears the Keras session after
each run) and a training thread crawls. So a `TrainingJob` starts
``python -m core.tf_worker train <run_dir>`` as a separate process, and the two
sides talk only through files in a run directory, the way TensorBoard log
directories work. This module never imports TensorFlow or Keras.

The run directory (one per job, under ``./runs`` or ``$CONVSCOPE_RUNS_DIR``)::

    config.json        what to train: model spec, data set, preprocessing, TrainConfig
    status.json        state, epoch, batch, samples/s, ETA, error (rewritten atomically)
    progress.jsonl     {"type": "batch", ...} and {"type": "epoch", ...} lines
    snapshots/         first-conv-layer kernels: 000000.npy, 000050.npy, ... + index.jsonl
    model.keras        the trained model (also after a stop), with model.json beside it
    evaluation.json    test accuracy, confusion matrix, per-class accuracy, mistakes
    predictions.npz    predicted class and confidence for every test image
    control.json       written by the page: {"command": "pause" | "resume" | "stop"}
    heartbeat          touched by the page each time it polls; the watchdog reads it
    pulse, worker.pid  the worker's liveness; worker.log its stderr

A job that no page has polled for ``idle_stop_seconds`` stops itself and keeps
its weights, so closing the browser never leaves a process behind.

Example (the page's loop, in outline)::

    job = TrainingJob.start(spec_to_dict(spec), "mnist", TrainConfig(epochs=3))
    st.session_state["train.run_dir"] = str(job.run_dir)
    ...
    job = TrainingJob.attach(st.session_state["train.run_dir"])
    status = job.poll()            # RunStatus; also tells the watchdog someone is watching
    progress = job.progress()      # Progress(batches=[...], epochs=[...])
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import numbers
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.model_store import (
    _PROJECT_ROOT,
    SavedModel,
    _worker_environment,
    atomic_write_bytes,
    atomic_write_json,
    read_json,
    save_model_file,
)

RUNS_DIR_ENV = "CONVSCOPE_RUNS_DIR"
MAX_JOBS_ENV = "CONVSCOPE_MAX_JOBS"
IDLE_STOP_ENV = "CONVSCOPE_IDLE_STOP_SECONDS"
DEFAULT_RUNS_DIR = "runs"
DEFAULT_MAX_JOBS = 2
DEFAULT_IDLE_STOP_SECONDS = 600.0

OPTIMIZERS = ("sgd", "rmsprop", "adam")
LEARNING_RATE_SCHEDULES = ("constant", "cosine")
FLIP_MODES = ("none", "horizontal", "vertical", "horizontal_and_vertical")
STATES = ("queued", "running", "paused", "stopping", "finished", "stopped", "failed")
LIVE_STATES = ("queued", "running", "paused", "stopping")
COMMANDS = ("pause", "resume", "stop")

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
PROGRESS_FILE = "progress.jsonl"
CONTROL_FILE = "control.json"
HEARTBEAT_FILE = "heartbeat"
PULSE_FILE = "pulse"
PID_FILE = "worker.pid"
LOG_FILE = "worker.log"
SNAPSHOT_DIR = "snapshots"
SNAPSHOT_INDEX_FILE = "index.jsonl"
MODEL_FILE = "model.keras"
MODEL_SIDECAR_FILE = "model.json"
EVALUATION_FILE = "evaluation.json"
PREDICTIONS_FILE = "predictions.npz"

# The worker touches its pulse file every PULSE_SECONDS; a pulse older than
# PULSE_STALE_SECONDS means the pid now belongs to some other process.
PULSE_SECONDS = 2.0
PULSE_STALE_SECONDS = 60.0
_LOCK_FILE = ".jobs.lock"
_RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,120}$")

# Workers started by this process, so they can be reaped (no zombies) and killed.
_CHILDREN: dict[str, subprocess.Popen] = {}


class JobCapError(RuntimeError):
    """Too many training jobs are running on this server to start another."""


# ---------------------------------------------------------------------------
# Hyperparameters
# ---------------------------------------------------------------------------


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
        object.__setattr__(self, "flip", _choice(self.flip, "flip", FLIP_MODES))
        object.__setattr__(self, "rotation", _real(self.rotation, "rotation", 0.0, 0.5))
        object.__setattr__(
            self, "translation", _real(self.translation, "translation", 0.0, 1.0, open_max=True)
        )
        object.__setattr__(self, "zoom", _real(self.zoom, "zoom", 0.0, 1.0, open_max=True))

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
        set_(self, "optimizer", _choice(self.optimizer, "optimizer", OPTIMIZERS))
        set_(
            self,
            "learning_rate",
            _real(self.learning_rate, "learning_rate", 0.0, math.inf, open_min=True),
        )
        set_(
            self,
            "learning_rate_schedule",
            _choice(self.learning_rate_schedule, "learning_rate_schedule", LEARNING_RATE_SCHEDULES),
        )
        set_(self, "momentum", _real(self.momentum, "momentum", 0.0, 1.0, open_max=True))
        set_(self, "batch_size", _integer(self.batch_size, "batch_size", 1))
        set_(self, "epochs", _integer(self.epochs, "epochs", 1))
        set_(
            self,
            "validation_fraction",
            _real(self.validation_fraction, "validation_fraction", 0.0, 1.0, open_max=True),
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
        set_(self, "seed", _integer(self.seed, "seed", 0))
        set_(
            self,
            "snapshot_every_batches",
            _integer(self.snapshot_every_batches, "snapshot_every_batches", 1),
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
                _integer(self.max_train_samples, "max_train_samples", 1),
            )
        if self.time_budget_seconds is not None:
            set_(
                self,
                "time_budget_seconds",
                _real(
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


def _choice(value, name, choices):
    if not isinstance(value, str) or value.lower() not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {allowed}. Received: {name}={value!r}")
    return value.lower()


def _real(value, name, low, high, *, open_min=False, open_max=False):
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


def _integer(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer. Received: {name}={value!r}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}. Received: {name}={value!r}")
    return int(value)


# ---------------------------------------------------------------------------
# What the page reads
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunStatus:
    """A snapshot of ``status.json``, with liveness already checked.

    Attributes:
        state: One of ``STATES``.
        message: What the worker is doing, in words ("Loading data", "Training", ...).
        reason: Why a run ended early: ``"user"``, ``"idle"`` or ``"interrupted"``
            (state ``"stopped"``), or ``"time_budget"`` (state ``"finished"``).
        error: The error message of a failed run.
        epoch, epochs: Current epoch (1-based) and total.
        batch, batches_per_epoch: Batches done in the current epoch, and per epoch.
        step, total_steps: Batches done in all, and planned in all.
        samples_per_second, elapsed_seconds, eta_seconds: Speed and time, pauses excluded.
        test_accuracy: Set when the evaluation is done.
        saved_path: The models-store file, when the run saved one.
    """

    state: str = "queued"
    message: str = ""
    reason: str | None = None
    error: str | None = None
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    batches_per_epoch: int = 0
    step: int = 0
    total_steps: int = 0
    train_samples: int = 0
    validation_samples: int = 0
    samples_per_second: float | None = None
    elapsed_seconds: float = 0.0
    eta_seconds: float | None = None
    test_accuracy: float | None = None
    saved_path: str | None = None
    pid: int | None = None
    updated: float | None = None

    @classmethod
    def from_dict(cls, values: dict | None) -> RunStatus:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (values or {}).items() if k in known})

    @property
    def is_live(self) -> bool:
        """Whether the worker is still at work (queued, running, paused or stopping)."""
        return self.state in LIVE_STATES

    @property
    def fraction_done(self) -> float:
        """Share of the planned batches done, 0 to 1 (for ``st.progress``).

        Counted from ``epoch`` and ``batch``, the numbers a page shows beside the bar, so
        "epoch 1/1, batch 32/32" is 100% (while the model is saved and evaluated too);
        ``step / total_steps`` only when the epoch counts are missing.

        >>> RunStatus(epoch=2, epochs=4, batch=5, batches_per_epoch=10).fraction_done
        0.375
        """
        if self.state == "finished":
            return 1.0
        if self.epochs and self.batches_per_epoch:
            done = max(self.epoch - 1, 0) * self.batches_per_epoch + self.batch
            return min(1.0, max(0.0, done / (self.epochs * self.batches_per_epoch)))
        if not self.total_steps:
            return 0.0
        return min(1.0, self.step / self.total_steps)


@dataclass(frozen=True)
class Progress:
    """The curves recorded so far.

    Attributes:
        batches: ``{"step", "epoch", "batch", "loss", "accuracy", "elapsed"}`` per
            recorded point; loss and accuracy are averaged over the batches since
            the previous point (at most ~1,000 points per run).
        epochs: ``{"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "elapsed"}``
            per finished epoch (validation keys only with a validation split).
    """

    batches: list[dict]
    epochs: list[dict]


@dataclass(frozen=True)
class RunInfo:
    """One run directory, for a list of past and present runs."""

    run_dir: Path
    run_id: str
    status: RunStatus
    config: dict

    @property
    def model_name(self) -> str:
        return _model_label(self.config.get("model", {}))

    @property
    def dataset_name(self) -> str:
        dataset = self.config.get("dataset", {})
        return dataset.get("name") or Path(dataset.get("npz_path", "?")).stem


def runs_root(runs_root: str | os.PathLike | None = None) -> Path:
    """Return the runs folder: ``runs_root``, else ``$CONVSCOPE_RUNS_DIR``, else ``./runs``."""
    if runs_root is None:
        runs_root = os.environ.get(RUNS_DIR_ENV) or DEFAULT_RUNS_DIR
    return Path(runs_root)


def read_status(run_dir: str | os.PathLike) -> RunStatus:
    """Read a run's status without counting as a poll (the watchdog does not see it).

    A run whose worker process has died without saying so is reported (and
    recorded) as ``"failed"``.
    """
    run_dir = Path(run_dir)
    status = RunStatus.from_dict(read_json(run_dir / STATUS_FILE, default={}))
    if status.is_live and not _worker_alive(run_dir):
        # Re-read: the worker may have written its last status just before exiting.
        status = RunStatus.from_dict(read_json(run_dir / STATUS_FILE, default={}))
        if status.is_live:
            values = {
                **read_json(run_dir / STATUS_FILE, default={}),
                "state": "failed",
                "message": "Failed",
                "error": "The worker process ended unexpectedly (see worker.log).",
                "updated": time.time(),
            }
            atomic_write_json(run_dir / STATUS_FILE, values)
            status = RunStatus.from_dict(values)
    elif status.is_live:
        control = read_json(run_dir / CONTROL_FILE, default={}) or {}
        if control.get("command") == "stop" and status.state in ("running", "paused"):
            status = dataclasses.replace(status, state="stopping", message="Stopping")
    return status


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read a JSON-lines file, skipping a partly written last line.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "log.jsonl"
    >>> _ = path.write_text('{"a": 1}\\n{"a": 2}\\n{"a"')
    >>> read_jsonl(path)
    [{'a': 1}, {'a': 2}]
    """
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except FileNotFoundError:
        return []
    records = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line the writer has not finished yet
        if isinstance(record, dict):
            records.append(record)
    return records


def read_progress(run_dir: str | os.PathLike) -> Progress:
    """Return the batch and epoch curves recorded so far (see `Progress`)."""
    records = read_jsonl(Path(run_dir) / PROGRESS_FILE)
    return Progress(
        batches=[r for r in records if r.get("type") == "batch"],
        epochs=[r for r in records if r.get("type") == "epoch"],
    )


def read_snapshot_index(run_dir: str | os.PathLike) -> list[dict]:
    """Return the first-conv-layer snapshots taken so far, oldest first.

    Each entry is ``{"step", "epoch", "batch", "file", "layer"}``; ``step`` 0 is
    the random initial kernel. Load one with `load_snapshot`.
    """
    return read_jsonl(Path(run_dir) / SNAPSHOT_DIR / SNAPSHOT_INDEX_FILE)


def load_snapshot(run_dir: str | os.PathLike, entry: dict) -> np.ndarray:
    """Load a snapshot's kernel: float32 of shape ``(kernel_h, kernel_w, channels, filters)``."""
    name = Path(entry["file"]).name  # never follow a path out of the run folder
    return np.load(Path(run_dir) / SNAPSHOT_DIR / name, allow_pickle=False)


def read_evaluation(run_dir: str | os.PathLike) -> dict | None:
    """Return ``evaluation.json`` once the run has been evaluated, else None.

    Keys: ``test_accuracy``, ``test_loss``, ``num_test``, ``evaluated_on``
    (``"test"``, or ``"validation"`` for a data set without a test split),
    ``class_names``, ``confusion_matrix`` (rows: true class, columns:
    predicted), ``per_class_accuracy`` (None for a class with no test image),
    ``misclassified`` (``{"index", "image_index", "true", "predicted",
    "confidence"}``, most confident mistakes first, at most 200). ``index``
    counts the evaluated images; ``image_index`` is the image's index in the
    data set's ``x_test``, or in ``x_train`` when ``evaluated_on`` is
    ``"validation"`` — show ``dataset.x_test[image_index]`` with its title.
    """
    return read_json(Path(run_dir) / EVALUATION_FILE, default=None)


def read_predictions(run_dir: str | os.PathLike) -> dict[str, np.ndarray] | None:
    """Return ``{"true", "predicted", "confidence", "image_index"}`` per evaluated image, or None.

    ``image_index`` is as in `read_evaluation`.
    """
    path = Path(run_dir) / PREDICTIONS_FILE
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as arrays:
        return {key: arrays[key] for key in arrays.files}


def list_runs(runs_root_dir: str | os.PathLike | None = None) -> list[RunInfo]:
    """Return every run under the runs folder, newest first."""
    root = runs_root(runs_root_dir)
    if not root.is_dir():
        return []
    found = []
    for run_dir in root.iterdir():
        config = read_json(run_dir / CONFIG_FILE, default=None)
        if not isinstance(config, dict):
            continue
        found.append(
            RunInfo(
                run_dir=run_dir,
                run_id=config.get("run_id", run_dir.name),
                status=read_status(run_dir),
                config=config,
            )
        )
    found.sort(key=lambda run: run.config.get("created", 0), reverse=True)
    return found


def delete_run(run_dir: str | os.PathLike) -> None:
    """Delete a run directory that has ended (the page's "Reset" or a clean-up).

    Raises:
        ValueError: if the run is still live (stop it first) or ``run_dir`` is not a run.
    """
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise ValueError(f"`run_dir` is not a training run folder. Received: {run_dir}")
    if read_status(run_dir).is_live:
        raise ValueError(f"The run is still going; stop it before deleting it. Received: {run_dir}")
    import shutil

    shutil.rmtree(run_dir)


def preview_augmentation(
    image: np.ndarray,
    augmentation: Augmentation | dict,
    *,
    count: int = 8,
    seed: int = 0,
    timeout: float = 120.0,
) -> np.ndarray:
    """Random augmented versions of one image, made by the Keras layers training uses.

    Runs ``python -m core.tf_worker augment`` (a few seconds, most of it
    TensorFlow's import), so the server stays free of TensorFlow; cache the
    result (``st.cache_data``).

    Args:
        image: (H, W) or (H, W, C), uint8 (0–255) or float in [0, 1].
        augmentation: An `Augmentation` (or a dict of its fields).
        count: How many versions, 1 to 64.
        seed: Same seed, same versions.

    Returns:
        float32 array (count, H, W, C) in [0, 1].

    Raises:
        ValueError: for a bad argument; RuntimeError if the worker fails.
    """
    if isinstance(augmentation, dict):
        augmentation = Augmentation(**augmentation)
    if not isinstance(augmentation, Augmentation):
        raise TypeError(
            f"`augmentation` must be an Augmentation. Received: augmentation={augmentation!r}"
        )
    count = _integer(count, "count", 1)
    if count > 64:
        raise ValueError(f"`count` must be <= 64. Received: count={count}")
    seed = _integer(seed, "seed", 0)
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., np.newaxis]
    if array.ndim != 3 or array.shape[-1] not in (1, 3) or min(array.shape[:2]) < 1:
        raise ValueError(
            f"`image` must have shape (H, W), (H, W, 1) or (H, W, 3). Received: shape={array.shape}"
        )
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / np.float32(255.0)
    array = np.asarray(array, dtype=np.float32)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="convscope-augment-") as folder:
        source, target = Path(folder) / "image.npy", Path(folder) / "augmented.npy"
        np.save(source, array)
        request = json.dumps({**dataclasses.asdict(augmentation), "count": count, "seed": seed})
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "core.tf_worker",
                "augment",
                os.fspath(source),
                os.fspath(target),
                request,
            ],
            cwd=_PROJECT_ROOT,
            env=_worker_environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0 or not target.is_file():
            detail = (completed.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"The augmentation preview failed: {detail}")
        return np.load(target, allow_pickle=False)


def write_dataset_file(dataset, *, folder: str | os.PathLike | None = None) -> Path:
    """Save an in-memory data set (e.g. an uploaded image-folder zip) for a worker to train on.

    The worker cannot share the page's memory, so the page writes the arrays
    once and passes the returned path as `TrainingJob.start`'s ``dataset``.
    The file name holds a hash of the contents, so the same data is written once.

    Args:
        dataset: A ``core.datasets.ImageDataset``.
        folder: Where to write (default: ``datasets/`` in the runs folder).

    Returns:
        The ``.npz`` path (``x_train``, ``y_train``, ``x_test``, ``y_test``,
        ``class_names``, ``source``). A data set without test images is
        evaluated on its validation split.
    """
    import hashlib
    import io

    arrays = {
        "x_train": np.asarray(dataset.x_train),
        "y_train": np.asarray(dataset.y_train),
        "x_test": np.asarray(dataset.x_test),
        "y_test": np.asarray(dataset.y_test),
        "class_names": np.asarray([str(name) for name in dataset.class_names]),
        "source": np.asarray(str(dataset.source)),
    }
    digest = hashlib.sha1(usedforsecurity=False)
    for key, value in arrays.items():
        digest.update(key.encode())
        digest.update(str(value.shape).encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    target_folder = Path(folder) if folder is not None else runs_root() / "datasets"
    path = target_folder / f"{_slug(str(dataset.name))}-{digest.hexdigest()[:12]}.npz"
    if not path.is_file():
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(path, buffer.getvalue(), durable=False)
    return path


def count_live_jobs(runs_root_dir: str | os.PathLike | None = None) -> int:
    """Return how many runs under the runs folder have a live worker."""
    return sum(1 for run in list_runs(runs_root_dir) if run.status.is_live)


# ---------------------------------------------------------------------------
# Starting and steering a job
# ---------------------------------------------------------------------------


def max_jobs() -> int:
    """The server-wide cap on simultaneous jobs (``$CONVSCOPE_MAX_JOBS``, default 2)."""
    return _int_from_env(MAX_JOBS_ENV, DEFAULT_MAX_JOBS, minimum=1)


def idle_stop_seconds() -> float:
    """Seconds without a poll before a job stops itself (``$CONVSCOPE_IDLE_STOP_SECONDS``)."""
    value = os.environ.get(IDLE_STOP_ENV)
    if not value:
        return DEFAULT_IDLE_STOP_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(
            f"${IDLE_STOP_ENV} must be a number of seconds. Received: {value!r}"
        ) from None
    if not seconds > 0:
        raise ValueError(f"${IDLE_STOP_ENV} must be > 0. Received: {value!r}")
    return seconds


def prepare_run(
    model,
    dataset,
    config: TrainConfig | None = None,
    *,
    preprocessing=None,
    runs_root_dir: str | os.PathLike | None = None,
    save_as: str | None = None,
    models_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    idle_stop: float | None = None,
) -> Path:
    """Create a run directory with its ``config.json`` and a ``queued`` status.

    `TrainingJob.start` calls this and then starts a worker on it; the command
    line runs the worker in its own process instead.

    Args:
        model: A model spec as a dict (``core.models.spec_to_dict``), a
            ``ModelSpec``, a preset name (``"mnist_cnn_a"``: the worker adapts
            it to the data's input shape and number of classes), or the path
            of a ``.keras`` file to train further; or a transfer model,
            ``{"transfer": "MobileNetV2", "weights": "imagenet" | None}``
            (``core.models.transfer_entry``), built for the data's shape and classes;
            it needs RGB images of at least 32×32 (refused here otherwise).
        dataset: A built-in data set name (``"mnist"``, ``"fashion_mnist"``,
            ``"cifar10"``) or the path of an ``.npz`` file with ``x_train``,
            ``y_train``, optionally ``x_test``, ``y_test`` and ``class_names``.
        config: A `TrainConfig` (default: the defaults).
        preprocessing: A ``core.datasets.Preprocessing`` or a dict of its
            fields; None keeps the images' own size and colour, scaled to [0, 1].
        runs_root_dir: The runs folder (default: see `runs_root`).
        save_as: Also save the finished model in the store under this name.
        models_dir: The store's folder for ``save_as``.
        overwrite: Let ``save_as`` replace a model of the same name.
        idle_stop: Seconds without a poll before the job stops itself; None
            disables the watchdog (the command line does that).

    Returns:
        The new run directory.
    """
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise TypeError(f"`config` must be a TrainConfig. Received: config={config!r}")
    model_entry = _model_entry(model)
    dataset_entry = _dataset_entry(dataset)
    preprocessing_entry = _preprocessing_entry(preprocessing)
    _check_transfer_can_start(model, dataset, preprocessing, require_cached_weights=False)
    if save_as is not None:
        from core.model_store import validate_name

        save_as = validate_name(save_as)
    if idle_stop is not None:
        idle_stop = _real(idle_stop, "idle_stop", 0.0, math.inf, open_min=True)

    root = runs_root(runs_root_dir)
    root.mkdir(parents=True, exist_ok=True)
    model_label = _model_label(model_entry)
    label = _slug(f"{model_label}-{_dataset_label(dataset_entry)}")
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{label}-{secrets.token_hex(3)}"
    run_dir = root / run_id
    run_dir.mkdir()
    atomic_write_json(
        run_dir / CONFIG_FILE,
        {
            "run_id": run_id,
            "created": time.time(),
            "model": model_entry,
            "dataset": dataset_entry,
            "preprocessing": preprocessing_entry,
            "train_config": config.to_dict(),
            "save_as": save_as,
            "models_dir": os.fspath(Path(models_dir).resolve()) if models_dir else None,
            "overwrite": bool(overwrite),
            "idle_stop_seconds": idle_stop,
        },
    )
    atomic_write_json(
        run_dir / STATUS_FILE,
        {"state": "queued", "message": "Starting", "epochs": config.epochs, "updated": time.time()},
    )
    return run_dir


class TrainingJob:
    """A training run in a worker process, steered and followed through its run directory.

    Create one with `TrainingJob.start` (new run) or `TrainingJob.attach`
    (an existing run: after a page reload, from another session, after a
    server restart). All methods only read and write files, so they are cheap
    enough to call on every fragment rerun.

    Example::

        job = TrainingJob.start(spec_dict, "mnist", TrainConfig(epochs=1))
        while job.poll().is_live:
            time.sleep(0.5)
        print(job.evaluation()["test_accuracy"])
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)

    def __repr__(self) -> str:
        return f"TrainingJob({os.fspath(self.run_dir)!r})"

    @classmethod
    def start(
        cls,
        model,
        dataset,
        config: TrainConfig | None = None,
        *,
        preprocessing=None,
        runs_root_dir: str | os.PathLike | None = None,
        save_as: str | None = None,
        models_dir: str | os.PathLike | None = None,
        overwrite: bool = False,
        idle_stop: float | None = None,
        job_cap: int | None = None,
    ) -> TrainingJob:
        """Create a run directory and start its worker process.

        Args:
            model, dataset, config, preprocessing, save_as, models_dir, overwrite:
                As for `prepare_run`.
            runs_root_dir: The runs folder; the job cap counts the live runs in it.
            idle_stop: Watchdog timeout in seconds (default ``$CONVSCOPE_IDLE_STOP_SECONDS``
                or 600).
            job_cap: Most jobs running at once (default ``$CONVSCOPE_MAX_JOBS`` or 2).

        Returns:
            The started job (state ``"queued"`` until TensorFlow has loaded).

        Raises:
            JobCapError: if ``job_cap`` jobs are already running.
            ValueError, TypeError: for a bad argument, before anything starts; also for a
                transfer model (``{"transfer": "MobileNetV2", "weights": ...}``) on images
                that are not RGB or smaller than 32×32.
            core.models.WeightsUnavailableError: a transfer model with
                ``weights="imagenet"`` whose weights file is not in the Keras cache; the
                message names the file and where to put it. No worker is started.
        """
        _check_transfer_can_start(model, dataset, preprocessing)
        cap = max_jobs() if job_cap is None else _integer(job_cap, "job_cap", 1)
        idle = idle_stop_seconds() if idle_stop is None else idle_stop
        root = runs_root(runs_root_dir)
        root.mkdir(parents=True, exist_ok=True)
        with _jobs_lock(root):
            live = count_live_jobs(root)
            if live >= cap:
                jobs = "training job is" if live == 1 else "training jobs are"
                raise JobCapError(
                    f"{live} {jobs} already running on this server (the limit is {cap}). "
                    "Wait for one to finish or stop one, then start again."
                )
            run_dir = prepare_run(
                model,
                dataset,
                config,
                preprocessing=preprocessing,
                runs_root_dir=root,
                save_as=save_as,
                models_dir=models_dir,
                overwrite=overwrite,
                idle_stop=idle,
            )
            job = cls(run_dir)
            job._launch()
        return job

    @classmethod
    def attach(cls, run_dir: str | os.PathLike) -> TrainingJob:
        """Follow an existing run (live or finished).

        Raises:
            FileNotFoundError: if ``run_dir`` holds no run.
        """
        run_dir = Path(run_dir)
        if not (run_dir / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"`run_dir` is not a training run folder. Received: {run_dir}")
        return cls(run_dir)

    @classmethod
    def find(cls, run_id: str, *, runs_root_dir: str | os.PathLike | None = None) -> TrainingJob:
        """Follow the run called ``run_id`` in the runs folder (e.g. from ``st.query_params``).

        A browser reload starts a new Streamlit session, so the page keeps the
        run id in the URL (or picks a live run from `list_runs`) to find its job again.

        Raises:
            ValueError: if ``run_id`` is not a plain run name.
            FileNotFoundError: if there is no such run.
        """
        if not isinstance(run_id, str) or not _RUN_ID_PATTERN.match(run_id):
            raise ValueError(f"`run_id` must be a run folder name. Received: run_id={run_id!r}")
        return cls.attach(runs_root(runs_root_dir) / run_id)

    @property
    def run_id(self) -> str:
        """The run's folder name."""
        return self.run_dir.name

    def _launch(self) -> None:
        command = [sys.executable, "-m", "core.tf_worker", "train", os.fspath(self.run_dir)]
        with open(self.run_dir / LOG_FILE, "ab") as log:
            process = subprocess.Popen(
                command,
                cwd=_PROJECT_ROOT,
                env=_worker_environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        _CHILDREN[os.fspath(self.run_dir.resolve())] = process
        atomic_write_bytes(self.run_dir / PID_FILE, str(process.pid).encode())

    # -- steering ---------------------------------------------------------

    def pause(self) -> None:
        """Ask the worker to pause after the current batch."""
        self._command("pause")

    def resume(self) -> None:
        """Ask a paused worker to carry on."""
        self._command("resume")

    def stop(self, *, restore_best_weights: bool | None = None) -> None:
        """Ask the worker to stop after the current batch; it still saves and evaluates the model.

        Args:
            restore_best_weights: Override the config's choice of keeping the
                best-validation weights instead of the latest ones.
        """
        self._command("stop", restore_best_weights=restore_best_weights)

    def kill(self) -> None:
        """End the worker at once (SIGKILL); no model is saved. For a stuck worker."""
        pid = self.pid
        if pid is not None and _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process = _CHILDREN.get(os.fspath(self.run_dir.resolve()))
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        current = read_json(self.run_dir / STATUS_FILE, default={}) or {}
        if current.get("state") in LIVE_STATES and not _worker_alive(self.run_dir):
            atomic_write_json(
                self.run_dir / STATUS_FILE,
                {
                    **current,
                    "state": "failed",
                    "message": "Killed",
                    "error": "The worker was killed; no model was saved.",
                    "updated": time.time(),
                },
                durable=False,
            )

    def _command(self, command: str, **options) -> None:
        atomic_write_json(
            self.run_dir / CONTROL_FILE, {"command": command, "time": time.time(), **options}
        )

    # -- reading ------------------------------------------------------------

    def poll(self) -> RunStatus:
        """Return the current status and tell the watchdog someone is watching."""
        self.heartbeat()
        return read_status(self.run_dir)

    def heartbeat(self) -> None:
        """Touch the heartbeat file (what keeps the watchdog from stopping the job)."""
        path = self.run_dir / HEARTBEAT_FILE
        try:
            os.utime(path)
        except FileNotFoundError:
            path.touch()

    def status(self) -> RunStatus:
        """Return the current status without counting as a poll."""
        return read_status(self.run_dir)

    def is_live(self) -> bool:
        """Whether the worker is still at work."""
        return self.status().is_live

    def wait(self, timeout: float | None = None, *, interval: float = 0.2) -> RunStatus:
        """Poll until the job ends (or ``timeout`` seconds pass) and return its status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.poll()
            if not status.is_live or (deadline is not None and time.monotonic() >= deadline):
                return status
            time.sleep(interval)

    @property
    def pid(self) -> int | None:
        """The worker's process id, once started."""
        return _read_pid(self.run_dir)

    @property
    def config(self) -> dict:
        """The run's ``config.json``."""
        return read_json(self.run_dir / CONFIG_FILE, default={})

    def progress(self) -> Progress:
        """The curves so far (see `read_progress`)."""
        return read_progress(self.run_dir)

    def snapshots(self) -> list[dict]:
        """The first-layer snapshots so far (see `read_snapshot_index`)."""
        return read_snapshot_index(self.run_dir)

    def load_snapshot(self, entry: dict) -> np.ndarray:
        """One snapshot's kernel, shape ``(kernel_h, kernel_w, channels, filters)``."""
        return load_snapshot(self.run_dir, entry)

    def evaluation(self) -> dict | None:
        """The evaluation, once done (see `read_evaluation`)."""
        return read_evaluation(self.run_dir)

    def predictions(self) -> dict[str, np.ndarray] | None:
        """Predicted class and confidence for every test image (see `read_predictions`)."""
        return read_predictions(self.run_dir)

    @property
    def model_path(self) -> Path | None:
        """The trained ``model.keras``, once saved (after finishing or stopping)."""
        path = self.run_dir / MODEL_FILE
        return path if path.is_file() else None

    def model_metadata(self) -> dict:
        """The model's sidecar (data set, classes, preprocessing, metrics, history)."""
        return read_json(self.run_dir / MODEL_SIDECAR_FILE, default={}) or {}

    def save(
        self, name: str, *, models_dir: str | os.PathLike | None = None, overwrite: bool = False
    ) -> SavedModel:
        """Copy the trained model into the models store under ``name``.

        Raises:
            FileNotFoundError: if the run has not saved a model yet.
            core.model_store.ModelStoreError: for a bad or taken name.
        """
        path = self.model_path
        if path is None:
            raise FileNotFoundError("This run has no trained model yet; wait until it has ended.")
        return save_model_file(
            path, name, self.model_metadata(), models_dir=models_dir, overwrite=overwrite
        )


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _model_entry(model) -> dict:
    if isinstance(model, dict) and "transfer" in model:
        from core.models import transfer_entry

        unknown = sorted(set(model) - {"transfer", "weights"})
        if unknown:
            raise ValueError(
                "A transfer `model` takes only the keys 'transfer' and 'weights'. "
                f"Received: unknown keys {unknown}"
            )
        return transfer_entry(model["transfer"], weights=model.get("weights", "imagenet"))
    if isinstance(model, dict) or dataclasses.is_dataclass(model):
        from core.models import ModelSpec, spec_from_dict, spec_to_dict, summarize

        spec = model if isinstance(model, ModelSpec) else None
        if spec is None and isinstance(model, dict):
            spec = spec_from_dict(model)
        if spec is None:
            raise TypeError(
                f"`model` must be a ModelSpec or a spec dict. Received: {type(model).__name__}"
            )
        summarize(spec)  # refuses a stack that cannot be built, naming the layer
        return {"spec": spec_to_dict(spec)}
    if isinstance(model, str) and not model.endswith(".keras"):
        from core.models import PRESETS

        if model not in PRESETS:
            raise ValueError(
                f"`model` must be one of the presets {tuple(PRESETS)}, a model spec or the path "
                f"of a .keras file. Received: model={model!r}"
            )
        return {"preset": model}
    if isinstance(model, str | os.PathLike):
        path = Path(model)
        if path.suffix != ".keras" or not path.is_file():
            raise ValueError(
                "`model` must be a model spec or the path of an existing .keras file. "
                f"Received: model={model!r}"
            )
        return {"keras_path": os.fspath(path.resolve())}
    raise TypeError(
        "`model` must be a ModelSpec, a spec dict or a .keras path. "
        f"Received: model of type {type(model).__name__}"
    )


# Native image shapes of the built-in data sets (what `core.datasets.load_builtin` gives).
_BUILTIN_IMAGE_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}


def _check_transfer_can_start(
    model, dataset, preprocessing, *, require_cached_weights: bool = True
) -> None:
    """Refuse a transfer model that would fail in its worker: wrong images, missing weights.

    Plain Python (the image shape comes from the preprocessing, the built-in shapes or the
    ``.npz`` header), so the page learns it at once, before a worker loads TensorFlow.
    `prepare_run` (which the command line uses) checks only the images
    (``require_cached_weights=False``): the command line may download the weights.
    """
    if not (isinstance(model, dict) and "transfer" in model):
        return
    from core.models import (
        WeightsUnavailableError,
        imagenet_weights_advice,
        imagenet_weights_cached,
        imagenet_weights_path,
        transfer_input_problem,
    )

    entry = _model_entry(model)
    shape = _expected_input_shape(_dataset_entry(dataset), _preprocessing_entry(preprocessing))
    if shape is None:
        return  # the worker checks once the data is loaded
    base = entry["transfer"]
    problem = transfer_input_problem(shape, base=base)
    if problem is not None:
        raise ValueError(problem)
    if (
        require_cached_weights
        and entry["weights"] == "imagenet"
        and not imagenet_weights_cached(input_shape=shape, base=base)
    ):
        path = imagenet_weights_path(input_shape=shape, base=base)
        raise WeightsUnavailableError(
            f"The ImageNet weights for {base} are not in the Keras cache: {path.name} is "
            f"missing from {path.parent}. {imagenet_weights_advice(input_shape=shape, base=base)}"
            " Or train the same architecture from random weights (weights=None)."
        )


def _expected_input_shape(dataset_entry: dict, preprocessing_entry: dict | None):
    """The network input shape the worker will see, or None when it cannot be told cheaply."""
    native = None
    if "name" in dataset_entry:
        native = _BUILTIN_IMAGE_SHAPES.get(dataset_entry["name"])
    else:
        import zipfile

        try:
            with (
                zipfile.ZipFile(dataset_entry["npz_path"]) as archive,
                archive.open("x_train.npy") as stream,
            ):
                version = np.lib.format.read_magic(stream)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                native = read_header(stream)[0][1:]
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            native = None
    if preprocessing_entry is not None:
        from core.datasets import Preprocessing

        settings = Preprocessing(**preprocessing_entry)
        if settings.output_shape is not None:
            return settings.output_shape
        return None if native is None else settings.input_shape_for(native)
    if native is None or len(native) not in (2, 3):
        return None
    return (int(native[0]), int(native[1]), int(native[2]) if len(native) == 3 else 1)


def _model_label(entry: dict) -> str:
    """A short name for a config's model entry (run folder names, run lists)."""
    if "spec" in entry:
        return entry["spec"].get("name", "?")
    if "transfer" in entry:
        return f"{entry['transfer']} transfer" + ("" if entry.get("weights") else " (random)")
    return entry.get("preset") or Path(entry.get("keras_path", "model")).stem


def _dataset_entry(dataset) -> dict:
    if isinstance(dataset, os.PathLike) or (isinstance(dataset, str) and dataset.endswith(".npz")):
        path = Path(dataset)
        if not path.is_file():
            raise ValueError(
                f"`dataset` must be an existing .npz file. Received: dataset={dataset!r}"
            )
        return {"npz_path": os.fspath(path.resolve())}
    if isinstance(dataset, str) and dataset:
        from core.datasets import BUILTIN_DATASETS

        if dataset.lower() not in BUILTIN_DATASETS:
            raise ValueError(
                f"`dataset` must be one of {BUILTIN_DATASETS} or an .npz path. "
                f"Received: dataset={dataset!r}"
            )
        return {"name": dataset.lower()}
    raise TypeError(
        f"`dataset` must be a data set name or an .npz path. Received: dataset={dataset!r}"
    )


def _dataset_label(entry: dict) -> str:
    return entry.get("name") or Path(entry["npz_path"]).stem


def _preprocessing_entry(preprocessing) -> dict | None:
    if preprocessing is None:
        return None
    from core.datasets import Preprocessing

    if isinstance(preprocessing, dict):
        preprocessing = Preprocessing(**preprocessing)  # validates, naming the field
    if isinstance(preprocessing, Preprocessing):
        return dataclasses.asdict(preprocessing)
    raise TypeError(
        "`preprocessing` must be a Preprocessing, a dict of its fields or None. "
        f"Received: preprocessing={preprocessing!r}"
    )


def _slug(text: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(part for part in cleaned.split("-") if part)[:40] or "run"


def _int_from_env(name: str, default: int, *, minimum: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"${name} must be an integer. Received: {value!r}") from None
    if number < minimum:
        raise ValueError(f"${name} must be >= {minimum}. Received: {value!r}")
    return number


def _read_pid(run_dir: Path) -> int | None:
    try:
        return int((run_dir / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stream:
            # The state letter follows the parenthesised command name.
            return stream.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, IndexError, OSError):
        return True


def _worker_alive(run_dir: Path) -> bool:
    key = os.fspath(run_dir.resolve())
    process = _CHILDREN.get(key)
    if process is not None and process.poll() is not None:
        del _CHILDREN[key]  # our own child, now reaped
        return False
    pid = _read_pid(run_dir)
    now = time.time()
    if pid is None:
        # Between creating the folder and starting the worker (under the jobs lock).
        created = (read_json(run_dir / CONFIG_FILE, default={}) or {}).get("created", 0)
        return now - created < PULSE_STALE_SECONDS
    if not _pid_alive(pid):
        return False
    # A pid can be reused after a reboot; the worker's pulse tells them apart.
    newest = max(_mtime(run_dir / PULSE_FILE), _mtime(run_dir / PID_FILE))
    return now - newest < PULSE_STALE_SECONDS


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


@contextlib.contextmanager
def _jobs_lock(root: Path) -> Iterator[None]:
    """Serialise job starts across sessions and processes (count, then start)."""
    import fcntl

    with open(root / _LOCK_FILE, "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
