"""Small Keras models for the "Inspect a Network" tests, built once in a subprocess.

Building them here would import TensorFlow into the pytest process; a subprocess keeps the
test process as TF-free as the Streamlit server.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import ROOT

BUNDLED = ROOT / "assets" / "models"
MNIST_MODEL = BUNDLED / "mnist_cnn_a.keras"
FASHION_MODEL = BUNDLED / "fashion_mnist_cnn.keras"

_BUILD = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras
from keras import layers
folder = sys.argv[1]
keras.utils.set_random_seed(0)

inputs = keras.Input((28, 28, 1))
x = layers.Lambda(lambda t: t * 2.0, name="double")(inputs)
x = layers.Conv2D(4, 3, name="conv")(x)
x = layers.Flatten()(x)
keras.Model(inputs, layers.Dense(10, activation="softmax")(x)).save(f"{folder}/lambda.keras")

inputs = keras.Input((28, 28, 1))
x = layers.Flatten()(inputs)
x = layers.Dense(16, activation="relu")(x)
outputs = layers.Dense(10, activation="softmax")(x)
keras.Model(inputs, outputs, name="mlp").save(f"{folder}/mlp.keras")

first, second = keras.Input((28, 28, 1)), keras.Input((28, 28, 1))
x = layers.Concatenate()([layers.Conv2D(2, 3)(first), layers.Conv2D(2, 3)(second)])
x = layers.Dense(10, activation="softmax")(layers.Flatten()(x))
keras.Model([first, second], x, name="two_inputs").save(f"{folder}/two_inputs.keras")

inputs = keras.Input((20,))
x = layers.Dense(10, activation="softmax")(inputs)
keras.Model(inputs, x, name="vector").save(f"{folder}/vector.keras")

inputs = keras.Input((32, 32, 3), name="rgb")
left = layers.Conv2D(6, 3, padding="same", name="left")(inputs)
right = layers.Conv2D(6, 5, padding="same", name="right")(inputs)
x = layers.Add(name="add")([left, right])
x = layers.ReLU(name="relu")(x)
x = layers.MaxPooling2D(2, name="pool")(x)
x = layers.Conv2D(8, 3, strides=2, activation="relu", name="strided")(x)
x = layers.GlobalAveragePooling2D(name="gap")(x)
x = layers.Dense(4, name="logits")(x)
x = layers.Activation("softmax", name="softmax")(x)
branchy = keras.Model(inputs, x, name="branchy")
branchy.save(f"{folder}/branchy.keras")
# For the CAM check: with global average pooling before a linear Dense, Grad-CAM is CAM.
import numpy
numpy.save(f"{folder}/branchy_logits_kernel.npy", branchy.get_layer("logits").get_weights()[0])
"""

_CACHE: dict[str, Path] = {}


def build_test_models() -> Path:
    """A folder with lambda, mlp, two_inputs, vector and branchy `.keras` files (built once)."""
    if "dir" not in _CACHE:
        folder = Path(tempfile.mkdtemp(prefix="convscope-inspect-models-"))
        subprocess.run(
            [sys.executable, "-c", _BUILD, str(folder)], check=True, cwd=ROOT, capture_output=True
        )
        _CACHE["dir"] = folder
    return _CACHE["dir"]
