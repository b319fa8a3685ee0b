"""Tests for core.jobs.worker_client: the TensorFlow-free client of the warm worker — requests,
argument checks, crashes and restarts, uploads, the top-activation search, and one warm
process for everything the server asks.

The slow tests start real ``python -m core.worker serve`` processes; one client is shared by
the module so TensorFlow starts once (tests that count starts make their own).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from core.data import builtin, preprocessing
from core.jobs import model_store, worker_client
from core.jobs.inspection import (
    DatasetRef,
    InferenceError,
    ModelRejectedError,
    WorkerCrashedError,
)
from core.jobs.model_store import ModelUploadError
from core.jobs.worker_client import WorkerClient
from tests.conftest import ROOT
from tests.inspect_helpers import MNIST_MODEL, build_test_models

SERVER_MODULES = [
    "core.jobs.worker_client",
    "core.data.network_input",
    "core.ops.filter_matching",
    "core.ops.receptive_field",
    "ui.inspect.models",
    "ui.inspect.inputs",
    "ui.inspect.views",
    "ui.inspect.layer_sections",
    "ui.inspect.unit",
    "ui.inspect.mistakes",
    "core.nets.unit_explanation",
]


@pytest.fixture()
def fresh_shared_client(monkeypatch):
    """`shared_client()` made anew for this test (and closed after it)."""
    monkeypatch.setattr(worker_client, "_SHARED", None)
    shared = worker_client.shared_client()
    yield shared
    shared.close()


@pytest.fixture(scope="module")
def mnist_images(shared_data):
    dataset = builtin.load_builtin("mnist", data_dir=shared_data)
    images = preprocessing.preprocess(dataset.x_test[:200], preprocessing.Preprocessing())
    return images, dataset.y_test[:200]


@pytest.fixture(scope="module")
def models_dir():
    return build_test_models()


def uploaded_bytes() -> list[bytes]:
    """The contents of the uploads waiting for the worker (other tests may prune them)."""
    contents = []
    for path in worker_client.upload_dir().glob("*.keras"):
        with contextlib.suppress(OSError):
            contents.append(path.read_bytes())
    return contents


def zip_without_a_model() -> bytes:
    """A zip with the members of a .keras file (so it passes the server's checks) that holds
    no Keras model: only the worker can tell."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", "not weights")
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# Without a worker (fast)
# ---------------------------------------------------------------------------


