"""The TensorFlow side: what runs inside a worker process.

The Streamlit server never imports this module's Keras code (see
``core/training.py`` for why). It starts ``python -m core.tf_worker`` instead:

- ``python -m core.tf_worker train RUN_DIR`` trains the model described by the
  run directory's ``config.json`` and records everything into that directory;
- ``python -m core.tf_worker inspect-model FILE.keras`` loads a model with
  ``safe_mode=True`` and prints one JSON line describing it (or why it was refused).

Importing this module is cheap and TensorFlow-free; Keras is imported by
`import_keras`, which first gives TensorFlow one core fewer than the machine
has (at least one) so the server stays responsive, and quiets its logs.

The recording logic lives in `RunRecorder`, which knows nothing about Keras:
a thin Keras callback forwards ``on_train_batch_end`` and friends to it.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import training
from core.model_store import atomic_write_bytes, atomic_write_json, read_json, save_model_file

MAX_BATCH_POINTS = 1000
MAX_SNAPSHOTS = 400
MAX_MISCLASSIFIED = 200
STATUS_INTERVAL_SECONDS = 0.5
CONTROL_INTERVAL_SECONDS = 0.2
WATCHDOG_INTERVAL_SECONDS = 1.0
PAUSE_SLEEP_SECONDS = 0.1
PREDICT_BATCH_SIZE = 512


def worker_thread_count() -> int:
    """Threads TensorFlow may use: one fewer than the machine's cores, at least one.

    >>> worker_thread_count() >= 1
    True
    """
    return max(1, (os.cpu_count() or 1) - 1)


def configure_environment() -> None:
    """Set the environment TensorFlow reads at import: thread counts and log level."""
    threads = str(worker_thread_count())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ["OMP_NUM_THREADS"] = threads
    os.environ["TF_NUM_INTRAOP_THREADS"] = threads
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"


def import_keras():
    """Import and return ``keras`` with TensorFlow limited to `worker_thread_count` threads."""
    configure_environment()
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # already initialised: keep what is set
        tf.config.threading.set_intra_op_parallelism_threads(worker_thread_count())
        tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    return keras


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


@dataclass
class TrainingData:
    """Arrays ready for ``model.fit``: float32 images (N, H, W, C) in [0, 1], int labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray | None
    y_validation: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    evaluated_on: str
    source: str
    test_image_indices: np.ndarray | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])


def load_training_data(config: dict) -> TrainingData:
    """Load, split, cap and preprocess the data set a run's ``config.json`` names."""
    train_config = training.TrainConfig.from_dict(config["train_config"])
    dataset = config["dataset"]
    if "npz_path" in dataset:
        with np.load(dataset["npz_path"], allow_pickle=False) as arrays:
            x_train, y_train = arrays["x_train"], arrays["y_train"]
            has_test = "x_test" in arrays.files and "y_test" in arrays.files
            if has_test and len(arrays["y_test"]) > 0:
                x_test, y_test = arrays["x_test"], arrays["y_test"]
            else:
                x_test = y_test = None  # e.g. an uploaded image-folder set
            names = (
                [str(n) for n in arrays["class_names"]] if "class_names" in arrays.files else None
            )
            source = str(arrays["source"]) if "source" in arrays.files else None
        source = source or f"file {Path(dataset['npz_path']).name}"
    else:
        from core import datasets

        loaded = datasets.load_builtin(dataset["name"])
        x_train, y_train = loaded.x_train, loaded.y_train
        x_test, y_test = loaded.x_test, loaded.y_test
        names = list(loaded.class_names)
        source = str(loaded.source)
    y_train = np.asarray(y_train).astype(np.int64).reshape(-1)
    num_classes = int(max(y_train.max(), -1 if y_test is None else np.max(y_test))) + 1
    class_names = names or [str(i) for i in range(num_classes)]

    # Split indices rather than images, so each evaluated image can be traced
    # back to its place in the data set the page shows.
    fit_indices, y_fit, validation_indices, y_validation = _split(
        np.arange(len(y_train)), y_train, train_config.validation_fraction, train_config.seed
    )
    x_fit = x_train[fit_indices]
    x_validation = None if validation_indices is None else x_train[validation_indices]
    if train_config.max_train_samples is not None and len(x_fit) > train_config.max_train_samples:
        from core import datasets

        keep = datasets.stratified_indices(
            y_fit, train_config.max_train_samples, seed=train_config.seed
        )
        x_fit, y_fit = x_fit[keep], y_fit[keep]
    evaluated_on = "test"
    test_image_indices = None if x_test is None else np.arange(len(x_test))
    if x_test is None:
        if x_validation is None:
            raise ValueError(
                "The data set has no test images and `validation_fraction` is 0, "
                "so there is nothing to evaluate on. Use a validation split."
            )
        x_test, y_test, evaluated_on = x_validation, y_validation, "validation"
        test_image_indices = validation_indices
    preprocessing = config.get("preprocessing")
    return TrainingData(
        x_train=_preprocess(x_fit, preprocessing),
        y_train=y_fit,
        x_validation=None if x_validation is None else _preprocess(x_validation, preprocessing),
        y_validation=y_validation,
        x_test=_preprocess(x_test, preprocessing),
        y_test=np.asarray(y_test).astype(np.int64).reshape(-1),
        class_names=class_names,
        evaluated_on=evaluated_on,
        source=source,
        test_image_indices=test_image_indices,
    )


