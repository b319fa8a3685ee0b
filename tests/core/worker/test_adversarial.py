"""Tests for core.worker.adversarial: FGSM and PGD against their definitions (numpy), against
the closed-form gradient of a softmax-linear Keras model, and on the bundled MNIST model
through a real worker (the slow ones)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from core.jobs.worker_client import WorkerClient
from core.worker.adversarial import PGD_STEP_RATIO, attack, fgsm_step, project
from tests.conftest import ROOT
from tests.inspect_helpers import MNIST_MODEL

_LINEAR = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, keras
from keras import layers
inputs = keras.Input((4, 4, 1))
x = layers.Conv2D(1, 1, use_bias=False, name="scale")(inputs)
x = layers.Flatten(name="flatten")(x)
model = keras.Model(inputs, layers.Dense(3, activation="softmax", name="classes")(x))
rng = np.random.default_rng(0)
weights, bias = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=3).astype("float32")
model.get_layer("scale").set_weights([np.full((1, 1, 1, 1), 1.5, "float32")])
model.get_layer("classes").set_weights([weights, bias])
model.save(os.path.join(sys.argv[1], "linear.keras"))
np.savez(os.path.join(sys.argv[1], "linear.npz"), weights=weights, bias=bias)
"""


@pytest.fixture(scope="module")
def linear_model() -> tuple[Path, np.ndarray, np.ndarray]:
    """A 4×4×1 model whose loss gradient is known: softmax(1.5 · flatten(x) · W + b)."""
    folder = Path(tempfile.mkdtemp(prefix="convscope-linear-"))
    subprocess.run([sys.executable, "-c", _LINEAR, str(folder)], check=True, cwd=ROOT)
    with np.load(folder / "linear.npz") as data:
        return folder / "linear.keras", data["weights"], data["bias"]


def _linear_gradient(image, weights, bias, label):
    """∂ cross-entropy / ∂ image for softmax(1.5 · x · W + b): 1.5 · W (p − one-hot)."""
    logits = 1.5 * image.reshape(-1).astype(np.float64) @ weights + bias
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    probabilities[label] -= 1.0
    return (1.5 * weights @ probabilities).reshape(image.shape)


def test_fgsm_step_moves_every_pixel_by_epsilon_within_range():
    rng = np.random.default_rng(0)
    image, gradient = rng.random((8, 8, 3)), rng.normal(size=(8, 8, 3))
    moved = fgsm_step(image, gradient, 0.03)
    inside = (image > 0.03) & (image < 0.97)
    np.testing.assert_allclose((moved - image)[inside], 0.03 * np.sign(gradient)[inside])
    assert moved.min() >= 0.0 and moved.max() <= 1.0


def test_project_is_the_nearest_point_of_the_ball_and_the_range():
    rng = np.random.default_rng(1)
    original, candidate = rng.random(1000), rng.normal(0.5, 0.5, 1000)
    projected = project(candidate, original, 0.1)
    assert np.abs(projected - original).max() <= 0.1 + 1e-12
    assert projected.min() >= 0.0 and projected.max() <= 1.0
    # Inside both boxes nothing moves; outside, the result lies on an edge.
    inside = (np.abs(candidate - original) <= 0.1) & (candidate >= 0) & (candidate <= 1)
    np.testing.assert_array_equal(projected[inside], candidate[inside])


def test_pgd_on_a_quadratic_bowl_walks_to_the_edge_of_the_ball():
    # loss = |x − centre|²: its rise points away from the centre; PGD ends on the ball's corner.
    centre = np.array([0.5, 0.5])

    def away(image):
        return float(((image - centre) ** 2).sum()), 2 * (image - centre), None

    start = np.array([0.45, 0.6])
    adversarial, steps, step_size = attack(away, start, method="pgd", epsilon=0.05, steps=4)
    np.testing.assert_allclose(adversarial, [0.4, 0.65])
    assert steps == 4 and step_size == pytest.approx(PGD_STEP_RATIO * 0.05 / 4)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"method": "cw"}, ValueError, "method"),
        ({"method": 1}, TypeError, "method"),
        ({"epsilon": 0.6}, ValueError, "epsilon"),
        ({"epsilon": float("nan")}, ValueError, "epsilon"),
        ({"steps": 0}, ValueError, "steps"),
        ({"steps": 101}, ValueError, "steps"),
    ],
)
def test_client_refuses_bad_settings_before_asking_the_worker(arguments, error, message):
    client = WorkerClient()
    with pytest.raises(error, match=message):
        client.adversarial_example(MNIST_MODEL, np.zeros((28, 28, 1)), 0, **arguments)
    assert client.worker_pid is None


