"""Fixtures for the tests of core.worker: tiny data sets, a runs folder, a warm worker and the
small models of the inspection tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data import builtin, preprocessing
from tests.helpers_training import write_tiny_dataset, write_tiny_rgb_dataset
from tests.inspect_helpers import build_test_models


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    """256 + 64 grayscale 8×8 images in two classes ("top", "bottom"), as an .npz."""
    return write_tiny_dataset(tmp_path_factory.mktemp("data") / "tiny.npz")


@pytest.fixture(scope="module")
def rgb_dataset(tmp_path_factory) -> Path:
    """64 + 16 RGB 32×32 images in two classes ("red", "blue"), as an .npz."""
    return write_tiny_rgb_dataset(tmp_path_factory.mktemp("rgb") / "rgb32.npz")


@pytest.fixture()
def runs_root(tmp_path) -> Path:
    """A runs folder of this test's own (not created yet)."""
    return tmp_path / "runs"


@pytest.fixture(scope="module")
def mnist_images(shared_data):
    """The first 200 MNIST test images, scaled to [0, 1] (N, 28, 28, 1), and their labels."""
    dataset = builtin.load_builtin("mnist", data_dir=shared_data)
    images = preprocessing.preprocess(dataset.x_test[:200], preprocessing.Preprocessing())
    return images, dataset.y_test[:200]


@pytest.fixture(scope="module")
def models_dir() -> Path:
    """lambda, mlp, two_inputs, vector and branchy `.keras` files (see tests.inspect_helpers)."""
    return build_test_models()
