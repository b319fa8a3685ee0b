"""Tiny data sets and models for the training tests: seconds, not minutes, per run."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from core.jobs.train_config import TrainConfig

IMAGE_SIZE = 8
NUM_IMAGES = 256

# Long enough that a test has to stop it: thousands of batches of 8 images.
ENDLESS = TrainConfig(epochs=1000, batch_size=8, learning_rate=0.01, snapshot_every_batches=10)

# Transfer requests: MobileNetV2 from random weights (trains offline) or from ImageNet's.
TRANSFER_RANDOM = {"transfer": "MobileNetV2", "weights": None}
TRANSFER_IMAGENET = {"transfer": "MobileNetV2", "weights": "imagenet"}
WEIGHTS_224 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


def write_tiny_dataset(path: Path, *, num_images: int = NUM_IMAGES, seed: int = 0) -> Path:
    """Write an .npz of 8×8 grayscale images in two easy classes: a bright top or bottom half.

    Args:
        path: Where to write it.
        num_images: Training images (the test set has a quarter as many).

    Returns:
        ``path``, holding ``x_train`` (uint8, N×8×8), ``y_train``, ``x_test``,
        ``y_test`` and ``class_names``.
    """
    rng = np.random.default_rng(seed)

    def make(count):
        labels = np.arange(count) % 2
        images = rng.integers(0, 60, size=(count, IMAGE_SIZE, IMAGE_SIZE))
        half = IMAGE_SIZE // 2
        images[labels == 0, :half] += 180
        images[labels == 1, half:] += 180
        return images.astype(np.uint8), labels.astype(np.uint8)

    return _save_split(path, make, num_images, ("top", "bottom"))


def _save_split(path: Path, make, num_images: int, class_names: tuple[str, ...]) -> Path:
    """Write ``make(n)``'s images as an .npz data set: a training split and a test quarter."""
    x_train, y_train = make(num_images)
    x_test, y_test = make(num_images // 4)
    np.savez(
        path,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=np.array(class_names),
    )
    return path


def tiny_spec_dict(*, filters: int = 4) -> dict:
    """A spec dict for a 8×8×1 → 2-class CNN (Conv2D, MaxPooling2D, Flatten, Dense)."""
    from core.nets.specs import ModelSpec, conv2d, dense, flatten, max_pooling2d, spec_to_dict

    spec = ModelSpec(
        "tiny_cnn",
        (IMAGE_SIZE, IMAGE_SIZE, 1),
        (conv2d(filters, 3), max_pooling2d(2), flatten(), dense(2, "softmax")),
    )
    return spec_to_dict(spec)


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.1, what: str = "condition"):
    """Call ``predicate`` until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def write_tiny_rgb_dataset(path: Path, *, size: int = 32, num_images: int = 64) -> Path:
    """Write an .npz of `size`×`size` RGB images in two classes: reddish or bluish.

    Enough for a transfer model (RGB, at least 32×32) to train a batch or two on; the
    test set has a quarter as many images.
    """
    rng = np.random.default_rng(1)

    def make(count):
        labels = np.arange(count) % 2
        images = rng.integers(0, 80, size=(count, size, size, 3))
        images[labels == 0, ..., 0] += 170
        images[labels == 1, ..., 2] += 170
        return images.astype(np.uint8), labels.astype(np.uint8)

    return _save_split(path, make, num_images, ("red", "blue"))


def start_endless(dataset: Path, runs_root: Path, **options):
    """Start a `TrainingJob` of the tiny CNN that runs until it is stopped (`ENDLESS`)."""
    from core.jobs.training_job import TrainingJob

    return TrainingJob.start(tiny_spec_dict(), dataset, ENDLESS, runs_root_dir=runs_root, **options)


def wait_until_training(job, *, min_step: int = 1):
    """Poll ``job`` until it has trained ``min_step`` batches; its `RunStatus` then."""

    def training_started():
        status = job.poll()
        assert status.state != "failed", status.error
        return status if status.step >= min_step else None

    return wait_for(training_started, timeout=90, what="training to start")
