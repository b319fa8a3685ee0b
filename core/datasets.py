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

>>> dataset = load_builtin("mnist")
>>> dataset.image_shape, dataset.num_classes
((28, 28, 1), 10)
>>> x = preprocess(dataset.x_train[:8], Preprocessing(target_size=32, color_mode="rgb"))
>>> x.shape, x.dtype
((8, 32, 32, 3), dtype('float32'))
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import socket
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

BUILTIN_DATASETS: tuple[str, ...] = ("mnist", "fashion_mnist", "cifar10")
DATA_DIR_ENV = "CONVSCOPE_DATA_DIR"
IMAGE_ROOT_ENV = "CONVSCOPE_IMAGE_ROOT"

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion_mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    "cifar10": (
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ),
}
DISPLAY_NAMES: dict[str, str] = {
    "mnist": "MNIST",
    "fashion_mnist": "Fashion-MNIST",
    "cifar10": "CIFAR-10",
}
# Relative paths inside a data directory, best first (the full CIFAR-10 beats the subset).
DATA_DIR_FILES: dict[str, tuple[str, ...]] = {
    "mnist": ("mnist/mnist.npz",),
    "fashion_mnist": ("fashion_mnist/fashion_mnist.npz",),
    "cifar10": ("cifar10/cifar10.npz", "cifar10/cifar10_subset.npz"),
}
BUNDLED_DATA_DIR = Path(__file__).resolve().parent.parent / "assets" / "data"
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
KERAS_DOWNLOAD_HOST = ("storage.googleapis.com", 443)
CIFAR10_DOWNLOAD_HOST = ("www.cs.toronto.edu", 443)

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})
# Operating-system clutter that is ignored silently rather than reported as "not an image".
_IGNORED_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
_IGNORED_DIRS = frozenset({"__macosx"})

COLOR_MODES = ("grayscale", "rgb")
RESIZE_MODES = ("pad", "stretch")
MIN_TARGET_SIZE, MAX_TARGET_SIZE = 8, 256
# ITU-R BT.601 luma, the weights OpenCV's COLOR_RGB2GRAY uses.
_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


# What a damaged or tampered file in a data directory or the Keras cache can raise.
_UNREADABLE_ERRORS = (
    OSError,
    ValueError,
    KeyError,
    EOFError,
    zipfile.BadZipFile,
    pickle.UnpicklingError,
)


class DatasetUnavailableError(RuntimeError):
    """A built-in data set is in no local source and cannot be downloaded right now."""


