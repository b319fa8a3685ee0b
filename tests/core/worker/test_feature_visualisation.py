"""Tests for core.worker.feature_visualisation: gradient ascent on one channel, asked for
through a real worker on the bundled MNIST model (the slow ones), and its numpy helpers."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from core.jobs.inspection import LayerInfo
from core.worker.feature_visualisation import (
    JITTER,
    STEPS,
    check_channel,
    jitter_shifts,
    starting_noise,
)
from tests.conftest import ROOT
from tests.inspect_helpers import MNIST_MODEL

_OFF_ON_GREY = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, keras
from keras import layers
inputs = keras.Input((8, 8, 1))
x = layers.Conv2D(1, 3, activation="relu", name="checks")(inputs)
x = layers.MaxPooling2D(2, name="pool")(x)
model = keras.Model(inputs, layers.Dense(2, activation="softmax")(layers.Flatten()(x)))
checkerboard = np.where(np.indices((3, 3)).sum(axis=0) % 2 == 0, 1.0, -1.0)
model.get_layer("checks").set_weights([checkerboard.reshape(3, 3, 1, 1), np.array([-1.0])])
model.save(os.path.join(sys.argv[1], "checks.keras"))
"""


def test_starting_noise_is_faint_grey_in_range_and_seeded():
    noise = starting_noise((28, 28, 1), seed=3)
    assert noise.dtype == np.float32 and noise.shape == (28, 28, 1)
    assert noise.min() >= 0.0 and noise.max() <= 1.0
    assert abs(float(noise.mean()) - 0.5) < 0.01 and 0.03 < float(noise.std()) < 0.07
    np.testing.assert_array_equal(noise, starting_noise((28, 28, 1), seed=3))
    assert not np.array_equal(noise, starting_noise((28, 28, 1), seed=4))


def test_jitter_shifts_cover_the_whole_range_and_are_seeded():
    shifts = jitter_shifts(STEPS, JITTER, seed=0)
    assert set(np.unique(shifts)) == set(range(-JITTER, JITTER + 1))
    np.testing.assert_array_equal(shifts, jitter_shifts(STEPS, JITTER, seed=0))
    assert not np.array_equal(shifts, jitter_shifts(STEPS, JITTER, seed=1))


@pytest.mark.parametrize(
    ("channel", "error"), [(-1, ValueError), (8, ValueError), ("2", TypeError)]
)
def test_check_channel_refuses_channels_the_layer_lacks(channel, error):
    layer = LayerInfo("conv", "Conv2D", "conv", (6, 6, 8), 80)
    with pytest.raises(error, match="channel"):
        check_channel(layer, channel)
    assert check_channel(layer, 7) == 7


@pytest.mark.slow
@pytest.mark.parametrize(
    ("layer", "channel"), [("conv2d", 5), ("conv2d_1", 12), ("max_pooling2d_1", 40)]
)
def test_result_excites_the_channel_more_than_noise_and_the_mean_test_image(
    client, mnist_images, layer, channel
):
    result = client.feature_visualisation(MNIST_MODEL, layer, channel, seed=0)
    assert (result.layer, result.channel) == (layer, channel)
    assert result.image.shape == (28, 28, 1) and result.image.dtype == np.float32
    assert result.image.min() >= 0.0 and result.image.max() <= 1.0
    # The reported activation is the channel's mean on the returned image.
    maps = client.feature_maps(MNIST_MODEL, result.image)
    assert maps.maps[layer][..., channel].mean() == pytest.approx(result.activation, rel=1e-4)
    noise = client.feature_maps(MNIST_MODEL, starting_noise((28, 28, 1), seed=0))
    assert noise.maps[layer][..., channel].mean() == pytest.approx(
        result.start_activation, rel=1e-4, abs=1e-6
    )
    mean_image = mnist_images[0].mean(axis=0)
    on_mean = client.feature_maps(MNIST_MODEL, mean_image).maps[layer][..., channel].mean()
    best_real = max(
        client.feature_maps(MNIST_MODEL, image).maps[layer][..., channel].mean()
        for image in mnist_images[0][:20]
    )
    # Grey noise already excites first-layer filters whose weights sum above zero, so
    # "far more" is at least 1.8 times (7 to 400 times in deeper layers, measured).
    assert result.activation > 1.8 * max(result.start_activation, 0.01)
    assert result.activation > 3 * max(on_mean, 0.01)
    assert result.activation > best_real  # more than any of 20 real digits, too
    assert not result.stopped_early and result.steps == STEPS