def test_server_side_modules_import_without_tensorflow():
    imports = "; ".join(f"import {module}" for module in SERVER_MODULES)
    code = (
        f"import sys, json; {imports}; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('tensorflow', 'keras'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_uploads_that_are_not_keras_files_are_refused_before_the_worker():
    fresh = WorkerClient()
    with pytest.raises(ModelRejectedError, match="zip archive"):
        fresh.load_upload(b"not a model")
    with pytest.raises(ModelRejectedError, match="MB"):
        fresh.load_upload(b"PK\x03\x04" + bytes(100), max_bytes=50)
    assert fresh.worker_pid is None  # nothing was started


@pytest.mark.parametrize(
    ("image", "augmentation", "options", "error", "message"),
    [
        (
            np.zeros((8, 8, 2)),
            {},
            {},
            ValueError,
            "`image` must have 1 or 3 channels (last axis). "
            "Received: image=ndarray(shape=(8, 8, 2), dtype=float64).",
        ),
        (
            np.zeros(8),
            {},
            {},
            ValueError,
            "`image` must have 2 or 3 dimensions. "
            "Received: image=ndarray(shape=(8,), dtype=float64).",
        ),
        (np.zeros((0, 8)), {}, {}, ValueError, "`image` must not be empty."),
        (np.full((8, 8), np.nan), {}, {}, ValueError, "`image` contains NaN or infinite values"),
        (np.full((8, 8), "x"), {}, {}, TypeError, "`image` must hold real numbers."),
        (np.zeros((8, 8)), {}, {"count": 65}, ValueError, "Received: count=65."),
        (np.zeros((8, 8)), {}, {"count": 0}, ValueError, "Received: count=0."),
        (np.zeros((8, 8)), {}, {"count": 2.0}, TypeError, "Received: count=2.0."),
        (np.zeros((8, 8)), {}, {"seed": -1}, ValueError, "Received: seed=-1."),
        (np.zeros((8, 8)), {"zoom": 2.0}, {}, ValueError, "Received: zoom=2.0."),
        (np.zeros((8, 8)), {"blur": 1}, {}, ValueError, "not ['blur']. Received: augmentation="),
        (np.zeros((8, 8)), "flip", {}, TypeError, "Received: augmentation='flip'."),
    ],
)
def test_augment_refuses_bad_arguments_before_the_worker(
    image, augmentation, options, error, message
):
    fresh = WorkerClient()
    with pytest.raises(error, match=re.escape(message)):
        fresh.augment(image, augmentation, **options)
    assert fresh.worker_pid is None and fresh.starts == 0


@pytest.mark.parametrize(
    ("method", "arguments", "error", "message"),
    [
        (
            "predict",
            (np.zeros((8, 8, 1)),),
            ValueError,
            "`images` must have 4 dimensions. "
            "Received: images=ndarray(shape=(8, 8, 1), dtype=float64).",
        ),
        (
            "predict",
            (np.zeros((2, 8, 8, 4)),),
            ValueError,
            "`images` must have 1 or 3 channels (last axis). "
            "Received: images=ndarray(shape=(2, 8, 8, 4), dtype=float64).",
        ),
        (
            "feature_maps",
            (np.zeros((1, 8, 8, 1)),),
            ValueError,
            "`image` must have 2 or 3 dimensions. "
            "Received: image=ndarray(shape=(1, 8, 8, 1), dtype=float64).",
        ),
        ("feature_maps", ([["a"]],), TypeError, "`image` must hold real numbers."),
        ("saliency", (np.zeros((8, 8)), -1), ValueError, "Received: class_index=-1."),
        ("grad_cam", (np.zeros((8, 8)), 1.0), TypeError, "Received: class_index=1.0."),
    ],
)
def test_model_requests_refuse_bad_arguments_before_the_worker(
    tmp_path, method, arguments, error, message
):
    path = tmp_path / "model.keras"
    path.write_bytes(b"PK\x03\x04")
    fresh = WorkerClient()
    with pytest.raises(error, match=re.escape(message)):
        getattr(fresh, method)(path, *arguments)
    assert fresh.worker_pid is None and fresh.starts == 0


def test_an_image_without_a_channel_axis_gets_one():
    single = worker_client._single(np.zeros((4, 5), np.uint8))
    assert single.shape == (4, 5, 1) and single.dtype == np.float32
    assert single.flags.c_contiguous


def test_load_upload_refuses_data_that_is_not_bytes_before_the_worker():
    fresh = WorkerClient()
    with pytest.raises(TypeError, match=re.escape("`data` must be bytes. Received: data='PK'.")):
        fresh.load_upload("PK")
    assert fresh.worker_pid is None


def test_a_scan_refuses_a_chunk_below_one_before_starting():
    reference = DatasetRef.make("mnist", {"target_size": 28}, limit=20)
    fresh = WorkerClient()
    with pytest.raises(ValueError, match=re.escape("`chunk` must be >= 1. Received: chunk=0.")):
        fresh.scan_activations(MNIST_MODEL, "conv2d", reference, chunk=0)
    assert fresh.existing_scan(MNIST_MODEL, "conv2d", reference) is None


def test_a_scan_that_meets_an_unexpected_error_ends_saying_why(monkeypatch):
    fresh = WorkerClient()
    send = fresh.request

    def request(method, **arguments):
        if method == "scan_step":
            raise RuntimeError("the pipe fell over")
        return send(method, **arguments)

    monkeypatch.setattr(fresh, "request", request)
    reference = DatasetRef.make("mnist", {"target_size": 28}, limit=20)
    scan = fresh.wait_for_scan(fresh.scan_activations(MNIST_MODEL, "conv2d", reference), timeout=10)
    assert scan.finished
    assert scan.error == "The search stopped because of an unexpected error: the pipe fell over"
    assert scan.result is None
    assert fresh.existing_scan(MNIST_MODEL, "conv2d", reference) is scan
    # Asking again starts a new search instead of handing back the failed one.
    retry = fresh.scan_activations(MNIST_MODEL, "conv2d", reference)
    assert retry is not scan
    assert fresh.wait_for_scan(retry, timeout=10).finished


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ValueError("`layer` must output feature maps."), "`layer` must output feature maps."),
        (InferenceError("MemoryError: out of memory"), "MemoryError: out of memory"),
    ],
)
def test_a_scan_refused_by_the_worker_ends_with_the_worker_s_message(monkeypatch, raised, expected):
    fresh = WorkerClient()

    def request(method, **arguments):
        raise raised

    monkeypatch.setattr(fresh, "request", request)
    reference = DatasetRef.make("mnist", {"target_size": 28}, limit=20)
    scan = fresh.wait_for_scan(fresh.scan_activations(MNIST_MODEL, "dense", reference), timeout=10)
    assert (scan.finished, scan.error) == (True, expected)