# --------------------------------------------------------------------------------------------
# The data set container
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A labelled image data set, arrays as stored (uint8 pixels, int64 labels).

    Attributes:
        name: short identifier, e.g. `"mnist"` or the name of an uploaded zip.
        class_names: one name per label, label `i` is `class_names[i]`.
        x_train: uint8 images, shape `(N, H, W)` for grayscale or `(N, H, W, 3)` for RGB.
        y_train: int64 labels, shape `(N,)`, values in `[0, num_classes)`.
        x_test: uint8 images, same layout as `x_train` (may hold zero images).
        y_test: int64 labels, shape `(M,)`.
        source: where the arrays came from, in words, for the page.
        note: why a fallback source was used, or other caveats; empty when there are none.

    Example:

    >>> dataset = load_builtin("cifar10")
    >>> dataset.image_shape
    (32, 32, 3)
    """

    name: str
    class_names: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    note: str = ""

    def __post_init__(self):
        for split in ("train", "test"):
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim not in (3, 4):
                raise ValueError(
                    f"`x_{split}` must be a uint8 array of shape (N, H, W) or (N, H, W, 3). "
                    f"Received: x_{split} with {_describe_array(x)}"
                )
            if x.ndim == 4 and x.shape[-1] != 3:
                raise ValueError(
                    f"`x_{split}` must have 3 channels when it is 4-D. "
                    f"Received: x_{split}.shape={x.shape}"
                )
            if not isinstance(y, np.ndarray) or y.ndim != 1 or len(y) != len(x):
                raise ValueError(
                    f"`y_{split}` must be a 1-D array with one label per image of `x_{split}`. "
                    f"Received: y_{split} with {_describe_array(y)}, len(x_{split})={len(x)}"
                )
            if len(y) and (y.min() < 0 or y.max() >= len(self.class_names)):
                raise ValueError(
                    f"`y_{split}` labels must be in [0, {len(self.class_names)}). "
                    f"Received: labels from {y.min()} to {y.max()}"
                )
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                "`x_train` and `x_test` must hold images of the same shape. "
                f"Received: x_train.shape={self.x_train.shape}, x_test.shape={self.x_test.shape}"
            )

    @property
    def num_classes(self) -> int:
        """Number of classes, `len(class_names)`."""
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """`(H, W, C)` of one image, with `C=1` for grayscale."""
        height, width = self.x_train.shape[1:3]
        channels = self.x_train.shape[3] if self.x_train.ndim == 4 else 1
        return (int(height), int(width), int(channels))

    @property
    def display_name(self) -> str:
        """Human-readable name, e.g. `"Fashion-MNIST"`."""
        return DISPLAY_NAMES.get(self.name, self.name)


def _describe_array(value) -> str:
    if isinstance(value, np.ndarray):
        return f"shape={value.shape}, dtype={value.dtype}"
    return f"type={type(value).__name__}"


# --------------------------------------------------------------------------------------------
# Built-in data sets
# --------------------------------------------------------------------------------------------


def keras_home() -> Path:
    """The folder Keras caches downloads in, computed the way Keras does, without importing it.

    `$KERAS_HOME` when set, else `~/.keras` (or `/tmp/.keras` when the home folder is not
    writable). Data sets live in its `datasets/` subfolder, pretrained weights in `models/`.

    >>> keras_home().name
    '.keras'
    """
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return Path(base) / ".keras"


def lookup_settings() -> tuple[str | None, str]:
    """What decides where ``load_builtin`` finds its data: ($CONVSCOPE_DATA_DIR, Keras' folder).

    Caches of loaded data sets (``st.cache_resource`` in the pages) key on this, so
    pointing the app at other data never serves an old copy.
    """
    return os.environ.get(DATA_DIR_ENV) or None, str(keras_home())


def _check_builtin_name(name) -> str:
    if name not in BUILTIN_DATASETS:
        raise ValueError(f"`name` must be one of {BUILTIN_DATASETS}. Received: name={name!r}")
    return name


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
    ((60000, 28, 28), 'data_dir argument (../shared/data/mnist/mnist.npz)')
    """
    _check_builtin_name(name)
    display = DISPLAY_NAMES[name]
    skipped: list[str] = []

    if data_dir is not None:
        directory, label = Path(data_dir), "data_dir argument"
    elif os.environ.get(DATA_DIR_ENV):
        directory, label = Path(os.environ[DATA_DIR_ENV]), DATA_DIR_ENV
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
    relative = bundled.relative_to(BUNDLED_DATA_DIR.parent.parent)
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


def download_builtin(name: str, *, timeout: float = 3.0) -> ImageDataset:
    """Make sure a built-in data set is in the Keras cache (downloading it if needed) and load it.

    For the command line and worker processes only: it imports Keras when it has to download.
    When the files are already cached it reads them like `load_builtin` does. Offline it fails
    within `timeout` seconds instead of hanging.

    Args:
        name: one of `BUILTIN_DATASETS`.
        timeout: seconds to wait for the download server to answer.

    Returns:
        The complete data set as an `ImageDataset` whose source is the Keras cache.

    Raises:
        DatasetUnavailableError: not cached and the download server cannot be reached, or
            the download failed.

    Example:

    >>> download_builtin("fashion_mnist").x_train.shape  # doctest: +SKIP
    (60000, 28, 28)
    """
    _check_builtin_name(name)
    cache = keras_home() / "datasets"
    cached = _read_keras_cache(name, cache)
    if cached is not None:
        arrays, path = cached
        return _make_builtin(name, arrays, f"Keras cache ({path})", "")

    display = DISPLAY_NAMES[name]
    host = CIFAR10_DOWNLOAD_HOST if name == "cifar10" else KERAS_DOWNLOAD_HOST
    if not can_reach(host, timeout):
        raise DatasetUnavailableError(
            f"Cannot download {display}: {host[0]} is unreachable (offline?) and the Keras cache "
            f"({cache}) does not hold it. Run `{_download_command(name)}` on a machine with "
            f"internet and copy {cache} here, or set {DATA_DIR_ENV} to a folder with "
            f"{DATA_DIR_FILES[name][0]}."
        )
    import keras  # only here: the download needs it
    from keras.src.backend.config import keras_home as keras_own_home

    try:
        getattr(keras.datasets, name).load_data()
    except Exception as error:  # noqa: BLE001 - any failure is reported the same way
        raise DatasetUnavailableError(f"Downloading {display} failed: {error}") from error
    # Keras read KERAS_HOME when it was first imported; look where it actually wrote.
    for folder in (cache, Path(keras_own_home()) / "datasets"):
        cached = _read_keras_cache(name, folder)
        if cached is not None:
            arrays, path = cached
            return _make_builtin(name, arrays, f"Keras download ({path})", "")
    raise DatasetUnavailableError(f"Downloaded {display}, but cannot find it in {cache}")


def can_reach(host: tuple[str, int], timeout: float) -> bool:
    """Whether a TCP connection to `(hostname, port)` opens within `timeout` seconds.

    >>> can_reach(("localhost", 9), timeout=0.5)  # doctest: +SKIP
    False
    """
    try:
        with socket.create_connection(host, timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# Preprocessing, split, counts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preprocessing:
    """How images become network input: size, colour and resize method.

    Attributes:
        target_size: side of the square output, 8 to 256; None keeps the native size
            (then images must already be square, or `resize_mode` must not matter).
        color_mode: `"grayscale"` (1 channel) or `"rgb"` (3 channels).
        resize_mode: `"pad"` keeps the aspect ratio, centres the image and pads with black;
            `"stretch"` resizes straight to the square.

    >>> Preprocessing(target_size=64, color_mode="rgb").output_shape
    (64, 64, 3)
    """

    target_size: int | None = None
    color_mode: str = "grayscale"
    resize_mode: str = "pad"

    def __post_init__(self):
        size = self.target_size
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, int | np.integer):
                raise TypeError(
                    f"`target_size` must be an int or None. Received: target_size={size!r}"
                )
            if not MIN_TARGET_SIZE <= size <= MAX_TARGET_SIZE:
                raise ValueError(
                    f"`target_size` must be between {MIN_TARGET_SIZE} and {MAX_TARGET_SIZE}. "
                    f"Received: target_size={size}"
                )
            object.__setattr__(self, "target_size", int(size))
        color_mode = str(self.color_mode).lower()
        if color_mode not in COLOR_MODES:
            raise ValueError(
                f"`color_mode` must be one of {COLOR_MODES}. "
                f"Received: color_mode={self.color_mode!r}"
            )
        object.__setattr__(self, "color_mode", color_mode)
        resize_mode = str(self.resize_mode).lower()
        if resize_mode not in RESIZE_MODES:
            raise ValueError(
                f"`resize_mode` must be one of {RESIZE_MODES}. "
                f"Received: resize_mode={self.resize_mode!r}"
            )
        object.__setattr__(self, "resize_mode", resize_mode)

    @property
    def channels(self) -> int:
        """1 for grayscale, 3 for RGB."""
        return 1 if self.color_mode == "grayscale" else 3

    @property
    def output_shape(self) -> tuple[int, int, int] | None:
        """`(S, S, C)`, or None when `target_size` is None (the shape depends on the images)."""
        if self.target_size is None:
            return None
        return (self.target_size, self.target_size, self.channels)

    def input_shape_for(self, image_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """The network input shape `(H, W, C)` these settings produce from `image_shape`.

        >>> Preprocessing(color_mode="rgb").input_shape_for((28, 28, 1))
        (28, 28, 3)
        """
        if self.target_size is not None:
            return (self.target_size, self.target_size, self.channels)
        return (int(image_shape[0]), int(image_shape[1]), self.channels)


def preprocess(images: np.ndarray, preprocessing: Preprocessing) -> np.ndarray:
    """Turn a batch of images into network input: colour, size, then scale to [0, 1].

    Grayscale from RGB uses the BT.601 luma weights (as `cv2.COLOR_RGB2GRAY`); RGB from
    grayscale repeats the channel. Shrinking uses area interpolation, enlarging bilinear.

    Args:
        images: uint8 (values 0..255) or float (values already in [0, 1]), shape `(N, H, W)`,
            `(N, H, W, 1)` or `(N, H, W, 3)`.
        preprocessing: the `Preprocessing` settings.

    Returns:
        float32 array of shape `(N, S, S, C)` (or `(N, H, W, C)` when `target_size` is None),
        values in [0, 1].

    Example:

    >>> batch = np.full((2, 10, 20), 255, np.uint8)
    >>> out = preprocess(batch, Preprocessing(target_size=8))
    >>> out.shape, out[0, :, 4, 0].tolist()  # padded above and below
    ((2, 8, 8, 1), [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    """
    if not isinstance(preprocessing, Preprocessing):
        raise TypeError(
            f"`preprocessing` must be a Preprocessing. Received: preprocessing={preprocessing!r}"
        )
    if not isinstance(images, np.ndarray):
        raise TypeError(f"`images` must be a numpy array. Received: type={type(images).__name__}")
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or 0 in images.shape[1:3]:
        raise ValueError(
            "`images` must have shape (N, H, W), (N, H, W, 1) or (N, H, W, 3). "
            f"Received: images.shape={images.shape}"
        )
    if images.dtype == np.uint8:
        batch = images.astype(np.float32) * np.float32(1 / 255)
    elif np.issubdtype(images.dtype, np.floating):
        batch = images.astype(np.float32, copy=True)
    else:
        raise TypeError(
            f"`images` must be uint8 or floating point. Received: images.dtype={images.dtype}"
        )

    if preprocessing.color_mode == "grayscale" and batch.shape[-1] == 3:
        batch = np.tensordot(batch, _LUMA_WEIGHTS, axes=([3], [0]))[..., np.newaxis]
    elif preprocessing.color_mode == "rgb" and batch.shape[-1] == 1:
        batch = np.repeat(batch, 3, axis=3)

    size = preprocessing.target_size
    if size is not None and batch.shape[1:3] != (size, size):
        batch = _resize_batch(batch, size, preprocessing.resize_mode)
    return np.clip(batch, 0.0, 1.0, out=batch)


def _resize_batch(batch: np.ndarray, size: int, resize_mode: str) -> np.ndarray:
    """Resize float32 `(N, H, W, C)` to `(N, size, size, C)`, stretching or padding."""
    count, height, width, channels = batch.shape
    if resize_mode == "stretch":
        new_height = new_width = size
    else:
        scale = size / max(height, width)
        new_height = max(1, round(height * scale))
        new_width = max(1, round(width * scale))
    shrinking = new_height * new_width < height * width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR

    # OpenCV resizes many channels at once: stack images as channels for speed. Its area
    # interpolation (for shrinking) takes at most 4 channels at a non-integer scale.
    step = 4 if shrinking else 128
    planes = batch.transpose(1, 2, 0, 3).reshape(height, width, count * channels)
    chunks = []
    for start in range(0, planes.shape[2], step):
        chunk = np.ascontiguousarray(planes[:, :, start : start + step])
        resized = cv2.resize(chunk, (new_width, new_height), interpolation=interpolation)
        chunks.append(resized.reshape(new_height, new_width, -1))
    resized = np.concatenate(chunks, axis=2).reshape(new_height, new_width, count, channels)
    resized = resized.transpose(2, 0, 1, 3)

    if (new_height, new_width) == (size, size):
        return np.ascontiguousarray(resized)
    output = np.zeros((count, size, size, channels), dtype=np.float32)
    top, left = (size - new_height) // 2, (size - new_width) // 2
    output[:, top : top + new_height, left : left + new_width] = resized
    return output


def _check_labels(y, name: str = "y") -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"`{name}` must be a 1-D array of integer labels. Received: {name} with "
            f"shape={labels.shape}, dtype={labels.dtype}"
        )
    if labels.size and labels.min() < 0:
        raise ValueError(f"`{name}` labels must be >= 0. Received: min({name})={labels.min()}")
    return labels


def stratified_indices(y, count: int, *, seed: int = 0) -> np.ndarray:
    """Pick `count` indices of `y` keeping the class proportions, in ascending order.

    Each class gets its share of `count` (largest remainders break ties), chosen at random
    with `numpy.random.default_rng(seed)`.

    >>> stratified_indices(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 4).size
    4
    """
    labels = _check_labels(y)
    if isinstance(count, bool) or not isinstance(count, int | np.integer):
        raise TypeError(f"`count` must be an int. Received: count={count!r}")
    if not 0 <= count <= labels.size:
        raise ValueError(f"`count` must be in [0, {labels.size}]. Received: count={count}")
    rng = np.random.default_rng(seed)
    shares = _allocate(np.bincount(labels), count)
    picked = [
        rng.choice(np.flatnonzero(labels == label), size=share, replace=False)
        for label, share in enumerate(shares)
        if share
    ]
    return np.sort(np.concatenate(picked)) if picked else np.empty(0, dtype=np.int64)


def _allocate(class_sizes: np.ndarray, total: int) -> np.ndarray:
    """Split `total` over classes in proportion to `class_sizes` (largest remainder method)."""
    exact = class_sizes * (total / class_sizes.sum())
    shares = np.floor(exact).astype(np.int64)
    remainders = exact - shares
    for label in np.argsort(-remainders, kind="stable")[: total - shares.sum()]:
        shares[label] += 1
    return np.minimum(shares, class_sizes)


def train_validation_split(
    x: np.ndarray, y: np.ndarray, *, validation_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split off a stratified, seeded validation set; both parts come back shuffled.

    Every class keeps (to the nearest image) the same share in both parts; the validation
    set has `round(N * validation_fraction)` images. Same `seed`, same split.

    Args:
        x: array with the images along the first axis, `(N, ...)`.
        y: int labels, shape `(N,)`.
        validation_fraction: share of images for validation, in (0, 1).
        seed: seed for `numpy.random.default_rng`.

    Returns:
        `(x_train, y_train, x_val, y_val)`.

    Example:

    >>> x, y = np.arange(10), np.array([0] * 5 + [1] * 5)
    >>> x_train, y_train, x_val, y_val = train_validation_split(x, y, validation_fraction=0.2)
    >>> sorted(y_val.tolist())
    [0, 1]
    """
    labels = _check_labels(y)
    if len(x) != len(labels):
        raise ValueError(
            "`x` and `y` must have the same length. "
            f"Received: len(x)={len(x)}, len(y)={len(labels)}"
        )
    if isinstance(validation_fraction, bool) or not (0 < validation_fraction < 1):
        raise ValueError(
            "`validation_fraction` must be in (0, 1). "
            f"Received: validation_fraction={validation_fraction}"
        )
    num_validation = round(len(labels) * validation_fraction)
    if not 1 <= num_validation < len(labels):
        raise ValueError(
            f"`validation_fraction`={validation_fraction} of {len(labels)} images leaves "
            f"{num_validation} for validation and {len(labels) - num_validation} for training; "
            "both need at least one."
        )
    validation = stratified_indices(labels, num_validation, seed=seed)
    is_validation = np.zeros(len(labels), dtype=bool)
    is_validation[validation] = True
    rng = np.random.default_rng([seed, 1])
    train_order = rng.permutation(np.flatnonzero(~is_validation))
    validation_order = rng.permutation(validation)
    return x[train_order], labels[train_order], x[validation_order], labels[validation_order]


def class_counts(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Number of images per class, int64 array of shape `(num_classes,)`.

    >>> class_counts(np.array([0, 2, 2]), 3).tolist()
    [1, 0, 2]
    """
    labels = _check_labels(y)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer):
        raise TypeError(f"`num_classes` must be an int. Received: num_classes={num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"`num_classes` must be >= 1. Received: num_classes={num_classes}")
    if labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"`y` labels must be < num_classes={num_classes}. Received: max(y)={labels.max()}"
        )
    return np.bincount(labels, minlength=num_classes).astype(np.int64)


def sample_grid(
    dataset: ImageDataset, *, per_class: int = 8, split: str = "train", seed: int = 0
) -> tuple[np.ndarray, ...]:
    """Indices of random example images for each class, for a grid with one row per class.

    Args:
        dataset: the `ImageDataset`.
        per_class: images per class (fewer when a class has fewer).
        split: `"train"` or `"test"`: which arrays the indices point into.
        seed: seed for `numpy.random.default_rng`.

    Returns:
        A tuple with one int64 array per class (row `c` holds indices of class `c`).

    Example:

    >>> rows = sample_grid(load_builtin("mnist"), per_class=4)
    >>> len(rows), rows[3].shape
    (10, (4,))
    """
    if not isinstance(dataset, ImageDataset):
        raise TypeError(
            f"`dataset` must be an ImageDataset. Received: type={type(dataset).__name__}"
        )
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"`per_class` must be an int >= 1. Received: per_class={per_class!r}")
    if split not in ("train", "test"):
        raise ValueError(f"`split` must be 'train' or 'test'. Received: split={split!r}")
    labels = dataset.y_train if split == "train" else dataset.y_test
    rng = np.random.default_rng(seed)
    rows = []
    for label in range(dataset.num_classes):
        members = np.flatnonzero(labels == label)
        take = min(per_class, members.size)
        rows.append(np.sort(rng.choice(members, size=take, replace=False)).astype(np.int64))
    return tuple(rows)


