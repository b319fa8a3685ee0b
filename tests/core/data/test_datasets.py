"""Tests for core.data.builtin: sources and fallbacks, preprocessing, split, image-folder safety."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import socket
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.base import paths
from core.base.paths import PROJECT_ROOT
from core.data import builtin, image_folders
from core.data.builtin import DATA_DIR_ENV, load_builtin
from core.data.catalog import BUILTIN_DATASETS
from core.data.image_dataset import DatasetUnavailableError, ImageDataset
from core.data.image_folders import load_image_folder, load_image_folder_zip
from core.data.preprocessing import Preprocessing, preprocess
from core.data.splits import class_counts, sample_grid, stratified_indices, train_validation_split
from core.worker.downloads import download_builtin

ROOT = PROJECT_ROOT


# --------------------------------------------------------------------------------------------
# Helpers: tiny fake data sets in every on-disk format
# --------------------------------------------------------------------------------------------


def tiny_arrays(shape=(28, 28), num_train=20, num_test=10, num_classes=10, seed=0):
    rng = np.random.default_rng(seed)
    x_train = rng.integers(0, 256, (num_train, *shape), dtype=np.uint8)
    x_test = rng.integers(0, 256, (num_test, *shape), dtype=np.uint8)
    y_train = (np.arange(num_train) % num_classes).astype(np.uint8)
    y_test = (np.arange(num_test) % num_classes).astype(np.uint8)
    return x_train, y_train, x_test, y_test


def write_npz(path: Path, arrays) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    x_train, y_train, x_test, y_test = arrays
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def write_idx_gz(path: Path, array: np.ndarray) -> None:
    """Write an idx file the way the Fashion-MNIST distribution stores them."""
    header = (2051 if array.ndim == 3 else 2049).to_bytes(4, "big")
    for dimension in array.shape:
        header += int(dimension).to_bytes(4, "big")
    with gzip.open(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


def write_cifar_cache(folder: Path, arrays) -> None:
    """Pickled batches like cifar-10-python.tar.gz: 5 training batches and a test batch."""
    folder.mkdir(parents=True)
    x_train, y_train, x_test, y_test = arrays
    x_train_chw = x_train.transpose(0, 3, 1, 2).reshape(len(x_train), -1)
    for i, part in enumerate(np.array_split(np.arange(len(x_train)), 5), start=1):
        batch = {b"data": x_train_chw[part], b"labels": [int(v) for v in y_train[part]]}
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch))
    test = {
        b"data": x_test.transpose(0, 3, 1, 2).reshape(len(x_test), -1),
        b"labels": [int(v) for v in y_test],
    }
    (folder / "test_batch").write_bytes(pickle.dumps(test))


@pytest.fixture()
def no_sources(monkeypatch, tmp_path):
    """No data dir and an empty Keras home: only the bundled subsets are left."""
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return keras_home


# --------------------------------------------------------------------------------------------
# Built-in data sets: each source
# --------------------------------------------------------------------------------------------


def test_load_builtin_reads_the_data_dir_argument(shared_data, no_sources):
    dataset = load_builtin("mnist", data_dir=shared_data)
    assert dataset.x_train.shape == (60000, 28, 28)
    assert dataset.source == f"data_dir argument ({shared_data / 'mnist' / 'mnist.npz'})"
    assert dataset.note == ""


def test_load_builtin_reads_the_environment_variable(shared_data, no_sources, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(shared_data))
    dataset = load_builtin("fashion_mnist")
    assert dataset.source.startswith(f"{DATA_DIR_ENV} (")
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
    assert f"data_dir argument ({tmp_path}) has no mnist/mnist.npz" in dataset.note


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


# --------------------------------------------------------------------------------------------
# Bundled subsets
# --------------------------------------------------------------------------------------------


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


def test_stratified_indices_is_seeded_and_proportional():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    first = stratified_indices(labels, 10, seed=3)
    assert np.array_equal(first, stratified_indices(labels, 10, seed=3))
    assert np.bincount(labels[first]).tolist() == [6, 3, 1]


# --------------------------------------------------------------------------------------------
# download_builtin
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------------------------


def test_preprocess_pad_keeps_the_aspect_ratio_and_centres():
    wide = np.full((2, 10, 20), 255, np.uint8)
    out = preprocess(wide, Preprocessing(target_size=8, resize_mode="pad"))
    assert out.shape == (2, 8, 8, 1)
    np.testing.assert_array_equal(out[0, :, :, 0].max(axis=1), [0, 0, 1, 1, 1, 1, 0, 0])
    assert out[0, 2:6].min() == 1.0


def test_preprocess_stretch_fills_the_square():
    wide = np.full((2, 10, 20), 255, np.uint8)
    out = preprocess(wide, Preprocessing(target_size=8, resize_mode="stretch"))
    assert out.shape == (2, 8, 8, 1)
    assert out.min() == 1.0


@pytest.mark.parametrize("resize_mode", ["pad", "stretch"])
@pytest.mark.parametrize(("color_mode", "channels"), [("grayscale", 1), ("rgb", 3)])
def test_preprocess_shapes_and_range(resize_mode, color_mode, channels):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 20, 3), dtype=np.uint8)
    settings = Preprocessing(target_size=48, color_mode=color_mode, resize_mode=resize_mode)
    out = preprocess(images, settings)
    assert out.shape == (5, 48, 48, channels)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert settings.output_shape == (48, 48, channels)


def test_preprocess_grayscale_matches_opencv():
    rgb = np.random.default_rng(1).integers(0, 256, (3, 9, 9, 3), dtype=np.uint8)
    out = preprocess(rgb, Preprocessing(color_mode="grayscale"))
    for image, gray in zip(rgb, out, strict=True):
        reference = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2GRAY)
        np.testing.assert_allclose(gray[:, :, 0], reference, atol=1e-6)


def test_preprocess_rgb_repeats_a_grayscale_channel():
    gray = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    out = preprocess(gray, Preprocessing(color_mode="rgb"))
    assert out.shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    np.testing.assert_allclose(out[..., 1], gray / 255, rtol=1e-6)


def test_preprocess_resize_matches_per_image_opencv():
    images = np.random.default_rng(2).integers(0, 256, (300, 28, 28), dtype=np.uint8)
    out = preprocess(images, Preprocessing(target_size=40, resize_mode="stretch"))
    for index in (0, 150, 299):  # across the 128-channel chunks
        reference = cv2.resize(images[index].astype(np.float32) / 255, (40, 40))
        np.testing.assert_allclose(out[index, :, :, 0], np.clip(reference, 0, 1), atol=1e-6)


def test_preprocess_without_target_size_keeps_the_native_size():
    out = preprocess(np.zeros((4, 28, 28), np.uint8), Preprocessing())
    assert out.shape == (4, 28, 28, 1)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"target_size": 4}, "Received: target_size=4"),
        ({"target_size": 300}, "Received: target_size=300"),
        ({"color_mode": "cmyk"}, "Received: color_mode='cmyk'"),
        ({"resize_mode": "crop"}, "Received: resize_mode='crop'"),
    ],
)
def test_preprocessing_validates_its_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        Preprocessing(**arguments)


def test_preprocess_rejects_two_channel_images():
    with pytest.raises(ValueError, match=r"images.shape=\(1, 4, 4, 2\)"):
        preprocess(np.zeros((1, 4, 4, 2), np.uint8), Preprocessing())


# --------------------------------------------------------------------------------------------
# Split, counts, sample grid
# --------------------------------------------------------------------------------------------


def test_split_is_stratified():
    y = np.array([0] * 100 + [1] * 50)
    _, y_train, _, y_val = train_validation_split(np.arange(150), y, validation_fraction=0.2)
    assert np.bincount(y_val).tolist() == [20, 10]
    assert np.bincount(y_train).tolist() == [80, 40]


def test_split_partitions_the_images():
    x = np.arange(100)
    y = x % 3
    x_train, y_train, x_val, y_val = train_validation_split(x, y, validation_fraction=0.3)
    assert sorted(np.concatenate([x_train, x_val]).tolist()) == list(range(100))
    np.testing.assert_array_equal(y_train, x_train % 3)
    np.testing.assert_array_equal(y_val, x_val % 3)


def test_split_is_seeded():
    x, y = np.arange(200), np.arange(200) % 4
    first = train_validation_split(x, y, seed=7)
    again = train_validation_split(x, y, seed=7)
    other = train_validation_split(x, y, seed=8)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[2], other[2])


def test_split_rejects_a_fraction_outside_zero_one():
    with pytest.raises(ValueError) as error:
        train_validation_split(np.arange(10), np.arange(10) % 2, validation_fraction=1.5)
    assert str(error.value) == (
        "`validation_fraction` must be in (0, 1). Received: validation_fraction=1.5"
    )


def test_split_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r"len\(x\)=3, len\(y\)=4"):
        train_validation_split(np.arange(3), np.arange(4))


def test_class_counts_counts_every_class():
    assert class_counts(np.array([0, 2, 2, 2]), 4).tolist() == [1, 0, 3, 0]


def test_class_counts_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match="max\\(y\\)=5"):
        class_counts(np.array([0, 5]), 3)


def _toy_dataset(labels) -> ImageDataset:
    labels = np.asarray(labels, dtype=np.int64)
    return ImageDataset(
        name="toy",
        class_names=("a", "b", "c"),
        x_train=np.zeros((len(labels), 4, 4), np.uint8),
        y_train=labels,
        x_test=np.zeros((0, 4, 4), np.uint8),
        y_test=np.zeros(0, np.int64),
        source="test",
    )


def test_sample_grid_gives_indices_of_each_class():
    dataset = _toy_dataset([0, 1, 2] * 10 + [2] * 5)
    rows = sample_grid(dataset, per_class=4, seed=1)
    assert [row.size for row in rows] == [4, 4, 4]
    for label, row in enumerate(rows):
        assert (dataset.y_train[row] == label).all()
    assert all(
        np.array_equal(a, b)
        for a, b in zip(rows, sample_grid(dataset, per_class=4, seed=1), strict=True)
    )


def test_sample_grid_returns_fewer_for_a_small_class():
    rows = sample_grid(_toy_dataset([0] * 9 + [1] * 2 + [2] * 9), per_class=5)
    assert [row.size for row in rows] == [5, 2, 5]


def test_image_dataset_reports_grayscale_as_one_channel():
    assert _toy_dataset([0, 1, 2]).image_shape == (4, 4, 1)


# --------------------------------------------------------------------------------------------
# Image-folder zips: happy path and every safety case
# --------------------------------------------------------------------------------------------


def png(height=12, width=8, color=True, value=200) -> bytes:
    shape = (height, width, 3) if color else (height, width)
    ok, encoded = cv2.imencode(".png", np.full(shape, value, np.uint8))
    assert ok
    return encoded.tobytes()


def make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def pets(extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    files = {
        "cats/1.png": png(12, 8),
        "cats/2.png": png(20, 20, color=False),
        "cats/3.jpg": cv2.imencode(".jpg", np.zeros((30, 10, 3), np.uint8))[1].tobytes(),
        "dogs/a.png": png(8, 16),
        "dogs/b.png": png(8, 8),
    }
    files.update(extra or {})
    return files


def test_zip_of_class_folders_loads_resized_images():
    dataset, report = load_image_folder_zip(make_zip(pets()), image_size=32)
    assert dataset.class_names == ("cats", "dogs")
    assert dataset.x_train.shape == (5, 32, 32, 3)
    assert dataset.y_train.tolist() == [0, 0, 0, 1, 1]
    assert dataset.x_test.shape == (0, 32, 32, 3)
    assert report.class_counts == (3, 2)
    assert report.original_sizes == (8, 8, 30, 20)


def test_zip_pads_images_to_keep_their_aspect_ratio():
    files = {
        "a/1.png": png(8, 16, value=255),
        "a/2.png": png(8, 16),
        "b/1.png": png(),
        "b/2.png": png(),
    }
    dataset, _ = load_image_folder_zip(make_zip(files), image_size=16)
    image = dataset.x_train[0]
    assert image[:4].max() == 0 and image[12:].max() == 0  # black bars above and below
    assert image[4:12].min() == 255


def test_zip_of_grayscale_images_stays_grayscale():
    files = {f"{c}/{i}.png": png(color=False) for c in "ab" for i in range(2)}
    dataset, _ = load_image_folder_zip(make_zip(files), image_size=16)
    assert dataset.x_train.shape == (4, 16, 16)


def test_zip_unwraps_a_single_enclosing_folder_and_ignores_macos_clutter():
    files = {f"pets/{name}": content for name, content in pets().items()}
    files["__MACOSX/pets/cats/._1.png"] = b"resource fork"
    files["pets/.DS_Store"] = b"finder"
    dataset, report = load_image_folder_zip(make_zip(files), image_size=16)
    assert dataset.class_names == ("cats", "dogs")
    assert report.num_skipped == 0


@pytest.mark.parametrize("name", ["../evil.png", "cats/../../evil.png"])
def test_zip_refuses_path_traversal(name):
    with pytest.raises(ValueError, match="outside the archive"):
        load_image_folder_zip(make_zip(pets({name: png()})))


@pytest.mark.parametrize("name", ["/etc/evil.png", "C:/evil.png"])
def test_zip_refuses_absolute_paths(name):
    with pytest.raises(ValueError, match="absolute path"):
        load_image_folder_zip(make_zip(pets({name: png()})))


def test_zip_refuses_symbolic_links():
    buffer = io.BytesIO(make_zip(pets()))
    with zipfile.ZipFile(buffer, "a") as archive:
        link = zipfile.ZipInfo("cats/link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(ValueError, match="symbolic link"):
        load_image_folder_zip(buffer.getvalue())


def test_zip_refuses_too_many_files():
    with pytest.raises(ValueError, match="holds 5 files; the limit is 4"):
        load_image_folder_zip(make_zip(pets()), max_files=4)


def test_zip_refuses_too_many_uncompressed_bytes():
    files = pets({"dogs/big.png": b"\0" * 100_000})  # compresses to almost nothing
    with pytest.raises(ValueError, match="the limit is 50,000"):
        load_image_folder_zip(make_zip(files), max_total_bytes=50_000)


def _understate_size(data: bytes, name: str, size: int) -> bytes:
    """Rewrite the uncompressed size of `name` in both zip headers, as a zip bomb would."""
    patched, encoded = bytearray(data), name.encode()
    for signature, size_offset, length_offset, name_offset in (
        (b"PK\x01\x02", 24, 28, 46),  # central directory
        (b"PK\x03\x04", 22, 26, 30),  # local header
    ):
        start = patched.find(signature)
        while start != -1:
            length = int.from_bytes(
                patched[start + length_offset : start + length_offset + 2], "little"
            )
            if patched[start + name_offset : start + name_offset + length] == encoded:
                patched[start + size_offset : start + size_offset + 4] = size.to_bytes(4, "little")
            start = patched.find(signature, start + 4)
    return bytes(patched)


def test_zip_entry_with_an_understated_size_is_skipped_as_damaged():
    data = _understate_size(make_zip(pets({"dogs/c.png": png(40, 40)})), "dogs/c.png", 10)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.getinfo("dogs/c.png").file_size == 10
    dataset, report = load_image_folder_zip(data, image_size=16)
    assert report.skipped_unreadable == 1
    assert len(dataset.x_train) == 5


def test_zip_skips_and_counts_non_images():
    files = pets({"cats/readme.txt": b"hello", "notes.md": b"# notes"})
    dataset, report = load_image_folder_zip(make_zip(files), image_size=16)
    assert report.skipped_non_images == 2
    assert len(dataset.x_train) == 5
    assert any("readme.txt" in example for example in report.skipped_examples)


def test_zip_skips_and_counts_images_outside_class_folders():
    _, report = load_image_folder_zip(make_zip(pets({"loose.png": png()})), image_size=16)
    assert report.skipped_outside_classes == 1


def test_zip_skips_and_counts_corrupt_images():
    files = pets({"dogs/broken.png": png()[:30], "dogs/garbage.jpg": b"\xff\xd8 not a jpeg"})
    dataset, report = load_image_folder_zip(make_zip(files), image_size=16)
    assert report.skipped_unreadable == 2
    assert dataset.y_train.tolist().count(1) == 2


def test_zip_skips_images_over_the_pixel_cap():
    files = pets({"dogs/huge.png": png(40, 40)})
    _, report = load_image_folder_zip(make_zip(files), max_image_pixels=1000, image_size=16)
    assert report.skipped_unreadable == 1
    assert "over the 1,000 limit" in report.skipped_examples[0]


def test_zip_needs_two_classes():
    files = {"cats/1.png": png(), "cats/2.png": png()}
    with pytest.raises(ValueError, match="at least 2 class folders"):
        load_image_folder_zip(make_zip(files))


def test_zip_needs_two_images_per_class():
    files = {"cats/1.png": png(), "cats/2.png": png(), "dogs/1.png": png()}
    with pytest.raises(ValueError, match="these have fewer: 'dogs'"):
        load_image_folder_zip(make_zip(files))


def test_zip_refuses_bytes_that_are_not_a_zip():
    with pytest.raises(ValueError, match="not a readable zip"):
        load_image_folder_zip(b"PK but not really")


# --------------------------------------------------------------------------------------------
# Server image folders: confined to the data root
# --------------------------------------------------------------------------------------------


@pytest.fixture()
def image_root(tmp_path) -> Path:
    root = tmp_path / "root"
    for name, content in pets().items():
        path = root / "pets" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


def test_image_folder_under_the_root_loads(image_root):
    dataset, report = load_image_folder("pets", data_root=image_root, image_size=16)
    assert dataset.name == "pets"
    assert report.class_names == ("cats", "dogs")
    assert len(dataset.x_train) == 5


def test_image_folder_outside_the_root_is_refused(image_root, tmp_path):
    (tmp_path / "elsewhere" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="must be inside the data root"):
        load_image_folder(tmp_path / "elsewhere", data_root=image_root)


def test_image_folder_refuses_dot_dot_escapes(image_root):
    with pytest.raises(ValueError, match="must be inside the data root"):
        load_image_folder("pets/../..", data_root=image_root)


def test_image_folder_refuses_a_symlink_that_leaves_the_root(image_root, tmp_path):
    outside = tmp_path / "outside"
    (outside / "a").mkdir(parents=True)
    os.symlink(outside, image_root / "sneaky")
    with pytest.raises(ValueError, match="must be inside the data root"):
        load_image_folder("sneaky", data_root=image_root)


def test_image_folder_skips_symlinked_files(image_root, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(png())
    os.symlink(secret, image_root / "pets" / "dogs" / "secret.png")
    dataset, _ = load_image_folder("pets", data_root=image_root, image_size=16)
    assert len(dataset.x_train) == 5


def test_image_folder_needs_a_configured_root(image_root):
    with pytest.raises(ValueError, match=image_folders.IMAGE_ROOT_ENV):
        load_image_folder(image_root / "pets", data_root=None)


def test_image_folder_reads_the_shared_cats_and_dogs(shared_data):
    dataset, report = load_image_folder("cats_vs_dogs/train", data_root=shared_data, image_size=64)
    assert report.class_names == ("cats", "dogs")
    assert report.class_counts == (1000, 1000)
    assert dataset.x_train.shape == (2000, 64, 64, 3)


# --------------------------------------------------------------------------------------------
# The Streamlit server must never load TensorFlow through this module
# --------------------------------------------------------------------------------------------


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


def test_builtin_names_are_the_contract():
    assert BUILTIN_DATASETS == ("mnist", "fashion_mnist", "cifar10")


def test_list_image_folders_offers_real_folders_only(image_root, tmp_path):
    (image_root / "notes.txt").write_text("not a folder")
    os.symlink(tmp_path, image_root / "link")
    assert image_folders.list_image_folders(image_root) == ["pets"]


def test_configured_image_root_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(image_folders.IMAGE_ROOT_ENV, str(tmp_path))
    assert image_folders.configured_image_root() == tmp_path
    monkeypatch.delenv(image_folders.IMAGE_ROOT_ENV)
    assert image_folders.configured_image_root() is None


@pytest.mark.parametrize(("count", "color_mode"), [(10, "grayscale"), (3, "rgb")])
@pytest.mark.parametrize("resize_mode", ["pad", "stretch"])
def test_shrinking_a_batch_matches_resizing_each_image(count, color_mode, resize_mode):
    """28 → 16 is a non-integer shrink, where OpenCV's area resize takes few channels."""
    rng = np.random.default_rng(0)
    shape = (count, 28, 28) if color_mode == "grayscale" else (count, 28, 28, 3)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    out = preprocess(
        images, Preprocessing(target_size=16, color_mode=color_mode, resize_mode=resize_mode)
    )
    assert out.shape == (count, 16, 16, 1 if color_mode == "grayscale" else 3)
    for index in range(count):
        single = preprocess(
            images[index : index + 1],
            Preprocessing(target_size=16, color_mode=color_mode, resize_mode=resize_mode),
        )
        np.testing.assert_allclose(out[index], single[0], atol=1e-6)
