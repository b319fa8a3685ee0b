"""Tests for core.worker.service: the warm worker's answers — feature maps, filters,
predictions, saliency, Grad-CAM — asked for through a real `WorkerClient` (one worker per
module, so TensorFlow starts once). All slow.

The branched models (a small ResNet and an Inception module, `tests.inspect_helpers`) are
checked against what Keras itself computes for their layers, in a separate process.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from core.data.preprocessing import Preprocessing
from core.jobs import worker_client
from core.jobs.inspection import DatasetRef, ModelRejectedError
from core.worker import environment
from tests.conftest import SHARED_DATA
from tests.inspect_helpers import FASHION_MODEL, MNIST_MODEL, keras_layer_outputs

pytestmark = pytest.mark.slow


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


def test_branching_functional_rgb_model(client, models_dir):
    path = models_dir / "branchy.keras"
    info = client.model_info(path)
    assert info.ok, info.problem
    image = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    maps = client.feature_maps(path, image)
    assert {name: values.shape for name, values in maps.maps.items()} == {
        "left": (32, 32, 6),
        "right": (32, 32, 6),
        "add": (32, 32, 6),
        "relu": (32, 32, 6),
        "pool": (16, 16, 6),
        "strided": (7, 7, 8),
    }
    assert info.layer("relu").inbound == ("add",)
    np.testing.assert_allclose(maps.maps["add"], maps.maps["left"] + maps.maps["right"], atol=1e-5)
    cam = client.grad_cam(path, image, 2)
    assert cam.layer == "strided" and cam.score == "logit"
    assert cam.heatmap.shape == (32, 32)
    weights = client.filters(path, "right")
    assert weights.kernels.shape == (5, 5, 3, 6)


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


def test_predictions_match_the_labels(client, mnist_images):
    images, labels = mnist_images
    probabilities = client.predict(MNIST_MODEL, images)
    assert probabilities.shape == (200, 10)
    assert (probabilities.argmax(axis=1) == labels).mean() >= 0.98


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
    message = "`class_index` must be between 0 and 9. Received: class_index=10."
    with pytest.raises(ValueError, match=re.escape(message)):
        client.grad_cam(MNIST_MODEL, image, 10)
    message = "`layer` must output feature maps. Received: layer='dense'."
    with pytest.raises(ValueError, match=re.escape(message)):
        client.grad_cam(MNIST_MODEL, image, label, layer="dense")


def test_first_layer_filters(client):
    weights = client.filters(MNIST_MODEL)
    assert weights.layer == "conv2d"
    assert weights.kernels.shape == (3, 3, 1, 32) and weights.bias.shape == (32,)
    message = "`layer` must be one of 'conv2d', 'conv2d_1'. Received: layer='dense'."
    with pytest.raises(ValueError, match=re.escape(message)):
        client.filters(MNIST_MODEL, "dense")


def test_wrong_input_shape_is_a_clear_error(client):
    message = (
        "The model expects images of shape (28, 28, 1). "
        "Received: image=ndarray(shape=(32, 32, 3), dtype=float32)."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        client.feature_maps(MNIST_MODEL, np.zeros((32, 32, 3), np.float32))
    message = "Received: images=ndarray(shape=(2, 32, 32, 3), dtype=float32)."
    with pytest.raises(ValueError, match=re.escape(message)):
        client.predict(MNIST_MODEL, np.zeros((2, 32, 32, 3), np.float32))


def test_a_scan_step_needs_a_map_layer_and_a_positive_count(client):
    key = worker_client.model_key(MNIST_MODEL)
    dataset = DatasetRef.make("mnist", {"target_size": 28}, limit=20)
    arguments = {"key": key, "dataset": dataset, "start": 0}
    with pytest.raises(ValueError, match=re.escape("Received: count=0.")):
        client.request("scan_step", layer="conv2d", count=0, **arguments)
    with pytest.raises(ValueError, match=re.escape("Received: layer='dense'.")):
        client.request("scan_step", layer="dense", count=10, **arguments)


def test_the_worker_says_who_it_is_and_how_many_threads_it_uses(client):
    answer = client.ping()
    assert answer["pid"] == client.worker_pid
    assert answer["threads"] == environment.thread_counts(len(os.sched_getaffinity(0))).intra_op


@pytest.mark.parametrize("method", ["format_disk", "_load", "__init__"])
def test_unknown_and_private_requests_are_refused_and_the_worker_lives_on(client, method):
    pid = client.ping()["pid"]
    message = rf"^`method` must be one of '[a-z_]+', .*'ping', .* Received: method='{method}'\.$"
    # only the public requests are named: no private method, none starting with an underscore
    with pytest.raises(ValueError, match=message) as refused:
        client.request(method)
    assert "'_" not in str(refused.value).partition("Received")[0]
    assert client.worker_pid == pid


def test_a_request_with_a_missing_argument_is_a_value_error(client):
    with pytest.raises(ValueError, match="key"):
        client.request("model_info")


def test_a_missing_model_file_is_rejected_naming_it(client, tmp_path):
    with pytest.raises(ModelRejectedError, match="There is no model file at"):
        client.request("model_info", key=(str(tmp_path / "gone.keras"), 0, 0))


# ---------------------------------------------------------------------------
# Models with branches: a small ResNet (28×28×1) and an Inception module (32×32×3)
# ---------------------------------------------------------------------------

RESIDUAL_MAPS = {
    "stem_conv": (28, 28, 8),
    "stem_pool": (14, 14, 8),
    "block1_conv1": (14, 14, 8),
    "block1_relu1": (14, 14, 8),
    "block1_conv2": (14, 14, 8),
    "block1_add": (14, 14, 8),
    "block1_out": (14, 14, 8),
    "block2_conv1": (7, 7, 16),
    "block2_relu1": (7, 7, 16),
    "block2_conv2": (7, 7, 16),
    "block2_shortcut": (7, 7, 16),
    "block2_add": (7, 7, 16),
    "block2_out": (7, 7, 16),
}


INCEPTION_MAPS = {
    "stem_conv": (32, 32, 12),
    "branch3x3_reduce": (32, 32, 6),
    "branch5x5_reduce": (32, 32, 4),
    "branch_pool": (32, 32, 12),
    "branch1x1": (32, 32, 8),
    "branch3x3": (32, 32, 8),
    "branch5x5": (32, 32, 8),
    "branch_pool_proj": (32, 32, 8),
    "mixed": (32, 32, 32),
    "pool": (16, 16, 32),
}


def test_a_residual_model_is_described_with_its_branches_and_merges(client, models_dir):
    info = client.model_info(models_dir / "residual.keras")
    assert info.ok, info.problem
    assert info.input_shape == (28, 28, 1) and info.num_classes == 10
    add = info.layer("block2_add")
    assert (add.kind, add.inbound, add.branch) == ("merge", ("block2_bn2", "block2_shortcut"), "")
    assert info.layer("block1_add").inbound == ("block1_bn2", "stem_pool")  # identity shortcut
    assert info.layer("block2_bn1").kind == "normalization"
    residual = "residual branch (3×3 conv stride 2 → 3×3 conv)"
    assert {layer.name: layer.branch for layer in info.layers if layer.block == "block2_add"} == {
        "block2_conv1": residual,
        "block2_bn1": residual,
        "block2_relu1": residual,
        "block2_conv2": residual,
        "block2_bn2": residual,
        "block2_shortcut": "shortcut (1×1 conv stride 2)",
    }
    assert info.layer("block1_conv1").branch == "residual branch (3×3 conv → 3×3 conv)"
    assert info.layer("block1_out").branch == "" and info.layer("block1_out").depth == 9
    assert info.last_conv.name == "block2_conv2"


def test_residual_feature_maps_are_keras_own_outputs_on_both_branches(client, models_dir):
    path = models_dir / "residual.keras"
    image = np.random.default_rng(2).random((28, 28, 1), dtype=np.float32)
    maps = client.feature_maps(path, image)
    assert {name: values.shape for name, values in maps.maps.items()} == RESIDUAL_MAPS
    reference = keras_layer_outputs(path, image, [*RESIDUAL_MAPS, "block2_bn2", "digits"])
    for name in RESIDUAL_MAPS:
        np.testing.assert_allclose(maps.maps[name], reference[name], atol=1e-5, err_msg=name)
    np.testing.assert_allclose(maps.probabilities, reference["digits"], atol=1e-5)
    # The merge adds its two branches; the ReLU after it keeps the positive part.
    np.testing.assert_allclose(
        maps.maps["block2_add"], reference["block2_bn2"] + maps.maps["block2_shortcut"], atol=1e-5
    )
    np.testing.assert_allclose(maps.pre_activations["block2_out"], maps.maps["block2_add"])
    np.testing.assert_allclose(maps.maps["block2_out"], np.maximum(maps.maps["block2_add"], 0))


def test_inception_feature_maps_are_keras_own_outputs_on_every_branch(client, models_dir):
    path = models_dir / "inception.keras"
    info = client.model_info(path)
    assert info.ok, info.problem
    assert [info.layer(name).branch for name in ("branch1x1", "branch3x3", "branch_pool")] == [
        "branch 1 (1×1 conv)",
        "branch 2 (1×1 conv → 3×3 conv)",
        "branch 4 (3×3 max pool → 1×1 conv)",
    ]
    image = np.random.default_rng(3).random((32, 32, 3), dtype=np.float32)
    maps = client.feature_maps(path, image)
    assert {name: values.shape for name, values in maps.maps.items()} == INCEPTION_MAPS
    reference = keras_layer_outputs(path, image, list(INCEPTION_MAPS))
    for name in INCEPTION_MAPS:
        np.testing.assert_allclose(maps.maps[name], reference[name], atol=1e-5, err_msg=name)
    branches = ("branch1x1", "branch3x3", "branch5x5", "branch_pool_proj")
    stacked = np.concatenate([maps.maps[name] for name in branches], axis=-1)
    np.testing.assert_array_equal(maps.maps["mixed"], stacked)


def test_grad_cam_defaults_to_the_last_conv_and_works_inside_branches(client, models_dir):
    path = models_dir / "residual.keras"
    image = np.random.default_rng(4).random((28, 28, 1), dtype=np.float32)
    cam = client.grad_cam(path, image, 3)
    assert cam.layer == "block2_conv2" and cam.score == "logit"
    assert cam.heatmap.shape == (28, 28) and cam.coarse.shape == (7, 7)
    assert cam.heatmap.min() >= 0.0 and cam.heatmap.max() <= 1.0
    for layer in ("block2_shortcut", "block1_relu1", "block1_add", "block2_out"):
        other = client.grad_cam(path, image, 3, layer=layer)
        assert other.layer == layer and other.heatmap.shape == (28, 28)
        assert np.isfinite(other.heatmap).all()
    inception = models_dir / "inception.keras"
    photo = np.random.default_rng(5).random((32, 32, 3), dtype=np.float32)
    default = client.grad_cam(inception, photo, 0)
    assert default.layer == "branch_pool_proj"  # as deep as the 3×3 and 5×5, listed last
    assert default.heatmap.shape == (32, 32)
    assert client.grad_cam(inception, photo, 0, layer="mixed").coarse.shape == (32, 32)


def test_saliency_of_a_branched_model(client, models_dir):
    image = np.random.default_rng(6).random((32, 32, 3), dtype=np.float32)
    saliency = client.saliency(models_dir / "inception.keras", image, 7)
    assert saliency.method == "saliency" and saliency.heatmap.shape == (32, 32)
    assert saliency.heatmap.max() == pytest.approx(1.0) and saliency.heatmap.min() >= 0.0
    assert 0.0 < saliency.probability < 1.0


def test_filters_of_one_by_one_convolutions_inside_branches(client, models_dir):
    shortcut = client.filters(models_dir / "residual.keras", "block2_shortcut")
    assert shortcut.kernels.shape == (1, 1, 8, 16) and shortcut.bias.shape == (16,)
    inception = models_dir / "inception.keras"
    assert client.filters(inception, "branch5x5_reduce").kernels.shape == (1, 1, 12, 4)
    assert client.filters(inception, "branch5x5").kernels.shape == (5, 5, 4, 8)


def test_the_top_activation_search_runs_on_a_branch_layer(client, models_dir, mnist_images):
    path = models_dir / "residual.keras"
    settings = vars(Preprocessing(target_size=28))
    reference = DatasetRef.make("mnist", settings, limit=40, data_dir=str(SHARED_DATA))
    scan = client.wait_for_scan(client.scan_activations(path, "block2_shortcut", reference))
    assert scan.error is None and scan.result.max_values.shape == (40, 16)
    # Image 0's maxima are those of its feature map, as the page shows it.
    first = client.feature_maps(path, mnist_images[0][0]).maps["block2_shortcut"]
    np.testing.assert_allclose(scan.result.max_values[0], first.max(axis=(0, 1)), atol=1e-4)
    top = scan.result.top(5, 9)
    assert len(top.indices) == 9 and (top.rows < 7).all() and (top.cols < 7).all()


def test_a_model_whose_weights_hold_nan_refuses_to_hand_out_numbers_made_of_nan(client, tmp_path):
    """Its first maps are fine; what comes after its NaN layer is refused in words, never an
    all-black heatmap or a ranking of NaN."""
    from tests.corpus.models import built

    path = tmp_path / "diverged.keras"
    path.write_bytes(built("nan_weights.keras"))
    info = client.model_info(path)
    assert info.ok and info.nan_layers == ("conv_2",)
    assert info.notes[0].startswith("This model's weights hold NaN or infinite values (in conv_2)")
    image = np.random.default_rng(7).random((28, 28, 1), dtype=np.float32)
    maps = client.feature_maps(path, image)
    assert np.isfinite(maps.maps["conv"]).all() and np.isfinite(maps.maps["pool"]).all()
    assert np.isnan(maps.maps["conv_2"]).all() and np.isnan(maps.probabilities).all()
    message = r"weights hold NaN or infinite values \(in conv_2\), so {} can't be shown"
    with pytest.raises(ValueError, match=message.format("saliency")):
        client.saliency(path, image, 0)
    with pytest.raises(ValueError, match=message.format("Grad-CAM")):
        client.grad_cam(path, image, 0, layer="conv")
    reference = DatasetRef.make("mnist", {"target_size": 28}, limit=20, data_dir=str(SHARED_DATA))
    with pytest.raises(ValueError, match=message.format("its answers on the test images")):
        client.predict_dataset(path, reference)
    scan = client.wait_for_scan(client.scan_activations(path, "conv_2", reference))
    assert re.search(message.format("the images that excite conv_2 most"), scan.error)
    assert client.wait_for_scan(client.scan_activations(path, "conv", reference)).result


def test_a_models_own_test_images_are_evaluated_like_a_built_in_set(client, tmp_path):
    """A stored model's kept test images (`core.jobs.held_out`) go where a data set's name
    goes: the same images give the same answers and labels as the built-in set."""
    from core.data.builtin import load_builtin
    from core.jobs.held_out import write_held_out

    mnist = load_builtin("mnist", data_dir=SHARED_DATA)
    source = tmp_path / "digits.npz"
    np.savez(
        source,
        x_test=mnist.x_test[:20],
        y_test=mnist.y_test[:20],
        class_names=np.array(mnist.class_names),
    )
    held = tmp_path / "digits.test.npz"
    assert write_held_out(source, held) == {"count": 20, "of": 20}
    settings = {"target_size": 28}
    own = client.evaluate_dataset(MNIST_MODEL, DatasetRef.make(str(held), settings, limit=20))
    builtin = DatasetRef.make("mnist", settings, limit=20, data_dir=str(SHARED_DATA))
    expected = client.evaluate_dataset(MNIST_MODEL, builtin)
    np.testing.assert_array_equal(own.labels, expected.labels)
    np.testing.assert_allclose(own.probabilities, expected.probabilities, atol=1e-6)
    held.unlink()
    with pytest.raises(ValueError, match="own test images cannot be read"):
        client.predict_dataset(MNIST_MODEL, DatasetRef.make(str(held), settings, limit=5))
