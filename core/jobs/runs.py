"""The run folder: the files a training worker writes, and readers for each of them.

One folder per run (`config.json`, `status.json`, `progress.jsonl`, snapshots, the model,
the evaluation). The server only reads these files, so a page can follow a run from any
session, and after a server restart."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.base.checks import received
from core.jobs.checkpoints import kept_model, kept_model_message
from core.jobs.files import atomic_write_json, read_json, remove_leftovers
from core.jobs.run_requests import model_request_label
from core.jobs.runner import default_runner, pid_alive, runs_here

RUNS_DIR_ENV = "CONVSCOPE_RUNS_DIR"


DEFAULT_RUNS_DIR = "runs"


# "waiting": in the training queue, no worker yet; "queued": its worker is starting.
STATES = ("waiting", "queued", "running", "paused", "stopping", "finished", "stopped", "failed")


LIVE_STATES = ("waiting", "queued", "running", "paused", "stopping")


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


# What a run whose status file was edited, truncated or deleted by hand reads as.
STATUS_DAMAGED = (
    "This run's status file (status.json) is missing or damaged, so how it ended is unknown. "
    "What can still be read (curves, results, model) is shown."
)


# Files only a training run folder has: a folder with one of them but no readable
# config.json is a damaged run (other folders, like the uploaded data sets', are not runs).
_RUN_MARKERS = (STATUS_FILE, PROGRESS_FILE, PID_FILE, MODEL_FILE, MODEL_SIDECAR_FILE)


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
        """The status in ``values``; fields of the wrong type (a hand-edited file) are dropped.

        >>> RunStatus.from_dict({"state": "running", "epoch": "two", "batch": 3}).epoch
        0
        """
        if not isinstance(values, dict):
            return cls()
        kept = {}
        for field in dataclasses.fields(cls):
            value = values.get(field.name)
            if value is not None and _fits(value, field.type):
                kept[field.name] = value
        if kept.get("state", "queued") not in STATES:
            kept["state"] = "failed"
            kept["error"] = STATUS_DAMAGED
        return cls(**kept)

    @property
    def is_live(self) -> bool:
        """Whether the run is still going (waiting in the queue, or its worker at work)."""
        return self.state in LIVE_STATES

    @property
    def is_waiting(self) -> bool:
        """Whether the run waits in the training queue (no worker yet).

        >>> RunStatus(state="waiting").is_waiting, RunStatus(state="queued").is_waiting
        (True, False)
        """
        return self.state == "waiting"

    @property
    def holds_slot(self) -> bool:
        """Whether the run's worker counts against the server's cap (live, not waiting)."""
        return self.is_live and not self.is_waiting

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
    """One run directory, for a list of past and present runs.

    Attributes:
        problem: What keeps the run from being read in full, in words (a settings file
            edited or truncated by hand, ...); None when it reads fine.
    """

    run_dir: Path
    run_id: str
    status: RunStatus
    config: dict
    problem: str | None = None

    @property
    def model_name(self) -> str:
        entry = self.config.get("model")
        try:
            return str(model_request_label(entry)) if entry else "?"
        except (AttributeError, TypeError):
            return "?"

    @property
    def owner(self) -> str | None:
        """The browser (or session) that started the run, when the page recorded one."""
        owner = self.config.get("owner")
        return owner if isinstance(owner, str) else None

    @property
    def dataset_name(self) -> str:
        try:
            dataset = self.config.get("dataset", {})
            return str(dataset.get("name") or Path(dataset.get("npz_path", "?")).stem)
        except (AttributeError, TypeError):
            return "?"


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
    values = read_json(run_dir / STATUS_FILE, default=None)
    if not isinstance(values, dict):
        # Missing or unreadable: a run being set up (its worker rewrites the file), or
        # a file edited or deleted by hand (said so, and left as it is).
        if worker_alive(run_dir):
            return RunStatus(state="queued", message="Starting")
        return RunStatus(state="failed", message="Failed", error=STATUS_DAMAGED)
    status = RunStatus.from_dict(values)
    if status.is_waiting:
        return status  # no worker yet: the queue starts one
    if status.is_live and not worker_alive(run_dir):
        reason = "The training worker ended unexpectedly."
        mark_failed_if_live(run_dir, reason)
        status = RunStatus.from_dict(read_json(run_dir / STATUS_FILE, default={}))
        if status.is_live:  # not written (a full disk, a deleted folder): say it all the same
            status = dataclasses.replace(status, state="failed", message="Failed", error=reason)
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
    return read_jsonl_counting(path)[0]


def read_jsonl_counting(path) -> tuple[list[dict], int]:
    """The records of a JSON-lines file, and how many whole lines could not be read.

    An unfinished last line (no newline yet) is skipped without being counted.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            text = stream.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError):
        return [], 0
    records, damaged = [], 0
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            record = None
        if isinstance(record, dict):
            records.append(record)
        elif number < len(lines) - 1:
            damaged += 1  # a whole line, not one the writer is still finishing
    return records, damaged


