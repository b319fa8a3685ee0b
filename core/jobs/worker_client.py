"""Talk to the warm worker process from the Streamlit server, without importing TensorFlow.

Importing Keras in the server process makes every rerun of every page ~0.4 s slower, so all
model work happens in one long-lived worker (``python -m core.worker serve``, started through
`core.jobs.runner` on the first request): inspecting models (it loads each once with
``safe_mode=True`` and keeps a feature extractor per model), checking uploaded model files
and drawing augmentation previews. `WorkerClient` sends it typed requests and gets plain numpy
arrays and the dataclasses of `core.jobs.inspection` back over the worker's stdin/stdout
(`multiprocessing.connection` framing, pickle). `shared_client` is the one client of a server.

If the worker dies, the request that noticed raises `WorkerCrashedError` with the reason
and the next request starts a fresh worker. Requests from several threads (browser
sessions) are served one at a time; the long search for the most-activating test images
runs in steps from a background thread (`ActivationScan`), so other requests slip in
between steps and the page can poll its progress.

Example:

>>> client = WorkerClient()
>>> client.check_model_file("assets/models/mnist_cnn_a.keras")["input_shape"]
[28, 28, 1]
>>> client.close()
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.base.checks import (
    as_choice,
    as_real_array,
    check_int,
    check_real,
    check_string,
    received,
)
from core.jobs.inspection import (
    ATTACK_METHODS,
    FEATURE_TIME_BUDGET,
    MAX_ATTACK_STEPS,
    MAX_EPSILON,
    MAX_FEATURE_TIME_BUDGET,
    SCAN_CHUNK,
    AdversarialExample,
    Attribution,
    DatasetRef,
    Evaluation,
    FeatureMaps,
    FeatureVisualisation,
    FilterWeights,
    InferenceError,
    ModelInfo,
    ModelRejectedError,
    ScanResult,
    WorkerCrashedError,
)
from core.jobs.legacy_models import is_hdf5, load_legacy_upload
from core.jobs.runner import Runner, WorkerProcess, default_runner
from core.jobs.train_config import Augmentation, as_augmentation
from core.jobs.uploads import (
    MAX_UPLOAD_BYTES,
    model_file_problem,
    prune_uploads,
    upload_bytes,
    upload_dir,
)

START_TIMEOUT_SECONDS = 120.0
REQUEST_TIMEOUT_SECONDS = 120.0
MAX_AUGMENTED_COPIES = 64
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
    """Talks to one warm worker process; safe to share between threads.

    Args:
        start_timeout: seconds to wait for a new worker to import TensorFlow and answer.
        request_timeout: seconds to wait for one answer before the worker is replaced.
        runner: where the worker runs (default: `core.jobs.runner.default_runner`).
    """

    def __init__(
        self,
        *,
        start_timeout: float = START_TIMEOUT_SECONDS,
        request_timeout: float = REQUEST_TIMEOUT_SECONDS,
        runner: Runner | None = None,
    ):
        self.start_timeout = start_timeout
        self.request_timeout = request_timeout
        self.runner = runner
        self._lock = threading.RLock()
        self._worker: WorkerProcess | None = None
        self._scans: dict[tuple, ActivationScan] = {}
        self._scans_lock = threading.Lock()
        self._predictions: dict[tuple, object] = {}
        self.starts = 0

    # -- the worker process ------------------------------------------------

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id, or None when none is running."""
        worker = self._worker
        return worker.pid if worker is not None and worker.is_alive() else None

    def _start(self) -> None:
        handle, log_name = tempfile.mkstemp(prefix="convscope-worker-", suffix=".log")
        os.close(handle)
        runner = self.runner or default_runner()
        self._worker = runner.start("serve", log_path=Path(log_name), connect=True)
        self._worker.on_exit(_remove_log)
        self.starts += 1
        self._receive(self.start_timeout, what="start")

    def _log_tail(self) -> str:
        worker = self._worker
        if worker is None or worker.log_path is None:
            return ""
        try:
            lines = worker.log_path.read_text(errors="replace").strip().splitlines()
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
        """Stop the current worker (if any) and forget it; the runner reaps it."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.kill()
        with self._scans_lock:
            self._scans = {k: s for k, s in self._scans.items() if s.result is not None}

    def close(self) -> None:
        """Stop the worker; a later request starts a new one."""
        with self._lock:
            self._discard()

    def _crash(self, what: str) -> WorkerCrashedError:
        worker = self._worker
        reason = "no answer"
        if worker is not None and worker.wait(2) is not None:
            reason = worker.exit_reason()
        detail = self._log_tail()
        self._discard()
        doing = "while starting" if what == "start" else "while answering the page"
        message = (
            f"The process that runs the network stopped unexpectedly ({reason}) {doing}. "
            "It starts again on the next request."
        )
        if detail:
            message += f" Its last message: {detail}"
        return WorkerCrashedError(message)

    def _receive(self, timeout: float, *, what: str):
        _, receiver = self._worker.connection
        try:
            if not receiver.poll(timeout):
                if self._worker.is_alive():
                    self._discard()
                    raise WorkerCrashedError(
                        f"The worker process took longer than {timeout:.0f} s on {what!r} "
                        "and was stopped. It starts again on the next request."
                    )
                raise self._crash(what)
            status, *payload = receiver.recv()
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
            if self._worker is not None and not self._worker.is_alive():
                # It died since the last answer (killed, out of memory): say so once.
                raise self._crash(method)
            if self._worker is None:
                self._start()
            sender, _ = self._worker.connection
            try:
                sender.send((method, arguments))
            except (OSError, BrokenPipeError):
                raise self._crash(method) from None
            return self._receive(timeout or self.request_timeout, what=method)

    # -- requests ----------------------------------------------------------

    def ping(self) -> dict:
        """`{"pid", "threads", "models"}` of the running worker."""
        return self.request("ping")

    def check_model_file(self, path: str | os.PathLike, *, timeout: float | None = None) -> dict:
        """Load a `.keras` file with ``safe_mode=True`` in the worker and describe it.

        Returns:
            ``{"input_shape", "output_shape", "total_params", "layers", "first_conv_layer"}``.

        Raises:
            ModelRejectedError: the file cannot be loaded safely; the message says why.
        """
        return self.request("check_model", path=os.fspath(path), timeout=timeout)

    def augment(
        self, image: np.ndarray, augmentation: Augmentation | dict, *, count: int = 8, seed: int = 0
    ) -> np.ndarray:
        """Random augmented versions of one image, made by the Keras layers training uses.

        Args:
            image: (H, W) or (H, W, C), uint8 (0–255) or float in [0, 1].
            augmentation: An `Augmentation` (or a dict of its fields).
            count: How many versions, 1 to 64.
            seed: Same seed, same versions.

        Returns:
            float32 array (count, H, W, C) in [0, 1].

        Raises:
            TypeError: an argument of the wrong type (an image that is not numbers).
            ValueError: an image that is not (H, W), (H, W, 1) or (H, W, 3), or a
                ``count``, ``seed`` or augmentation setting out of range.
        """
        augmentation = as_augmentation(augmentation)
        count = check_int(count, "count", minimum=1, maximum=MAX_AUGMENTED_COPIES)
        seed = check_int(seed, "seed", minimum=0)
        array = _image_array(image, "image", ndims=(2, 3))
        if array.dtype == np.uint8:
            array = array.astype(np.float32) / np.float32(255.0)
        return self.request(
            "augment",
            image=np.ascontiguousarray(array, dtype=np.float32),
            augmentation=dataclasses.asdict(augmentation),
            count=count,
            seed=seed,
        )

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

    def layer_input(self, path, image: np.ndarray, layer: str) -> np.ndarray:
        """What conv layer `layer` receives for one `(H, W, C)` image: float32 `(h, w, c)`."""
        return self.request("layer_input", key=model_key(path), image=_single(image), layer=layer)

    def saliency(self, path, image: np.ndarray, class_index: int) -> Attribution:
        """|∂ class score / ∂ input| for one image, max over channels, scaled to [0, 1]."""
        return self.request(
            "saliency",
            key=model_key(path),
            image=_single(image),
            class_index=check_int(class_index, "class_index", minimum=0),
        )

    def grad_cam(
        self, path, image: np.ndarray, class_index: int, *, layer: str | None = None
    ) -> Attribution:
        """Grad-CAM for one image and class at `layer` (default: the last conv/activation map)."""
        return self.request(
            "grad_cam",
            key=model_key(path),
            image=_single(image),
            class_index=check_int(class_index, "class_index", minimum=0),
            layer=layer,
        )

    def feature_visualisation(
        self, path, layer: str, channel: int, *, seed: int = 0, time_budget=FEATURE_TIME_BUDGET
    ) -> FeatureVisualisation:
        """The input that excites `channel` of map layer `layer` most, within `time_budget` s."""
        budget = check_real(
            time_budget, "time_budget", minimum=0, open_min=True, maximum=MAX_FEATURE_TIME_BUDGET
        )
        return self.request(
            "feature_visualisation",
            timeout=self.request_timeout + budget,
            key=model_key(path),
            layer=check_string(layer, "layer"),
            channel=check_int(channel, "channel", minimum=0),
            seed=check_int(seed, "seed", minimum=0),
            time_budget=budget,
        )

    def adversarial_example(
        self, path, image, class_index: int, *, method="fgsm", epsilon=8 / 255, steps: int = 10
    ) -> AdversarialExample:
        """FGSM or PGD within ±`epsilon` (input units, [0, 1]) of one image, raising the loss
        of `class_index`; with the new probabilities and Grad-CAM before and after."""
        return self.request(
            "adversarial_example",
            key=model_key(path),
            image=_single(image),
            class_index=check_int(class_index, "class_index", minimum=0),
            attack=as_choice(method, "method", ATTACK_METHODS),
            epsilon=check_real(epsilon, "epsilon", minimum=0, maximum=MAX_EPSILON),
            steps=check_int(steps, "steps", minimum=1, maximum=MAX_ATTACK_STEPS),
        )

    def predict_dataset(self, path, dataset: DatasetRef) -> tuple[np.ndarray, np.ndarray]:
        """Predicted class and its probability for each test image of `dataset` (cached)."""
        key = (model_key(path), dataset)
        if key not in self._predictions:
            self._predictions[key] = self.request(
                "predict_dataset", key=key[0], dataset=dataset, timeout=300
            )
        return self._predictions[key]

    def evaluate_dataset(self, path, dataset: DatasetRef) -> Evaluation:
        """Class probabilities and true class of every test image of `dataset` (cached)."""
        key = ("evaluation", model_key(path), dataset)
        if key not in self._predictions:
            self._predictions[key] = self.request(
                "evaluate_dataset", key=key[1], dataset=dataset, timeout=300
            )
        return self._predictions[key]

    def cached_evaluation(self, path, dataset: DatasetRef) -> Evaluation | None:
        """The evaluation of `dataset` asked for earlier, or None (never starts one)."""
        return self._predictions.get(("evaluation", model_key(path), dataset))

    def load_upload(self, data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES) -> ModelInfo:
        """Check an uploaded `.keras` file (size cap, `safe_mode=True`) and describe it.

        What `core.jobs.uploads.model_file_problem` finds wrong is refused here, in
        milliseconds, before the worker sees the file. The bytes are kept in a temporary
        folder under their hash, so uploading the same file twice loads it once; old uploads
        are pruned (`prune_uploads`).

        Returns:
            The model's `ModelInfo`: its `problem` says when the pages cannot use it, its
            `notes` what they can only partly show.

        Raises:
            TypeError: ``data`` is not bytes (or a bytearray or memoryview).
            ModelRejectedError: too big, not a `.keras` archive, or refused by safe mode.
        """
        data = upload_bytes(data)
        if len(data) > max_bytes:
            raise ModelRejectedError(
                f"The file is {len(data) / 1e6:.1f} MB; models up to "
                f"{max_bytes / 1e6:.0f} MB can be inspected here."
            )
        if is_hdf5(data):  # an older Keras .h5 model: the worker converts it to .keras
            return load_legacy_upload(self, data)
        if (problem := model_file_problem(data)) is not None:
            raise ModelRejectedError(problem)
        digest = hashlib.sha256(data).hexdigest()[:20]
        folder = upload_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{digest}.keras"
        if not path.is_file():
            temporary = folder / f".{digest}.{os.getpid()}.{threading.get_ident()}.tmp"
            temporary.write_bytes(data)
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

        Runs in a background thread in steps of `chunk` images (>= 1); poll the returned
        `ActivationScan` (`fraction`, `finished`, `result`, `error`). Cached per model,
        layer and data set for the life of the client.
        """
        chunk = check_int(chunk, "chunk", minimum=1)
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
        except Exception as error:  # noqa: BLE001 - a scan must always end, and say why
            scan.error = f"The search stopped because of an unexpected error: {error}"

    def wait_for_scan(self, scan: ActivationScan, *, timeout: float = 120.0) -> ActivationScan:
        """Block until `scan` finishes (for scripts and tests; pages poll instead)."""
        deadline = time.monotonic() + timeout
        while not scan.finished and time.monotonic() < deadline:
            time.sleep(0.02)
        return scan


