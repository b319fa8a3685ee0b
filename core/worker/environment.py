"""How a worker process sets up TensorFlow.

Log level, threads, and the one place Keras is imported.
"""

from __future__ import annotations

import contextlib
import os


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