def read_progress(run_dir: str | os.PathLike) -> Progress:
    """Return the batch and epoch curves recorded so far (see `Progress`)."""
    records = read_jsonl(Path(run_dir) / PROGRESS_FILE)
    return Progress(
        batches=[r for r in records if r.get("type") == "batch" and _numbers(r, "step")],
        epochs=[r for r in records if r.get("type") == "epoch" and _numbers(r, "epoch")],
    )


def read_snapshot_index(run_dir: str | os.PathLike) -> list[dict]:
    """Return the first-conv-layer snapshots taken so far, oldest first.

    Each entry is ``{"step", "epoch", "batch", "file", "layer"}``; ``step`` 0 is
    the random initial kernel. Load one with `load_snapshot`.
    """
    entries = read_jsonl(Path(run_dir) / SNAPSHOT_DIR / SNAPSHOT_INDEX_FILE)
    return [e for e in entries if _numbers(e, "step") and isinstance(e.get("file"), str)]


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
    evaluation = read_json(Path(run_dir) / EVALUATION_FILE, default=None)
    return evaluation if _whole_evaluation(evaluation) else None


def read_predictions(run_dir: str | os.PathLike) -> dict[str, np.ndarray] | None:
    """Return ``{"true", "predicted", "confidence", "image_index"}`` per evaluated image, or None.

    ``image_index`` is as in `read_evaluation`.
    """
    path = Path(run_dir) / PREDICTIONS_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as arrays:
            loaded = {key: arrays[key] for key in arrays.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError):
        return None  # truncated or edited by hand: `run_problems` says so
    sizes = {len(loaded.get(key, ())) for key in ("true", "predicted")}
    return loaded if len(sizes) == 1 and sizes != {0} else None


def list_runs(runs_root_dir: str | os.PathLike | None = None) -> list[RunInfo]:
    """Return every run under the runs folder, newest first."""
    root = runs_root(runs_root_dir)
    if not root.is_dir():
        return []
    found = []
    for run_dir in root.iterdir():
        try:
            if not run_dir.is_dir() or run_dir.name.startswith("."):
                continue  # a stray file, or a hidden folder
            config = read_json(run_dir / CONFIG_FILE, default=None)
            problem = None
            if not isinstance(config, dict):
                if not is_run_folder(run_dir):
                    continue  # not a run folder (the uploaded data sets' folder, ...)
                config, problem = {}, CONFIG_DAMAGED
            created = config.get("created")
            if not isinstance(created, int | float) or isinstance(created, bool):
                config = {**config, "created": run_dir.stat().st_mtime}
            run_id = config.get("run_id")
            found.append(
                RunInfo(
                    run_dir=run_dir,
                    run_id=run_id if isinstance(run_id, str) else run_dir.name,
                    status=read_status(run_dir),
                    config=config,
                    problem=problem,
                )
            )
        except OSError:
            continue  # deleted while being listed
    found.sort(key=lambda run: run.config["created"], reverse=True)
    return found


