"""Downloads that only the command line and the worker may make: built-in data sets and
pretrained weights, through Keras' own cache. The app itself works offline."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from core.base.paths import keras_home
from core.data.builtin import (
    CIFAR10_DOWNLOAD_HOST,
    DATA_DIR_ENV,
    DATA_DIR_FILES,
    _check_builtin_name,
    _download_command,
    _make_builtin,
    _read_keras_cache,
)
from core.data.catalog import DISPLAY_NAMES
from core.data.image_dataset import DatasetUnavailableError, ImageDataset
from core.nets.transfer import WeightsUnavailableError

KERAS_DOWNLOAD_HOST = ("storage.googleapis.com", 443)


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

    >>> can_reach(("127.0.0.1", 9), timeout=0.5)  # nothing listens on the discard port
    False
    """
    try:
        with socket.create_connection(host, timeout=timeout):
            return True
    except OSError:
        return False


def download_weights(url: str, destination: Path, how: str) -> None:
    """Fetch the weights file into the Keras cache, or raise WeightsUnavailableError."""
    import keras

    try:
        keras.utils.get_file(
            destination.name,
            url,
            cache_subdir="models",
            cache_dir=os.fspath(destination.parent.parent),
        )
    except Exception as error:  # noqa: BLE001 - any download failure gets the same advice
        raise WeightsUnavailableError(f"Downloading {url} failed ({error}). {how}") from error
    if not destination.is_file():
        raise WeightsUnavailableError(f"Downloaded {url} but cannot find {destination}. {how}")
