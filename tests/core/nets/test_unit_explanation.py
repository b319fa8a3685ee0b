"""Tests for core.nets.unit_explanation: one unit of a convolution taken apart.

Fast tests compare with an independent reference (scipy's correlation of a zero-padded,
dilated kernel, subsampled by the strides); the slow test builds tiny Keras models in a
subprocess ("same" and "valid" padding, stride 2, dilation 2, several input channels, a
BatchNormalization before a conv), runs them in the real worker and checks every unit of
every conv layer against the model's own output to 1e-5.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.signal import correlate2d

from core.nets.unit_explanation import (
    conv_output_shape,
    explain_unit,
    pooling_destinations,
)
from tests.conftest import ROOT
from tests.inspect_helpers import keras_layer_outputs


def reference_conv(image, kernels, bias, *, strides, padding, dilation_rate):
    """Keras' Conv2D output (H', W', filters) by scipy: pad as TensorFlow does, dilate the
    kernel by inserting zeros, correlate each channel, add, subsample."""
    height, width, _ = image.shape
    kh, kw, channels, filters = kernels.shape
    span = [(k - 1) * d + 1 for k, d in zip((kh, kw), dilation_rate, strict=True)]
    pads = []
    for size, window, step in zip((height, width), span, strides, strict=True):
        if padding == "same":
            out = math.ceil(size / step)
            total = max((out - 1) * step + window - size, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append((0, 0))
    padded = np.pad(image, (*pads, (0, 0)))
    dilated = np.zeros((span[0], span[1], channels, filters))
    dilated[:: dilation_rate[0], :: dilation_rate[1]] = kernels
    planes = []
    for f in range(filters):
        full = sum(
            correlate2d(padded[:, :, c], dilated[:, :, c, f], mode="valid") for c in range(channels)
        )
        planes.append(full[:: strides[0], :: strides[1]] + (0.0 if bias is None else bias[f]))
    return np.stack(planes, axis=-1)


CASES = [
    dict(strides=(1, 1), padding="valid", dilation_rate=(1, 1)),
    dict(strides=(1, 1), padding="same", dilation_rate=(1, 1)),
    dict(strides=(2, 2), padding="same", dilation_rate=(1, 1)),
    dict(strides=(2, 1), padding="valid", dilation_rate=(1, 1)),
    dict(strides=(1, 1), padding="same", dilation_rate=(2, 2)),
    dict(strides=(1, 1), padding="valid", dilation_rate=(2, 3)),
    dict(strides=(3, 2), padding="same", dilation_rate=(1, 1)),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kernel_size", [(3, 3), (2, 4), (1, 1)])
def test_every_unit_matches_an_independent_convolution(case, kernel_size):
    rng = np.random.default_rng(1)
    image = rng.normal(size=(9, 8, 3))
    kernels = rng.normal(size=(*kernel_size, 3, 2))
    bias = rng.normal(size=2)
    shape = conv_output_shape(image.shape[:2], kernel_size, **case)
    if 0 in shape:  # the dilated kernel is wider than the input: no output at all
        with pytest.raises(ValueError, match="larger than the input"):
            explain_unit(image, kernels, bias, row=0, col=0, filter_index=0, **case)
        return
    expected = reference_conv(image, kernels, bias, **case)
    assert shape == expected.shape[:2]
    for row in range(expected.shape[0]):
        for col in range(expected.shape[1]):
            for f in range(2):
                unit = explain_unit(image, kernels, bias, row=row, col=col, filter_index=f, **case)
                assert unit.pre_activation == pytest.approx(expected[row, col, f], abs=1e-12)


def test_the_breakdown_adds_up_and_marks_the_padding():
    image = np.arange(1.0, 26.0).reshape(5, 5, 1) * np.array([1.0, -1.0])  # two channels
    kernels = np.ones((3, 3, 2, 1))
    kernels[:, :, 1] = 2.0
    unit = explain_unit(
        image, kernels, np.array([0.5]), row=0, col=4, filter_index=0, padding="same"
    )
    assert unit.input_rows.tolist() == [-1, 0, 1] and unit.input_cols.tolist() == [3, 4, 5]
    assert unit.inside.tolist() == [[False] * 3, [True, True, False], [True, True, False]]
    assert unit.patch[:, :, 0].tolist() == [[0, 0, 0], [4, 5, 0], [9, 10, 0]]
    np.testing.assert_array_equal(unit.products, unit.patch * unit.weights)
    assert unit.channel_sums.tolist() == [28.0, -56.0]
    assert (unit.total, unit.bias, unit.pre_activation) == (-28.0, 0.5, -27.5)
    assert unit.activation == "linear" and unit.value == -27.5


@pytest.mark.parametrize(
    ("activation", "expected"),
    [
        ("relu", 0.0),
        (None, -2.0),
        ("tanh", math.tanh(-2.0)),
        ("sigmoid", 1 / (1 + math.exp(2.0))),
        ("leaky_relu", -0.4),
        ("elu", math.expm1(-2.0)),
        ("hard_silu", None),  # not known here: no value, the page says so
    ],
)
def test_activations(activation, expected):
    unit = explain_unit(
        np.ones((1, 1, 1)),
        np.full((1, 1, 1, 1), -2.0),
        row=0,
        col=0,
        filter_index=0,
        activation=activation,
    )
    if expected is None:
        assert unit.value is None
    else:
        assert unit.value == pytest.approx(expected)


@pytest.mark.parametrize(
    ("arguments", "error", "words"),
    [
        (dict(row=5), ValueError, "`row` must be between 0 and 4"),
        (dict(col=-1), ValueError, "`col` must be between 0 and 4"),
        (dict(filter_index=3), ValueError, "`filter_index` must be between 0 and 1"),
        (dict(padding="full"), ValueError, "padding"),
        (dict(strides=0), ValueError, "`strides` must be >= 1"),
        (dict(row=1.5), TypeError, "`row`"),
    ],
)
def test_bad_arguments_are_named(arguments, error, words):
    options = dict(row=0, col=0, filter_index=0, padding="same") | arguments
    with pytest.raises(error, match=words):
        explain_unit(np.zeros((5, 5, 2)), np.zeros((3, 3, 2, 2)), **options)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="3 input channels"):
        explain_unit(np.zeros((5, 5, 3)), np.zeros((3, 3, 1, 2)), row=0, col=0, filter_index=0)
    with pytest.raises(ValueError, match="`bias` must hold 2 values"):
        explain_unit(
            np.zeros((5, 5, 1)), np.zeros((3, 3, 1, 2)), np.zeros(3), row=0, col=0, filter_index=0
        )
    with pytest.raises(ValueError, match="larger than the input"):
        explain_unit(np.zeros((2, 2, 1)), np.zeros((3, 3, 1, 1)), row=0, col=0, filter_index=0)


def test_max_pooling_destination_and_winner():
    plane = np.array(
        [
            [1.0, 9.0, 2.0, 0.0, 5.0],
            [3.0, 4.0, 8.0, 1.0, 6.0],
            [0.0, 2.0, 7.0, 7.0, 1.0],
        ]
    )
    (place,) = pooling_destinations(plane, 0, 1, pool_size=2)
    assert (place.row, place.col, place.value, place.wins) == (0, 0, 9.0, True)
    assert place.window.tolist() == [[1.0, 9.0], [3.0, 4.0]]
    assert not pooling_destinations(plane, 1, 0, pool_size=2)[0].wins
    assert pooling_destinations(plane, 2, 0, pool_size=2) == []  # "valid" drops the last row
    (edge,) = pooling_destinations(plane, 2, 4, pool_size=2, padding="same")
    assert (edge.row, edge.col, edge.value, edge.wins) == (1, 2, 1.0, True)
    assert np.isnan(edge.window).sum() == 3  # the window overhangs the map


def test_overlapping_windows_and_ties():
    plane = np.array([[2.0, 2.0, 1.0], [0.0, 1.0, 3.0], [1.0, 1.0, 1.0]])
    found = pooling_destinations(plane, 0, 1, pool_size=2, strides=1)
    # A tie with (0, 0) in the first window goes to (0, 0); the second window's max is 3.
    assert [(d.row, d.col, d.wins) for d in found] == [(0, 0, False), (0, 1, False)]
    first = pooling_destinations(plane, 0, 0, pool_size=2, strides=1)
    assert [(d.row, d.col, d.wins) for d in first] == [(0, 0, True)]
    averaged = pooling_destinations(plane, 1, 1, pool_size=2, strides=1, method="average")
    assert len(averaged) == 4 and all(d.wins for d in averaged)
    assert averaged[0].value == pytest.approx(1.25)


_BUILD = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras
from keras import layers
folder = sys.argv[1]
keras.utils.set_random_seed(3)
bias = keras.initializers.RandomNormal(stddev=0.5)

inputs = keras.Input((12, 12, 1))
x = layers.Conv2D(3, 3, padding="same", activation="relu", bias_initializer=bias,
                  name="same")(inputs)
x = layers.MaxPooling2D(2, name="pool")(x)
x = layers.Conv2D(4, 3, padding="valid", bias_initializer=bias, name="valid")(x)
x = layers.Flatten()(x)
keras.Model(inputs, layers.Dense(3, activation="softmax")(x)).save(f"{folder}/plain.keras")

inputs = keras.Input((13, 11, 3))
x = layers.Conv2D(4, (3, 2), strides=2, padding="same", activation="tanh",
                  bias_initializer=bias, name="stride2_same")(inputs)
x = layers.BatchNormalization(name="norm")(x)
x = layers.Conv2D(3, 3, dilation_rate=2, padding="same", bias_initializer=bias,
                  name="dilated_same")(x)
x = layers.ReLU(name="relu")(x)
x = layers.Conv2D(2, 2, strides=2, padding="valid", bias_initializer=bias,
                  name="stride2_valid")(x)
x = layers.Conv2D(2, 2, dilation_rate=2, padding="valid", activation="sigmoid",
                  bias_initializer=bias, name="dilated_valid")(x)
x = layers.GlobalAveragePooling2D()(x)
keras.Model(inputs, layers.Dense(2, activation="softmax")(x)).save(f"{folder}/strided.keras")
"""


