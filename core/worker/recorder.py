"""Turning training events into run-folder files, and steering training from the page.

`RunRecorder` is Keras-free (tests drive it with a fake model); `keras_callback` wraps it for
`model.fit`. It also carries `Pulse`, the worker's "still alive" file."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.jobs import runs
from core.jobs.files import atomic_write_bytes, atomic_write_json, read_json

MAX_BATCH_POINTS = 1000


MAX_SNAPSHOTS = 400


STATUS_INTERVAL_SECONDS = 0.5


CONTROL_INTERVAL_SECONDS = 0.2


WATCHDOG_INTERVAL_SECONDS = 1.0


PAUSE_SLEEP_SECONDS = 0.1


class RunRecorder:
    """Turns training events into run-directory files, and steers training from ``control.json``.

    Keras-free: the callback from `keras_callback` forwards events to it, with
    the model as a duck-typed object (``stop_training``, ``get_weights``,
    ``set_weights``). It writes ``progress.jsonl`` (per-batch points averaged
    over windows so that a run has at most `MAX_BATCH_POINTS`, and one line per
    epoch), ``status.json`` (at most every half second) and the kernel
    snapshots; it pauses inside ``batch_end`` (``batch_begin`` for Keras) while ``control.json``
    says so, and stops on a stop command, on ``external_stop()`` (the worker's SIGTERM) or when
    the page's heartbeat goes quiet. A stop that arrives while the validation images are being
    evaluated ends that evaluation too, so a stop always acts within a batch.
    After each epoch it calls ``checkpoint(model)`` (the worker saves the model then, so
    a killed run still leaves the last finished epoch's model).
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
        external_stop: Callable[[], str | None] | None = None,
        checkpoint: Callable[[object], None] | None = None,
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
        self.external_stop = external_stop
        self.checkpoint = checkpoint

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
        self._evaluating = "the test images"
        self._validation_cut = False
        self._command = None
        # Keras hands batch ends to its threads (`keras_callback`): they may come in any
        # order, so they are recorded under a lock in batch order; the training thread
        # counts the batches it begins, to take snapshots and steer between them.
        self._lock = threading.RLock()
        self._pending: dict[int, dict | None] = {}
        self._next_batch = 0
        self._begun = 0
        self._begun_position = (0, 0)
        self._snapshot_step: int | None = None
        self.status: dict = read_json(self.run_dir / runs.STATUS_FILE, default={}) or {}
        (self.run_dir / runs.SNAPSHOT_DIR).mkdir(exist_ok=True)
        self._progress = open(self.run_dir / runs.PROGRESS_FILE, "a", encoding="utf-8")  # noqa: SIM115

    # -- files --------------------------------------------------------------

    def write_status(self, **fields) -> None:
        """Merge ``fields`` into the status and rewrite ``status.json`` atomically."""
        with self._lock:
            self._write_status(fields)

    def _write_status(self, fields: dict) -> None:
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
        atomic_write_json(self.run_dir / runs.STATUS_FILE, finite_json(self.status), durable=False)
        self._last_status = time.monotonic()

    def _append(self, record: dict) -> None:
        # One write per complete line: a reader sees whole lines, at worst minus the last one.
        self._progress.write(json.dumps(finite_json(record)) + "\n")
        self._progress.flush()

    def snapshot(self, step: int | None = None, epoch: int | None = None, batch=None) -> None:
        """Save the first conv layer's kernel as ``snapshots/<step>.npy`` and index it.

        ``step``, ``epoch`` and ``batch`` label it (default: where the recording stands).
        """
        step = self.step if step is None else step
        self._snapshot_step = step
        if self.kernel_reader is None:
            return
        kernel = np.asarray(self.kernel_reader(), dtype=np.float32)
        name = f"{step:06d}.npy"
        buffer = io.BytesIO()
        np.save(buffer, kernel)
        folder = self.run_dir / runs.SNAPSHOT_DIR
        atomic_write_bytes(folder / name, buffer.getvalue(), durable=False)
        entry = {
            "step": step,
            "epoch": self.epoch if epoch is None else epoch,
            "batch": self.batch if batch is None else batch,
            "file": name,
            "layer": self.kernel_layer,
        }
        with open(folder / runs.SNAPSHOT_INDEX_FILE, "a", encoding="utf-8") as index:
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
        self._pending.clear()
        self._next_batch = 0
        self._epoch_totals = (0.0, 0.0, 0)
        self._window = (0.0, 0.0, 0)

    def batch_end(self, model, batch_index: int, logs: dict | None) -> None:
        """Record one finished batch; pause or stop if asked."""
        now = self._record_batch(batch_index, logs)
        if self.step % self.snapshot_stride == 0:
            self.snapshot()
        self._steer(model, now, can_pause=True)
        self._report(now)

    def batch_begin(self, model, batch_index: int) -> None:
        """On the training thread, before a batch: snapshot if due, then pause or stop if asked.

        With `batch_recorded` this splits `batch_end` for Keras, which then needs not wait
        on each batch's figures (see `keras_callback`): the kernel is read here, between
        two batches, and a stop still acts after the next batch.
        """
        completed = self._begun
        if completed and completed % self.snapshot_stride == 0:
            with self._lock:
                self.snapshot(completed, *self._begun_position)
        self._begun += 1
        self._begun_position = (self.epoch, batch_index + 1)
        self._steer(model, time.monotonic(), can_pause=True)

    def batch_recorded(self, batch_index: int, logs: dict | None) -> None:
        """Record a finished batch, from any thread and in any order (see `batch_begin`)."""
        with self._lock:
            self._pending[batch_index] = logs
            while self._next_batch in self._pending:
                now = self._record_batch(self._next_batch, self._pending.pop(self._next_batch))
                self._report(now)

    def _record_batch(self, batch_index: int, logs: dict | None) -> float:
        """Count a finished batch and add its figures to the progress; return the time."""
        logs = logs or {}
        self._next_batch = batch_index + 1
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
        return now

    def _report(self, now: float) -> None:
        """The status at most twice a second, a progress line every 5 s."""
        if now - self._last_status >= STATUS_INTERVAL_SECONDS:
            self.write_status()
        if self.echo is not None and now - self._last_echo >= 5.0:
            self._last_echo = now
            self.echo(self._progress_line())

    def _steer(self, model, now: float, *, can_pause: bool) -> None:
        """Act on a pause or stop command, SIGTERM, the time budget and the watchdog."""
        if now - self._last_control >= CONTROL_INTERVAL_SECONDS:
            self._last_control = now
            command = self._read_command()
            if command == "pause" and can_pause:
                self._pause(model)
            elif command == "stop":
                self._request_stop(model, "user")
        if self.external_stop is not None and (reason := self.external_stop()):
            self._request_stop(model, reason)
        if self.time_budget_seconds is not None and self._elapsed() >= self.time_budget_seconds:
            self._request_stop(model, "time_budget")
        if now - self._last_watchdog >= WATCHDOG_INTERVAL_SECONDS:
            self._last_watchdog = now
            if self._idle_for_too_long():
                self._request_stop(model, "idle")

    def validation_begin(self) -> None:
        """The epoch's training batches are done; the validation images are evaluated now.

        After a stop that cut the epoch's training short, validating that half-trained
        epoch would only delay the end, so the validation is cut after its first batch.
        A stop that arrives during the validation of a whole epoch lets it finish: the
        figures are real, and breaking off Keras' validation half-way was measured to
        make the run end later, not sooner (bench/stop.py).
        """
        self._validation_cut = self.stop_reason not in (None, "time_budget")
        if self.stop_reason is None:
            self.write_status(message=f"Validating on {self.validation_samples:,} images")

    def validation_batch_end(self, model) -> None:
        """Between validation batches: act on a stop (the status says "stopping" at once)."""
        now = time.monotonic()
        self._steer(model, now, can_pause=False)
        if self._validation_cut:
            model.stop_evaluating = True
        if now - self._last_status >= STATUS_INTERVAL_SECONDS:
            self.write_status()

    def evaluation_begin(self, what: str) -> None:
        """After training: the final evaluation starts (``what``: "10,000 test images")."""
        self._evaluating = what
        self.write_status(message=f"Evaluating on {what}")

    def evaluation_progress(self, done_batches: int, total_batches: int) -> None:
        """How far the final evaluation has got (written at most twice a second)."""
        now = time.monotonic()
        if total_batches and now - self._last_status >= STATUS_INTERVAL_SECONDS:
            percent = min(100, round(100 * done_batches / total_batches))
            self.write_status(message=f"Evaluating on {self._evaluating}: {percent}%")

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
        # A stop that cut the epoch's training short also cut its validation after one
        # batch: such figures are no measure, so they are left out and the epoch cannot
        # be picked as the best one.
        partial = self._validation_cut or (
            self.stop_reason not in (None, "time_budget") and not self.validation_samples
        )
        keys = ("loss", "accuracy") if partial else ("loss", "accuracy", "val_loss", "val_accuracy")
        for key in keys:
            if key in logs:
                record[key] = float(logs[key])
        if partial:
            record["partial"] = True
        self._validation_cut = False
        record["elapsed"] = self._elapsed()
        self._append(record)
        self.epoch_records.append(finite_json(record))
        if "val_accuracy" in record and math.isfinite(record.get("val_loss", math.nan)):
            score = (record["val_accuracy"], -record["val_loss"])
            if self.best_score is None or score > self.best_score:
                self.best_score = score
                self.best_epoch = record["epoch"]
                self.best_weights = model.get_weights()
        if self.stop_reason is None:
            self.write_status(message="Training")
        else:
            self.write_status()
        if self.checkpoint is not None and self.stop_reason is None:
            self.checkpoint(model)
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
        if self.step and self._snapshot_step != self.step:
            self.snapshot()

    # -- steering -----------------------------------------------------------

    def _read_command(self) -> str | None:
        path = self.run_dir / runs.CONTROL_FILE
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
            last_seen = (self.run_dir / runs.HEARTBEAT_FILE).stat().st_mtime
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
    """A ``keras.callbacks.Callback`` that forwards training events to ``recorder``.

    Its batch ends are ``async_safe``: Keras hands them to its own threads instead of
    waiting for each batch's figures on the training thread, which cost 6–8% of the
    training's CPU time (bench/train.py). Snapshots and steering (pause, stop) happen in
    the batch beginnings, on the training thread.
    """

    class RecorderCallback(keras.callbacks.Callback):
        async_safe = True

        def on_train_begin(self, logs=None):
            recorder.train_begin(self.model)

        def on_epoch_begin(self, epoch, logs=None):
            recorder.epoch_begin(epoch)

        def on_train_batch_begin(self, batch, logs=None):
            recorder.batch_begin(self.model, batch)

        def on_train_batch_end(self, batch, logs=None):
            recorder.batch_recorded(batch, logs)

        def on_test_begin(self, logs=None):
            recorder.validation_begin()

        def on_test_batch_begin(self, batch, logs=None):
            # Keras checks ``stop_evaluating`` after each batch: set before the first, a
            # cut validation still ends after one batch.
            recorder.validation_batch_end(self.model)

        def on_epoch_end(self, epoch, logs=None):
            recorder.epoch_end(self.model, epoch, logs)

        def on_predict_batch_end(self, batch, logs=None):
            steps = self.params.get("steps") or 0
            recorder.evaluation_progress(batch + 1, steps)

        def on_train_end(self, logs=None):
            recorder.train_end(self.model)

    return RecorderCallback()


def finite_json(value):
    """Replace NaN and infinities (not valid JSON) with None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(item) for item in value]
    return value


class Pulse:
    """Touches a file every few seconds from a daemon thread: "this worker is alive"."""

    def __init__(self, path: Path, interval: float = runs.PULSE_SECONDS):
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
