"""Run the worker processes on a Ray cluster: `RayRunner`, the cluster backend of `Runner`.

Selected by `core.jobs.runner.default_runner` when ``$CONVSCOPE_RAY_ADDRESS`` is set
(``auto``, ``local`` for a fresh local instance, ``ray://host:10001`` or ``host:6379``);
without it this module is never imported, and Ray itself is imported only when the first
worker starts, so servers without a cluster do not need Ray installed.

Each worker is one Ray actor, a `WorkerHost`, placed by Ray on a node with the resources it
declares (``num_cpus``: the job's thread count; ``num_gpus=1`` for a training job when the
cluster has a GPU). The host runs the SAME ``python -m core.worker <task>`` process there,
through a `LocalRunner` of its own, so there is no second copy of the training loop or of
the inspection service: the host only relays. `RayWorker` is the server's handle on it and
behaves like a `WorkerProcess` (pid, ``on_exit``, ``wait``, ``stop``, ``kill``, and for the
inspection worker a ``connection`` pair whose messages travel through the actor).

A training job's actor is detached and named after its run (`training_actor_name`, in the
``convscope`` namespace): it outlives the replica that started it, as a local worker outlives
its server, and ends itself when its worker process ends. Another replica (or the same one
restarted) follows the job through the run folder and finds the actor by name to kill it
(`RayRunner.find_run`). An inspection worker's actor stays tied to its replica.

A training job still talks through its run folder (progress, snapshots, status, and the
pause/resume/stop commands): the runs folder (``$CONVSCOPE_RUNS_DIR``) and the models
folder (``$CONVSCOPE_MODELS_DIR``) must be one shared folder at the same path on every node
and server replica, the way a class deployment shares them anyway, so every replica can list
the runs and find the trained models. A node that cannot see the run folder refuses the job
with a message saying so, instead of training into a folder no page reads.

>>> connect_address("local"), connect_address("auto"), connect_address("ray://head:10001")
('local', 'auto', 'ray://head:10001')
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from core.base.checks import check_int, check_string, received
from core.base.paths import PROJECT_ROOT
from core.jobs.files import atomic_write_bytes
from core.jobs.runner import (
    RAY_ADDRESS_ENV,
    STOP_GRACE_SECONDS,
    WORKER_CORES_ENV,
    WORKER_HOST_FILE,
    LocalRunner,
    WorkerProcess,
    WorkerRegistry,
    describe_exit,
)
from core.jobs.runs import mark_failed_if_live

# The cores one job asks Ray for; its TensorFlow threads are set to the same number.
RAY_CPUS_ENV = "CONVSCOPE_RAY_CPUS"


DEFAULT_RAY_CPUS = 2


# How long a new worker may wait for the cluster to place it before the start is refused
# (the caller waits that long: a page, or the training queue's promotion).
PLACEMENT_TIMEOUT_SECONDS = 60.0


# Threads of one host actor: a blocking wait for the exit, a blocking receive, and calls.
_HOST_THREADS = 8


# The Ray namespace of the training actors, so that every replica finds them by name.
RAY_NAMESPACE = "convscope"


_ADDRESS = re.compile(r"auto|local|ray://[\w.\-]+(:\d+)?|[\w.\-]+:\d+")


class RayUnavailableError(ConnectionError):
    """The Ray cluster cannot be reached, or cannot place or run a worker (says why)."""


def connect_address(text: str) -> str:
    """Check a Ray address: ``auto``, ``local``, ``ray://host[:port]`` or ``host:port``.

    >>> connect_address("my cluster")
    Traceback (most recent call last):
    ValueError: `CONVSCOPE_RAY_ADDRESS` must be auto, local, ray://host:10001 or host:6379. \