def _split(x, y, validation_fraction: float, seed: int):
    """Stratified, seeded ``(x_fit, y_fit, x_validation, y_validation)``; no split at 0."""
    if validation_fraction <= 0:
        return x, y, None, None
    from core import datasets

    return datasets.train_validation_split(x, y, validation_fraction=validation_fraction, seed=seed)


def _preprocess(images: np.ndarray, preprocessing: dict | None) -> np.ndarray:
    if preprocessing:
        from core import datasets

        return np.asarray(
            datasets.preprocess(images, datasets.Preprocessing(**preprocessing)), dtype=np.float32
        )
    scaled = np.asarray(images, dtype=np.float32)
    if np.issubdtype(np.asarray(images).dtype, np.integer):
        scaled = scaled / np.float32(255.0)
    if scaled.ndim == 3:
        scaled = scaled[..., np.newaxis]
    return scaled


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------


def build_training_model(keras, config: dict, data: TrainingData):
    """Build (or load) the model a run's config describes and check it fits the data."""
    entry = config["model"]
    if "spec" in entry or "preset" in entry:
        from core import models

        if "spec" in entry:
            spec = models.spec_from_dict(entry["spec"])
        else:
            spec = models.preset(
                entry["preset"], input_shape=data.input_shape, num_classes=len(data.class_names)
            )
            entry["spec"] = models.spec_to_dict(spec)  # the sidecar records what was built
        model = models.build_model(spec)
    elif "transfer" in entry:
        from core import models

        base = entry["transfer"]
        problem = models.transfer_input_problem(data.input_shape, base=base)
        if problem is not None:
            raise ValueError(problem)
        # Cached ImageNet weights are read from the Keras cache; a missing file raises
        # WeightsUnavailableError (after a download attempt when online).
        model = models.build_transfer_model(
            input_shape=data.input_shape,
            num_classes=len(data.class_names),
            weights=entry.get("weights"),
            base=base,
        )
    else:
        model = keras.saving.load_model(entry["keras_path"], safe_mode=True, compile=False)
    expected = tuple(model.input_shape[1:])
    if expected != data.input_shape:
        raise ValueError(
            f"The model expects images of shape {expected} but the data set gives "
            f"{data.input_shape}. Change the target size or colour mode, or the model's input."
        )
    outputs = int(model.output_shape[-1])
    if outputs != len(data.class_names):
        raise ValueError(
            f"The model has {outputs} outputs but the data set has {len(data.class_names)} "
            "classes. The last Dense layer needs one unit per class."
        )
    return model


def make_optimizer(keras, config: training.TrainConfig, *, total_steps: int):
    """The Keras optimizer a `TrainConfig` names, with its learning-rate schedule.

    Args:
        total_steps: Batches planned in all (the cosine schedule reaches 0 there).
    """
    learning_rate = config.learning_rate
    if config.learning_rate_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=max(1, total_steps)
        )
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=config.momentum)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate)
    return keras.optimizers.Adam(learning_rate=learning_rate)


def augmentation_model(keras, augmentation: training.Augmentation, *, seed: int = 0):
    """A ``keras.Sequential`` of random layers for ``augmentation`` (None when inactive)."""
    if not augmentation.active:
        return None
    layers = []
    if augmentation.flip != "none":
        layers.append(keras.layers.RandomFlip(augmentation.flip, seed=seed))
    if augmentation.rotation:
        layers.append(
            keras.layers.RandomRotation(augmentation.rotation, fill_mode="constant", seed=seed)
        )
    if augmentation.translation:
        layers.append(
            keras.layers.RandomTranslation(
                augmentation.translation,
                augmentation.translation,
                fill_mode="constant",
                seed=seed,
            )
        )
    if augmentation.zoom:
        layers.append(keras.layers.RandomZoom(augmentation.zoom, fill_mode="constant", seed=seed))
    return keras.Sequential(layers, name="augmentation")


def first_conv_layer(model):
    """The first ``Conv2D`` layer of ``model`` (searching nested models), or None."""
    for layer in model.layers:
        if type(layer).__name__ == "Conv2D":
            return layer
        if hasattr(layer, "layers"):
            inner = first_conv_layer(layer)
            if inner is not None:
                return inner
    return None


