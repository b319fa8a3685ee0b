"""Look inside a trained Keras CNN from the Streamlit server, without importing TensorFlow.

Importing Keras in the server process makes every rerun of every page ~0.4 s slower, so all
model work happens in one long-lived worker process (`python -m core.inference_worker`),
started on the first request. It loads each model once (`safe_mode=True`), keeps a
multi-output feature extractor per model and calls models directly (`model(x)`, a few
milliseconds, instead of `predict`). `InferenceClient` sends it typed requests and gets
plain numpy arrays and the small dataclasses below back, over the worker's stdin/stdout
(`multiprocessing.connection` framing, pickle).

If the worker dies, the request that noticed raises `WorkerCrashedError` with the reason
and the next request starts a fresh worker. Requests from several threads (browser
sessions) are served one at a time; the long search for the most-activating test images
runs in steps from a background thread (`ActivationScan`), so other requests slip in
between steps and the page can poll its progress.

Example:

>>> client = InferenceClient()                                     # doctest: +SKIP
>>> info = client.model_info("assets/models/mnist_cnn_a.keras")    # doctest: +SKIP
>>> maps = client.feature_maps(info.path, image)                   # doctest: +SKIP
>>> maps.maps["conv2d"].shape                                      # doctest: +SKIP
(28, 28, 32)
"""

from __future__ import annotations

import contextlib
import hashlib
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

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_MODELS_DIR = PROJECT_ROOT / "assets" / "models"
UPLOAD_DIR_NAME = "convscope-inspect-uploads"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
UPLOAD_MAX_AGE_SECONDS = 24 * 3600  # older uploads are deleted when a new one arrives
UPLOADS_KEPT = 20  # and never more than this many (newest first), at most ~1 GB
START_TIMEOUT_SECONDS = 120.0
REQUEST_TIMEOUT_SECONDS = 120.0
SCAN_LIMIT = 10_000
SCAN_CHUNK = 1_000

CONV_CLASSES = frozenset(
    {"Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "Convolution2D"}
)
POOL_CLASSES = frozenset({"MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AveragePool2D"})
ACTIVATION_CLASSES = frozenset({"Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax"})
MAP_KINDS = ("conv", "activation", "pooling")
_TF_LOG_LINE = re.compile(r"^[EIWF]\d{4} ")


class InferenceError(RuntimeError):
    """The worker could not do what was asked (the message says why)."""


class WorkerCrashedError(InferenceError):
    """The worker process died or stopped answering; the next request starts a new one."""


class ModelRejectedError(ValueError):
    """A model that cannot be inspected here: unsafe, not a Keras file, or not an image CNN."""


# ---------------------------------------------------------------------------
# What comes back
# ---------------------------------------------------------------------------


def layer_kind(class_name: str) -> str:
    """`"conv"`, `"pooling"`, `"activation"`, `"input"` or `"other"` for a Keras layer class.

    >>> layer_kind("MaxPooling2D"), layer_kind("Dense")
    ('pooling', 'other')
    """
    if class_name in CONV_CLASSES:
        return "conv"
    if class_name in POOL_CLASSES:
        return "pooling"
    if class_name in ACTIVATION_CLASSES:
        return "activation"
    if class_name == "InputLayer":
        return "input"
    return "other"


@dataclass(frozen=True)
class LayerInfo:
    """One layer of a model, as the page needs it.

    `output_shape` has no batch axis (None when the layer is shared and has several);
    `kernel_size`, `strides`, `padding`, `dilation_rate` are set for convolutions and pooling
    (pooling reports `pool_size` as `kernel_size`). `activation` is the fused activation of
    conv and dense layers (`"relu"`, `"linear"`, ...) or of an `Activation` layer.
    """

    name: str
    class_name: str
    kind: str
    output_shape: tuple | None
    params: int
    activation: str | None = None
    kernel_size: tuple[int, int] | None = None
    strides: tuple[int, int] | None = None
    padding: str | None = None
    dilation_rate: tuple[int, int] = (1, 1)
    filters: int | None = None
    inbound: tuple[str, ...] = ()

    @property
    def is_map(self) -> bool:
        """Whether the layer outputs feature maps the page shows (conv/activation/pooling)."""
        return (
            self.kind in MAP_KINDS and self.output_shape is not None and len(self.output_shape) == 3
        )


@dataclass(frozen=True)
class ModelInfo:
    """What a model is and whether this page can inspect it.

    Attributes:
        path: the `.keras` file.
        name: the model's Keras name.
        input_shape: `(H, W, C)` without the batch axis (`()` when it has several inputs).
        num_classes: units of the output.
        layers: every layer, in order.
        total_params: parameters of the whole model.
        problem: empty for a single-input image CNN, else why it cannot be inspected.
        class_names: from the model's JSON sidecar (`core.model_store` format) when it has
            one with a name per output; else `()` (a `.keras` file does not store them).
    """

    path: str
    name: str
    input_shape: tuple
    num_classes: int
    layers: tuple[LayerInfo, ...]
    total_params: int
    problem: str = ""
    class_names: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def map_layers(self) -> tuple[LayerInfo, ...]:
        return tuple(layer for layer in self.layers if layer.is_map)

    @property
    def conv_layers(self) -> tuple[LayerInfo, ...]:
        return tuple(layer for layer in self.layers if layer.kind == "conv")

    def layer(self, name: str) -> LayerInfo:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"`layer` must name a layer of {self.name}. Received: layer={name!r}")


