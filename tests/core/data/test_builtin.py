"""core.data.builtin: every source of the built-in data sets, the fallbacks, the bundled subsets."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.base import paths
from core.base.paths import PROJECT_ROOT
from core.data import builtin
from core.data.builtin import DATA_DIR_ENV, load_builtin
from core.data.image_dataset import DatasetUnavailableError
from core.worker.downloads import download_builtin
from tests.core.data.fakes import (
    make_zip,
    pets,
    tiny_arrays,
    write_cifar_cache,
    write_idx_gz,
    write_npz,
)

ROOT = PROJECT_ROOT


def test_load_builtin_reads_the_data_dir_argument(shared_data, no_sources):
    dataset = load_builtin("mnist", data_dir=shared_data)
    assert dataset.x_train.shape == (60000, 28, 28)
    assert dataset.source == f"the data folder ({shared_data / 'mnist' / 'mnist.npz'})"
    assert dataset.note == ""


def test_load_builtin_reads_the_environment_variable(shared_data, no_sources, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(shared_data))
    dataset = load_builtin("fashion_mnist")
    assert dataset.source.startswith("the data folder (")  # shown on the pages: no names of code
    assert dataset.x_test.shape == (10000, 28, 28)
    assert dataset.y_train.dtype == np.int64
    assert dataset.class_names[9] == "Ankle boot"


def test_load_builtin_marks_the_cifar10_subset_in_the_note(shared_data, no_sources):
    dataset = load_builtin("cifar10", data_dir=shared_data)
    assert dataset.image_shape == (32, 32, 3)
    assert "subset" in dataset.note and "10,000" in dataset.note


def test_load_builtin_prefers_the_full_cifar10_over_the_subset(tmp_path, no_sources):
    write_npz(tmp_path / "cifar10" / "cifar10_subset.npz", tiny_arrays((32, 32, 3), 10))
    write_npz(tmp_path / "cifar10" / "cifar10.npz", tiny_arrays((32, 32, 3), 30))
    dataset = load_builtin("cifar10", data_dir=tmp_path)
    assert len(dataset.x_train) == 30
    assert dataset.note == ""


def test_load_builtin_reads_mnist_from_the_keras_cache(no_sources):
    arrays = tiny_arrays()
    write_npz(no_sources / "datasets" / "mnist.npz", arrays)
    dataset = load_builtin("mnist")
    np.testing.assert_array_equal(dataset.x_train, arrays[0])
    np.testing.assert_array_equal(dataset.y_test, arrays[3])
    assert dataset.source == f"Keras cache ({no_sources / 'datasets' / 'mnist.npz'})"
    assert dataset.note == f"Using the Keras cache because {DATA_DIR_ENV} is not set."


def test_load_builtin_reads_fashion_mnist_idx_files_from_the_keras_cache(no_sources):
    arrays = tiny_arrays()
    folder = no_sources / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for filename, array in zip(builtin.FASHION_MNIST_CACHE_FILES, arrays, strict=True):
        write_idx_gz(folder / filename, array)
    dataset = load_builtin("fashion_mnist")
    assert dataset.source == f"Keras cache ({folder})"
    np.testing.assert_array_equal(dataset.x_test, arrays[2])
    np.testing.assert_array_equal(dataset.y_train, arrays[1])


@pytest.mark.parametrize("relative", builtin.CIFAR10_CACHE_DIRS)
def test_load_builtin_reads_cifar10_batches_from_the_keras_cache(no_sources, relative):
    arrays = tiny_arrays((32, 32, 3), num_train=25)
    folder = no_sources / "datasets" / relative
    write_cifar_cache(folder, arrays)
    dataset = load_builtin("cifar10")
    assert dataset.source == f"Keras cache ({folder})"
    np.testing.assert_array_equal(dataset.x_train, arrays[0])  # channels last, original order
    np.testing.assert_array_equal(dataset.y_train, arrays[1])


class _Touch:
    """Unpickling this would create a file: proof that a tampered batch ran code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_load_builtin_refuses_code_in_a_tampered_cifar10_batch(no_sources, tmp_path):
    folder = no_sources / "datasets" / "cifar-10-batches-py"
    write_cifar_cache(folder, tiny_arrays((32, 32, 3)))
    marker = tmp_path / "code-ran"
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": _Touch(marker), b"labels": []}))
    dataset = load_builtin("cifar10")
    assert not marker.exists()
    assert dataset.source.startswith("bundled subset")
    assert "unreadable" in dataset.note


def test_load_builtin_falls_back_to_the_bundled_subset(no_sources):
    dataset = load_builtin("mnist")
    assert dataset.source == "bundled subset (assets/data/mnist_subset.npz)"
    assert f"{DATA_DIR_ENV} is not set" in dataset.note
    assert "Keras cache" in dataset.note
    assert "6,000 training" in dataset.note