Received: CONVSCOPE_RAY_ADDRESS='my cluster'.
    """
    return check_string(
        text.strip() if isinstance(text, str) else text,
        RAY_ADDRESS_ENV,
        pattern=_ADDRESS,
        expected="auto, local, ray://host:10001 or host:6379",
    )


def cpus_per_job() -> int:
    """The cores one job asks for (``$CONVSCOPE_RAY_CPUS``, default 2).

    Raises:
        ValueError: the variable is set to something other than a whole number >= 1.
    """
    text = os.environ.get(RAY_CPUS_ENV, "").strip()
    if not text:
        return DEFAULT_RAY_CPUS
    try:
        number = int(text)
    except ValueError:
        raise ValueError(
            f"`{RAY_CPUS_ENV}` must be a whole number of cores. {received(RAY_CPUS_ENV, text)}"
        ) from None
    return check_int(number, RAY_CPUS_ENV, minimum=1)


def training_actor_name(run_dir: str | os.PathLike) -> str:
    """The name of a training job's actor: its run's, so any replica finds it.

    >>> training_actor_name("/shared/runs/20260101-120000-cnn-a1b2c3")
    'train-20260101-120000-cnn-a1b2c3'
    """
    return f"train-{Path(run_dir).name}"


def actor_environment(cores: int, *, gpu: bool) -> dict[str, str]:
    """The variables a host actor gets: ConvScope's settings, ``core`` importable, its cores.

    The server's ``CONVSCOPE_*`` settings (data, runs and models folders, job settings) go
    with it; a host without a GPU hides the node's GPUs, so TensorFlow there does not take
    the memory of a GPU that Ray gave to a training job.

    >>> environment = actor_environment(2, gpu=False)
    >>> environment["CONVSCOPE_WORKER_CORES"], environment["CUDA_VISIBLE_DEVICES"]
    ('2', '')
    >>> RAY_ADDRESS_ENV in environment
    False
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if name.startswith("CONVSCOPE_") and name != RAY_ADDRESS_ENV
    }
    environment[WORKER_CORES_ENV] = str(cores)
    environment["PYTHONPATH"] = os.fspath(PROJECT_ROOT)
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not gpu:
        environment["CUDA_VISIBLE_DEVICES"] = ""
    return environment


class WorkerHost:
    """The Ray actor's body: one worker process on the node Ray chose, and its pipes.

    A plain class (Ray wraps it with ``ray.remote`` when the first worker starts), so it
    works, and is tested, without Ray too.

    >>> host = WorkerHost()
    >>> host.start("sleep", ["0"])["pid"] > 0  # a task the worker answers with a usage error
    True
    >>> host.wait()
    2
    """

    def __init__(self, detached: bool = False):
        self.runner = LocalRunner()
        self.worker: WorkerProcess | None = None
        self.started: dict | None = None
        self._ready = threading.Event()
        if detached:  # no replica owns it: it ends itself (an actor task of its own)
            import ray

            ray.get_runtime_context().current_actor.finish.remote()

    def start(
        self,
        task: str,
        arguments: list[str],
        log_path: str | None = None,
        connect: bool = False,
        folder: str | None = None,
    ) -> dict:
        """Start ``python -m core.worker <task> <arguments...>`` here; its pid and node.

        Raises:
            FileNotFoundError: ``folder`` (the run folder) is not visible on this node.
        """
        node = socket.gethostname()
        try:
            if folder is not None and not os.path.isdir(folder):
                raise FileNotFoundError(
                    f"The Ray node {node} cannot see the folder {folder}. The runs and models "
                    "folders must be shared by every node at the same path (set "
                    "CONVSCOPE_RUNS_DIR and CONVSCOPE_MODELS_DIR to a shared folder)."
                )
            if log_path is None or not os.path.isdir(os.path.dirname(log_path) or "."):
                handle, log_path = tempfile.mkstemp(prefix=f"convscope-{task}-", suffix=".log")
                os.close(handle)
            self.worker = self.runner.start(
                task, *arguments, log_path=Path(log_path), connect=connect
            )
        finally:
            self._ready.set()
        self.started = {"pid": self.worker.pid, "node": node, "log_path": log_path}
        return self.started

    def describe(self) -> dict | None:
        """What `start` answered (pid, node, log path), for a replica that finds the actor."""
        return self.started

    def finish(self) -> None:
        """A detached host's last task: once its worker has ended (or none was started in
        time), end the actor, giving its cores and GPU back; calls under way finish first."""
        import ray

        if self._ready.wait(2 * PLACEMENT_TIMEOUT_SECONDS):  # its replica may die first
            self.wait()
        ray.actor.exit_actor()

    def wait(self) -> int | None:
        """Block until the worker ends; its return code (negative: the signal)."""
        self._ready.wait()
        return None if self.worker is None else self.worker.wait()

    def send(self, message) -> None:
        """Pass one message to the worker's standard input."""
        self.worker.connection[0].send(message)

    def receive(self) -> tuple:
        """The worker's next message, ``("message", value)``, or ``("closed",)`` at its end."""
        try:
            return ("message", self.worker.connection[1].recv())
        except (EOFError, OSError):
            return ("closed",)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> int | None:
        """Ask the worker to end (SIGTERM), killing it after ``grace`` seconds."""
        return None if self.worker is None else self.worker.stop(grace=grace)

    def kill(self) -> int | None:
        """End the worker at once."""
        return None if self.worker is None else self.worker.kill()

    def log_tail(self, limit: int = 4000) -> str:
        """The end of the worker's log on this node."""
        if self.worker is None or self.worker.log_path is None:
            return ""
        with contextlib.suppress(OSError):
            return self.worker.log_path.read_text(errors="replace")[-limit:]
        return ""


