"""The run folder: the files a training worker writes, and readers for each of them.

One folder per run (`config.json`, `status.json`, `progress.jsonl`, snapshots, the model,
the evaluation). The server only reads these files, so a page can follow a run from any
session, and after a server restart."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.base.checks import received
from core.jobs.files import atomic_write_json, read_json
from core.jobs.run_requests import model_request_label
from core.jobs.runner import default_runner, pid_alive

RUNS_DIR_ENV = "CONVSCOPE_RUNS_DIR"


DEFAULT_RUNS_DIR = "runs"


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


RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,120}$")


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
        return model_request_label(self.config.get("model", {}))

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
    if status.is_live and not worker_alive(run_dir):
        mark_failed_if_live(run_dir, "The training worker ended unexpectedly.")
        status = RunStatus.from_dict(read_json(run_dir / STATUS_FILE, default={}))
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
    if not (Path(run_dir) / CONFIG_FILE).is_file():
        raise ValueError(
            f"`run_dir` is not a training run folder. {received('run_dir', os.fspath(run_dir))}"
        )
    if read_status(run_dir).is_live:
        raise ValueError(
            "The run is still going; stop it before deleting it. "
            f"{received('run_dir', os.fspath(run_dir))}"
        )
    import shutil

    shutil.rmtree(run_dir)


def read_pid(run_dir: Path) -> int | None:
    try:
        return int((run_dir / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def mark_failed_if_live(run_dir: str | os.PathLike, reason: str) -> bool:
    """Record a run whose worker has gone as failed, saying why and what was kept.

    Does nothing when the run already ended (the worker wrote its last status before
    exiting). Returns whether the run was marked failed.

    Args:
        run_dir: The run folder.
        reason: One sentence on how the worker ended.
    """
    run_dir = Path(run_dir)
    current = read_json(run_dir / STATUS_FILE, default={}) or {}
    if current.get("state") not in LIVE_STATES:
        return False
    sidecar = read_json(run_dir / MODEL_SIDECAR_FILE, default={}) or {}
    epochs = sidecar.get("epochs_completed")
    if (run_dir / MODEL_FILE).is_file() and epochs:
        kept = f"The model saved after epoch {epochs} is kept: you can save or inspect it."
    else:
        kept = "It had not finished an epoch, so there is no model to keep."
    atomic_write_json(
        run_dir / STATUS_FILE,
        {
            **current,
            "state": "failed",
            "message": "Failed",
            "error": f"{reason} {kept}",
            "updated": time.time(),
        },
    )
    return True


def worker_alive(run_dir: Path) -> bool:
    """Whether the run's worker process is still at work.

    A worker this server started is asked directly; one started by another server
    process (or before a restart) is judged by its pid and its pulse file.
    """
    pid = read_pid(run_dir)
    if pid is not None:
        worker = default_runner().find(pid)
        if worker is not None:
            return worker.is_alive()
    now = time.time()
    if pid is None:
        # Between creating the folder and starting the worker (under the jobs lock).
        created = (read_json(run_dir / CONFIG_FILE, default={}) or {}).get("created", 0)
        return now - created < PULSE_STALE_SECONDS
    if not pid_alive(pid):
        return False
    # A pid can be reused after a reboot; the worker's pulse tells them apart.
    newest = max(modified_time(run_dir / PULSE_FILE), modified_time(run_dir / PID_FILE))
    return now - newest < PULSE_STALE_SECONDS


def modified_time(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
