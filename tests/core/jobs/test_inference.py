"""The inference worker and its TF-free client (core.jobs.worker_client, core.worker.service).

Everything except the import check starts a real worker process (marked slow); one client
is shared by the module so TensorFlow starts once.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from core.data import builtin, preprocessing
from core.jobs.inspection import DatasetRef, ModelRejectedError, WorkerCrashedError
from core.jobs.uploads import UPLOAD_MAX_AGE_SECONDS, prune_uploads
from core.jobs.worker_client import WorkerClient
from tests.conftest import ROOT
from tests.inspect_helpers import FASHION_MODEL, MNIST_MODEL, build_test_models

SERVER_MODULES = [
    "core.jobs.worker_client",
    "core.data.network_input",
    "core.ops.filter_matching",
    "core.ops.receptive_field",
    "ui.inspect.models",
    "ui.inspect.inputs",
    "ui.inspect.views",
    "ui.inspect.layer_sections",
]


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


@pytest.fixture(scope="module")
def client():
    instance = WorkerClient()
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def mnist_images(shared_data):
    dataset = builtin.load_builtin("mnist", data_dir=shared_data)
    images = preprocessing.preprocess(dataset.x_test[:200], preprocessing.Preprocessing())
    return images, dataset.y_test[:200]


@pytest.fixture(scope="module")
def models_dir():
    return build_test_models()


@pytest.mark.slow
def test_sequential_bundled_model_layers_and_feature_map_shapes(client, mnist_images):
    info = client.model_info(MNIST_MODEL)
    assert info.ok and info.input_shape == (28, 28, 1) and info.num_classes == 10
    assert info.total_params == 220_234
    assert info.class_names == tuple(str(digit) for digit in range(10))  # from the sidecar
    assert [layer.params for layer in info.layers if layer.params] == [320, 18_496, 200_768, 650]
    maps = client.feature_maps(MNIST_MODEL, mnist_images[0][0])
    assert {name: values.shape for name, values in maps.maps.items()} == {
        "conv2d": (28, 28, 32),
        "max_pooling2d": (14, 14, 32),
        "conv2d_1": (14, 14, 64),
        "max_pooling2d_1": (7, 7, 64),
    }
    # Fused ReLU: the map is the pre-activation with negatives set to 0.
    np.testing.assert_allclose(
        maps.maps["conv2d"], np.maximum(maps.pre_activations["conv2d"], 0), atol=1e-5
    )
    assert maps.probabilities.shape == (10,)
    assert maps.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert int(maps.probabilities.argmax()) == int(mnist_images[1][0])


@pytest.mark.slow
def test_functional_bundled_model_has_activation_layers(client, mnist_images):
    info = client.model_info(FASHION_MODEL)
    kinds = [(layer.name, layer.kind) for layer in info.map_layers]
    assert kinds[:3] == [("conv1", "conv"), ("relu1", "activation"), ("pool1", "pooling")]
    maps = client.feature_maps(FASHION_MODEL, mnist_images[0][0])
    assert maps.maps["conv1"].shape == (28, 28, 32)
    assert maps.maps["pool3"].shape == (3, 3, 64)
    # Its convolutions are linear; the "before" of each ReLU layer is the conv output.
    assert sorted(maps.pre_activations) == ["relu1", "relu2", "relu3"]
    np.testing.assert_allclose(maps.pre_activations["relu1"], maps.maps["conv1"])
    np.testing.assert_allclose(maps.maps["relu1"], np.maximum(maps.maps["conv1"], 0), atol=1e-6)


@pytest.mark.slow
def test_branching_functional_rgb_model(client, models_dir):
    path = models_dir / "branchy.keras"
    info = client.model_info(path)
    assert info.ok, info.problem
    image = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    maps = client.feature_maps(path, image)
    assert {name: values.shape for name, values in maps.maps.items()} == {
        "left": (32, 32, 6),
        "right": (32, 32, 6),
        "relu": (32, 32, 6),
        "pool": (16, 16, 6),
        "strided": (7, 7, 8),
    }
    assert info.layer("relu").inbound == ("add",)
    cam = client.grad_cam(path, image, 2)
    assert cam.layer == "strided" and cam.score == "logit"
    assert cam.heatmap.shape == (32, 32)
    weights = client.filters(path, "right")
    assert weights.kernels.shape == (5, 5, 3, 6)


@pytest.mark.slow
def test_grad_cam_equals_class_activation_mapping_after_global_pooling(client, models_dir):
    # strided → GlobalAveragePooling2D → Dense (logits): d logit_c / dA_k(i, j) = W[k, c] / hw,
    # so Grad-CAM must equal Zhou et al.'s CAM, relu(A · W[:, c]), scaled to a maximum of 1.
    path = models_dir / "branchy.keras"
    kernel = np.load(models_dir / "branchy_logits_kernel.npy")
    image = np.random.default_rng(1).random((32, 32, 3), dtype=np.float32)
    maps = client.feature_maps(path, image).maps["strided"]
    for class_index in range(4):
        cam = np.maximum(maps @ kernel[:, class_index], 0)
        expected = cam / cam.max() if cam.max() > 0 else cam
        result = client.grad_cam(path, image, class_index, layer="strided")
        np.testing.assert_allclose(result.coarse, expected, atol=1e-5)


@pytest.mark.slow
def test_predictions_match_the_labels(client, mnist_images):
    images, labels = mnist_images
    probabilities = client.predict(MNIST_MODEL, images)
    assert probabilities.shape == (200, 10)
    assert (probabilities.argmax(axis=1) == labels).mean() >= 0.98


@pytest.mark.slow
def test_grad_cam_and_saliency_shape_and_range(client, mnist_images):
    image, label = mnist_images[0][0], int(mnist_images[1][0])
    cam = client.grad_cam(MNIST_MODEL, image, label)
    assert cam.heatmap.shape == (28, 28) and cam.heatmap.dtype == np.float32
    assert cam.heatmap.min() >= 0.0 and cam.heatmap.max() <= 1.0
    assert cam.coarse.shape == (14, 14) and cam.coarse.max() == pytest.approx(1.0)
    assert cam.layer == "conv2d_1" and cam.score == "logit"
    assert cam.probability > 0.9
    saliency = client.saliency(MNIST_MODEL, image, label)
    assert saliency.heatmap.shape == (28, 28)
    assert saliency.heatmap.min() >= 0.0 and saliency.heatmap.max() == pytest.approx(1.0)
    # The evidence for the digit lies on its strokes, not the empty border.
    strokes = image[:, :, 0] > 0.5
    assert cam.heatmap[strokes].mean() > cam.heatmap[~strokes].mean()
    with pytest.raises(ValueError, match="class_index"):
        client.grad_cam(MNIST_MODEL, image, 10)


@pytest.mark.slow
def test_first_layer_filters(client):
    weights = client.filters(MNIST_MODEL)
    assert weights.layer == "conv2d"
    assert weights.kernels.shape == (3, 3, 1, 32) and weights.bias.shape == (32,)
    with pytest.raises(ValueError, match="conv layer"):
        client.filters(MNIST_MODEL, "dense")


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
def test_lambda_layer_is_refused_by_safe_mode(client, models_dir):
    with pytest.raises(ModelRejectedError, match="Lambda"):
        client.load_upload((models_dir / "lambda.keras").read_bytes())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "message"),
    [("mlp", "no convolution layers"), ("two_inputs", "2 inputs"), ("vector", "not an image")],
)
def test_models_that_are_not_image_cnns_get_a_message(client, models_dir, name, message):
    info = client.model_info(models_dir / f"{name}.keras")
    assert not info.ok
    assert message in info.problem
    with pytest.raises(ModelRejectedError, match=message):
        client.feature_maps(models_dir / f"{name}.keras", np.zeros((28, 28, 1), np.float32))


def test_old_and_surplus_uploads_are_pruned_but_never_the_new_one(tmp_path):
    now = 1_000_000.0
    ages = {"fresh": 60, "day_old": UPLOAD_MAX_AGE_SECONDS + 60, "new": 0}
    for name, age in ages.items():
        path = tmp_path / f"{name}.keras"
        path.write_bytes(b"PK")
        os.utime(path, (now - age, now - age))
    (tmp_path / "notes.txt").write_text("not an upload")
    deleted = prune_uploads(tmp_path, keep=tmp_path / "new.keras", now=now)
    assert deleted == [tmp_path / "day_old.keras"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.keras", "new.keras", "notes.txt"]
    # Over the count limit the oldest go first; the file just uploaded stays even if oldest.
    os.utime(tmp_path / "new.keras", (now - 120, now - 120))
    deleted = prune_uploads(tmp_path, keep=tmp_path / "new.keras", max_files=1, now=now)
    assert deleted == []  # "fresh" is the newest, "new" is kept on purpose
    deleted = prune_uploads(tmp_path, max_files=1, now=now)
    assert deleted == [tmp_path / "new.keras"]


def test_uploads_that_are_not_keras_files_are_refused_before_the_worker():
    fresh = WorkerClient()
    with pytest.raises(ModelRejectedError, match="zip archive"):
        fresh.load_upload(b"not a model")
    with pytest.raises(ModelRejectedError, match="MB"):
        fresh.load_upload(b"PK\x03\x04" + bytes(100), max_bytes=50)
    assert fresh.worker_pid is None  # nothing was started


@pytest.mark.slow
def test_wrong_input_shape_is_a_clear_error(client):
    with pytest.raises(ValueError, match=r"expects images of shape \(28, 28, 1\)"):
        client.feature_maps(MNIST_MODEL, np.zeros((32, 32, 3), np.float32))


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


def test_dataset_reference_carries_the_data_folder():
    """The worker must read the same test images the page shows, wherever they came from."""
    a = DatasetRef.make("mnist", {"target_size": 28}, data_dir="/data/a")
    b = DatasetRef.make("mnist", {"target_size": 28}, data_dir="/data/b")
    assert a != b and a.data_dir == "/data/a"