# --------------------------------------------------------------------------------------------
# Image folders: an uploaded zip, or a folder under a configured data root
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZipReport:
    """What happened while reading an image-folder data set (a zip or a server folder).

    Attributes:
        num_images: images kept.
        class_names: class folder names, sorted; label `i` is `class_names[i]`.
        class_counts: images per class, same order.
        skipped_non_images: files without an image extension (`.png`, `.jpg`, ...).
        skipped_unreadable: files with an image extension that OpenCV cannot decode or
            that are too large to decode safely.
        skipped_outside_classes: images at the top level, not inside a class folder.
        skipped_examples: up to 10 skipped names with the reason, for the page.
        image_size: side of the square every image was resized to.
        original_sizes: `(min_height, min_width, max_height, max_width)` before resizing.
    """

    num_images: int
    class_names: tuple[str, ...]
    class_counts: tuple[int, ...]
    skipped_non_images: int = 0
    skipped_unreadable: int = 0
    skipped_outside_classes: int = 0
    skipped_examples: tuple[str, ...] = ()
    image_size: int = 0
    original_sizes: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def num_skipped(self) -> int:
        """All skipped files together."""
        return self.skipped_non_images + self.skipped_unreadable + self.skipped_outside_classes


ImageFolderReport = ZipReport


