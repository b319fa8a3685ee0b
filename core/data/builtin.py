"""Image data sets for training: built-in MNIST, Fashion-MNIST and CIFAR-10, and image folders.

Everything here is plain numpy and OpenCV. TensorFlow and Keras are never imported at module
level, and the functions the Streamlit server calls (`load_builtin`, `preprocess`,
`train_validation_split`, `load_image_folder_zip`, `load_image_folder`, `class_counts`,
`sample_grid`) never import them at all: once TensorFlow is loaded in the server process, every
rerun pays for `keras.backend.clear_session()`. Only `download_builtin`, meant for the command
line and worker processes, may import Keras.

A built-in data set is looked up in this order, and `ImageDataset.source` says which one won:

1. a data directory (the `data_dir` argument, else the `CONVSCOPE_DATA_DIR` environment
   variable) holding `mnist/mnist.npz`, `fashion_mnist/fashion_mnist.npz` and
   `cifar10/cifar10.npz` or `cifar10/cifar10_subset.npz`, in the layout
   `keras.datasets.<name>.load_data()` returns;
2. the files Keras itself caches under `$KERAS_HOME/datasets` (default `~/.keras/datasets`),
   read directly with numpy, so nothing is ever downloaded here;
3. a small stratified subset bundled in `assets/data/`, so the app works offline.

Example:

>>> from core.data.preprocessing import Preprocessing, preprocess
>>> dataset = load_builtin("mnist")
>>> dataset.image_shape, dataset.num_classes
((28, 28, 1), 10)
>>> x = preprocess(dataset.x_train[:8], Preprocessing(target_size=32, color_mode="rgb"))
>>> x.shape, x.dtype
((8, 32, 32, 3), dtype('float32'))
"""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np

from core.base.checks import check_choice
from core.base.paths import BUNDLED_DATA_DIR, PROJECT_ROOT, keras_home
from core.data.catalog import BUILTIN_DATASETS, CLASS_NAMES, DISPLAY_NAMES
from core.data.image_dataset import DatasetUnavailableError, ImageDataset
from core.data.image_folders import _UNREADABLE_ERRORS, ZipReport

DATA_DIR_ENV = "CONVSCOPE_DATA_DIR"


DATA_FOLDER_LABEL = "the data folder"  # what the pages call a data directory: no argument names


# Relative paths inside a data directory, best first (the full CIFAR-10 beats the subset).
DATA_DIR_FILES: dict[str, tuple[str, ...]] = {
    "mnist": ("mnist/mnist.npz",),
    "fashion_mnist": ("fashion_mnist/fashion_mnist.npz",),
    "cifar10": ("cifar10/cifar10.npz", "cifar10/cifar10_subset.npz"),
}


BUNDLED_FILES: dict[str, str] = {name: f"{name}_subset.npz" for name in BUILTIN_DATASETS}


FASHION_MNIST_CACHE_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


# Keras 3 extracts CIFAR-10 into a "-target" folder; Keras 2 and tf.keras did not.
CIFAR10_CACHE_DIRS = (
    "cifar-10-batches-py-target/cifar-10-batches-py",
    "cifar-10-batches-py",
)


CIFAR10_DOWNLOAD_HOST = ("www.cs.toronto.edu", 443)


def lookup_settings() -> tuple[str | None, str]:
    """What decides where ``load_builtin`` finds its data: ($CONVSCOPE_DATA_DIR, Keras' folder).

    Caches of loaded data sets (``st.cache_resource`` in the pages) key on this, so
    pointing the app at other data never serves an old copy.
    """
    return os.environ.get(DATA_DIR_ENV) or None, str(keras_home())


def _check_builtin_name(name) -> str:
    return check_choice(name, "name", BUILTIN_DATASETS)