class _ActorSender:
    """The sending end of a connection to a worker in a Ray actor (``send``, ``close``)."""

    def __init__(self, ray, actor):
        self._ray, self._actor, self.closed = ray, actor, False

    def send(self, message) -> None:
        if self.closed:
            raise OSError("the connection is closed")
        try:
            self._ray.get(self._actor.send.remote(message), timeout=PLACEMENT_TIMEOUT_SECONDS)
        except Exception as error:  # noqa: BLE001 - an actor lost or a worker gone
            raise OSError(f"the worker on the Ray cluster is gone ({error})") from None

    def close(self) -> None:
        self.closed = True


class _ActorReceiver:
    """The receiving end (``poll``, ``recv``, ``close``): one pending receive at a time."""

    def __init__(self, ray, actor):
        self._ray, self._actor, self.closed = ray, actor, False
        self._pending = None

    def _reference(self):
        if self.closed:
            raise OSError("the connection is closed")
        if self._pending is None:
            self._pending = self._actor.receive.remote()
        return self._pending

    def poll(self, timeout: float | None = 0.0) -> bool:
        ready, _ = self._ray.wait([self._reference()], timeout=timeout)
        return bool(ready)

    def recv(self):
        reference = self._reference()
        self._pending = None
        try:
            answer = self._ray.get(reference)
        except Exception:  # noqa: BLE001 - the actor or its node was lost
            raise EOFError("the worker on the Ray cluster is gone") from None
        if answer[0] != "message":
            raise EOFError("the worker ended")
        return answer[1]

    def close(self) -> None:
        self.closed = True


class RayWorker:
    """A worker running in a Ray actor, with the interface of a `WorkerProcess`.

    Attributes:
        task: The worker task (``"train"``, ``"serve"``).
        pid: The worker's process id on its node.
        node: The node's host name.
        log_path: Where its log is (on the node: the run folder's log for a training job).
        connection: For a connected worker, a ``(sender, receiver)`` pair that passes the
            messages through the actor.
    """

    def __init__(self, ray, actor, started: dict, *, task: str, connect: bool):
        self.task = task
        self.pid = int(started["pid"])
        self.node = str(started["node"])
        self.log_path = Path(started["log_path"])
        self.connection = (
            (_ActorSender(ray, actor), _ActorReceiver(ray, actor)) if connect else None
        )
        self.started = time.monotonic()
        self._ray = ray
        self._actor = actor
        self._returncode: int | None = None
        self._lost: str | None = None
        self._exited = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[RayWorker], None]] = []
        self._watcher = threading.Thread(
            target=self._watch, args=(actor.wait.remote(),), name=f"ray-{task}", daemon=True
        )
        self._watcher.start()

    def __repr__(self) -> str:
        state = self.exit_reason()
        return f"RayWorker(task={self.task!r}, pid={self.pid}, node={self.node!r}, {state})"

    def _watch(self, reference) -> None:
        try:
            code = self._ray.get(reference)
            self._returncode = -9 if code is None else int(code)
        except Exception as error:  # noqa: BLE001 - the actor or its node died
            self._returncode = -9
            self._lost = f"its Ray node was lost: {type(error).__name__}"
        with contextlib.suppress(Exception):
            self._ray.kill(self._actor)  # give its cores (and GPU) back to the cluster
        with self._lock:
            self._exited.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            with contextlib.suppress(Exception):
                callback(self)

    @property
    def returncode(self) -> int | None:
        """The exit code once it has ended (negative: the signal that ended it), else None."""
        return self._returncode if self._exited.is_set() else None

    def is_alive(self) -> bool:
        """Whether the worker is still running."""
        return not self._exited.is_set()

    def exit_reason(self) -> str:
        """``"exit code 1"``, ``"killed by SIGKILL"``, ``"still running"``, or a lost node."""
        if self._exited.is_set() and self._lost:
            return self._lost
        return describe_exit(self.returncode)

    def on_exit(self, callback: Callable[[RayWorker], None]) -> None:
        """Call ``callback(worker)`` once the worker has ended (at once if it already has)."""
        with self._lock:
            if not self._exited.is_set():
                self._callbacks.append(callback)
                return
        callback(self)

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait until the worker ends; its return code, or None if still running."""
        if not self._exited.wait(timeout):
            return None
        self._watcher.join(timeout)
        return self.returncode

    def _call(self, method: str, *arguments, timeout: float) -> None:
        with contextlib.suppress(Exception):  # an actor already gone has nothing to end
            self._ray.get(getattr(self._actor, method).remote(*arguments), timeout=timeout)

    def stop(self, *, grace: float = STOP_GRACE_SECONDS) -> int | None:
        """Ask the worker to end (SIGTERM on its node), killing it after ``grace`` seconds."""
        if self.is_alive():
            self._call("stop", grace, timeout=grace + 30)
            if self.wait(30) is not None:
                return self.returncode
        return self.kill()

    def kill(self) -> int | None:
        """End the worker at once, and its actor if it does not answer."""
        if self.is_alive():
            self._call("kill", timeout=30)
            if self.wait(30) is None:
                with contextlib.suppress(Exception):
                    self._ray.kill(self._actor)
        code = self.wait(30)
        self.close_connection()
        return code

    def close_connection(self) -> None:
        """Close this side of a connected worker's connection."""
        for end in self.connection or ():
            end.close()

    def log_tail(self, limit: int = 4000) -> str:
        """The end of the worker's log, read on its node (empty once the actor is gone)."""
        with contextlib.suppress(Exception):
            return self._ray.get(self._actor.log_tail.remote(limit), timeout=30)
        return ""