def test_load_builtin_skips_a_data_dir_without_the_file_and_says_so(tmp_path, no_sources):
    dataset = load_builtin("mnist", data_dir=tmp_path)
    assert dataset.source.startswith("bundled subset")
    assert f"the data folder ({tmp_path}) has no mnist/mnist.npz" in dataset.note


def test_load_builtin_skips_a_corrupt_npz_and_says_so(tmp_path, no_sources):
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "mnist.npz").write_bytes(b"not a zip")
    dataset = load_builtin("mnist", data_dir=tmp_path)
    assert dataset.source.startswith("bundled subset")
    assert "unreadable" in dataset.note


def test_load_builtin_skips_a_data_dir_file_with_labels_out_of_range(tmp_path, no_sources):
    x_train, y_train, x_test, y_test = tiny_arrays()
    write_npz(tmp_path / "mnist" / "mnist.npz", (x_train, y_train + 10, x_test, y_test))
    dataset = load_builtin("mnist", data_dir=tmp_path)
    assert dataset.source.startswith("bundled subset")
    assert "unreadable" in dataset.note


def test_load_builtin_prefers_the_data_dir_over_the_keras_cache(tmp_path, no_sources):
    write_npz(no_sources / "datasets" / "mnist.npz", tiny_arrays(num_train=10))
    write_npz(tmp_path / "data" / "mnist" / "mnist.npz", tiny_arrays(num_train=40))
    dataset = load_builtin("mnist", data_dir=tmp_path / "data")
    assert len(dataset.x_train) == 40


def test_load_builtin_raises_when_no_source_is_left(no_sources, monkeypatch, tmp_path):
    monkeypatch.setattr("core.data.builtin.BUNDLED_DATA_DIR", tmp_path / "missing")
    with pytest.raises(DatasetUnavailableError, match="MNIST is not available"):
        load_builtin("mnist")


def test_load_builtin_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"Received: name='svhn'"):
        load_builtin("svhn")


@pytest.mark.parametrize(
    ("name", "num_train", "num_test"),
    [("mnist", 6000, 1000), ("fashion_mnist", 6000, 1000), ("cifar10", 3000, 600)],
)
def test_bundled_subsets_have_the_documented_sizes(name, num_train, num_test):
    with np.load(paths.BUNDLED_DATA_DIR / f"{name}_subset.npz", allow_pickle=False) as data:
        assert data["x_train"].dtype == np.uint8
        assert len(data["x_train"]) == len(data["y_train"]) == num_train
        assert len(data["x_test"]) == len(data["y_test"]) == num_test


def test_bundled_mnist_subset_keeps_the_class_proportions():
    with np.load(paths.BUNDLED_DATA_DIR / "mnist_subset.npz") as data:
        counts = np.bincount(data["y_train"], minlength=10)
    full_counts = np.array([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    np.testing.assert_allclose(counts, full_counts / 10, atol=1)


def test_bundled_subsets_are_real_images_from_the_shared_data(shared_data):
    with np.load(paths.BUNDLED_DATA_DIR / "mnist_subset.npz") as subset:
        first = subset["x_train"][0]
    with np.load(shared_data / "mnist" / "mnist.npz") as full:
        assert any(np.array_equal(first, image) for image in full["x_train"][:200])


def test_bundled_data_stays_small_and_has_no_cats_or_dogs():
    files = list(paths.BUNDLED_DATA_DIR.iterdir())
    assert sum(f.stat().st_size for f in files) < 15_000_000
    assert not any("cat" in f.name.lower() and "cifar" not in f.name for f in files)
    assert (paths.BUNDLED_DATA_DIR / "LICENSES.md").is_file()


def test_download_builtin_fails_fast_offline(no_sources, monkeypatch):
    attempts = []

    def offline(address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "create_connection", offline)
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailableError, match="keras.datasets.mnist.load_data"):
        download_builtin("mnist")
    assert time.perf_counter() - start < 1
    assert attempts == [("storage.googleapis.com", 443)]


def test_download_builtin_uses_the_cache_without_the_network(no_sources, monkeypatch):
    write_npz(no_sources / "datasets" / "mnist.npz", tiny_arrays())

    def no_network(*args, **kwargs):
        raise AssertionError("download_builtin must not touch the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    assert download_builtin("mnist").source.startswith("Keras cache")


def test_datasets_functions_never_import_tensorflow(tmp_path):
    code = f"""
import sys, numpy as np
from core.data import builtin, image_folders, preprocessing, splits
dataset = builtin.load_builtin("mnist")
x = preprocessing.preprocess(
    dataset.x_train[:10], preprocessing.Preprocessing(target_size=32, color_mode="rgb")
)
splits.train_validation_split(x, dataset.y_train[:10], validation_fraction=0.5)
splits.class_counts(dataset.y_train, 10)
splits.sample_grid(dataset)
image_folders.load_image_folder_zip({make_zip(pets())!r}, image_size=16)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
print(loaded)
"""
    environment = {**os.environ, "KERAS_HOME": str(tmp_path)}
    environment.pop(DATA_DIR_ENV, None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
