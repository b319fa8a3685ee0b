"""Tiny fake data sets in every on-disk format, and image-folder zips, for the data tests."""

from __future__ import annotations

import gzip
import io
import pickle
import zipfile
from pathlib import Path

import cv2
import numpy as np

from core.data.image_dataset import ImageDataset


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


def mark_encrypted(data: bytes) -> bytes:
    """Set the "encrypted" flag bit (0x1) in every member header of a zip.

    Python's zipfile cannot write encrypted members, but it reads this flag and then asks for
    a password, as it would for a real password-protected zip.
    """
    patched = bytearray(data)
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = patched.find(signature)
        while start != -1:
            patched[start + flag_offset] |= 0x1
            start = patched.find(signature, start + 4)
    return bytes(patched)


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


def toy_dataset(labels) -> ImageDataset:
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
