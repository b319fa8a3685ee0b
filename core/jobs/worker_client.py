"""Look inside a trained Keras CNN from the Streamlit server, without importing TensorFlow.

Importing Keras in the server process makes every rerun of every page ~0.4 s slower, so all
model work happens in one long-lived worker process (`python -m core.worker.service`),
started on the first request. It loads each model once (`safe_mode=True`), keeps a
multi-output feature extractor per model and calls models directly (`model(x)`, a few
milliseconds, instead of `predict`). `WorkerClient` sends it typed requests and gets
plain numpy arrays and the small dataclasses below back, over the worker's stdin/stdout
(`multiprocessing.connection` framing, pickle).

If the worker dies, the request that noticed raises `WorkerCrashedError` with the reason
and the next request starts a fresh worker. Requests from several threads (browser
sessions) are served one at a time; the long search for the most-activating test images
runs in steps from a background thread (`ActivationScan`), so other requests slip in
between steps and the page can poll its progress.

Example:

>>> client = WorkerClient()                                     # doctest: +SKIP
>>> info = client.model_info("assets/models/mnist_cnn_a.keras")    # doctest: +SKIP
>>> maps = client.feature_maps(info.path, image)                   # doctest: +SKIP
>>> maps.maps["conv2d"].shape                                      # doctest: +SKIP
(28, 28, 32)
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from core.base.paths import PROJECT_ROOT
from core.base.paths import PROJECT_ROOT as _PROJECT_ROOT
from core.jobs.inspection import (
    SCAN_CHUNK,
    Attribution,
    DatasetRef,
    FeatureMaps,
    FilterWeights,
    InferenceError,
    ModelInfo,
    ModelRejectedError,
    ScanResult,
    WorkerCrashedError,
)
from core.jobs.runner import worker_environment as _worker_environment
from core.jobs.train_config import Augmentation, check_integer_field
from core.jobs.uploads import MAX_UPLOAD_BYTES, prune_uploads, upload_dir


def preview_augmentation(
    image: np.ndarray,
    augmentation: Augmentation | dict,
    *,
    count: int = 8,
    seed: int = 0,
    timeout: float = 120.0,
) -> np.ndarray:
    """Random augmented versions of one image, made by the Keras layers training uses.

    Runs ``python -m core.worker augment`` (a few seconds, most of it
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
    count = check_integer_field(count, "count", 1)
    if count > 64:
        raise ValueError(f"`count` must be <= 64. Received: count={count}")
    seed = check_integer_field(seed, "seed", 0)
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
                "core.worker",
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


START_TIMEOUT_SECONDS = 120.0


REQUEST_TIMEOUT_SECONDS = 120.0


_TF_LOG_LINE = re.compile(r"^[EIWF]\d{4} ")


@dataclass
class ActivationScan:
    """A running or finished top-activation search; poll `done`/`total`, read `result`."""

    key: tuple
    total: int
    done: int = 0
    result: ScanResult | None = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> bool:
        return self.result is not None or self.error is not None

    @property
    def fraction(self) -> float:
        return 1.0 if self.total == 0 else min(1.0, self.done / self.total)


def model_key(path: str | os.PathLike) -> tuple[str, int, int]:
    """`(resolved path, mtime_ns, size)`: a model file's identity for caches."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return (str(resolved), stat.st_mtime_ns, stat.st_size)


class WorkerClient:
    """Talks to the inference worker process; safe to share between threads.

    Args:
        start_timeout: seconds to wait for a new worker to import TensorFlow and answer.
        request_timeout: seconds to wait for one answer before the worker is replaced.
    """

    def __init__(
        self,
        *,
        start_timeout: float = START_TIMEOUT_SECONDS,
        request_timeout: float = REQUEST_TIMEOUT_SECONDS,
    ):
        self.start_timeout = start_timeout
        self.request_timeout = request_timeout
        self._lock = threading.RLock()
        self._process: subprocess.Popen | None = None
        self._sender: Connection | None = None
        self._receiver: Connection | None = None
        self._log_path: Path | None = None
        self._scans: dict[tuple, ActivationScan] = {}
        self._scans_lock = threading.Lock()
        self._predictions: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self.starts = 0

    # -- process management ------------------------------------------------

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id, or None when none is running."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def _start(self) -> None:
        environment = dict(os.environ)
        environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        root = os.fspath(PROJECT_ROOT)
        python_path = environment.get("PYTHONPATH", "")
        if root not in python_path.split(os.pathsep):
            environment["PYTHONPATH"] = root + (os.pathsep + python_path if python_path else "")
        handle, log_name = tempfile.mkstemp(prefix="convscope-inference-", suffix=".log")
        self._log_path = Path(log_name)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "core.worker.service"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=handle,
                cwd=PROJECT_ROOT,
                env=environment,
            )
        finally:
            os.close(handle)
        self._sender = Connection(os.dup(self._process.stdin.fileno()), readable=False)
        self._receiver = Connection(os.dup(self._process.stdout.fileno()), writable=False)
        self._process.stdin.close()
        self._process.stdout.close()
        self.starts += 1
        self._receive(self.start_timeout, what="start")

    def _log_tail(self) -> str:
        if self._log_path is None:
            return ""
        try:
            lines = self._log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        # Skip TensorFlow's C++ log chatter ("E0000 12:00:00 cuda_platform.cc ...").
        useful = [
            line
            for line in lines
            if line.strip() and not _TF_LOG_LINE.match(line) and "WARNING" not in line[:20]
        ]
        return useful[-1][:300] if useful else ""

    def _discard(self) -> None:
        """Stop the current worker (if any) and forget it."""
        process, self._process = self._process, None
        for connection in (self._sender, self._receiver):
            if connection is not None:
                with contextlib.suppress(OSError):
                    connection.close()
        self._sender = self._receiver = None
        if process is not None and process.poll() is None:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        if self._log_path is not None:
            with contextlib.suppress(OSError):
                self._log_path.unlink()
            self._log_path = None
        with self._scans_lock:
            self._scans = {k: s for k, s in self._scans.items() if s.result is not None}

    def close(self) -> None:
        """Stop the worker; a later request starts a new one."""
        with self._lock:
            self._discard()

    def __del__(self):
        with contextlib.suppress(Exception):
            self._discard()

    def _crash(self, what: str) -> WorkerCrashedError:
        process = self._process
        code = None
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = process.wait(timeout=2)
        detail = self._log_tail()
        self._discard()
        reason = f"exit code {code}" if code is not None else "no answer"
        message = (
            f"The inference worker stopped unexpectedly ({reason}) when asked for {what!r}. "
            "It starts again on the next request."
        )
        if detail:
            message += f" Its last message: {detail}"
        return WorkerCrashedError(message)

    def _receive(self, timeout: float, *, what: str):
        try:
            if not self._receiver.poll(timeout):
                if self._process is not None and self._process.poll() is None:
                    self._discard()
                    raise WorkerCrashedError(
                        f"The inference worker took longer than {timeout:.0f} s on {what!r} "
                        "and was stopped. It starts again on the next request."
                    )
                raise self._crash(what)
            status, *payload = self._receiver.recv()
        except (EOFError, OSError, BrokenPipeError):
            raise self._crash(what) from None
        if status == "ok":
            return payload[0]
        kind, message = payload
        if kind == "rejected":
            raise ModelRejectedError(message)
        if kind == "value":
            raise ValueError(message)
        raise InferenceError(message)

    def request(self, method: str, *, timeout: float | None = None, **arguments):
        """Send one request and return the worker's answer (starting the worker if needed).

        Raises:
            ModelRejectedError: the model cannot be inspected (the message says why).
            ValueError: a bad argument (unknown layer, class out of range, ...).
            WorkerCrashedError: the worker died or timed out; the next call restarts it.
            InferenceError: anything else the worker reported.
        """
        with self._lock:
            if self._process is not None and self._process.poll() is not None:
                # It died since the last answer (killed, out of memory): say so once.
                raise self._crash(method)
            if self._process is None:
                self._start()
            try:
                self._sender.send((method, arguments))
            except (OSError, BrokenPipeError):
                raise self._crash(method) from None
            return self._receive(timeout or self.request_timeout, what=method)

    # -- requests ----------------------------------------------------------

    def ping(self) -> dict:
        """`{"pid", "threads", "models"}` of the running worker."""
        return self.request("ping")

    def model_info(self, path: str | os.PathLike) -> ModelInfo:
        """Load the model (once) and describe it; `ModelInfo.problem` says if it is unusable.

        Raises:
            ModelRejectedError: the file cannot be loaded safely (Lambda layer, custom code,
                not a Keras file).
        """
        return self.request("model_info", key=model_key(path))

    def predict(self, path, images: np.ndarray) -> np.ndarray:
        """Class probabilities, float32 `(N, num_classes)`, for float32 `(N, H, W, C)`."""
        return self.request("predict", key=model_key(path), images=_batch(images))

    def feature_maps(self, path, image: np.ndarray) -> FeatureMaps:
        """All conv/activation/pooling outputs and the probabilities for one `(H, W, C)` image."""
        return self.request("feature_maps", key=model_key(path), image=_single(image))

    def filters(self, path, layer: str | None = None) -> FilterWeights:
        """Kernels and biases of a conv layer (default: the first one)."""
        return self.request("filters", key=model_key(path), layer=layer)

    def saliency(self, path, image: np.ndarray, class_index: int) -> Attribution:
        """|∂ class score / ∂ input| for one image, max over channels, scaled to [0, 1]."""
        return self.request(
            "saliency", key=model_key(path), image=_single(image), class_index=int(class_index)
        )

    def grad_cam(
        self, path, image: np.ndarray, class_index: int, *, layer: str | None = None
    ) -> Attribution:
        """Grad-CAM for one image and class at `layer` (default: the last conv/activation map)."""
        return self.request(
            "grad_cam",
            key=model_key(path),
            image=_single(image),
            class_index=int(class_index),
            layer=layer,
        )

    def predict_dataset(self, path, dataset: DatasetRef) -> tuple[np.ndarray, np.ndarray]:
        """Predicted class and its probability for each test image of `dataset` (cached)."""
        key = (model_key(path), dataset)
        if key not in self._predictions:
            self._predictions[key] = self.request(
                "predict_dataset", key=key[0], dataset=dataset, timeout=300
            )
        return self._predictions[key]

    def load_upload(self, data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES) -> ModelInfo:
        """Check an uploaded `.keras` file (size cap, `safe_mode=True`) and describe it.

        The bytes are kept in a temporary folder under their hash, so uploading the same
        file twice loads it once; old uploads are pruned (`prune_uploads`).

        Raises:
            ModelRejectedError: too big, not a `.keras` archive, or refused by safe mode.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"`data` must be bytes. Received: {type(data).__name__}")
        if len(data) > max_bytes:
            raise ModelRejectedError(
                f"The file is {len(data) / 1e6:.1f} MB; models up to "
                f"{max_bytes / 1e6:.0f} MB can be inspected here."
            )
        if bytes(data[:4]) != b"PK\x03\x04":
            raise ModelRejectedError(
                "This is not a Keras 3 model file: a .keras file is a zip archive "
                "(save one with model.save('name.keras'))."
            )
        digest = hashlib.sha256(bytes(data)).hexdigest()[:20]
        folder = upload_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{digest}.keras"
        if not path.is_file():
            temporary = folder / f".{digest}.{os.getpid()}.{threading.get_ident()}.tmp"
            temporary.write_bytes(bytes(data))
            os.replace(temporary, path)
            prune_uploads(folder, keep=path)
        try:
            return self.model_info(path)
        except ModelRejectedError:
            with contextlib.suppress(OSError):
                path.unlink()
            raise

    # -- the top-activation search ------------------------------------------

    def scan_activations(
        self, path, layer: str, dataset: DatasetRef, *, chunk: int = SCAN_CHUNK
    ) -> ActivationScan:
        """Start (or return the cached) search for the test images that excite `layer` most.

        Runs in a background thread in steps of `chunk` images; poll the returned
        `ActivationScan` (`fraction`, `finished`, `result`, `error`). Cached per model,
        layer and data set for the life of the client.
        """
        key = (model_key(path), layer, dataset)
        with self._scans_lock:
            scan = self._scans.get(key)
            if scan is not None and scan.error is None:
                return scan
            scan = ActivationScan(key=key, total=dataset.limit)
            self._scans[key] = scan
        thread = threading.Thread(
            target=self._run_scan, args=(scan, chunk), name="activation-scan", daemon=True
        )
        thread.start()
        return scan

    def existing_scan(self, path, layer: str, dataset: DatasetRef) -> ActivationScan | None:
        """The search for `layer` started earlier (running or finished), or None."""
        with self._scans_lock:
            return self._scans.get((model_key(path), layer, dataset))

    def _run_scan(self, scan: ActivationScan, chunk: int) -> None:
        model, layer, dataset = scan.key
        try:
            start = 0
            while True:
                progress = self.request(
                    "scan_step",
                    key=model,
                    layer=layer,
                    dataset=dataset,
                    start=start,
                    count=chunk,
                )
                scan.total = progress["total"]
                scan.done = progress["done"]
                start = progress["done"]
                if progress["done"] >= progress["total"]:
                    break
            result = self.request("scan_result", key=model, layer=layer, dataset=dataset)
            result.seconds = time.monotonic() - scan.started
            scan.result = result
        except (ValueError, InferenceError) as error:
            scan.error = str(error)

    def wait_for_scan(self, scan: ActivationScan, *, timeout: float = 120.0) -> ActivationScan:
        """Block until `scan` finishes (for scripts and tests; pages poll instead)."""
        deadline = time.monotonic() + timeout
        while not scan.finished and time.monotonic() < deadline:
            time.sleep(0.02)
        return scan


def _batch(images) -> np.ndarray:
    array = np.asarray(images, dtype=np.float32)
    if array.ndim != 4:
        raise ValueError(f"`images` must be (N, H, W, C). Received: shape {array.shape}")
    return np.ascontiguousarray(array)


def _single(image) -> np.ndarray:
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.ndim != 3:
        raise ValueError(f"`image` must be (H, W, C). Received: shape {array.shape}")
    return np.ascontiguousarray(array)