def save_keras_model(model, path: str | os.PathLike) -> Path:
    """Save ``model`` to ``path`` atomically (Keras needs the temporary name to end in .keras)."""
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.{time.monotonic_ns()}.tmp.keras")
    try:
        model.save(temporary)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return path


# ---------------------------------------------------------------------------
# Recording
# ---------------------------------------------------------------------------


class RunRecorder:
    """Turns training events into run-directory files, and steers training from ``control.json``.

    Keras-free: the callback from `keras_callback` forwards events to it, with
    the model as a duck-typed object (``stop_training``, ``get_weights``,
    ``set_weights``). It writes ``progress.jsonl`` (per-batch points averaged
    over windows so that a run has at most `MAX_BATCH_POINTS`, and one line per
    epoch), ``status.json`` (at most every half second) and the kernel
    snapshots; it pauses inside ``batch_end`` while ``control.json`` says so,
    and stops on a stop command or when the page's heartbeat goes quiet.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike,
        *,
        epochs: int,
        train_samples: int,
        batch_size: int,
        validation_samples: int = 0,
        snapshot_every_batches: int = 25,
        idle_stop_seconds: float | None = None,
        restore_best_weights: bool = False,
        time_budget_seconds: float | None = None,
        kernel_reader=None,
        kernel_layer: str | None = None,
        echo=None,
    ):
        self.run_dir = Path(run_dir)
        self.epochs = epochs
        self.train_samples = train_samples
        self.batch_size = batch_size
        self.validation_samples = validation_samples
        self.batches_per_epoch = math.ceil(train_samples / batch_size)
        self.total_steps = self.epochs * self.batches_per_epoch
        self.point_stride = max(1, math.ceil(self.total_steps / MAX_BATCH_POINTS))
        self.snapshot_stride = max(
            snapshot_every_batches, math.ceil(self.total_steps / MAX_SNAPSHOTS)
        )
        self.idle_stop_seconds = idle_stop_seconds
        self.restore_best_weights = restore_best_weights
        self.time_budget_seconds = time_budget_seconds
        self.kernel_reader = kernel_reader
        self.kernel_layer = kernel_layer
        self.echo = echo

        self.step = 0
        self.epoch = 0
        self.batch = 0
        self.samples_seen = 0
        self.stop_reason: str | None = None
        self.epoch_records: list[dict] = []
        self.best_weights = None
        self.best_score: tuple[float, float] | None = None
        self.best_epoch: int | None = None
        self.started_wall = time.time()
        self.fit_started: float | None = None
        self.fit_ended: float | None = None
        self.paused_seconds = 0.0
        self._rate_origin: tuple[float, int, float] | None = None
        self._window = (0.0, 0.0, 0)  # loss sum, correct sum, samples, since the last point
        self._epoch_totals = (0.0, 0.0, 0)  # running loss sum, correct sum, samples this epoch
        self._last_status = 0.0
        self._last_control = 0.0
        self._last_watchdog = 0.0
        self._last_echo = 0.0
        self._control_stamp = None
        self._command = None
        self.status: dict = read_json(self.run_dir / training.STATUS_FILE, default={}) or {}
        (self.run_dir / training.SNAPSHOT_DIR).mkdir(exist_ok=True)
        self._progress = open(self.run_dir / training.PROGRESS_FILE, "a", encoding="utf-8")  # noqa: SIM115

    # -- files --------------------------------------------------------------

    def write_status(self, **fields) -> None:
        """Merge ``fields`` into the status and rewrite ``status.json`` atomically."""
        self.status.update(fields)
        self.status.update(
            epoch=self.epoch,
            epochs=self.epochs,
            batch=self.batch,
            batches_per_epoch=self.batches_per_epoch,
            step=self.step,
            total_steps=self.total_steps,
            train_samples=self.train_samples,
            validation_samples=self.validation_samples,
            pid=os.getpid(),
            updated=time.time(),
            **self._speed(),
        )
        atomic_write_json(self.run_dir / training.STATUS_FILE, _finite(self.status), durable=False)
        self._last_status = time.monotonic()

    def _append(self, record: dict) -> None:
        # One write per complete line: a reader sees whole lines, at worst minus the last one.
        self._progress.write(json.dumps(_finite(record)) + "\n")
        self._progress.flush()

    def snapshot(self) -> None:
        """Save the first conv layer's kernel as ``snapshots/<step>.npy`` and index it."""
        if self.kernel_reader is None:
            return
        kernel = np.asarray(self.kernel_reader(), dtype=np.float32)
        name = f"{self.step:06d}.npy"
        buffer = io.BytesIO()
        np.save(buffer, kernel)
        folder = self.run_dir / training.SNAPSHOT_DIR
        atomic_write_bytes(folder / name, buffer.getvalue(), durable=False)
        entry = {
            "step": self.step,
            "epoch": self.epoch,
            "batch": self.batch,
            "file": name,
            "layer": self.kernel_layer,
        }
        with open(folder / training.SNAPSHOT_INDEX_FILE, "a", encoding="utf-8") as index:
            index.write(json.dumps(entry) + "\n")

    def close(self) -> None:
        self._progress.close()

    # -- events -------------------------------------------------------------

    def train_begin(self, model) -> None:
        self.fit_started = self._last_echo = time.monotonic()
        self.snapshot()
        self.write_status(state="running", message="Training")

    def epoch_begin(self, epoch_index: int) -> None:
        self.epoch = epoch_index + 1
        self.batch = 0
        self._epoch_totals = (0.0, 0.0, 0)
        self._window = (0.0, 0.0, 0)

    def batch_end(self, model, batch_index: int, logs: dict | None) -> None:
        """Record one finished batch; pause or stop if asked."""
        logs = logs or {}
        self.step += 1
        self.batch = batch_index + 1
        batch_samples = min(self.batch_size, self.train_samples - batch_index * self.batch_size)
        batch_samples = max(batch_samples, 1)
        self.samples_seen += batch_samples
        now = time.monotonic()
        if self._rate_origin is None:
            # Rates start after the first batch, which also traces the graph.
            self._rate_origin = (now, self.samples_seen, self.paused_seconds)

        # Keras reports running means over the epoch; turn them back into sums
        # so a point can show the mean over just its own window of batches.
        loss_sum, correct_sum, seen = self._epoch_totals
        seen_now = seen + batch_samples
        loss_total = float(logs.get("loss", math.nan)) * seen_now
        correct_total = float(logs.get("accuracy", math.nan)) * seen_now
        window_loss, window_correct, window_seen = self._window
        self._window = (
            window_loss + loss_total - loss_sum,
            window_correct + correct_total - correct_sum,
            window_seen + batch_samples,
        )
        self._epoch_totals = (loss_total, correct_total, seen_now)
        if self.step % self.point_stride == 0 or self.batch == self.batches_per_epoch:
            self._write_point()
        if self.step % self.snapshot_stride == 0:
            self.snapshot()

        if now - self._last_control >= CONTROL_INTERVAL_SECONDS:
            self._last_control = now
            command = self._read_command()
            if command == "pause":
                self._pause(model)
            elif command == "stop":
                self._request_stop(model, "user")
        if self.time_budget_seconds is not None and self._elapsed() >= self.time_budget_seconds:
            self._request_stop(model, "time_budget")
        if now - self._last_watchdog >= WATCHDOG_INTERVAL_SECONDS:
            self._last_watchdog = now
            if self._idle_for_too_long():
                self._request_stop(model, "idle")
        if now - self._last_status >= STATUS_INTERVAL_SECONDS:
            self.write_status()
        if self.echo is not None and now - self._last_echo >= 5.0:
            self._last_echo = now
            self.echo(self._progress_line())

    def _write_point(self) -> None:
        window_loss, window_correct, window_seen = self._window
        if window_seen == 0:
            return
        accuracy = min(1.0, max(0.0, window_correct / window_seen))
        self._append(
            {
                "type": "batch",
                "step": self.step,
                "epoch": self.epoch,
                "batch": self.batch,
                "loss": window_loss / window_seen,
                "accuracy": accuracy,
                "samples": window_seen,
                "elapsed": self._elapsed(),
            }
        )
        self._window = (0.0, 0.0, 0)

    def epoch_end(self, model, epoch_index: int, logs: dict | None) -> None:
        """Record an epoch's train and validation metrics; remember the best weights."""
        logs = logs or {}
        record = {"type": "epoch", "epoch": epoch_index + 1, "step": self.step}
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            if key in logs:
                record[key] = float(logs[key])
        record["elapsed"] = self._elapsed()
        self._append(record)
        self.epoch_records.append(_finite(record))
        if "val_accuracy" in record and math.isfinite(record.get("val_loss", math.nan)):
            score = (record["val_accuracy"], -record["val_loss"])
            if self.best_score is None or score > self.best_score:
                self.best_score = score
                self.best_epoch = record["epoch"]
                self.best_weights = model.get_weights()
        self.write_status()
        if self.echo is not None:
            self._last_echo = time.monotonic()
            parts = [f"epoch {record['epoch']}/{self.epochs}"]
            parts += [
                f"{key} {record[key]:.4f}"
                for key in ("loss", "accuracy", "val_loss", "val_accuracy")
                if key in record
            ]
            parts.append(f"{self._speed()['samples_per_second'] or 0:.0f} samples/s")
            self.echo("  ".join(parts))

    def train_end(self, model) -> None:
        self.fit_ended = time.monotonic()
        self._write_point()  # the batches since the last point, when a stop cut the epoch short
        if self.step and self.step % self.snapshot_stride != 0:
            self.snapshot()

    # -- steering -----------------------------------------------------------

    def _read_command(self) -> str | None:
        path = self.run_dir / training.CONTROL_FILE
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            return self._command
        if stamp != self._control_stamp:
            self._control_stamp = stamp
            control = read_json(path, default={}) or {}
            self._command = control.get("command")
            if self._command == "stop" and control.get("restore_best_weights") is not None:
                self.restore_best_weights = bool(control["restore_best_weights"])
        return self._command

    def _pause(self, model) -> None:
        paused_at = time.monotonic()
        self.write_status(state="paused", message="Paused")
        if self.echo is not None:
            self.echo("paused")
        while True:
            time.sleep(PAUSE_SLEEP_SECONDS)
            command = self._read_command()
            if command == "stop":
                self._request_stop(model, "user")
                break
            if command != "pause":
                break
            if self._idle_for_too_long():
                self._request_stop(model, "idle")
                break
        self.paused_seconds += time.monotonic() - paused_at
        if self.stop_reason is None:
            self.write_status(state="running", message="Training")

    def _request_stop(self, model, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
            model.stop_training = True
            messages = {
                "idle": "Stopping (no page has looked at it for a while)",
                "time_budget": "Time is up: finishing",
            }
            state = "running" if reason == "time_budget" else "stopping"
            self.write_status(state=state, message=messages.get(reason, "Stopping"), reason=reason)

    def _idle_for_too_long(self) -> bool:
        if self.idle_stop_seconds is None:
            return False
        try:
            last_seen = (self.run_dir / training.HEARTBEAT_FILE).stat().st_mtime
        except FileNotFoundError:
            last_seen = 0.0
        return time.time() - max(last_seen, self.started_wall) > self.idle_stop_seconds

    # -- figures ------------------------------------------------------------

    def _elapsed(self) -> float:
        if self.fit_started is None:
            return 0.0
        end = self.fit_ended if self.fit_ended is not None else time.monotonic()
        return max(0.0, end - self.fit_started - self.paused_seconds)

    def _speed(self) -> dict:
        rate = None
        if self._rate_origin is not None:
            origin_time, origin_samples, origin_paused = self._rate_origin
            end = self.fit_ended if self.fit_ended is not None else time.monotonic()
            active = end - origin_time - (self.paused_seconds - origin_paused)
            if active > 0 and self.samples_seen > origin_samples:
                rate = (self.samples_seen - origin_samples) / active
        remaining = max(0, self.epochs * self.train_samples - self.samples_seen)
        eta = remaining / rate if rate else None
        return {
            "samples_per_second": rate,
            "elapsed_seconds": self._elapsed(),
            "eta_seconds": eta,
        }

    def _progress_line(self) -> str:
        speed = self._speed()
        rate = speed["samples_per_second"] or 0.0
        eta = speed["eta_seconds"]
        eta_text = f"ETA {eta:.0f} s" if eta is not None else "ETA ?"
        return (
            f"epoch {self.epoch}/{self.epochs}  batch {self.batch}/{self.batches_per_epoch}  "
            f"{rate:.0f} samples/s  {eta_text}"
        )


def keras_callback(keras, recorder: RunRecorder):
    """A ``keras.callbacks.Callback`` that forwards training events to ``recorder``."""

    class RecorderCallback(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            recorder.train_begin(self.model)

        def on_epoch_begin(self, epoch, logs=None):
            recorder.epoch_begin(epoch)

        def on_train_batch_end(self, batch, logs=None):
            recorder.batch_end(self.model, batch, logs)

        def on_epoch_end(self, epoch, logs=None):
            recorder.epoch_end(self.model, epoch, logs)

        def on_train_end(self, logs=None):
            recorder.train_end(self.model)

    return RecorderCallback()


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


def evaluate_predictions(
    probabilities: np.ndarray, y_true: np.ndarray, class_names: list[str]
) -> tuple[dict, dict]:
    """Summarise a classifier's outputs on labelled images.

    Args:
        probabilities: (N, num_classes) softmax outputs.
        y_true: (N,) true class indices.
        class_names: One name per class.

    Returns:
        ``(evaluation, predictions)``: the JSON-safe summary described in
        ``core.training.read_evaluation`` and the per-image arrays
        ``{"true", "predicted", "confidence"}``.

    >>> evaluation, _ = evaluate_predictions(
    ...     np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), np.array([0, 1, 1]), ["a", "b"])
    >>> evaluation["confusion_matrix"], evaluation["per_class_accuracy"]
    ([[1, 0], [1, 1]], [1.0, 0.5])
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    y_true = np.asarray(y_true).astype(np.int64).reshape(-1)
    num_classes = len(class_names)
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities[np.arange(len(predicted)), predicted]
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (y_true, predicted), 1)
    per_class_total = confusion.sum(axis=1)
    per_class = [
        None if total == 0 else float(confusion[i, i] / total)
        for i, total in enumerate(per_class_total)
    ]
    true_probability = np.clip(probabilities[np.arange(len(y_true)), y_true], 1e-7, 1.0)
    wrong = np.flatnonzero(predicted != y_true)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")][:MAX_MISCLASSIFIED]
    evaluation = {
        "num_test": int(len(y_true)),
        "test_accuracy": float(np.mean(predicted == y_true)) if len(y_true) else None,
        "test_loss": float(-np.mean(np.log(true_probability))) if len(y_true) else None,
        "class_names": list(class_names),
        "confusion_matrix": confusion.tolist(),
        "per_class_accuracy": per_class,
        "num_misclassified": int(np.sum(predicted != y_true)),
        "misclassified": [
            {
                "index": int(i),
                "true": int(y_true[i]),
                "predicted": int(predicted[i]),
                "confidence": float(confidence[i]),
            }
            for i in wrong
        ],
    }
    predictions = {
        "true": y_true.astype(np.int32),
        "predicted": predicted.astype(np.int32),
        "confidence": confidence.astype(np.float32),
    }
    return evaluation, predictions


# ---------------------------------------------------------------------------
# A whole run
# ---------------------------------------------------------------------------


def run_job(run_dir: str | os.PathLike, *, echo=None) -> dict:
    """Train, save and evaluate the run in ``run_dir``; everything is recorded there.

    Args:
        run_dir: A folder made by ``core.training.prepare_run``.
        echo: Called with a progress line now and then (the command line prints them).

    Returns:
        A summary: ``state``, ``test_accuracy``, ``params``, ``train_time_s``,
        ``wall_time_s``, ``samples_per_second``, ``model_path``, ``saved_path``.
        A failure is recorded in ``status.json`` and raised again.
    """
    wall_start = time.monotonic()
    run_dir = Path(run_dir)
    config = read_json(run_dir / training.CONFIG_FILE)
    if not isinstance(config, dict):
        raise FileNotFoundError(f"`run_dir` has no readable {training.CONFIG_FILE}: {run_dir}")
    train_config = training.TrainConfig.from_dict(config["train_config"])
    status = {"state": "running", "message": "Loading TensorFlow", "pid": os.getpid()}
    atomic_write_json(run_dir / training.STATUS_FILE, {**status, "updated": time.time()})
    pulse = _Pulse(run_dir / training.PULSE_FILE)
    pulse.start()
    recorder = None
    try:
        keras = import_keras()
        keras.utils.set_random_seed(train_config.seed)
        _write_message(run_dir, "Loading data")
        data = load_training_data(config)
        _write_message(run_dir, "Building the model")
        model = build_training_model(keras, config, data)
        total_steps = train_config.epochs * math.ceil(len(data.x_train) / train_config.batch_size)
        model.compile(
            optimizer=make_optimizer(keras, train_config, total_steps=total_steps),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        conv = first_conv_layer(model)
        recorder = RunRecorder(
            run_dir,
            epochs=train_config.epochs,
            train_samples=len(data.x_train),
            batch_size=train_config.batch_size,
            validation_samples=0 if data.x_validation is None else len(data.x_validation),
            snapshot_every_batches=train_config.snapshot_every_batches,
            idle_stop_seconds=config.get("idle_stop_seconds"),
            restore_best_weights=train_config.restore_best_weights,
            time_budget_seconds=train_config.time_budget_seconds,
            kernel_reader=None if conv is None else (lambda: conv.kernel.numpy()),
            kernel_layer=None if conv is None else conv.name,
            echo=echo,
        )
        interrupted = False
        try:
            _fit(keras, model, data, train_config, keras_callback(keras, recorder))
        except KeyboardInterrupt:
            interrupted = True
            recorder.stop_reason = recorder.stop_reason or "interrupted"
            recorder.fit_ended = time.monotonic()
        return _finish(
            keras, model, data, config, train_config, recorder, run_dir, wall_start, interrupted
        )
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            message = "Interrupted."
        elif _reads_as_a_sentence(error):
            message = str(error)
        else:
            message = f"{type(error).__name__}: {error}"
        fields = {"state": "failed", "message": "Failed", "error": message}
        if recorder is not None:
            recorder.write_status(**fields)
        else:
            current = read_json(run_dir / training.STATUS_FILE, default={}) or {}
            atomic_write_json(
                run_dir / training.STATUS_FILE, {**current, **fields, "updated": time.time()}
            )
        raise
    finally:
        pulse.stop()
        if recorder is not None:
            recorder.close()


def _fit(keras, model, data: TrainingData, config: training.TrainConfig, callback) -> None:
    validation = None
    if data.x_validation is not None:
        validation = (data.x_validation, data.y_validation)
    augmenter = augmentation_model(keras, config.augmentation, seed=config.seed)
    if augmenter is None:
        model.fit(
            data.x_train,
            data.y_train,
            batch_size=config.batch_size,
            epochs=config.epochs,
            validation_data=validation,
            shuffle=True,
            verbose=0,
            callbacks=[callback],
        )
        return
    import tensorflow as tf

    batches = (
        tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train))
        .shuffle(len(data.x_train), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
        .map(
            lambda images, labels: (augmenter(images, training=True), labels),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(tf.data.AUTOTUNE)
    )
    model.fit(
        batches,
        epochs=config.epochs,
        validation_data=validation,
        verbose=0,
        callbacks=[callback],
    )


def _finish(keras, model, data, config, train_config, recorder, run_dir, wall_start, interrupted):
    # A time budget is a planned end: the run finishes; anything else stops it early.
    stopped = recorder.stop_reason not in (None, "time_budget")
    state_while = "stopping" if stopped else "running"
    restored_epoch = None
    if recorder.restore_best_weights and recorder.best_weights is not None:
        model.set_weights(recorder.best_weights)
        restored_epoch = recorder.best_epoch
    recorder.write_status(state=state_while, message="Saving the model")
    model_path = save_keras_model(model, run_dir / training.MODEL_FILE)
    sidecar = {
        "dataset": config["dataset"].get("name") or Path(config["dataset"]["npz_path"]).name,
        "dataset_source": data.source,
        "class_names": data.class_names,
        "preprocessing": config.get("preprocessing"),
        "input_shape": list(data.input_shape),
        "num_classes": len(data.class_names),
        "model_spec": config["model"].get("spec"),
        "transfer": config["model"].get("transfer"),
        "transfer_weights": config["model"].get("weights"),
        "train_config": train_config.to_dict(),
        "params": int(model.count_params()),
        "history": recorder.epoch_records,
        "epochs_completed": len(recorder.epoch_records),
        "stopped_early": stopped,
        "end_reason": recorder.stop_reason,
        "restored_best_epoch": restored_epoch,
        "run_id": config.get("run_id"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "metrics": {},
    }
    atomic_write_json(run_dir / training.MODEL_SIDECAR_FILE, sidecar)

    evaluation = None
    if not interrupted:
        recorder.write_status(
            message=f"Evaluating on {len(data.x_test):,} {data.evaluated_on} images"
        )
        probabilities = model.predict(data.x_test, batch_size=PREDICT_BATCH_SIZE, verbose=0)
        evaluation, predictions = evaluate_predictions(probabilities, data.y_test, data.class_names)
        evaluation["evaluated_on"] = data.evaluated_on
        # Where each evaluated image sits in the data set: x_test, or x_train for validation.
        image_index = np.asarray(data.test_image_indices, dtype=np.int64)
        predictions["image_index"] = image_index
        for mistake in evaluation["misclassified"]:
            mistake["image_index"] = int(image_index[mistake["index"]])
        atomic_write_json(run_dir / training.EVALUATION_FILE, evaluation)
        buffer = io.BytesIO()
        np.savez(buffer, **predictions)
        atomic_write_bytes(run_dir / training.PREDICTIONS_FILE, buffer.getvalue())
        last = recorder.epoch_records[-1] if recorder.epoch_records else {}
        sidecar["metrics"] = {
            "test_accuracy": evaluation["test_accuracy"],
            "test_loss": evaluation["test_loss"],
            "evaluated_on": data.evaluated_on,
            **{
                key: last[key]
                for key in ("loss", "accuracy", "val_loss", "val_accuracy")
                if key in last
            },
        }
        atomic_write_json(run_dir / training.MODEL_SIDECAR_FILE, sidecar)

    saved_path, save_error = None, None
    if config.get("save_as") and not interrupted:
        try:
            saved = save_model_file(
                model_path,
                config["save_as"],
                sidecar,
                models_dir=config.get("models_dir"),
                overwrite=bool(config.get("overwrite")),
            )
            saved_path = os.fspath(saved.path.resolve())
        except ValueError as error:
            save_error = f"The model was not saved to the store: {error}"

    test_accuracy = None if evaluation is None else evaluation["test_accuracy"]
    final_state = "stopped" if stopped else "finished"
    recorder.write_status(
        state=final_state,
        message="Stopped" if stopped else ("Time is up" if recorder.stop_reason else "Finished"),
        reason=recorder.stop_reason,
        test_accuracy=test_accuracy,
        saved_path=saved_path,
        error=save_error,
    )
    train_time = recorder._elapsed()
    return {
        "state": final_state,
        "reason": recorder.stop_reason,
        "test_accuracy": test_accuracy,
        "params": sidecar["params"],
        "epochs_completed": sidecar["epochs_completed"],
        "train_time_s": round(train_time, 3),
        "wall_time_s": round(time.monotonic() - wall_start, 3),
        "samples_per_second": round(recorder.samples_seen / train_time, 1) if train_time else None,
        "run_dir": os.fspath(run_dir.resolve()),
        "model_path": os.fspath(model_path.resolve()),
        "saved_path": saved_path,
        "error": save_error,
    }


def _reads_as_a_sentence(error: BaseException) -> bool:
    """Our and Keras' argument errors, and missing weights, need no exception class name."""
    from core.models import WeightsUnavailableError

    return isinstance(error, ValueError | TypeError | WeightsUnavailableError) and bool(str(error))


def _write_message(run_dir: Path, message: str) -> None:
    current = read_json(run_dir / training.STATUS_FILE, default={}) or {}
    atomic_write_json(
        run_dir / training.STATUS_FILE, {**current, "message": message, "updated": time.time()}
    )


def _finite(value):
    """Replace NaN and infinities (not valid JSON) with None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


class _Pulse:
    """Touches a file every few seconds from a daemon thread: "this worker is alive"."""

    def __init__(self, path: Path, interval: float = training.PULSE_SECONDS):
        self.path = path
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pulse", daemon=True)

    def start(self) -> None:
        self._touch()
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _touch(self) -> None:
        try:
            os.utime(self.path)
        except FileNotFoundError:
            self.path.touch()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            with contextlib.suppress(OSError):
                self._touch()


# ---------------------------------------------------------------------------
# Checking an uploaded model
# ---------------------------------------------------------------------------


def inspect_model(path: str | os.PathLike) -> dict:
    """Load a ``.keras`` file with ``safe_mode=True`` and describe it.

    Returns:
        ``{"ok": True, "model": {...}}`` or ``{"ok": False, "error": message}``.
    """
    keras = import_keras()
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types; all mean "refused"
        return {"ok": False, "error": _refusal_message(error)}
    conv = first_conv_layer(model)
    return {
        "ok": True,
        "model": {
            "input_shape": list(model.input_shape[1:]),
            "output_shape": list(model.output_shape[1:]),
            "total_params": int(model.count_params()),
            "layers": [
                {"name": layer.name, "class_name": type(layer).__name__} for layer in model.layers
            ],
            "first_conv_layer": None if conv is None else conv.name,
        },
    }


def _refusal_message(error: Exception) -> str:
    text = str(error)
    lowered = text.lower()
    if "lambda" in lowered or "safe_mode" in lowered or "arbitrary code" in lowered:
        return (
            "This model contains a Lambda layer or other Python code, which this app does "
            "not load (Keras safe_mode). Rebuild it from standard layers and save it again."
        )
    if "could not locate" in lowered or "custom" in lowered or "unknown" in lowered:
        return (
            "This model uses a custom layer or function that is not part of Keras, so it cannot "
            f"be loaded safely here. Keras says: {text.splitlines()[0][:300]}"
        )
    first_line = text.splitlines()[0][:300] if text else type(error).__name__
    return f"The file could not be loaded as a Keras model: {first_line}"


def augment_examples(
    image: np.ndarray, augmentation: training.Augmentation, *, count: int, seed: int
) -> np.ndarray:
    """``count`` random versions of ``image`` (H, W, C float32) through the training layers."""
    keras = import_keras()
    augmenter = augmentation_model(keras, augmentation, seed=seed)
    batch = np.repeat(image[np.newaxis].astype(np.float32), count, axis=0)
    if augmenter is None:
        return batch
    keras.utils.set_random_seed(seed)
    return np.clip(np.asarray(augmenter(batch, training=True), dtype=np.float32), 0.0, 1.0)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``train RUN_DIR``, ``inspect-model FILE`` or ``augment IN OUT JSON``."""
    argv = sys.argv[1:] if argv is None else argv
    usage = (
        "usage: python -m core.tf_worker (train RUN_DIR | inspect-model FILE.keras | "
        "augment IMAGE.npy OUT.npy JSON)"
    )
    if not argv or (argv[0], len(argv)) not in (("train", 2), ("inspect-model", 2), ("augment", 4)):
        print(usage, file=sys.stderr)
        return 2
    if argv[0] == "augment":
        _, source, target, request = argv
        options = json.loads(request)
        count, seed = int(options.pop("count")), int(options.pop("seed"))
        image = np.load(source, allow_pickle=False)
        examples = augment_examples(image, training.Augmentation(**options), count=count, seed=seed)
        buffer = io.BytesIO()
        np.save(buffer, examples)
        atomic_write_bytes(target, buffer.getvalue(), durable=False)
        return 0
    command, target = argv
    if command == "inspect-model":
        print(json.dumps(inspect_model(target)))
        return 0
    try:
        run_job(target)
    except Exception:
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