CONFIG_DAMAGED = "its settings file (config.json) is missing or damaged"


def is_run_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a training run's folder (even one whose config.json is damaged).

    >>> import tempfile
    >>> is_run_folder(tempfile.mkdtemp())
    False
    """
    path = Path(path)
    return any((path / name).is_file() for name in (CONFIG_FILE, *_RUN_MARKERS))


def delete_run(run_dir: str | os.PathLike) -> None:
    """Delete a run directory that has ended (the page's "Reset" or a clean-up).

    Raises:
        ValueError: if the run is still live (stop it first) or ``run_dir`` is not a run.
    """
    if not is_run_folder(run_dir):
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
    # Clean up what a killed worker was half-way through writing (hidden temporary files).
    remove_leftovers(run_dir)
    remove_leftovers(run_dir / SNAPSHOT_DIR)
    current = read_json(run_dir / STATUS_FILE, default={})
    if not isinstance(current, dict) or current.get("state") not in LIVE_STATES:
        return False
    if not (run_dir / CONFIG_FILE).is_file():
        return False  # the folder was deleted: never bring it back with a status file
    try:
        return _write_failed(run_dir, current, reason)
    except OSError:
        return False  # a full disk: `read_status` still reports the run as failed


def _write_failed(run_dir: Path, current: dict, reason: str) -> bool:
    # A model newer than its sidecar (a kill between the two writes) is kept all the same.
    epochs = read_progress(run_dir).epochs
    kept = kept_model_message(
        kept_model(run_dir / MODEL_FILE, run_dir / MODEL_SIDECAR_FILE, epochs)
    )
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
        # Between creating the folder (or leaving the queue) and starting the worker.
        created = (read_json(run_dir / CONFIG_FILE, default={}) or {}).get("created", 0)
        if not isinstance(created, int | float):
            created = 0
        newest = max(created, modified_time(run_dir / STATUS_FILE))
        return now - newest < PULSE_STALE_SECONDS
    # A worker on another machine (a Ray node): its pid means nothing here, its pulse tells.
    if runs_here(run_dir) and not pid_alive(pid):
        return False
    # A pid can be reused after a reboot; the worker's pulse tells them apart.
    newest = max(modified_time(run_dir / PULSE_FILE), modified_time(run_dir / PID_FILE))
    return now - newest < PULSE_STALE_SECONDS


def modified_time(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


_TYPES = {"str": str, "int": int, "float": int | float}


def _fits(value, annotation: str) -> bool:
    """Whether a status value has its field's type (``"int | None"``: an int).

    >>> _fits(3, "float | None"), _fits(True, "int"), _fits("x", "int")
    (True, False, False)
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    wanted = _TYPES.get(str(annotation).split("|")[0].strip())
    return wanted is None or isinstance(value, wanted)


def _numbers(record: dict, *keys: str) -> bool:
    """Whether ``record`` holds a finite number under each key."""
    return all(_fits(record.get(key), "float") and record.get(key) is not None for key in keys)


def _whole_evaluation(evaluation) -> bool:
    """Whether an evaluation has what the page shows, with matching sizes."""
    if not isinstance(evaluation, dict):
        return False
    try:
        names = evaluation["class_names"]
        matrix = np.asarray(evaluation["confusion_matrix"], dtype=float)
        per_class = evaluation["per_class_accuracy"]
        return (
            _numbers(evaluation, "test_accuracy", "num_test")
            and isinstance(names, list)
            and matrix.shape == (len(names), len(names))
            and isinstance(per_class, list)
            and len(per_class) == len(names)
            and all(
                isinstance(mistake, dict) and _fits(mistake.get("index"), "int")
                for mistake in evaluation.get("misclassified", [])
            )
        )
    except (KeyError, TypeError, ValueError):
        return False
