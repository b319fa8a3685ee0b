"""Fixtures for the tests of core.jobs: tiny data sets on disk and a fresh runs folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers_training import write_tiny_dataset, write_tiny_rgb_dataset


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
