"""Small Keras models for the "Inspect a Network" tests, built once in a subprocess.

Building them here would import TensorFlow into the pytest process; a subprocess keeps the
test process as TF-free as the Streamlit server.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tests.conftest import ROOT, SHARED_DATA

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

# A small ResNet on MNIST: a stem, a residual block with an identity shortcut, then one that
# halves the map with a strided 1×1 conv on its shortcut.
inputs = keras.Input((28, 28, 1), name="digit")
x = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem_conv")(inputs)
x = layers.MaxPooling2D(2, name="stem_pool")(x)
y = layers.Conv2D(8, 3, padding="same", name="block1_conv1")(x)
y = layers.BatchNormalization(momentum=0.9, name="block1_bn1")(y)
y = layers.ReLU(name="block1_relu1")(y)
y = layers.Conv2D(8, 3, padding="same", name="block1_conv2")(y)
y = layers.BatchNormalization(momentum=0.9, name="block1_bn2")(y)
x = layers.Add(name="block1_add")([y, x])
x = layers.ReLU(name="block1_out")(x)
shortcut = layers.Conv2D(16, 1, strides=2, name="block2_shortcut")(x)
y = layers.Conv2D(16, 3, strides=2, padding="same", name="block2_conv1")(x)
y = layers.BatchNormalization(momentum=0.9, name="block2_bn1")(y)
y = layers.ReLU(name="block2_relu1")(y)
y = layers.Conv2D(16, 3, padding="same", name="block2_conv2")(y)
y = layers.BatchNormalization(momentum=0.9, name="block2_bn2")(y)
x = layers.Add(name="block2_add")([y, shortcut])
x = layers.ReLU(name="block2_out")(x)
x = layers.GlobalAveragePooling2D(name="gap")(x)
outputs = layers.Dense(10, activation="softmax", name="digits")(x)
residual = keras.Model(inputs, outputs, name="residual")
mnist = os.path.join(sys.argv[2], "mnist", "mnist.npz")
if os.path.isfile(mnist):  # a few batches of real digits, so the maps and CAMs mean something
    with numpy.load(mnist) as data:
        images = data["x_train"][:4096, :, :, None].astype("float32") / 255.0
        labels = data["y_train"][:4096]
    residual.compile("adam", "sparse_categorical_crossentropy")
    residual.fit(images, labels, batch_size=64, epochs=2, verbose=0)
residual.save(f"{folder}/residual.keras")

# An Inception module on 32×32 colour images, with fixed random weights.
inputs = keras.Input((32, 32, 3), name="photo")
x = layers.Conv2D(12, 3, padding="same", activation="relu", name="stem_conv")(inputs)
one = layers.Conv2D(8, 1, activation="relu", name="branch1x1")(x)
three = layers.Conv2D(6, 1, activation="relu", name="branch3x3_reduce")(x)
three = layers.Conv2D(8, 3, padding="same", activation="relu", name="branch3x3")(three)
five = layers.Conv2D(4, 1, activation="relu", name="branch5x5_reduce")(x)
five = layers.Conv2D(8, 5, padding="same", activation="relu", name="branch5x5")(five)
pooled = layers.MaxPooling2D(3, strides=1, padding="same", name="branch_pool")(x)
pooled = layers.Conv2D(8, 1, activation="relu", name="branch_pool_proj")(pooled)
x = layers.Concatenate(name="mixed")([one, three, five, pooled])
x = layers.MaxPooling2D(2, name="pool")(x)
x = layers.GlobalAveragePooling2D(name="gap")(x)
outputs = layers.Dense(10, activation="softmax", name="classes")(x)
keras.Model(inputs, outputs, name="inception").save(f"{folder}/inception.keras")
"""

_CACHE: dict[str, Path] = {}


def build_test_models() -> Path:
    """A folder with `.keras` files, built once per test process.

    lambda, two_inputs and vector cannot be inspected, mlp only partly (it has no maps);
    branchy (two convs added, RGB), residual (28×28×1: stem, an identity-shortcut block, a
    block with a strided 1×1 conv shortcut; trained for a few batches of MNIST when the data
    is there) and inception (32×32×3: a stem and one Inception module, random weights) can.
    """
    if "dir" not in _CACHE:
        folder = Path(tempfile.mkdtemp(prefix="convscope-inspect-models-"))
        subprocess.run(
            [sys.executable, "-c", _BUILD, str(folder), str(SHARED_DATA)],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        _CACHE["dir"] = folder
    return _CACHE["dir"]


_OUTPUTS = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras
import numpy
model_path, image_path, result_path, *names = sys.argv[1:]
model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
probe = keras.Model(model.inputs, [model.get_layer(name).output for name in names])
outputs = probe(numpy.load(image_path)[None], training=False)
outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
numpy.savez(result_path, **{name: numpy.asarray(out[0]) for name, out in zip(names, outputs)})
"""


def keras_layer_outputs(model_path, image: np.ndarray, names) -> dict[str, np.ndarray]:
    """What Keras itself says layers `names` output for one image `(H, W, C)`, computed in a
    subprocess (a reference for the worker's feature maps; this process stays TF-free)."""
    folder = Path(tempfile.mkdtemp(prefix="convscope-layer-outputs-"))
    np.save(folder / "image.npy", np.asarray(image, np.float32))
    result = folder / "outputs.npz"
    subprocess.run(
        [sys.executable, "-c", _OUTPUTS, str(model_path), str(folder / "image.npy"), str(result)]
        + list(names),
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    with np.load(result) as outputs:
        return {name: outputs[name] for name in names}


def open_tab(app, slug: str):
    """Open the Inspect tab ``slug`` (only the open tab is drawn; see ``ui.inspect.link``)."""
    from ui.inspect.link import TAB_NAMES, TAB_SLUGS

    app.session_state["inspect.tab"] = TAB_NAMES[TAB_SLUGS.index(slug)]
    return app.run()


def across_tabs(app, read) -> list:
    """``read(app)`` with each Inspect tab open in turn; the first tab is open again after."""
    from ui.inspect.link import TAB_SLUGS

    found = []
    for slug in TAB_SLUGS:
        open_tab(app, slug)
        assert not app.exception, [item.value for item in app.exception]
        found.append(read(app))
    open_tab(app, TAB_SLUGS[0])
    return found
