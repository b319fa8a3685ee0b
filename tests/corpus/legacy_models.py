"""Legacy ``.h5`` model files of the corpus: what older Keras saved, and what the app does.

Both model uploaders take each of these. A model in the older HDF5 format is converted to
``.keras`` in the worker (with a note); one that would run code (a ``Lambda`` layer, a
custom class), weights without a model, a damaged file and a file that only carries the
name are refused.

Two kinds of file: those Keras 3 writes (``model.save("name.h5")``), built once per test
process in one subprocess (`built`, keeping the test process free of TensorFlow), and
those tf.keras 2 wrote, made here with h5py alone in the layout tf.keras 2.15's
``model.save("name.h5")`` and ``save_weights("name.h5")`` used (`tf_keras2_h5`): Keras
3.15 no longer writes that layout, and tf.keras 2 is not installed here.
"""

from __future__ import annotations

import atexit
import base64
import io
import json
import marshal
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from tests.corpus import Entry

ROOT = Path(__file__).resolve().parents[2]

_BUILD = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras
from keras import layers
folder = sys.argv[1]
keras.utils.set_random_seed(0)

inputs = keras.Input((28, 28, 1), name="digit")
x = layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
x = layers.MaxPooling2D(2, name="pool")(x)
x = layers.Flatten(name="flatten")(x)
model = keras.Model(inputs, layers.Dense(10, activation="softmax", name="classes")(x))
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.save(f"{folder}/small_cnn.h5")
model.save_weights(f"{folder}/small_cnn.weights.h5")

inputs = keras.Input((28, 28, 1))
x = layers.Lambda(lambda t: t * 2.0, name="double")(inputs)
x = layers.GlobalAveragePooling2D()(layers.Conv2D(2, 3, name="conv")(x))
keras.Model(inputs, layers.Dense(10, activation="softmax")(x)).save(f"{folder}/lambda.h5")


@keras.saving.register_keras_serializable(package="Mine")
class Doubler(layers.Layer):
    def call(self, inputs):
        return inputs * 2.0


inputs = keras.Input((28, 28, 1))
x = layers.Conv2D(2, 3, name="conv")(Doubler(name="doubler")(inputs))
x = layers.GlobalAveragePooling2D()(x)
keras.Model(inputs, layers.Dense(10, activation="softmax")(x)).save(f"{folder}/custom.h5")
"""

_BUILT: dict[str, Path] = {}


def built(name: str) -> bytes:
    """The bytes of one file Keras 3 wrote, e.g. ``built("lambda.h5")``; the first call builds
    them all (a few seconds, in a subprocess)."""
    if "folder" not in _BUILT:
        folder = Path(tempfile.mkdtemp(prefix="convscope-corpus-h5-"))
        subprocess.run(
            [sys.executable, "-c", _BUILD, str(folder)], check=True, cwd=ROOT, capture_output=True
        )
        _BUILT["folder"] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return (_BUILT["folder"] / name).read_bytes()


# --------------------------------------------------------------- tf.keras 2-era files

# The weights of the tf.keras 2 CNN: 8×8 grey input, Conv2D(2, 3, relu), MaxPooling2D(2),
# Flatten, Dense(3, softmax). Tests compare the converted model's weights with these.
_RNG = np.random.default_rng(2)
TF_KERAS2_WEIGHTS = {
    "conv2d": [_RNG.normal(size=(3, 3, 1, 2)).astype("float32"), np.array([0.5, -0.5], "f4")],
    "dense": [_RNG.normal(size=(18, 3)).astype("float32"), np.array([0.1, 0.0, -0.1], "f4")],
}


# Where the tf.keras 2 Lambda layer's code would leave a file if anything ever ran it.
LAMBDA_RAN_MARKER = Path(tempfile.gettempdir()) / f"convscope-h5-lambda-ran-{os.getpid()}"


def _layer(class_name: str, name: str, **config) -> dict:
    return {"class_name": class_name, "config": {"name": name, "trainable": True, **config}}


def _dense_like(**config) -> dict:
    return {
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None,
        "bias_regularizer": None,
        "activity_regularizer": None,
        "kernel_constraint": None,
        "bias_constraint": None,
        "dtype": "float32",
        **config,
    }


def _lambda_function() -> list:
    """A Lambda's function as tf.keras 2 stored it: marshalled bytecode, base64.

    Run, it would leave `LAMBDA_RAN_MARKER`; the tests check that it never appears.
    """
    marker = str(LAMBDA_RAN_MARKER)
    code = compile(f"lambda x: (open({marker!r}, 'w').close(), x)[1]", "<lambda>", "eval")
    function_code = next(c for c in code.co_consts if hasattr(c, "co_code"))
    return [base64.b64encode(marshal.dumps(function_code)).decode("ascii"), None, None]


def _keras2_config(*, with_lambda: bool = False) -> dict:
    shape = [None, 8, 8, 1]
    layers = [
        {
            "class_name": "InputLayer",
            "config": {"batch_input_shape": shape, "dtype": "float32", "name": "conv2d_input"},
        }
    ]
    if with_lambda:
        layers.append(
            _layer(
                "Lambda",
                "lambda",
                dtype="float32",
                function=_lambda_function(),
                function_type="lambda",
                module="__main__",
                output_shape=None,
                output_shape_type="raw",
                arguments={},
            )
        )
    layers += [
        _layer(
            "Conv2D",
            "conv2d",
            **_dense_like(
                batch_input_shape=shape,
                filters=2,
                kernel_size=[3, 3],
                strides=[1, 1],
                padding="valid",
                data_format="channels_last",
                dilation_rate=[1, 1],
                groups=1,
                activation="relu",
                use_bias=True,
            ),
        ),
        _layer(
            "MaxPooling2D",
            "max_pooling2d",
            dtype="float32",
            pool_size=[2, 2],
            padding="valid",
            strides=[2, 2],
            data_format="channels_last",
        ),
        _layer("Flatten", "flatten", dtype="float32", data_format="channels_last"),
        _layer("Dense", "dense", **_dense_like(units=3, activation="softmax", use_bias=True)),
    ]
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}


def _write_weights(group, names: list[str]) -> None:
    """tf.keras 2's weight layout: ``layer_names``, then per layer ``weight_names``."""
    group.attrs["layer_names"] = np.array([name.encode() for name in names], dtype="S")
    group.attrs["backend"] = "tensorflow"
    group.attrs["keras_version"] = "2.15.0"
    for name in names:
        layer = group.create_group(name)
        values = TF_KERAS2_WEIGHTS.get(name, [])
        weight_names = [f"{name}/kernel:0", f"{name}/bias:0"][: len(values)]
        layer.attrs["weight_names"] = np.array([w.encode() for w in weight_names], dtype="S")
        for weight_name, value in zip(weight_names, values, strict=True):
            layer.create_dataset(weight_name, data=value)


