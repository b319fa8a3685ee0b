"""Tests for core.worker.downloads, offline: nothing is downloaded. A closed port on this
machine stands in for an unreachable server; a file in a temporary Keras cache for a
finished download."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from core.data.image_dataset import DatasetUnavailableError
from core.nets.transfer import WeightsUnavailableError
from core.worker import downloads


@pytest.fixture()
def closed_port() -> tuple[str, int]:
    """A local address where nothing listens (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = probe.getsockname()
    return address


@pytest.fixture()
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache of this test's own."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    return tmp_path / "keras-home"


def test_a_closed_local_port_is_unreachable_at_once(closed_port):
    started = time.monotonic()
    assert downloads.can_reach(closed_port, timeout=5.0) is False
    assert time.monotonic() - started < 1.0  # refused, not waited out


def test_a_listening_local_port_is_reachable():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert downloads.can_reach(server.getsockname(), timeout=5.0) is True


def test_an_unknown_data_set_is_refused_naming_it():
    with pytest.raises(ValueError, match="Received: name='imagenet'"):
        downloads.download_builtin("imagenet")


def test_a_cached_data_set_is_read_from_the_keras_cache_without_downloading(
    keras_home, closed_port, monkeypatch
):
    monkeypatch.setattr(downloads, "KERAS_DOWNLOAD_HOST", closed_port)
    (keras_home / "datasets").mkdir(parents=True)
    images = np.arange(5 * 28 * 28, dtype=np.uint8).reshape(5, 28, 28)
    np.savez(
        keras_home / "datasets" / "mnist.npz",
        x_train=images,
        y_train=np.arange(5),
        x_test=images[:2],
        y_test=np.array([[3], [4]]),
    )
    dataset = downloads.download_builtin("mnist")
    np.testing.assert_array_equal(dataset.x_train, images)
    assert dataset.y_test.tolist() == [3, 4]
    assert dataset.source.startswith("Keras cache (")
    assert str(keras_home / "datasets" / "mnist.npz") in dataset.source


@pytest.mark.parametrize(
    ("name", "host_setting"),
    [("fashion_mnist", "KERAS_DOWNLOAD_HOST"), ("cifar10", "CIFAR10_DOWNLOAD_HOST")],
)
def test_offline_and_not_cached_fails_quickly_saying_what_to_do(
    keras_home, closed_port, monkeypatch, name, host_setting
):
    monkeypatch.setattr(downloads, host_setting, closed_port)
    started = time.monotonic()
    with pytest.raises(DatasetUnavailableError) as error:
        downloads.download_builtin(name, timeout=5.0)
    assert time.monotonic() - started < 2.0
    message = str(error.value)
    assert f"{closed_port[0]} is unreachable (offline?)" in message
    assert str(keras_home / "datasets") in message
    assert f"keras.datasets.{name}.load_data()" in message
    assert "CONVSCOPE_DATA_DIR" in message


@pytest.mark.slow
def test_weights_that_cannot_be_fetched_raise_with_the_advice_and_leave_no_file(
    closed_port, tmp_path
):
    destination = tmp_path / "keras-home" / "models" / "weights.h5"
    url = f"http://{closed_port[0]}:{closed_port[1]}/weights.h5"
    with pytest.raises(WeightsUnavailableError) as error:
        downloads.download_weights(url, destination, "Copy weights.h5 there by hand.")
    message = str(error.value)
    assert message.startswith(f"Downloading {url} failed (")
    assert message.endswith("Copy weights.h5 there by hand.")
    assert not destination.exists()