@pytest.mark.slow
def test_a_channel_off_everywhere_on_the_noise_still_climbs(client):
    # A checkerboard filter with bias -1 gives 0.5 - 1 < 0 on grey: ReLU off, no gradient
    # through it. The climb uses a leaky ReLU before it, through the pooling too; a
    # checkerboard of 0 and 1 would give 5 - 1 = 4.
    folder = Path(tempfile.mkdtemp(prefix="convscope-checks-"))
    subprocess.run([sys.executable, "-c", _OFF_ON_GREY, str(folder)], check=True, cwd=ROOT)
    for layer in ("checks", "pool"):
        result = client.feature_visualisation(folder / "checks.keras", layer, 0)
        assert result.start_activation == 0.0
        assert result.activation > 1.0


@pytest.mark.slow
def test_first_layer_result_stays_below_its_bound_from_the_weights(client):
    # A ReLU unit of the first conv can give at most bias + the sum of its positive weights
    # (pixels in [0, 1]); the map's mean can only be lower.
    weights = client.filters(MNIST_MODEL, "conv2d")
    for channel in (0, 9):
        bound = weights.bias[channel] + np.maximum(weights.kernels[..., channel], 0).sum()
        result = client.feature_visualisation(MNIST_MODEL, "conv2d", channel, seed=1)
        assert result.start_activation < result.activation <= bound


@pytest.mark.slow
def test_same_seed_same_image_other_seed_other_image(client):
    first = client.feature_visualisation(MNIST_MODEL, "conv2d_1", 3, seed=7)
    again = client.feature_visualisation(MNIST_MODEL, "conv2d_1", 3, seed=7)
    other = client.feature_visualisation(MNIST_MODEL, "conv2d_1", 3, seed=8)
    np.testing.assert_array_equal(first.image, again.image)
    assert first.activation == again.activation
    assert not np.array_equal(first.image, other.image)


@pytest.mark.slow
def test_time_budget_stops_early_with_the_best_image_so_far(client):
    client.feature_visualisation(MNIST_MODEL, "conv2d", 1, seed=0)  # compiled once
    result = client.feature_visualisation(MNIST_MODEL, "conv2d", 1, seed=0, time_budget=0.02)
    assert result.stopped_early and result.steps < STEPS
    assert result.activation >= result.start_activation
    assert result.image.min() >= 0.0 and result.image.max() <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("layer", "channel", "message"),
    [
        ("conv9", 0, "must name a layer of"),
        ("flatten", 0, "must output feature maps"),
        ("conv2d", 32, r"at most 31 \(conv2d has 32 channels\)"),
        ("conv2d", -1, "must be >= 0"),
    ],
)
def test_refuses_a_layer_or_channel_the_model_lacks(client, layer, channel, message):
    with pytest.raises(ValueError, match=message):
        client.feature_visualisation(MNIST_MODEL, layer, channel)


def test_client_refuses_bad_arguments_before_asking_the_worker():
    from core.jobs.worker_client import WorkerClient

    client = WorkerClient()
    with pytest.raises(ValueError, match="time_budget"):
        client.feature_visualisation(MNIST_MODEL, "conv2d", 0, time_budget=0)
    with pytest.raises(TypeError, match="layer"):
        client.feature_visualisation(MNIST_MODEL, 3, 0)
    assert client.worker_pid is None  # nothing was started


@pytest.mark.slow
def test_the_worker_leaves_no_generated_code_in_the_temporary_folder(tmp_path, monkeypatch):
    """TensorFlow's autograph writes a Python file per converted function into TMPDIR and
    never removes it; the app's temporary folder must hold only its own convscope-* files."""
    from core.jobs.worker_client import WorkerClient

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # this process reads TMPDIR again
    worker = WorkerClient()
    try:
        worker.feature_visualisation(MNIST_MODEL, "conv2d_1", 2, seed=1)
        image = np.full((28, 28, 1), 0.5, dtype=np.float32)
        worker.adversarial_example(MNIST_MODEL, image, 3, method="pgd", steps=3)
    finally:
        worker.close()
    left = sorted(path.name for path in tmp_path.iterdir())
    assert all(name.startswith("convscope-") for name in left), left