@dataclass(frozen=True)
class FeatureMaps:
    """Every conv/activation/pooling output for one input image.

    Attributes:
        maps: layer name → float32 `(H, W, C)`, in layer order.
        pre_activations: layer name → float32 `(H, W, C)` before the layer's non-linearity:
            for conv layers with a fused activation (not linear) and for activation layers
            (their input).
        probabilities: float32 `(num_classes,)`.
        worker_ms: time spent in the worker (the model call and conversions).
    """

    maps: dict[str, np.ndarray]
    pre_activations: dict[str, np.ndarray]
    probabilities: np.ndarray
    worker_ms: float


@dataclass(frozen=True)
class FilterWeights:
    """A conv layer's kernels `(kh, kw, in_channels, filters)` and biases `(filters,)`."""

    layer: str
    kernels: np.ndarray
    bias: np.ndarray | None


@dataclass(frozen=True)
class Attribution:
    """Where in the input the evidence for a class is, as a heatmap in [0, 1].

    Attributes:
        method: `"saliency"` (|∂score/∂pixel|, max over channels) or `"grad_cam"`.
        class_index: the class explained.
        heatmap: float32 `(H, W)` at the input's size, values in [0, 1].
        coarse: Grad-CAM at the conv layer's own resolution `(h, w)` in [0, 1], else None.
        layer: the conv layer Grad-CAM used, else None.
        score: what was differentiated: the class logit when the model ends in softmax.
        probability: the model's probability for the class.
    """

    method: str
    class_index: int
    heatmap: np.ndarray
    coarse: np.ndarray | None
    layer: str | None
    score: str
    probability: float


@dataclass(frozen=True)
class DatasetRef:
    """Which test images to use: a built-in data set, prepared like the model's training data.

    `preprocessing` is a dict of `core.datasets.Preprocessing` fields; `limit` caps the
    number of test images (the first `limit`). `data_dir` is where the page found the data
    set (`core.datasets.lookup_settings()`), so the worker reads exactly the same images.
    """

    name: str
    preprocessing: tuple[tuple[str, object], ...]
    limit: int = SCAN_LIMIT
    data_dir: str | None = None

    @classmethod
    def make(
        cls, name: str, preprocessing: dict, *, limit: int = SCAN_LIMIT, data_dir=None
    ) -> DatasetRef:
        return cls(name, tuple(sorted(preprocessing.items())), int(limit), data_dir)


@dataclass(frozen=True)
class TopExamples:
    """The test images that excite one filter most (Zeiler & Fergus), best first.

    `rows`, `cols` give where in the feature map the maximum was, for drawing the unit's
    receptive field on each image.
    """

    layer: str
    filter_index: int
    indices: np.ndarray
    scores: np.ndarray
    rows: np.ndarray
    cols: np.ndarray


@dataclass
class ScanResult:
    """Per test image and filter: the maximum activation of one layer, where it was, the mean."""

    layer: str
    max_values: np.ndarray  # float32 (N, C)
    argmax_rows: np.ndarray  # int32 (N, C)
    argmax_cols: np.ndarray  # int32 (N, C)
    mean_values: np.ndarray | None = None  # float32 (N, C), breaks ties of the maximum
    seconds: float = 0.0

    def top(self, filter_index: int, k: int = 9) -> TopExamples:
        """The `k` images with the largest maximum activation of `filter_index`.

        Ties (common in the first layer, where many images contain a patch of pure white)
        go to the image whose whole map responds more on average.
        """
        channels = self.max_values.shape[1]
        if not 0 <= filter_index < channels:
            raise ValueError(
                f"`filter_index` must be in [0, {channels}). Received: {filter_index!r}"
            )
        values = self.max_values[:, filter_index]
        k = min(int(k), len(values))
        if self.mean_values is None:
            order = np.argsort(-values, kind="stable")[:k]
        else:
            order = np.lexsort((-self.mean_values[:, filter_index], -values))[:k]
        return TopExamples(
            self.layer,
            filter_index,
            order,
            values[order],
            self.argmax_rows[order, filter_index],
            self.argmax_cols[order, filter_index],
        )


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


# ---------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------


def model_key(path: str | os.PathLike) -> tuple[str, int, int]:
    """`(resolved path, mtime_ns, size)`: a model file's identity for caches."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return (str(resolved), stat.st_mtime_ns, stat.st_size)


def upload_dir() -> Path:
    """Where uploaded `.keras` files wait for the worker (one file per content hash)."""
    return Path(tempfile.gettempdir()) / UPLOAD_DIR_NAME


def prune_uploads(
    folder: Path,
    *,
    keep: Path | None = None,
    max_age_s: float = UPLOAD_MAX_AGE_SECONDS,
    max_files: int = UPLOADS_KEPT,
    now: float | None = None,
) -> list[Path]:
    """Delete uploads older than `max_age_s` and all but the newest `max_files`; never `keep`.

    Uploaded models are only needed while someone inspects them, and a
    teaching server can run for weeks: without this the folder only grows.
    A session whose file was pruned gets a clear "could not load" message
    and can upload it again. Returns the deleted paths.
    """
    now = time.time() if now is None else now
    uploads = []
    for path in folder.glob("*.keras"):
        with contextlib.suppress(OSError):
            uploads.append((path.stat().st_mtime, path))
    uploads.sort(reverse=True)
    deleted = []
    for rank, (mtime, path) in enumerate(uploads):
        if path == keep or (rank < max_files and now - mtime <= max_age_s):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            deleted.append(path)
    return deleted


class InferenceClient:
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
                [sys.executable, "-m", "core.inference_worker"],
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