def test_a_scan_s_fraction_counts_images_done():
    scan = worker_client.ActivationScan(key=("m", "l", "d"), total=400, done=100)
    assert scan.fraction == 0.25 and not scan.finished
    assert worker_client.ActivationScan(key=(), total=0).fraction == 1.0


def test_model_key_changes_when_the_file_changes(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"PK\x03\x04 one")
    first = worker_client.model_key(path)
    assert first[0] == str(path.resolve())
    path.write_bytes(b"PK\x03\x04 two, longer")
    assert worker_client.model_key(path) != first


# ---------------------------------------------------------------------------
# A real worker (slow)
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_preview_augmentation_gives_seeded_random_versions_of_one_image():
    image = np.zeros((8, 8), np.uint8)
    image[:4] = 255  # bright top half
    augmentation = {"flip": "vertical", "rotation": 0.1}
    versions = worker_client.preview_augmentation(image, augmentation, count=6, seed=3)
    assert versions.shape == (6, 8, 8, 1) and versions.dtype == np.float32
    assert versions.min() >= 0.0 and versions.max() <= 1.0
    assert len({versions[i].tobytes() for i in range(6)}) > 1  # not all the same
    again = worker_client.preview_augmentation(image, augmentation, count=6, seed=3)
    np.testing.assert_array_equal(versions, again)


@pytest.mark.slow
def test_one_warm_worker_serves_previews_checks_inspection_and_uploads(
    fresh_shared_client, tmp_path
):
    client = fresh_shared_client
    image = np.zeros((8, 8), np.uint8)
    image[:4] = 255
    flipped = client.augment(image, {"flip": "vertical"}, count=2, seed=1)
    pid = client.worker_pid
    assert pid is not None and flipped.shape == (2, 8, 8, 1)
    zoomed = worker_client.preview_augmentation(image, {"zoom": 0.2}, count=3, seed=2)
    assert zoomed.shape == (3, 8, 8, 1)
    assert client.check_model_file(MNIST_MODEL)["first_conv_layer"] == "conv2d"
    assert client.model_info(MNIST_MODEL).total_params == 220_234
    saved = model_store.upload_model(MNIST_MODEL.read_bytes(), "uploaded", models_dir=tmp_path)
    assert saved.metadata["total_params"] == 220_234
    assert (client.worker_pid, client.starts) == (pid, 1)
    assert client.ping()["pid"] == pid


@pytest.mark.slow
def test_a_refused_upload_raises_model_upload_error_with_the_refusal(
    fresh_shared_client, models_dir, tmp_path
):
    lambda_model = (models_dir / "lambda.keras").read_bytes()
    with pytest.raises(ModelUploadError, match="contains a Lambda layer or other Python code"):
        model_store.upload_model(lambda_model, "with lambda", models_dir=tmp_path)
    with pytest.raises(ModelUploadError, match="could not be loaded as a Keras model"):
        model_store.upload_model(zip_without_a_model(), "not a model", models_dir=tmp_path)
    assert model_store.list_models(models_dir=tmp_path) == []
    assert list(tmp_path.iterdir()) == []  # no checked copy left behind
    assert fresh_shared_client.starts == 1  # a refusal does not cost the warm worker


@pytest.mark.slow
def test_lambda_layer_is_refused_by_safe_mode(client, models_dir):
    with pytest.raises(ModelRejectedError, match="Lambda"):
        client.load_upload((models_dir / "lambda.keras").read_bytes())


