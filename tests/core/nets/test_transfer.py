"""core.nets.transfer: MobileNetV2 transfer learning as data, and the model the worker builds."""

from __future__ import annotations

import json
import socket
import time

import numpy as np
import pytest

from core.nets.specs import MOBILENET_V2_URL
from core.nets.transfer import (
    WeightsUnavailableError,
    imagenet_weights_advice,
    imagenet_weights_cached,
    imagenet_weights_path,
    transfer_entry,
    transfer_input_problem,
    transfer_summary_rows,
)
from core.worker.model_building import build_transfer_model


def test_transfer_model_builds_frozen_with_a_new_head(keras):
    model = build_transfer_model(input_shape=(96, 96, 3), num_classes=3, weights=None)
    assert tuple(model.output.shape) == (None, 3)
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    assert base.trainable is False
    assert [w.path for w in model.trainable_weights] == ["dense/kernel", "dense/bias"]


def test_transfer_model_accepts_small_grayscale_images(keras):
    model = build_transfer_model(input_shape=(32, 32, 1), num_classes=2, weights=None)
    assert tuple(model.input_shape) == (None, 32, 32, 1)
    assert tuple(model.output.shape) == (None, 2)


def test_transfer_model_refuses_inputs_smaller_than_32():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(28, 28, 1\)"):
        build_transfer_model(input_shape=(28, 28, 1), num_classes=10, weights=None)


def test_missing_imagenet_weights_offline_fail_fast_with_instructions(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    attempts = []

    def offline(address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "create_connection", offline)
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailableError) as error:
        build_transfer_model(input_shape=(96, 96, 3), num_classes=2, weights="imagenet")
    assert time.perf_counter() - start < 1
    assert attempts == [("storage.googleapis.com", 443)]
    expected = (
        tmp_path / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"
    )
    assert str(expected) in str(error.value)


def test_imagenet_weights_cached_looks_in_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert not imagenet_weights_cached(input_shape=(160, 160, 3))
    path = imagenet_weights_path(input_shape=(160, 160, 3))
    path.parent.mkdir(parents=True)
    path.touch()
    assert imagenet_weights_cached(input_shape=(160, 160, 3))
    assert imagenet_weights_path(input_shape=(100, 100, 3)).name.endswith("_224_no_top.h5")


def test_transfer_entry_is_json_safe_and_validated():
    assert transfer_entry(weights=None) == {"transfer": "MobileNetV2", "weights": None}
    assert json.loads(json.dumps(transfer_entry())) == transfer_entry()
    with pytest.raises(ValueError, match="Received: weights='imagenet21k'"):
        transfer_entry(weights="imagenet21k")
    with pytest.raises(ValueError, match="Received: base='VGG16'"):
        transfer_entry("VGG16")


@pytest.mark.parametrize(
    ("shape", "ok"),
    [((32, 32, 3), True), ((224, 160, 3), True), ((64, 64, 1), False), ((31, 64, 3), False)],
)
def test_transfer_input_problem_needs_rgb_of_at_least_32(shape, ok):
    problem = transfer_input_problem(shape)
    assert (problem is None) == ok
    if not ok:
        assert "×".join(map(str, shape)) in problem and "RGB" in problem


@pytest.mark.slow
@pytest.mark.parametrize(("shape", "num_classes"), [((32, 32, 3), 2), ((100, 100, 3), 5)])
def test_transfer_summary_rows_match_keras(keras, shape, num_classes):
    model = build_transfer_model(input_shape=shape, num_classes=num_classes, weights=None)
    rows = transfer_summary_rows(shape, num_classes)
    by_name = {layer.name: layer for layer in model.layers}
    for row in rows:
        layer = by_name[row["Layer"]]
        output = tuple(layer.output.shape[1:])
        assert " × ".join(map(str, output)) == row["Output shape"], row["Layer"]
        assert layer.count_params() == row["Parameters"], row["Layer"]
    assert sum(row["Parameters"] for row in rows) == model.count_params()
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert sum(row["Trainable"] for row in rows) == trainable


def test_transfer_summary_rows_without_keras():
    rows = transfer_summary_rows((100, 70, 3), 5)
    assert [row["Layer"] for row in rows] == [
        "rescaling",
        "mobilenetv2_1.00_100",
        "global_average_pooling2d",
        "dropout",
        "dense",
    ]
    assert rows[1]["Output shape"] == "4 × 3 × 1280"  # ceil(100 / 32), ceil(70 / 32)
    assert rows[-1]["Parameters"] == rows[-1]["Trainable"] == (1280 + 1) * 5
    assert sum(row["Trainable"] for row in rows) == 6405
    with pytest.raises(ValueError, match=r"^`num_classes` must be >= 2\."):
        transfer_summary_rows((96, 96, 3), 1)


def test_imagenet_weights_advice_names_the_file_and_the_url(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    advice = imagenet_weights_advice(input_shape=(128, 128, 3))
    name = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_128_no_top.h5"
    assert f"{MOBILENET_V2_URL}{name}" in advice
    assert str(tmp_path / "models" / name) in advice


def test_transfer_arguments_are_checked():
    with pytest.raises(
        TypeError, match=r"^`weights` must be one of 'imagenet', None\. Received: weights=1\.$"
    ):
        transfer_entry(weights=1)
    with pytest.raises(ValueError, match=r"^`base` must be one of 'MobileNetV2'\."):
        imagenet_weights_path(base="mobilenetv2")
    with pytest.raises(ValueError, match=r"^`input_shape` must hold 3 ints\."):
        transfer_input_problem((96, 96))