def tf_keras2_h5(*, with_lambda: bool = False, weights_only: bool = False) -> bytes:
    """A file as tf.keras 2.15 wrote it: ``model.save("name.h5")`` (with a training
    configuration naming Adam) or, with ``weights_only``, ``model.save_weights("name.h5")``."""
    import h5py

    names = ["conv2d", "max_pooling2d", "flatten", "dense"]
    if with_lambda:
        names.insert(0, "lambda")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        if weights_only:
            _write_weights(handle, names)
        else:
            handle.attrs["keras_version"] = "2.15.0"
            handle.attrs["backend"] = "tensorflow"
            handle.attrs["model_config"] = json.dumps(_keras2_config(with_lambda=with_lambda))
            handle.attrs["training_config"] = json.dumps(
                {
                    "loss": "categorical_crossentropy",
                    "metrics": ["accuracy"],
                    "optimizer_config": {
                        "class_name": "Adam",
                        "config": {"name": "Adam", "learning_rate": 0.001},
                    },
                }
            )
            _write_weights(handle.create_group("model_weights"), names)
    return buffer.getvalue()


CONVERTED = "converted from the older .h5 format"

ENTRIES = [
    Entry(
        "model/h5-small-cnn",
        "model",
        "a small CNN saved by Keras 3 in the older .h5 format (model.save('name.h5'))",
        "note",
        "accepted with a note: converted from the older .h5 format to .keras",
        filename="small_cnn.h5",
        make=lambda: built("small_cnn.h5"),
        message=CONVERTED,
        slow=True,
    ),
    Entry(
        "model/h5-tf-keras2",
        "model",
        "a small CNN as tf.keras 2 saved it in .h5 (Keras 2 layer configs, an Adam training "
        "configuration)",
        "note",
        "accepted with a note: converted from the older .h5 format to .keras",
        filename="keras2_cnn.h5",
        make=tf_keras2_h5,
        message=CONVERTED,
        slow=True,
    ),
    Entry(
        "model/h5-lambda",
        "model",
        "an .h5 model with a Lambda layer (marshalled Python code), saved by Keras 3",
        "refuse",
        "refused: Lambda layers are Python code the app never runs",
        filename="lambda.h5",
        make=lambda: built("lambda.h5"),
        message="Lambda layer",
        slow=True,
    ),
    Entry(
        "model/h5-tf-keras2-lambda",
        "model",
        "a tf.keras 2 .h5 model whose Lambda layer's code would write a file if run",
        "refuse",
        "refused before Keras reads it; the code never runs",
        filename="keras2_lambda.h5",
        make=lambda: tf_keras2_h5(with_lambda=True),
        message="Lambda layer",
        slow=True,
    ),
    Entry(
        "model/h5-custom-layer",
        "model",
        "an .h5 model with a custom layer class of its author's (registered as Mine>Doubler)",
        "refuse",
        "refused: custom layers are Python code the app never loads",
        filename="custom.h5",
        make=lambda: built("custom.h5"),
        message="custom layer",
        slow=True,
    ),
    Entry(
        "model/h5-weights-only",
        "model",
        "weights alone, as Keras 3's model.save_weights('name.weights.h5') writes them",
        "refuse",
        "refused: only weights; the message says to load them into the model and save it",
        filename="small_cnn.weights.h5",
        make=lambda: built("small_cnn.weights.h5"),
        message="only weights",
        slow=True,
    ),
    Entry(
        "model/h5-tf-keras2-weights-only",
        "model",
        "weights alone, as tf.keras 2's model.save_weights('name.h5') wrote them",
        "refuse",
        "refused: only weights; the message says to load them into the model and save it",
        filename="weights.h5",
        make=lambda: tf_keras2_h5(weights_only=True),
        message="only weights",
        slow=True,
    ),
    Entry(
        "model/h5-truncated",
        "model",
        "an .h5 model cut off half-way (an interrupted download)",
        "refuse",
        "refused: the file is damaged or cut short",
        filename="truncated.h5",
        make=lambda: built("small_cnn.h5")[: len(built("small_cnn.h5")) // 2],
        message="damaged",
        slow=True,
    ),
    Entry(
        "model/h5-renamed",
        "model",
        "a GIF picture renamed to model.h5",
        "refuse",
        "refused: not a Keras model",
        filename="model.h5",
        make=lambda: b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00" + bytes(40),
        message="not a Keras 3 model",
    ),
]