def _image_array(value, name: str, *, ndims: tuple[int, ...]) -> np.ndarray:
    """Images as an array of finite numbers with 1 or 3 channels, in their own dtype.

    One image is (H, W) or (H, W, C), a batch (N, H, W, C); an (H, W) image gets a
    channel axis.

    Raises:
        TypeError: the values are not real numbers.
        ValueError: a number of dimensions not in ``ndims``, no pixels, NaN or ±inf,
            or a number of channels other than 1 or 3.
    """
    array = as_real_array(value, name, ndims=ndims)
    if array.ndim == 2:
        return array[..., np.newaxis]
    if array.shape[-1] not in (1, 3):
        raise ValueError(f"`{name}` must have 1 or 3 channels (last axis). {received(name, array)}")
    return array


def _batch(images) -> np.ndarray:
    """`images` as C-contiguous float32 (N, H, W, C) (see `_image_array`)."""
    array = _image_array(images, "images", ndims=(4,))
    return np.ascontiguousarray(array, dtype=np.float32)


def _single(image) -> np.ndarray:
    """`image` as C-contiguous float32 (H, W, C) (see `_image_array`)."""
    array = _image_array(image, "image", ndims=(2, 3))
    return np.ascontiguousarray(array, dtype=np.float32)


def _remove_log(worker: WorkerProcess) -> None:
    if worker.log_path is not None:
        with contextlib.suppress(OSError):
            worker.log_path.unlink()


_SHARED: WorkerClient | None = None
_SHARED_LOCK = threading.Lock()


def shared_client() -> WorkerClient:
    """The one client (and so the one warm worker) of this server process."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = WorkerClient()
        return _SHARED


def preview_augmentation(
    image: np.ndarray,
    augmentation: Augmentation | dict,
    *,
    count: int = 8,
    seed: int = 0,
    client: WorkerClient | None = None,
) -> np.ndarray:
    """Random augmented versions of one image, from the warm worker (see `WorkerClient.augment`).

    Raises:
        ValueError, TypeError: for a bad argument; `WorkerCrashedError` if the worker fails.
    """
    client = client or shared_client()
    return client.augment(image, augmentation, count=count, seed=seed)