@pytest.mark.slow
def test_an_upload_is_kept_under_its_hash_and_a_refused_one_is_removed(client, models_dir):
    plain = (models_dir / "branchy.keras").read_bytes()
    info = client.load_upload(plain)
    assert info.ok and info.name == "branchy"
    kept = worker_client.upload_dir() / os.path.basename(info.path)
    assert kept.is_file() and kept.read_bytes() == plain
    assert client.load_upload(plain).path == info.path  # the same file, checked once
    refused = zip_without_a_model()
    with pytest.raises(ModelRejectedError):
        client.load_upload(refused)
    assert refused not in uploaded_bytes()  # a refused file is not kept


@pytest.mark.slow
def test_top_activation_scan_is_sorted_and_cached(client):
    reference = DatasetRef.make("mnist", {"target_size": 28, "color_mode": "grayscale"}, limit=600)
    scan = client.wait_for_scan(
        client.scan_activations(MNIST_MODEL, "conv2d_1", reference, chunk=250)
    )
    assert scan.error is None and scan.done == 600
    result = scan.result
    assert result.max_values.shape == (600, 64)
    top = result.top(5, 9)
    assert len(top.indices) == 9
    assert np.all(np.diff(top.scores) <= 0)
    assert np.all((top.rows >= 0) & (top.rows < 14) & (top.cols >= 0) & (top.cols < 14))
    assert client.scan_activations(MNIST_MODEL, "conv2d_1", reference) is scan
    predicted, confidence = client.predict_dataset(MNIST_MODEL, reference)
    assert predicted.shape == confidence.shape == (600,)


@pytest.mark.slow
def test_a_crashed_worker_is_reported_and_restarted(client, mnist_images):
    client.model_info(MNIST_MODEL)
    pid = client.worker_pid
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    with pytest.raises(WorkerCrashedError, match="starts again"):
        client.feature_maps(MNIST_MODEL, mnist_images[0][0])
    maps = client.feature_maps(MNIST_MODEL, mnist_images[0][0])
    assert client.worker_pid not in (None, pid)
    assert maps.maps["conv2d"].shape == (28, 28, 32)


@pytest.mark.slow
def test_a_closed_client_starts_a_new_worker_on_the_next_request():
    fresh = WorkerClient()
    try:
        first = fresh.ping()["pid"]
        fresh.close()
        assert fresh.worker_pid is None
        second = fresh.ping()["pid"]
        assert second != first and fresh.starts == 2
    finally:
        fresh.close()


@pytest.mark.slow
def test_evaluate_dataset_matches_the_predictions_and_is_cached(client, shared_data):
    reference = DatasetRef.make(
        "mnist",
        {"target_size": 28, "color_mode": "grayscale"},
        limit=300,
        data_dir=str(shared_data),
    )
    assert client.cached_evaluation(MNIST_MODEL, reference) is None  # never starts one
    evaluation = client.evaluate_dataset(MNIST_MODEL, reference)
    assert client.cached_evaluation(MNIST_MODEL, reference) is evaluation
    dataset = builtin.load_builtin("mnist", data_dir=shared_data)
    images = preprocessing.preprocess(dataset.x_test[:300], preprocessing.Preprocessing())
    np.testing.assert_allclose(
        evaluation.probabilities, client.predict(MNIST_MODEL, images), atol=1e-5
    )
    np.testing.assert_array_equal(evaluation.labels, dataset.y_test[:300])
    expected = np.zeros((10, 10), np.int64)
    for true, guess in zip(dataset.y_test[:300], evaluation.probabilities.argmax(1), strict=True):
        expected[true, guess] += 1
    np.testing.assert_array_equal(evaluation.confusion, expected)
    assert 0.9 < evaluation.accuracy <= 1.0


@pytest.mark.slow
def test_layer_input_is_the_previous_layer_s_output(client, mnist_images):
    image = mnist_images[0][0]
    maps = client.feature_maps(MNIST_MODEL, image)
    np.testing.assert_allclose(client.layer_input(MNIST_MODEL, image, "conv2d"), image)
    np.testing.assert_allclose(
        client.layer_input(MNIST_MODEL, image, "conv2d_1"), maps.maps["max_pooling2d"], atol=1e-6
    )
    with pytest.raises(ValueError, match="layer"):
        client.layer_input(MNIST_MODEL, image, "dense")