class RayRunner(WorkerRegistry):
    """Runs each worker in a Ray actor on the cluster at ``address`` (see the module text).

    Connects on the first `start` (a process where Ray is already initialised, as in the
    tests, keeps that connection).

    Args:
        address: ``auto``, ``local``, ``ray://host:10001`` or ``host:6379``.
        cpus: The cores each job asks for (default ``$CONVSCOPE_RAY_CPUS`` or 2).
    """

    def __init__(self, address: str, *, cpus: int | None = None):
        super().__init__()
        self.address = connect_address(address)
        self.cpus = cpus_per_job() if cpus is None else check_int(cpus, "cpus", minimum=1)
        self._ray = None
        self._host_class = None
        self._connect_lock = threading.Lock()

    def _connect(self):
        with self._connect_lock:
            if self._ray is None:
                try:
                    import ray
                except ImportError:
                    raise RayUnavailableError(
                        f"{RAY_ADDRESS_ENV} is set but Ray is not installed on this server; "
                        "install requirements-cluster.txt or unset the variable."
                    ) from None
                if not ray.is_initialized():
                    try:
                        ray.init(
                            address=self.address,
                            include_dashboard=False,
                            log_to_driver=False,
                            runtime_env={"env_vars": {"PYTHONPATH": os.fspath(PROJECT_ROOT)}},
                        )
                    except Exception as error:  # noqa: BLE001 - any failure to connect
                        raise RayUnavailableError(_connect_failure(error, self.address)) from None
                self._host_class = ray.remote(WorkerHost)
                self._ray = ray
            return self._ray

    def cluster_has_gpu(self) -> bool:
        """Whether the cluster has at least one GPU (then each training job asks for one)."""
        ray = self._connect()
        return ray.cluster_resources().get("GPU", 0) >= 1

    def start(
        self, task: str, *arguments: str, log_path: Path | None = None, connect: bool = False
    ) -> RayWorker:
        """Start ``python -m core.worker <task> <arguments...>`` in a new actor on the cluster.

        A training job (``train RUN_DIR``) asks for `cpus` cores and one GPU when the cluster
        has one; the node must see ``RUN_DIR``.

        Raises:
            RayUnavailableError: no connection, no room on the cluster within
                ``PLACEMENT_TIMEOUT_SECONDS``, or a node that cannot see the run folder.
        """
        arguments = [os.fspath(argument) for argument in arguments]
        folder = os.fspath(Path(arguments[0]).resolve()) if task == "train" and arguments else None
        try:
            ray, actor, started = self._place(task, arguments, log_path, connect, folder)
        except RayUnavailableError as error:
            if folder is not None:  # the page then shows why the run ended
                mark_failed_if_live(folder, str(error))
            raise
        if folder is not None:  # the runs folder is shared: every replica reads this
            atomic_write_bytes(Path(folder) / WORKER_HOST_FILE, started["node"].encode())
        return self._register(RayWorker(ray, actor, started, task=task, connect=connect))

    def _place(self, task, arguments, log_path, connect, folder):
        """Create the host actor and start the worker in it: ``(ray, actor, started)``.

        A training job's actor is detached and named after its run (see the module text).
        """
        ray = self._connect()
        gpu = task == "train" and self.cluster_has_gpu()
        detached = {}
        if folder is not None:
            detached = {
                "name": training_actor_name(folder),
                "namespace": RAY_NAMESPACE,
                "lifetime": "detached",
            }
        actor = None
        try:
            actor = self._host_class.options(
                num_cpus=self.cpus,
                num_gpus=1 if gpu else 0,
                max_concurrency=_HOST_THREADS,
                runtime_env={"env_vars": actor_environment(self.cpus, gpu=gpu)},
                **detached,
            ).remote(bool(detached))
            reference = actor.start.remote(
                task,
                arguments,
                None if log_path is None else os.fspath(Path(log_path).resolve()),
                connect,
                folder,
            )
            return ray, actor, ray.get(reference, timeout=PLACEMENT_TIMEOUT_SECONDS)
        except Exception as error:  # noqa: BLE001 - placement timeout, node lost, host refusal
            if actor is not None:
                with contextlib.suppress(Exception):
                    ray.kill(actor)
            raise RayUnavailableError(_start_failure(error, self.cpus, gpu)) from None

    def find_run(self, run_dir: str | os.PathLike, pid: int) -> RayWorker | None:
        """The live worker of the run in ``run_dir`` whose pid is ``pid``: one this replica
        started, or else its training actor found by name (started by another replica, or
        by this one before a restart); None when there is none or the cluster is out of reach.
        """
        worker = self.find(pid)
        if worker is not None:
            return worker
        try:
            ray = self._connect()
            actor = ray.get_actor(training_actor_name(run_dir), namespace=RAY_NAMESPACE)
            started = ray.get(actor.describe.remote(), timeout=30)
        except Exception:  # noqa: BLE001 - no such actor (the job ended), or no cluster
            return None
        if not started or int(started["pid"]) != pid:
            return None
        return self._register(RayWorker(ray, actor, started, task="train", connect=False))


