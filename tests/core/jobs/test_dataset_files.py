"""An in-memory data set written once per content for a worker, and the file-name part."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from core.jobs.dataset_files import slug, write_dataset_file


def tiny(name: str, value: int) -> SimpleNamespace:
    images = np.full((4, 2, 2), value, np.uint8)
    labels = np.array([0, 1, 0, 1])
    return SimpleNamespace(
        name=name,
        class_names=("a", "b"),
        x_train=images,
        y_train=labels,
        x_test=images[:2],
        y_test=labels[:2],
        source="image folders",
    )


def test_written_once_per_content(tmp_path):
    path = write_dataset_file(tiny("My photos!", 1), folder=tmp_path)
    assert path.name.startswith("my-photos-") and path.suffix == ".npz"
    modified = path.stat().st_mtime_ns
    assert write_dataset_file(tiny("My photos!", 1), folder=tmp_path) == path
    assert path.stat().st_mtime_ns == modified
    other = write_dataset_file(tiny("My photos!", 2), folder=tmp_path)
    assert other != path
    with np.load(other) as arrays:
        assert arrays["x_train"].max() == 2 and list(arrays["class_names"]) == ["a", "b"]


def test_slug_keeps_letters_and_digits():
    assert slug("CNN A (MNIST) 2") == "cnn-a-mnist-2"
    assert slug("x" * 60) == "x" * 40