@dataclass
class _Entry:
    parts: tuple[str, ...]
    size: int
    read: Callable[[], bytes] = field(repr=False)


def load_image_folder_zip(
    data: bytes,
    *,
    name: str = "uploaded",
    max_files: int = 5000,
    max_total_bytes: int = 200_000_000,
    max_image_pixels: int = 40_000_000,
    image_size: int = 128,
) -> tuple[ImageDataset, ZipReport]:
    """Read a zip of class folders (`cats/1.jpg`, `dogs/7.png`, ...) into an `ImageDataset`.

    One folder per class (a single enclosing folder, as made by zipping a folder, is
    unwrapped). Every image is decoded with OpenCV and resized keeping its aspect ratio,
    centred and padded with black to `image_size × image_size`, so the arrays are uniform.
    The data set is RGB unless every image is grayscale. All images go to `x_train`; the test
    arrays are empty: split with `train_validation_split`.

    Safety: entries with absolute paths or `..` components and symbolic links make the
    whole zip refused; more than `max_files` files or more than `max_total_bytes`
    uncompressed (as declared, and as actually read) too. Files that are not images,
    corrupt images and images over `max_image_pixels` are skipped and counted.

    Args:
        data: the zip file's bytes.
        name: data set name for the page.
        max_files: cap on the number of files in the zip.
        max_total_bytes: cap on the total uncompressed size.
        max_image_pixels: cap on one image's width × height (decompression bombs).
        image_size: side of the square the images are resized to, 8 to 256.

    Returns:
        `(dataset, report)`.

    Raises:
        ValueError: unsafe or unusable zip, with a message for the user; it asks for at
            least 2 classes with at least 2 images each.

    Example:

    >>> dataset, report = load_image_folder_zip(open("pets.zip", "rb").read())  # doctest: +SKIP
    >>> report.class_names, dataset.x_train.shape  # doctest: +SKIP
    (('cats', 'dogs'), (40, 128, 128, 3))
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(
            f"`data` must be the zip file's bytes. Received: type={type(data).__name__}"
        )
    _check_limits(max_files=max_files, max_total_bytes=max_total_bytes, image_size=image_size)
    try:
        archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    except zipfile.BadZipFile as error:
        raise ValueError(f"The upload is not a readable zip file ({error}).") from error

    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        for info in archive.infolist():
            _check_zip_member(info)
        if len(infos) > max_files:
            raise ValueError(
                f"The zip holds {len(infos):,} files; the limit is {max_files:,} (`max_files`)."
            )
        declared = sum(info.file_size for info in infos)
        if declared > max_total_bytes:
            raise ValueError(
                f"The zip unpacks to {declared:,} bytes; the limit is {max_total_bytes:,} "
                "(`max_total_bytes`)."
            )
        budget = {"left": max_total_bytes}

        def reader(info: zipfile.ZipInfo) -> Callable[[], bytes]:
            def read() -> bytes:
                with archive.open(info) as member:
                    content = member.read(min(info.file_size, budget["left"]) + 1)
                if len(content) > info.file_size or len(content) > budget["left"]:
                    raise ValueError(
                        f"The zip entry {info.filename!r} unpacks to more than its declared "
                        f"size or past the {max_total_bytes:,}-byte limit; refusing the zip."
                    )
                budget["left"] -= len(content)
                return content

            return read

        entries = [
            _Entry(
                PurePosixPath(info.filename.replace("\\", "/")).parts,
                info.file_size,
                reader(info),
            )
            for info in infos
        ]
        return _build_folder_dataset(
            entries, name=name, image_size=image_size, max_image_pixels=max_image_pixels
        )


def _check_limits(*, max_files, max_total_bytes, image_size):
    for argument, value, low in (
        ("max_files", max_files, 1),
        ("max_total_bytes", max_total_bytes, 1),
        ("image_size", image_size, MIN_TARGET_SIZE),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(
                f"`{argument}` must be an int >= {low}. Received: {argument}={value!r}"
            )
    if image_size > MAX_TARGET_SIZE:
        raise ValueError(
            f"`image_size` must be <= {MAX_TARGET_SIZE}. Received: image_size={image_size}"
        )


def _check_zip_member(info: zipfile.ZipInfo) -> None:
    filename = info.filename
    normalised = filename.replace("\\", "/")
    parts = normalised.split("/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        raise ValueError(f"Refusing the zip: entry {filename!r} has an absolute path.")
    if ".." in parts:
        raise ValueError(f"Refusing the zip: entry {filename!r} points outside the archive (..).")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ValueError(f"Refusing the zip: entry {filename!r} is a symbolic link.")


def load_image_folder(
    path: str | os.PathLike,
    *,
    data_root: str | os.PathLike | None,
    name: str | None = None,
    max_files: int = 5000,
    max_total_bytes: int = 200_000_000,
    max_image_pixels: int = 40_000_000,
    image_size: int = 128,
) -> tuple[ImageDataset, ZipReport]:
    """Read a server folder of class folders, refusing anything outside `data_root`.

    `path` may be relative to `data_root` or absolute; after resolving symbolic links it must
    lie inside `data_root`. Symbolic links inside the folder are skipped. Otherwise it works
    like `load_image_folder_zip` (same caps, skipping and resizing).

    Args:
        path: the folder with one subfolder per class.
        data_root: the configured root (e.g. `$CONVSCOPE_IMAGE_ROOT`); None refuses everything.
        name: data set name; defaults to the folder's name.

    Returns:
        `(dataset, report)`.

    Raises:
        ValueError: no root configured, `path` outside it or missing, or an unusable folder.

    Example:

    >>> dataset, report = load_image_folder("cats_vs_dogs/train", data_root="../shared/data")
    >>> report.class_names  # doctest: +SKIP
    ('cats', 'dogs')
    """
    _check_limits(max_files=max_files, max_total_bytes=max_total_bytes, image_size=image_size)
    folder = resolve_under_root(path, data_root=data_root)
    if not folder.is_dir():
        raise ValueError(f"`path` must be a folder. Received: path={str(path)!r}")

    entries: list[_Entry] = []
    total = 0
    for directory, subdirectories, filenames in os.walk(folder, followlinks=False):
        subdirectories[:] = sorted(
            d for d in subdirectories if not os.path.islink(os.path.join(directory, d))
        )
        for filename in sorted(filenames):
            file_path = Path(directory) / filename
            if file_path.is_symlink() or not file_path.is_file():
                continue
            size = file_path.stat().st_size
            total += size
            entries.append(_Entry(file_path.relative_to(folder).parts, size, file_path.read_bytes))
            if len(entries) > max_files:
                raise ValueError(f"The folder holds more than {max_files:,} files (`max_files`).")
            if total > max_total_bytes:
                raise ValueError(
                    f"The folder holds more than {max_total_bytes:,} bytes (`max_total_bytes`)."
                )
    return _build_folder_dataset(
        entries, name=name or folder.name, image_size=image_size, max_image_pixels=max_image_pixels
    )


def resolve_under_root(path: str | os.PathLike, *, data_root: str | os.PathLike | None) -> Path:
    """Resolve `path` (relative to `data_root`, or absolute) and refuse it outside the root.

    >>> resolve_under_root("/etc", data_root="/usr/share")
    Traceback (most recent call last):
    ValueError: `path` must be inside the data root /usr/share. Received: path='/etc'
    """
    if data_root is None or str(data_root) == "":
        raise ValueError(
            "No image data root is configured, so server folders cannot be read. "
            f"Set {IMAGE_ROOT_ENV} to the folder that holds your image data sets."
        )
    root = Path(data_root).expanduser().resolve()
    if not root.is_dir():
        raise ValueError(
            f"`data_root` must be an existing folder. Received: data_root={str(data_root)!r}"
        )
    candidate = (root / Path(path).expanduser()).resolve()
    if not candidate.is_relative_to(root):
        raise ValueError(
            f"`path` must be inside the data root {root}. Received: path={str(path)!r}"
        )
    if not candidate.exists():
        raise ValueError(f"`path` does not exist under {root}. Received: path={str(path)!r}")
    return candidate


def configured_image_root() -> Path | None:
    """The data root for server image folders, from `$CONVSCOPE_IMAGE_ROOT`, or None."""
    value = os.environ.get(IMAGE_ROOT_ENV, "")
    return Path(value) if value else None


def list_image_folders(data_root: str | os.PathLike | None) -> list[str]:
    """Names of the folders directly under `data_root` (no links), sorted, for a picker."""
    if data_root is None or not Path(data_root).is_dir():
        return []
    root = Path(data_root)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink())


def _is_ignored(parts: tuple[str, ...]) -> bool:
    """macOS / Windows clutter: `__MACOSX/`, `.DS_Store`, `._name` forks, hidden files."""
    return (
        any(part.lower() in _IGNORED_DIRS for part in parts[:-1])
        or parts[-1].lower() in _IGNORED_NAMES
        or parts[-1].startswith(".")
    )


def _build_folder_dataset(
    entries: Iterable[_Entry], *, name: str, image_size: int, max_image_pixels: int
) -> tuple[ImageDataset, ZipReport]:
    entries = [entry for entry in entries if entry.parts and not _is_ignored(entry.parts)]
    # A zip made by compressing one folder wraps everything in that folder: unwrap it.
    while (
        entries
        and all(len(e.parts) >= 2 for e in entries)
        and len({e.parts[0] for e in entries}) == 1
        and any(len(e.parts) > 2 for e in entries)
    ):
        entries = [_Entry(e.parts[1:], e.size, e.read) for e in entries]

    skipped = {"non_image": 0, "unreadable": 0, "outside": 0}
    examples: list[str] = []

    def skip(kind: str, entry: _Entry, reason: str) -> None:
        skipped[kind] += 1
        if len(examples) < 10:
            examples.append(f"{'/'.join(entry.parts)}: {reason}")

    by_class: dict[str, list[np.ndarray]] = {}
    sizes: list[tuple[int, int]] = []
    for entry in sorted(entries, key=lambda e: e.parts):
        if Path(entry.parts[-1]).suffix.lower() not in IMAGE_EXTENSIONS:
            skip("non_image", entry, "not an image file")
            continue
        if len(entry.parts) < 2:
            skip("outside", entry, "not inside a class folder")
            continue
        try:
            content = entry.read()
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            skip("unreadable", entry, f"damaged in the zip ({error})")
            continue
        image, reason = _decode_image(content, max_image_pixels)
        if image is None:
            skip("unreadable", entry, reason)
            continue
        sizes.append(image.shape[:2])
        # Resize right away so thousands of large photos never sit in memory at once.
        by_class.setdefault(entry.parts[0], []).append(_pad_resize_uint8(image, image_size))

    class_names = tuple(sorted(by_class))
    summary = f"Found {sum(map(len, by_class.values()))} images in {len(class_names)} class folders"
    if skipped["non_image"] or skipped["unreadable"] or skipped["outside"]:
        summary += (
            f" (skipped {skipped['non_image']} non-image files, {skipped['unreadable']} "
            f"unreadable images, {skipped['outside']} images outside class folders)"
        )
    if len(class_names) < 2:
        found = f" ({class_names[0]!r})" if class_names else ""
        raise ValueError(
            f"{summary}{found}. A data set needs at least 2 class folders with at least 2 "
            "images each, e.g. cats/1.jpg, cats/2.jpg, dogs/1.jpg, dogs/2.jpg."
        )
    too_small = [label for label in class_names if len(by_class[label]) < 2]
    if too_small:
        raise ValueError(
            f"{summary}. Every class needs at least 2 images; these have fewer: "
            f"{', '.join(repr(label) for label in too_small)}."
        )

    all_gray = all(image.ndim == 2 for images in by_class.values() for image in images)
    pixels, labels = [], []
    for label, class_name in enumerate(class_names):
        for image in by_class[class_name]:
            if not all_gray and image.ndim == 2:
                image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
            pixels.append(image)
            labels.append(label)
    x = np.stack(pixels)
    y = np.asarray(labels, dtype=np.int64)
    heights, widths = zip(*sizes, strict=True)
    report = ZipReport(
        num_images=len(y),
        class_names=class_names,
        class_counts=tuple(int(c) for c in np.bincount(y, minlength=len(class_names))),
        skipped_non_images=skipped["non_image"],
        skipped_unreadable=skipped["unreadable"],
        skipped_outside_classes=skipped["outside"],
        skipped_examples=tuple(examples),
        image_size=image_size,
        original_sizes=(min(heights), min(widths), max(heights), max(widths)),
    )
    dataset = ImageDataset(
        name=name,
        class_names=class_names,
        x_train=x,
        y_train=y,
        x_test=np.empty((0, *x.shape[1:]), dtype=np.uint8),
        y_test=np.empty(0, dtype=np.int64),
        source=f"image folders ({len(y)} images, resized to {image_size}×{image_size})",
        note=summary + "." if report.num_skipped else "",
    )
    return dataset, report


def _decode_image(content: bytes, max_image_pixels: int) -> tuple[np.ndarray | None, str]:
    """Decode to uint8 `(H, W)` grayscale or `(H, W, 3)` RGB; None and a reason on failure."""
    size = _header_size(content)
    if size is not None and size[0] * size[1] > max_image_pixels:
        return None, f"{size[0]}×{size[1]} pixels is over the {max_image_pixels:,} limit"
    buffer = np.frombuffer(content, dtype=np.uint8)
    try:
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED) if buffer.size else None
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        return None, "cannot be decoded (corrupt or unsupported)"
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        return None, f"unsupported pixel type {image.dtype}"
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    elif image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim != 2:
        return None, f"unsupported channel layout {image.shape}"
    return image, ""


def _header_size(content: bytes) -> tuple[int, int] | None:
    """Width and height from the image header without decoding pixels (Pillow), if known."""
    from PIL import Image  # light, and only needed here

    try:
        with Image.open(io.BytesIO(content)) as image:
            return image.size
    except Image.DecompressionBombError:
        return (2**31, 2**31)
    except Exception:  # noqa: BLE001 - unknown formats are left to OpenCV
        return None


def _pad_resize_uint8(image: np.ndarray, size: int) -> np.ndarray:
    """Resize uint8 `(H, W[, 3])` keeping the aspect ratio, centred on a black square."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_height, new_width = max(1, round(height * scale)), max(1, round(width * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_width, new_height), interpolation=interpolation)
    output = np.zeros((size, size, *image.shape[2:]), dtype=np.uint8)
    top, left = (size - new_height) // 2, (size - new_width) // 2
    output[top : top + new_height, left : left + new_width] = resized
    return output