@pytest.mark.slow
def test_every_unit_matches_keras_through_the_real_worker(tmp_path):
    subprocess.run(
        [sys.executable, "-c", _BUILD, str(tmp_path)], check=True, cwd=ROOT, capture_output=True
    )
    from core.jobs.worker_client import WorkerClient

    client = WorkerClient()
    rng = np.random.default_rng(0)
    checked = {}
    try:
        for model, convs in (
            ("plain", ("same", "valid")),
            ("strided", ("stride2_same", "dilated_same", "stride2_valid", "dilated_valid")),
        ):
            path = tmp_path / f"{model}.keras"
            info = client.model_info(path)
            image = rng.uniform(size=info.input_shape).astype(np.float32)
            maps = client.feature_maps(path, image)
            reference = keras_layer_outputs(path, image, convs)
            for name in convs:
                layer = info.layer(name)
                layer_input = client.layer_input(path, image, name)
                weights = client.filters(path, name)
                output = maps.maps[name]
                np.testing.assert_allclose(output, reference[name], atol=1e-5)
                for row, col, f in np.ndindex(*output.shape):
                    unit = explain_unit(
                        layer_input,
                        weights.kernels,
                        weights.bias,
                        row=row,
                        col=col,
                        filter_index=f,
                        strides=layer.strides,
                        padding=layer.padding,
                        dilation_rate=layer.dilation_rate,
                        activation=layer.activation,
                    )
                    assert abs(unit.value - output[row, col, f]) <= 1e-5, (name, row, col, f)
                checked[name] = (layer.strides, layer.padding, layer.dilation_rate)
    finally:
        client.close()
    assert checked["stride2_same"] == ((2, 2), "same", (1, 1))
    assert checked["dilated_same"] == ((1, 1), "same", (2, 2))
    assert checked["dilated_valid"] == ((1, 1), "valid", (2, 2))
