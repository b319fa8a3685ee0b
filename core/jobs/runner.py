"""The one way ConvScope starts, watches, stops and reaps its worker processes.

TensorFlow never runs in the Streamlit server: training runs, model inspection, upload checks
and augmentation previews all happen in ``python -m core.worker <task>`` processes, and every
one of them is started here. A `WorkerProcess` is reaped the moment it exits (a daemon thread
waits on it), so no ``<defunct>`` child is left behind, and whoever started it can be told how
it ended (`WorkerProcess.on_exit`).

`Runner` is the interface; `LocalRunner` (child processes on this machine) is the default
backend, and a cluster backend is one more implementation of the same three methods.

>>> runner = LocalRunner()
>>> worker = runner.start("sleep", "0")  # a task the worker module answers with a usage error
>>> worker.wait(timeout=60)
2
>>> worker.is_alive(), worker.exit_reason()
(False, 'exit code 2')
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Protocol

from core.base.paths import PROJECT_ROOT

WORKER_MODULE = "core.worker"
STOP_GRACE_SECONDS = 5.0


# Set for each training worker: the training jobs running at once, itself included, so it
# takes its share of the cores (`core.worker.environment.thread_counts`).
TRAINING_JOBS_ENV = "CONVSCOPE_TRAINING_JOBS"


# Set for a worker that a cluster scheduler gave a number of cores (`core.jobs.ray_runner`):
# it counts those instead of the machine's (`core.worker.environment.usable_cores`).
WORKER_CORES_ENV = "CONVSCOPE_WORKER_CORES"


# Written into a run folder by a runner whose worker runs on another machine: its host name
# (there the worker's pid means nothing, and `core.jobs.runs` judges it by its pulse).
WORKER_HOST_FILE = "worker.host"


# Set on a server whose jobs run on a Ray cluster (`core.jobs.ray_runner`).
RAY_ADDRESS_ENV = "CONVSCOPE_RAY_ADDRESS"


def worker_environment(*, training_jobs: int | None = None) -> dict:
    """The environment for worker processes: quiet TensorFlow, ``core`` importable.

    >>> worker_environment(training_jobs=2)[TRAINING_JOBS_ENV]
    '2'
    """
    environment = dict(os.environ)
    if training_jobs is not None:
        environment[TRAINING_JOBS_ENV] = str(training_jobs)
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    python_path = environment.get("PYTHONPATH", "")
    root = os.fspath(PROJECT_ROOT)
    if root not in python_path.split(os.pathsep):
        environment["PYTHONPATH"] = root + (os.pathsep + python_path if python_path else "")
    return environment


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process.

    >>> pid_alive(os.getpid())
    True
    """
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


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` is no longer running (at most ``timeout`` seconds); whether it ended.

    >>> wait_for_exit(os.getpid(), 0.1)
    False
    """
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def runs_here(run_dir: str | os.PathLike) -> bool:
    """Whether a run folder's worker runs on this machine: yes, unless a runner wrote another
    machine's name in its ``WORKER_HOST_FILE``.

    >>> runs_here("/nonexistent")
    True
    """
    try:
        host = (Path(run_dir) / WORKER_HOST_FILE).read_text(errors="replace").strip()
    except OSError:
        return True
    return host in ("", socket.gethostname())


def describe_exit(returncode: int | None) -> str:
    """How a process ended, in words.

    >>> describe_exit(0), describe_exit(1), describe_exit(-9)
    ('exit code 0', 'exit code 1', 'killed by SIGKILL')
    """
    if returncode is None:
        return "still running"
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name}"
        return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class WorkerProcess:
    """One worker process: its pid, its log, how it ended, and how to end it.

    Made by a `Runner`, never directly. A daemon thread waits on the process, so it is
    reaped as soon as it exits and the callbacks given to `on_exit` run then.

    Attributes:
        task: The worker task (``"train"``, ``"serve"``).
        pid: The process id.
        log_path: Where its standard error goes (None: inherited).
        connection: For a connected worker, a ``(sender, receiver)`` pair of
            ``multiprocessing.connection.Connection`` objects on its stdin and stdout.
    """

    def __init__(
        self,
        process: subprocess.Popen,
        *,
        task: str,
        log_path: Path | None,
        connection: tuple[Connection, Connection] | None = None,
    ):
        self.task = task
        self.pid = process.pid
        self.log_path = log_path
        self.connection = connection
        self.started = time.monotonic()
        self._process = process
        self._exited = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[WorkerProcess], None]] = []
        self._reaper = threading.Thread(
            target=self._reap, name=f"reap-{task}-{process.pid}", daemon=True
        )
        self._reaper.start()

    def __repr__(self) -> str:
        state = describe_exit(self.returncode)
        return f"WorkerProcess(task={self.task!r}, pid={self.pid}, {state})"

    def _reap(self) -> None:
        self._process.wait()
        with self._lock:
            self._exited.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            with contextlib.suppress(Exception):
                callback(self)

    @property
    def returncode(self) -> int | None:
        """The exit code once it has ended (negative: the signal that ended it), else None."""
        return self._process.returncode if self._exited.is_set() else None

    def is_alive(self) -> bool:
        """Whether the process is still running."""
        return not self._exited.is_set()

    def exit_reason(self) -> str:
        """``"exit code 1"``, ``"killed by SIGKILL"``, or ``"still running"``."""
        return describe_exit(self.returncode)

    def on_exit(self, callback: Callable[[WorkerProcess], None]) -> None:
        """Call ``callback(worker)`` once the process has ended (at once if it already has)."""
        with self._lock:
            if not self._exited.is_set():
                self._callbacks.append(callback)
                return
        callback(self)

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait until the process ends (and its exit callbacks have run); its return code,
        or None if it is still running after ``timeout`` seconds."""
        if not self._exited.wait(timeout):
            return None
        self._reaper.join(timeout)
        return self.returncode

    def stop(self, *, grace: float = STOP_GRACE_SECONDS) -> int | None:
        """Ask the process to end (SIGTERM), and kill it if it has not after ``grace`` seconds."""
        if self.is_alive():
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signal.SIGTERM)
            if self.wait(grace) is not None:
                return self.returncode
        return self.kill()

    def kill(self) -> int | None:
        """End the process at once (SIGKILL) and wait until it has been reaped."""
        if self.is_alive():
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        code = self.wait(30)
        self.close_connection()
        return code

    def close_connection(self) -> None:
        """Close this side of a connected worker's pipes (the worker then sees end of input)."""
        for end in self.connection or ():
            with contextlib.suppress(OSError):
                end.close()


class Runner(Protocol):
    """Where worker processes run. `LocalRunner` is the default; a cluster is another."""

    def start(
        self, task: str, *arguments: str, log_path: Path | None = None, connect: bool = False
    ) -> WorkerProcess:
        """Start ``python -m core.worker <task> <arguments...>``."""

    def find(self, pid: int) -> WorkerProcess | None:
        """The live worker with this pid that this runner started, if any."""

    def workers(self) -> list[WorkerProcess]:
        """The workers this runner started that are still running."""

    def find_run(self, run_dir: str | os.PathLike, pid: int) -> WorkerProcess | None:
        """The live worker of a run that this runner can reach, if any."""


class WorkerRegistry:
    """The workers a runner started that still run, by pid: kept the same way by every
    runner (`LocalRunner`, ``core.jobs.ray_runner.RayRunner``), which subclasses it.

    A worker is registered when it starts and forgotten when it exits (its ``on_exit``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workers: dict[int, WorkerProcess] = {}

    def _register(self, worker):
        """Remember ``worker`` until it exits; returns it."""
        with self._lock:
            self._workers[worker.pid] = worker
        worker.on_exit(self._forget)
        return worker

    def _forget(self, worker) -> None:
        with self._lock:
            if self._workers.get(worker.pid) is worker:
                del self._workers[worker.pid]

    def find(self, pid: int) -> WorkerProcess | None:
        """The live worker with this pid that this runner started, if any."""
        with self._lock:
            return self._workers.get(pid)

    def workers(self) -> list[WorkerProcess]:
        """The workers this runner started that are still running."""
        with self._lock:
            return list(self._workers.values())

    def find_run(self, run_dir: str | os.PathLike, pid: int) -> WorkerProcess | None:
        """The live worker of the run in ``run_dir`` (pid ``pid``) that this runner can reach:
        here, one it started; a cluster runner also finds one another replica started."""
        return self.find(pid)


class LocalRunner(WorkerRegistry):
    """Runs workers as child processes of this process, on this machine.

    Each worker gets its own session (``start_new_session``), so a Ctrl-C aimed at the
    server does not hit a training run; a connected worker ends by itself when this
    process goes away, because its input pipe closes.

    Args:
        python: The interpreter to run workers with.
    """

    def __init__(self, *, python: str = sys.executable):
        super().__init__()
        self.python = python

    def start(
        self, task: str, *arguments: str, log_path: Path | None = None, connect: bool = False
    ) -> WorkerProcess:
        """Start ``python -m core.worker <task> <arguments...>`` and return its handle.

        Args:
            task: The worker task.
            arguments: Its command-line arguments.
            log_path: Append the worker's output (standard error, and standard output
                unless connected) to this file.
            connect: Talk to the worker over its stdin/stdout (``WorkerProcess.connection``).
        """
        command = [self.python, "-m", WORKER_MODULE, task, *map(os.fspath, arguments)]
        training_jobs = None
        if task == "train":  # this one and those still running
            training_jobs = 1 + sum(worker.task == "train" for worker in self.workers())
        log = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115
        try:
            process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=worker_environment(training_jobs=training_jobs),
                stdin=subprocess.PIPE if connect else subprocess.DEVNULL,
                stdout=subprocess.PIPE if connect else log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            if log is not None:
                log.close()
        connection = None
        if connect:
            connection = (
                Connection(os.dup(process.stdin.fileno()), readable=False),
                Connection(os.dup(process.stdout.fileno()), writable=False),
            )
            process.stdin.close()
            process.stdout.close()
        worker = WorkerProcess(
            process,
            task=task,
            log_path=None if log_path is None else Path(log_path),
            connection=connection,
        )
        return self._register(worker)


_DEFAULT: Runner | None = None
_DEFAULT_LOCK = threading.Lock()


def default_runner() -> Runner:
    """The runner every part of the app uses (one per server process).

    Worker processes on this machine, or on a Ray cluster when ``$CONVSCOPE_RAY_ADDRESS``
    is set (`core.jobs.ray_runner`, imported only then).
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            address = os.environ.get(RAY_ADDRESS_ENV, "").strip()
            if address:
                # Imported by name: a backend chosen at run time, and no import cycle.
                _DEFAULT = importlib.import_module("core.jobs.ray_runner").RayRunner(address)
            else:
                _DEFAULT = LocalRunner()
        return _DEFAULT