def load_builtin(name: str, *, data_dir: str | os.PathLike | None = None) -> ImageDataset:
    """Load MNIST, Fashion-MNIST or CIFAR-10 from the best local source; never downloads.

    Sources, in order: `data_dir` (or `$CONVSCOPE_DATA_DIR` when `data_dir` is None), the
    Keras cache (`$KERAS_HOME/datasets`), the bundled subset in `assets/data/`. A source that
    is missing or unreadable is skipped and the reason lands in `ImageDataset.note`.

    Args:
        name: one of `BUILTIN_DATASETS`: `"mnist"`, `"fashion_mnist"`, `"cifar10"`.
        data_dir: folder with `mnist/mnist.npz`, `fashion_mnist/fashion_mnist.npz`,
            `cifar10/cifar10.npz` or `cifar10/cifar10_subset.npz`.

    Returns:
        An `ImageDataset`: uint8 `(N, 28, 28)` for the MNISTs, `(N, 32, 32, 3)` for CIFAR-10.

    Raises:
        ValueError: unknown `name`.
        DatasetUnavailableError: no source at all (only when the bundled subset was removed).

    Example:

    >>> dataset = load_builtin("mnist", data_dir="../shared/data")
    >>> dataset.x_train.shape, dataset.source
    ((60000, 28, 28), 'the data folder (../shared/data/mnist/mnist.npz)')
    """
    _check_builtin_name(name)
    display = DISPLAY_NAMES[name]
    skipped: list[str] = []

    if data_dir is not None:
        directory, label = Path(data_dir), DATA_FOLDER_LABEL
    elif os.environ.get(DATA_DIR_ENV):
        directory, label = Path(os.environ[DATA_DIR_ENV]), DATA_FOLDER_LABEL
    else:
        directory, label = None, None
        skipped.append(f"{DATA_DIR_ENV} is not set")
    if directory is not None:
        candidates = [directory / relative for relative in DATA_DIR_FILES[name]]
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            expected = " or ".join(DATA_DIR_FILES[name])
            skipped.append(f"{label} ({directory}) has no {expected}")
        else:
            try:
                arrays = _read_npz(found)
                note = ""
                if found.name.endswith("_subset.npz"):
                    note = f"{display} subset ({len(arrays[0]):,} training images)."
                return _make_builtin(name, arrays, f"{label} ({found})", note)
            except _UNREADABLE_ERRORS as error:
                skipped.append(f"{found} is unreadable ({error})")

    cache = keras_home() / "datasets"
    try:
        result = _read_keras_cache(name, cache)
        if result is not None:
            arrays, path = result
            note = f"Using the Keras cache because {_join_note(skipped, end='')}."
            return _make_builtin(name, arrays, f"Keras cache ({path})", note)
    except _UNREADABLE_ERRORS as error:
        skipped.append(f"the Keras cache ({cache}) is unreadable ({error})")
    else:
        skipped.append(f"the Keras cache ({cache}) has no {display}")

    bundled = BUNDLED_DATA_DIR / BUNDLED_FILES[name]
    if not bundled.is_file():
        raise DatasetUnavailableError(
            f"{display} is not available: {'; '.join(skipped)}; and the bundled subset "
            f"{bundled} is missing. Set {DATA_DIR_ENV} to a folder with "
            f"{DATA_DIR_FILES[name][0]}, or run `{_download_command(name)}` online."
        )
    arrays = _read_npz(bundled)
    note = (
        f"Using a small bundled subset of {display} ({len(arrays[0]):,} training and "
        f"{len(arrays[2]):,} test images) because {_join_note(skipped, end='')}. For the full "
        f"data set, point {DATA_DIR_ENV} at a folder with {DATA_DIR_FILES[name][0]}, "
        f"or run `{_download_command(name)}` once while online."
    )
    relative = bundled.relative_to(PROJECT_ROOT)
    return _make_builtin(name, arrays, f"bundled subset ({relative})", note)


def _join_note(reasons: list[str], end: str = ".") -> str:
    if not reasons:
        return ""
    return "; ".join(reasons) + end


def _download_command(name: str) -> str:
    return f'python -c "import keras; keras.datasets.{name}.load_data()"'


