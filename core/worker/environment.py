"""How a worker process sets up TensorFlow.

Log level, threads, and the one place Keras is imported. A training worker gets its share
of the cores this process may run on: the runner tells it how many training jobs run at
once, itself included (``$CONVSCOPE_TRAINING_JOBS``, see `core.jobs.runner`).
"""

from __future__ import annotations

import contextlib
import os
from typing import NamedTuple

from core.jobs.runner import TRAINING_JOBS_ENV, WORKER_CORES_ENV


class ThreadCounts(NamedTuple):
    """TensorFlow's thread pools: ``intra_op`` threads inside one op, ``inter_op`` ops at once."""

    intra_op: int
    inter_op: int


def thread_counts(cores: int, training_jobs: int = 1) -> ThreadCounts:
    """Threads for one of ``training_jobs`` jobs sharing ``cores``: an equal share, at least one.

    A small CNN's graph is mostly a chain of ops, so ops run one at a time on a share of
    up to two cores (each op then uses them all), and two at a time on a larger share.

    >>> thread_counts(2)
    ThreadCounts(intra_op=2, inter_op=1)
    >>> thread_counts(16, training_jobs=3)
    ThreadCounts(intra_op=5, inter_op=2)
    """
    share = max(1, cores // max(1, training_jobs))
    return ThreadCounts(intra_op=share, inter_op=1 if share <= 2 else 2)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity; the machine's count elsewhere),
    or those a cluster scheduler gave it (``$CONVSCOPE_WORKER_CORES``).

    >>> usable_cores() >= 1
    True
    """
    with contextlib.suppress(ValueError):
        granted = int(os.environ.get(WORKER_CORES_ENV, "0"))
        if granted >= 1:
            return granted
    with contextlib.suppress(AttributeError, OSError):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def training_jobs() -> int:
    """How many training jobs run at once, this one included, as the runner said (else 1).

    >>> training_jobs() >= 1
    True
    """
    with contextlib.suppress(ValueError):
        return max(1, int(os.environ.get(TRAINING_JOBS_ENV, "1")))
    return 1


def worker_threads() -> ThreadCounts:
    """This process's thread counts: its usable cores shared among the running jobs."""
    return thread_counts(usable_cores(), training_jobs())


def worker_thread_count() -> int:
    """Threads TensorFlow uses inside one op in this process (``worker_threads().intra_op``).

    >>> worker_thread_count() >= 1
    True
    """
    return worker_threads().intra_op


def configure_environment() -> None:
    """Set the environment TensorFlow reads at import: thread counts and log level."""
    threads = worker_threads()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ["OMP_NUM_THREADS"] = str(threads.intra_op)
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads.intra_op)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(threads.inter_op)
    if threads.intra_op > 1:
        # TensorFlow 2.21's oneDNN kernels crash (bus error, segfault) in a convolution's
        # weight gradient when one op runs on two threads: training a residual network or a
        # Grad-CAM inside its branches. Its own kernels are used then (tested in test_environment).
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def import_keras():
    """Import and return ``keras`` with TensorFlow limited to `worker_threads`."""
    configure_environment()
    import tensorflow as tf

    threads = worker_threads()
    with contextlib.suppress(RuntimeError):  # already initialised: keep what is set
        tf.config.threading.set_intra_op_parallelism_threads(threads.intra_op)
        tf.config.threading.set_inter_op_parallelism_threads(threads.inter_op)
    import keras

    return keras
