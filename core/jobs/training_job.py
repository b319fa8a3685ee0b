"""Train a network in a worker process and follow it through its run directory.

Training never happens in the Streamlit server: once Keras is imported there,
every rerun of every page slows down (Streamlit clears the Keras session after
each run) and a training thread crawls. So a `TrainingJob` starts
``python -m core.worker train <run_dir>`` through `core.jobs.runner`, and the two
sides talk only through files in a run directory, the way TensorBoard log
directories work. This module never imports TensorFlow or Keras.

The run directory (one per job, under ``./runs`` or ``$CONVSCOPE_RUNS_DIR``)::

    config.json        what to train: model spec, data set, preprocessing, TrainConfig
    status.json        state, epoch, batch, samples/s, ETA, error (rewritten atomically)
    progress.jsonl     {"type": "batch", ...} and {"type": "epoch", ...} lines
    snapshots/         first-conv-layer kernels: 000000.npy, 000050.npy, ... + index.jsonl
    model.keras        the model, saved after every epoch and at the end, with model.json
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
import os
import secrets
import shutil
import signal
import time
from pathlib import Path

import numpy as np

from core.base.checks import (
    check_bool,
    check_instance,
    check_int,
    check_real,
    check_string,
    received,
)
from core.jobs.checkpoints import kept_model
from core.jobs.dataset_files import slug, write_dataset_file  # noqa: F401  (re-exported)
from core.jobs.files import atomic_write_bytes, atomic_write_json, read_json
from core.jobs.job_queue import JobQueue, QueueEntry, check_owner
from core.jobs.job_slots import (  # noqa: F401  (the settings' old home: re-exported)
    DEFAULT_IDLE_STOP_SECONDS,
    DEFAULT_MAX_JOBS,
    IDLE_STOP_ENV,
    MAX_JOBS_ENV,
    count_live_jobs,
    idle_stop_seconds,
    max_jobs,
)
from core.jobs.model_store import ModelStoreError, SavedModel, save_model_file, validate_name
from core.jobs.run_health import run_problems
from core.jobs.run_requests import (
    check_transfer_can_start,
    dataset_request,
    dataset_request_label,
    model_request,
    model_request_label,
    preprocessing_request,
)
from core.jobs.runner import default_runner, pid_alive, runs_here, wait_for_exit
from core.jobs.runs import (
    CONFIG_FILE,
    CONTROL_FILE,
    HEARTBEAT_FILE,
    LOG_FILE,
    MODEL_FILE,
    MODEL_SIDECAR_FILE,
    PID_FILE,
    RUN_ID_PATTERN,
    STATUS_FILE,
    Progress,
    RunStatus,
    is_run_folder,
    load_snapshot,
    mark_failed_if_live,
    read_evaluation,
    read_pid,
    read_predictions,
    read_progress,
    read_snapshot_index,
    read_status,
    runs_root,
)
from core.jobs.stores import open_job_queue
from core.jobs.train_config import TrainConfig

# What a run waiting in the training queue says, until a slot frees.
WAITING_MESSAGE = "Waiting for a free place"
KILL_WAIT_SECONDS = 10.0  # how long `TrainingJob.kill` waits for a worker it signalled


class JobCapError(RuntimeError):
    """Too many training jobs are running on this server to start another."""


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
    keep_optimizer: bool = False,
    idle_stop: float | None = None,
    owner: str | None = None,
    waiting: bool = False,
) -> Path:
    """Create a run directory with its ``config.json`` and a ``queued`` status.

    `TrainingJob.submit` calls this (``waiting=True``), queues the run and starts its
    worker when a slot is free; the command line runs the worker in its own process instead.

    Args:
        model: A model spec as a dict (``core.nets.specs.spec_to_dict``), a
            ``ModelSpec``, a preset name (``"mnist_cnn_a"``: the worker adapts
            it to the data's input shape and number of classes), or the path
            of a ``.keras`` file to train further; or a transfer model,
            ``{"transfer": "MobileNetV2", "weights": "imagenet" | None}``
            (``core.nets.transfer.transfer_entry``), built for the data's shape and classes;
            it needs RGB images of at least 32×32 (refused here otherwise).
        dataset: A built-in data set name (``"mnist"``, ``"fashion_mnist"``,
            ``"cifar10"``) or the path of an ``.npz`` file with ``x_train``,
            ``y_train``, optionally ``x_test``, ``y_test`` and ``class_names``.
        config: A `TrainConfig` (default: the defaults).
        preprocessing: A ``core.data.preprocessing.Preprocessing`` or a dict of its
            fields; None keeps the images' own size and colour, scaled to [0, 1].
        runs_root_dir: The runs folder (default: see `runs_root`).
        save_as: Also save the finished model in the store under this name.
        models_dir: The store's folder for ``save_as``.
        overwrite: Let ``save_as`` replace a model of the same name.
        keep_optimizer: Save ``save_as`` with the optimizer's state, to train it further
            (`save_model_file`; the default leaves it out, as the page does).
        idle_stop: Seconds without a poll before the job stops itself; None
            disables the watchdog (the command line does that).
        owner: The browser (or session) starting it, so its other tabs find the run.
        waiting: Write the status ``"waiting"`` (in the training queue, no worker yet).

    Returns:
        The new run directory.

    Raises:
        TypeError, ValueError: for a bad argument, naming it (see `TrainingJob.start`).
    """
    config = TrainConfig() if config is None else config
    check_instance(config, "config", TrainConfig)
    overwrite = check_bool(overwrite, "overwrite")
    keep_optimizer = check_bool(keep_optimizer, "keep_optimizer")
    model_entry = model_request(model)
    dataset_entry = dataset_request(dataset)
    preprocessing_entry = preprocessing_request(preprocessing)
    check_transfer_can_start(model, dataset, preprocessing, require_cached_weights=False)
    if save_as is not None:
        save_as = validate_name(save_as, argument="save_as")
    if idle_stop is not None:
        idle_stop = check_real(idle_stop, "idle_stop", minimum=0.0, open_min=True)
    if owner is not None:
        owner = check_owner(owner)

    root = runs_root(runs_root_dir)
    root.mkdir(parents=True, exist_ok=True)
    model_label = model_request_label(model_entry)
    label = slug(f"{model_label}-{dataset_request_label(dataset_entry)}")
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
            "overwrite": overwrite,
            "keep_optimizer": keep_optimizer,
            "idle_stop_seconds": idle_stop,
            "owner": owner,
        },
    )
    state, message = ("waiting", WAITING_MESSAGE) if waiting else ("queued", "Starting")
    atomic_write_json(
        run_dir / STATUS_FILE,
        {"state": state, "message": message, "epochs": config.epochs, "updated": time.time()},
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
    def start(cls, model, dataset, config: TrainConfig | None = None, **options) -> TrainingJob:
        """Create a run directory and start its worker process now, or refuse.

        Takes the arguments of `submit` but never waits: when no slot is free for it (the
        cap is reached, or older jobs wait in the queue), nothing is left behind.

        Raises:
            JobCapError: if no slot is free for it now.
            ValueError, TypeError, WeightsUnavailableError: as for `submit`.
        """
        return cls.submit(model, dataset, config, wait=False, **options)

    @classmethod
    def submit(
        cls,
        model,
        dataset,
        config: TrainConfig | None = None,
        *,
        runs_root_dir: str | os.PathLike | None = None,
        idle_stop: float | None = None,
        job_cap: int | None = None,
        owner: str | None = None,
        wait: bool = True,
        queue: JobQueue | None = None,
        **run_options,
    ) -> TrainingJob:
        """Create a run directory and start its worker, or queue it until a slot frees.

        The run joins the tail of the training queue and the queue is promoted at once,
        so it starts now when a slot is free and nobody waits before it; otherwise its
        state is ``"waiting"`` and the first promoter after a slot frees starts it (see
        `promote_waiting`: the server whose worker ended, or any page polling).

        Args:
            model, dataset, config: As for `prepare_run`.
            runs_root_dir: The runs folder; the job cap counts the live runs in it.
            idle_stop: Watchdog timeout in seconds (default ``$CONVSCOPE_IDLE_STOP_SECONDS``
                or 600).
            job_cap: Most jobs running at once (default ``$CONVSCOPE_MAX_JOBS`` or 2).
            owner: The browser (or session) asking; at most one waiting job per owner.
            wait: False: refuse (`JobCapError`) instead of waiting.
            queue: The training queue (default: `open_job_queue` of the runs folder).
            **run_options: ``preprocessing``, ``save_as``, ``models_dir``, ``overwrite``,
                as for `prepare_run`.

        Returns:
            The job: ``"waiting"`` in the queue, or started (state ``"queued"`` until
            TensorFlow has loaded).

        Raises:
            JobCapError: ``wait`` is False and no slot is free for it now.
            core.jobs.job_queue.AlreadyQueuedError: ``owner`` already has a waiting job.
            ValueError, TypeError: for a bad argument, before anything starts; also for a
                transfer model (``{"transfer": "MobileNetV2", "weights": ...}``) on images
                that are not RGB or smaller than 32×32.
            core.nets.transfer.WeightsUnavailableError: a transfer model with
                ``weights="imagenet"`` whose weights file is not in the Keras cache; the
                message names the file and where to put it. No worker is started.
        """
        check_transfer_can_start(model, dataset, run_options.get("preprocessing"))
        cap = max_jobs() if job_cap is None else check_int(job_cap, "job_cap", minimum=1)
        idle = idle_stop_seconds() if idle_stop is None else idle_stop
        owner = check_owner(owner) if owner is not None else None
        root = runs_root(runs_root_dir)
        root.mkdir(parents=True, exist_ok=True)
        queue = open_job_queue(root) if queue is None else queue
        run_dir = prepare_run(
            model,
            dataset,
            config,
            runs_root_dir=root,
            idle_stop=idle,
            owner=owner,
            waiting=True,
            **run_options,
        )
        job = cls(run_dir)
        try:
            queue.enqueue(job.run_id, owner or f"direct:{secrets.token_hex(8)}")
        except BaseException:  # AlreadyQueuedError, ...: leave nothing behind
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        promote_waiting(root, job_cap=cap, queue=queue)
        if not wait and job.status().is_waiting and job.cancel():
            live = count_live_jobs(root)
            jobs = "training job is" if live == 1 else "training jobs are"
            raise JobCapError(
                f"{live} {jobs} already running on this server (the limit is {cap}). "
                "Wait for one to finish or stop one, then start again."
            )
        return job

    @classmethod
    def attach(cls, run_dir: str | os.PathLike) -> TrainingJob:
        """Follow an existing run (live or finished).

        Raises:
            FileNotFoundError: if ``run_dir`` holds no run.
        """
        if not is_run_folder(run_dir):
            raise FileNotFoundError(
                f"`run_dir` is not a training run folder. {received('run_dir', os.fspath(run_dir))}"
            )
        return cls(run_dir)

    @classmethod
    def find(cls, run_id: str, *, runs_root_dir: str | os.PathLike | None = None) -> TrainingJob:
        """Follow the run called ``run_id`` in the runs folder (e.g. from ``st.query_params``).

        A browser reload starts a new Streamlit session, so the page keeps the
        run id in the URL (or picks a live run from `list_runs`) to find its job again.

        Raises:
            TypeError: if ``run_id`` is not a string.
            ValueError: if ``run_id`` is not a plain run name.
            FileNotFoundError: if there is no such run.
        """
        check_string(run_id, "run_id", pattern=RUN_ID_PATTERN, expected="a run folder name")
        return cls.attach(runs_root(runs_root_dir) / run_id)

    @property
    def run_id(self) -> str:
        """The run's folder name."""
        return self.run_dir.name

    def _launch(self) -> None:
        worker = default_runner().start("train", self.run_dir, log_path=self.run_dir / LOG_FILE)
        atomic_write_bytes(self.run_dir / PID_FILE, str(worker.pid).encode())
        run_dir = self.run_dir

        def ended(worker) -> None:
            mark_failed_if_live(
                run_dir, f"The training worker stopped unexpectedly ({worker.exit_reason()})."
            )
            _promote_quietly(run_dir.parent)  # its slot is free: start the next waiting job

        worker.on_exit(ended)

    # -- the training queue ---------------------------------------------------

    def cancel(self, owner: str | None = None, *, queue: JobQueue | None = None) -> bool:
        """Take a waiting run out of the queue and delete its folder; True when it did.

        False when the run is not waiting any more (a promoter started it first: follow
        it as a running job) or, with ``owner`` given, when it is someone else's.
        """
        queue = open_job_queue(self.run_dir.parent) if queue is None else queue
        if not queue.cancel(self.run_id, owner):
            return False
        shutil.rmtree(self.run_dir, ignore_errors=True)
        return True

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
        """End the worker at once (SIGKILL), for a stuck worker.

        The run is marked failed; the model saved after the last finished epoch is kept.
        """
        reason = "The training worker was killed."
        mark_failed_if_live(self.run_dir, reason)  # seen at once, before the worker is gone
        pid = self.pid
        worker = default_runner().find_run(self.run_dir, pid) if pid is not None else None
        if worker is not None:
            worker.kill()  # returns once the worker has ended
        elif pid is not None and not runs_here(self.run_dir):
            self._command("stop")  # its pid is on another machine (a Ray node): it stops itself
            return
        elif pid is not None and pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_for_exit(pid, KILL_WAIT_SECONDS)
        # A status the worker wrote between the first mark and its end said "running" again.
        mark_failed_if_live(self.run_dir, reason)

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
            with contextlib.suppress(FileNotFoundError):  # the folder was deleted
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
        return read_pid(self.run_dir)

    @property
    def config(self) -> dict:
        """The run's ``config.json`` (``{}`` when it is missing or damaged)."""
        config = read_json(self.run_dir / CONFIG_FILE, default={})
        return config if isinstance(config, dict) else {}

    def problems(self, status: RunStatus | None = None) -> list[str]:
        """What in the run folder cannot be read, in words (see `core.jobs.runs.run_problems`)."""
        return run_problems(self.run_dir, status)

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
        """The model's sidecar (data set, classes, preprocessing, metrics, history); for a
        model its worker saved but was killed before describing, what its progress tells."""
        epochs = read_progress(self.run_dir).epochs
        kept = kept_model(self.run_dir / MODEL_FILE, self.run_dir / MODEL_SIDECAR_FILE, epochs)
        if kept is not None:
            return kept.metadata
        metadata = read_json(self.run_dir / MODEL_SIDECAR_FILE, default={})
        return metadata if isinstance(metadata, dict) else {}

    def save(
        self,
        name: str,
        *,
        models_dir: str | os.PathLike | None = None,
        overwrite: bool = False,
        keep_optimizer: bool = False,
    ) -> SavedModel:
        """Copy the trained model into the models store under ``name`` (`save_model_file`:
        without the optimizer's state unless ``keep_optimizer``).

        Raises:
            FileNotFoundError: if the run has not saved a model yet.
            core.jobs.model_store.ModelStoreError: for a bad or taken name, a damaged model
                file, or a full disk (``StoreFullError``).
        """
        import zipfile

        path = self.model_path
        if path is None:
            raise FileNotFoundError("This run has no trained model yet; wait until it has ended.")
        if not zipfile.is_zipfile(path):
            raise ModelStoreError(
                "This run's model file is damaged (not a whole Keras file), so it was not "
                "saved; train the model again."
            )
        return save_model_file(
            path,
            name,
            self.model_metadata(),
            models_dir=models_dir,
            overwrite=overwrite,
            keep_optimizer=keep_optimizer,
            test_split=self.config.get("dataset", {}).get("npz_path"),  # its own test images
        )


def promote_waiting(
    runs_root_dir: str | os.PathLike | None = None,
    *,
    job_cap: int | None = None,
    queue: JobQueue | None = None,
) -> list[TrainingJob]:
    """Start the waiting jobs that fit under the cap, oldest first; returns those started.

    Cheap when nothing waits (one read of the queue), so every page that polls a run
    calls it, and so does each server when it starts and whenever one of its workers
    ends. The queue's lock makes racing callers start each job exactly once.
    """
    root = runs_root(runs_root_dir)
    cap = max_jobs() if job_cap is None else check_int(job_cap, "job_cap", minimum=1)
    queue = open_job_queue(root) if queue is None else queue
    started: list[TrainingJob] = []

    def start(entry: QueueEntry) -> None:
        job = TrainingJob(root / entry.run_id)
        if not job.status().is_waiting:
            return  # deleted, or damaged by hand: nothing to start
        try:
            atomic_write_json(
                job.run_dir / STATUS_FILE,
                {
                    **read_json(job.run_dir / STATUS_FILE, default={}),
                    "state": "queued",
                    "message": "Starting",
                    "updated": time.time(),
                },
            )
            job._launch()
        except Exception as error:  # recorded in the run folder, never raised to a page
            mark_failed_if_live(job.run_dir, f"The training worker could not start ({error}).")
        else:
            started.append(job)

    queue.promote(lambda: cap - count_live_jobs(root), start)
    return started


def _promote_quietly(root: Path) -> None:
    """`promote_waiting` from a worker's exit watcher: a failure there reaches no page."""
    with contextlib.suppress(Exception):
        promote_waiting(root)