def _make_builtin(name, arrays, source, note) -> ImageDataset:
    x_train, y_train, x_test, y_test = arrays
    return ImageDataset(
        name=name,
        class_names=CLASS_NAMES[name],
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        source=source,
        note=note,
    )


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        arrays = tuple(archive[key] for key in ("x_train", "y_train", "x_test", "y_test"))
    return _normalise_arrays(*arrays, origin=str(path))


def _normalise_arrays(x_train, y_train, x_test, y_test, *, origin: str):
    """uint8 images as stored, int64 labels flattened from (N,) or (N, 1)."""
    labels = []
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.dtype != np.uint8:
            raise ValueError(f"{origin}: x_{split} must be uint8. Received: dtype={x.dtype}")
        y = np.asarray(y).reshape(-1).astype(np.int64)
        if len(y) != len(x):
            raise ValueError(
                f"{origin}: x_{split} has {len(x)} images but y_{split} has {len(y)} labels"
            )
        labels.append(y)
    return x_train, labels[0], x_test, labels[1]


def _read_keras_cache(name: str, cache: Path):
    """Arrays and the path read from Keras' own cache, or None when the files are not there."""
    if name == "mnist":
        path = cache / "mnist.npz"
        return (_read_npz(path), path) if path.is_file() else None
    if name == "fashion_mnist":
        folder = cache / "fashion-mnist"
        paths = [folder / filename for filename in FASHION_MNIST_CACHE_FILES]
        if not all(path.is_file() for path in paths):
            return None
        x_train, y_train, x_test, y_test = (_read_idx_gz(path) for path in paths)
        arrays = _normalise_arrays(x_train, y_train, x_test, y_test, origin=str(folder))
        return arrays, folder
    for relative in CIFAR10_CACHE_DIRS:
        folder = cache / relative
        batches = [folder / f"data_batch_{i}" for i in range(1, 6)] + [folder / "test_batch"]
        if all(path.is_file() for path in batches):
            parts = [_read_cifar_batch(path) for path in batches]
            x_train = np.concatenate([images for images, _ in parts[:5]])
            y_train = np.concatenate([labels for _, labels in parts[:5]])
            x_test, y_test = parts[5]
            arrays = _normalise_arrays(x_train, y_train, x_test, y_test, origin=str(folder))
            return arrays, folder
    return None


def _read_idx_gz(path: Path) -> np.ndarray:
    """Read a gzipped idx file (uint8 labels with magic 2049 or images with magic 2051)."""
    with gzip.open(path, "rb") as file:
        data = file.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic == 2049:
        count = int.from_bytes(data[4:8], "big")
        labels = np.frombuffer(data, dtype=np.uint8, offset=8)
        if labels.size != count:
            raise ValueError(f"{path}: expected {count} labels, found {labels.size}")
        return labels.copy()
    if magic == 2051:
        count, rows, cols = (int.from_bytes(data[i : i + 4], "big") for i in (4, 8, 12))
        images = np.frombuffer(data, dtype=np.uint8, offset=16)
        if images.size != count * rows * cols:
            raise ValueError(f"{path}: expected {count}×{rows}×{cols} pixels, found {images.size}")
        return images.reshape(count, rows, cols).copy()
    raise ValueError(f"{path}: not an idx file of uint8 images or labels (magic number {magic})")


# Globals needed to rebuild the numpy arrays in CIFAR-10's pickled batches, and nothing else,
# so a tampered cache file cannot run code.
_ALLOWED_PICKLE_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }
)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED_PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load `{module}.{name}` from a CIFAR-10 batch")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickled CIFAR-10 batch → uint8 `(N, 32, 32, 3)` images and their labels."""
    with open(path, "rb") as file:
        batch = _NumpyOnlyUnpickler(file, encoding="bytes").load()
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path}: not a CIFAR-10 batch (needs 'data' and 'labels')")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(batch[b"labels"], dtype=np.int64)


ImageFolderReport = ZipReport