def _connect_failure(error: Exception, address: str) -> str:
    """Why this server could not join the Ray cluster, in words.

    >>> refused = ConnectionError("Failed to connect to Ray cluster at head:6379")
    >>> refused.__cause__ = type("AuthenticationError", (Exception,), {})("InvalidAuthToken")
    >>> print(_connect_failure(refused, "head:6379")[:64])
    The Ray cluster at head:6379 refused this server: it needs the c
    """
    causes = [error]  # Ray names the refusal in a cause's type or only in its text
    while (cause := causes[-1].__cause__ or causes[-1].__context__) and len(causes) < 10:
        causes.append(cause)
    if any(
        type(cause).__name__ == "AuthenticationError" or "InvalidAuthToken" in str(cause)
        for cause in causes
    ):
        return (
            f"The Ray cluster at {address} refused this server: it needs the cluster's token "
            "(set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN, or put it in ~/.ray/auth_token)."
        )
    return (
        f"The Ray cluster at {address} could not be reached ({error}). "
        f"Check {RAY_ADDRESS_ENV}, or unset it to train on this server."
    )


def _start_failure(error: Exception, cpus: int, gpu: bool) -> str:
    """Why a worker could not start on the cluster, in words (the host's own message when
    it refused the job).

    >>> _start_failure(TimeoutError(), 2, False)[:60]
    'The Ray cluster found no room for a job asking for 2 cores w'
    """
    if type(error).__name__ in ("GetTimeoutError", "TimeoutError"):
        wanted = f"{cpus} cores" + (" and a GPU" if gpu else "")
        return (
            f"The Ray cluster found no room for a job asking for {wanted} within "
            f"{PLACEMENT_TIMEOUT_SECONDS:.0f} s; try again when a job has finished."
        )
    cause = getattr(error, "cause", None) or error
    text = str(cause).strip().splitlines()
    detail = text[-1] if text else type(cause).__name__
    return f"The worker could not start on the Ray cluster: {detail}"