@pytest.mark.slow
def test_fgsm_matches_the_closed_form_gradient_of_a_linear_model(client, linear_model):
    path, weights, bias = linear_model
    image = np.random.default_rng(2).uniform(0.1, 0.9, (4, 4, 1)).astype(np.float32)
    for label in range(3):
        gradient = _linear_gradient(image, weights, bias, label)
        assert np.abs(gradient).min() > 1e-4  # no sign left to rounding
        result = client.adversarial_example(path, image, label, method="fgsm", epsilon=0.05)
        expected = np.clip(image + 0.05 * np.sign(gradient), 0, 1)
        np.testing.assert_allclose(result.image, expected, atol=1e-6)
        assert result.class_index == label and result.steps == 1


@pytest.mark.slow
def test_pgd_matches_a_numpy_pgd_with_the_closed_form_gradient(client, linear_model):
    path, weights, bias = linear_model
    image = np.random.default_rng(3).uniform(0.0, 1.0, (4, 4, 1)).astype(np.float32)
    epsilon, steps = 0.1, 5
    expected = image.astype(np.float64)
    for _ in range(steps):
        rise = np.sign(_linear_gradient(expected, weights, bias, 1))
        expected = project(expected + PGD_STEP_RATIO * epsilon / steps * rise, image, epsilon)
    result = client.adversarial_example(path, image, 1, method="pgd", epsilon=epsilon, steps=steps)
    np.testing.assert_allclose(result.image, expected, atol=1e-5)
    assert result.loss_after > result.loss_before


@pytest.mark.slow
def test_on_mnist_pgd_flips_digits_beats_fgsm_and_stays_within_epsilon(client, mnist_images):
    images, labels = mnist_images[0][:12], mnist_images[1][:12]
    epsilon = 0.1  # about 25 grey levels of 255
    results = {
        method: [
            client.adversarial_example(
                MNIST_MODEL, image, int(label), method=method, epsilon=epsilon, steps=10
            )
            for image, label in zip(images, labels, strict=True)
        ]
        for method in ("fgsm", "pgd")
    }
    for image, fgsm, pgd in zip(images, results["fgsm"], results["pgd"], strict=True):
        for result in (fgsm, pgd):
            assert np.abs(result.perturbation).max() <= epsilon + 1e-6
            assert result.image.min() >= 0.0 and result.image.max() <= 1.0
            np.testing.assert_allclose(result.image, image + result.perturbation, atol=1e-6)
            assert result.loss_after >= result.loss_before
        np.testing.assert_allclose(fgsm.probabilities_before, pgd.probabilities_before)
    flipped = [
        int(result.probabilities_after.argmax()) != int(label)
        for result, label in zip(results["pgd"], labels, strict=True)
    ]
    assert sum(flipped) >= 1
    fgsm_loss = np.mean([result.loss_after for result in results["fgsm"]])
    pgd_loss = np.mean([result.loss_after for result in results["pgd"]])
    assert pgd_loss >= fgsm_loss


@pytest.mark.slow
def test_grad_cam_before_and_after_is_the_worker_grad_cam_of_each_prediction(client, mnist_images):
    image, label = mnist_images[0][0], int(mnist_images[1][0])
    result = client.adversarial_example(MNIST_MODEL, image, label, method="pgd", epsilon=0.15)
    for picture, probabilities, cam in (
        (image, result.probabilities_before, result.cam_before),
        (result.image, result.probabilities_after, result.cam_after),
    ):
        predicted = int(probabilities.argmax())
        reference = client.grad_cam(MNIST_MODEL, picture, predicted)
        assert cam.class_index == predicted and cam.layer == reference.layer
        np.testing.assert_allclose(cam.heatmap, reference.heatmap, atol=1e-5)
        np.testing.assert_allclose(
            probabilities, client.predict(MNIST_MODEL, picture[np.newaxis])[0], atol=1e-5
        )


@pytest.mark.slow
def test_zero_epsilon_changes_nothing_and_a_class_out_of_range_is_refused(client, mnist_images):
    image = mnist_images[0][1]
    result = client.adversarial_example(MNIST_MODEL, image, 2, method="pgd", epsilon=0)
    np.testing.assert_array_equal(result.image, image)
    assert not result.perturbation.any()
    with pytest.raises(ValueError, match="class_index"):
        client.adversarial_example(MNIST_MODEL, image, 10)
    with pytest.raises(ValueError, match="expects images of shape"):
        client.adversarial_example(MNIST_MODEL, np.zeros((32, 32, 3)), 1)
