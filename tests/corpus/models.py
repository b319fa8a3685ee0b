"""The model files of the corpus: what a person might upload as a model, and what the app does.

Both model uploaders (Inspect a Network's "Upload .keras" and the Train page's "upload a
model") take each of these. The Keras-made files are built once per test process, all in
one subprocess (`built`), so the test process stays as free of TensorFlow as the Streamlit
server; the others are made from plain bytes or from those files. Everything is tiny (the
largest is a zipped TensorFlow SavedModel of a few hundred kilobytes).

Legacy ``.h5`` files are in `tests.corpus.legacy_models`.
"""

from __future__ import annotations

import atexit
import io
import json
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tests.corpus import Entry

ROOT = Path(__file__).resolve().parents[2]

# Every Keras-made file, built in one subprocess: `python -c _BUILD <folder>`.
_BUILD = r"""
import os, sys, shutil
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy
import keras
import tensorflow as tf
from keras import layers
folder = sys.argv[1]
keras.utils.set_random_seed(0)


def small_cnn(name="small_cnn"):
    inputs = keras.Input((28, 28, 1), name="digit")
    x = layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Conv2D(4, 3, activation="relu", name="conv_2")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(10, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name=name)


model = small_cnn()
model.save(f"{folder}/small_cnn.keras")

# The same network whose weights hold NaN from the second convolution on (a training run
# that diverged): its first filters are fine, everything after them is not a number.
broken = small_cnn("diverged")
broken.set_weights(model.get_weights())
kernel = broken.get_layer("conv_2").kernel
kernel.assign(numpy.full(kernel.shape, numpy.nan, dtype="float32"))
broken.save(f"{folder}/nan_weights.keras")

inputs = keras.Input((28, 28, 1))
x = layers.Lambda(lambda t: t * 2.0, name="double")(inputs)
x = layers.Conv2D(2, 3, name="conv")(x)
x = layers.GlobalAveragePooling2D()(x)
keras.Model(inputs, layers.Dense(10, activation="softmax")(x)).save(f"{folder}/lambda.keras")


@keras.saving.register_keras_serializable(package="Mine")
class Doubler(layers.Layer):
    def call(self, inputs):
        return inputs * 2.0


inputs = keras.Input((28, 28, 1))
x = layers.Conv2D(2, 3, name="conv")(Doubler(name="doubler")(inputs))
x = layers.GlobalAveragePooling2D()(x)
keras.Model(inputs, layers.Dense(10, activation="softmax")(x)).save(f"{folder}/custom.keras")

inputs = keras.Input((28, 28, 1))
x = layers.Flatten()(inputs)
x = layers.Dense(16, activation="relu")(x)
keras.Model(inputs, layers.Dense(10, activation="softmax")(x), name="mlp").save(
    f"{folder}/dense_only.keras"
)

first, second = keras.Input((28, 28, 1)), keras.Input((28, 28, 1))
x = layers.Concatenate()([layers.Conv2D(2, 3)(first), layers.Conv2D(2, 3)(second)])
x = layers.Dense(10, activation="softmax")(layers.GlobalAveragePooling2D()(x))
keras.Model([first, second], x, name="two_inputs").save(f"{folder}/two_inputs.keras")

inputs = keras.Input((28, 28, 1))
x = layers.GlobalAveragePooling2D()(layers.Conv2D(2, 3)(inputs))
outputs = [layers.Dense(10, activation="softmax")(x), layers.Dense(1, activation="sigmoid")(x)]
keras.Model(inputs, outputs, name="two_outputs").save(f"{folder}/two_outputs.keras")

inputs = keras.Input((None, None, 3))
x = layers.Conv2D(4, 3, activation="relu")(inputs)
x = layers.GlobalAveragePooling2D()(x)
keras.Model(inputs, layers.Dense(3, activation="softmax")(x), name="any_size").save(
    f"{folder}/dynamic_shape.keras"
)

inputs = keras.Input((100, 1))
x = layers.Conv1D(4, 5, activation="relu")(inputs)
x = layers.GlobalAveragePooling1D()(x)
keras.Model(inputs, layers.Dense(2, activation="softmax")(x), name="signal").save(
    f"{folder}/sequence.keras"
)

# TensorFlow's own formats: a SavedModel folder and an object-based checkpoint.
model.export(f"{folder}/saved_model", verbose=False)
tf.train.Checkpoint(model=model).write(f"{folder}/checkpoint/model.ckpt")
"""

_BUILT: dict[str, Path] = {}


def built(name: str) -> bytes:
    """The bytes of one Keras-made file, e.g. ``built("lambda.keras")``.

    The first call builds them all (a few seconds, in a subprocess).
    """
    if "folder" not in _BUILT:
        folder = Path(tempfile.mkdtemp(prefix="convscope-corpus-models-"))
        subprocess.run(
            [sys.executable, "-c", _BUILD, str(folder)], check=True, cwd=ROOT, capture_output=True
        )
        _BUILT["folder"] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return (_BUILT["folder"] / name).read_bytes()


def _zip_folder(name: str) -> bytes:
    """A built folder (``saved_model``, ``checkpoint``) zipped as a person would."""
    built("small_cnn.keras")
    folder = _BUILT["folder"] / name
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{name}/{path.relative_to(folder)}")
    return buffer.getvalue()


def _checkpoint_index() -> bytes:
    built("small_cnn.keras")
    return (_BUILT["folder"] / "checkpoint" / "model.ckpt.index").read_bytes()


def _saved_model_pb() -> bytes:
    built("small_cnn.keras")
    return (_BUILT["folder"] / "saved_model" / "saved_model.pb").read_bytes()


def _rezipped(name: str, *, drop: str = "", replace: dict[str, bytes] | None = None) -> bytes:
    """A built ``.keras`` file with the member ``drop`` left out or members replaced."""
    replace = replace or {}
    source = zipfile.ZipFile(io.BytesIO(built(name)))
    buffer = io.BytesIO()
    with source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            if member.filename == drop:
                continue
            archive.writestr(member.filename, replace.get(member.filename, source.read(member)))
    return buffer.getvalue()


def _member(name: str, member: str) -> bytes:
    """One member of a built ``.keras`` file."""
    with zipfile.ZipFile(io.BytesIO(built(name))) as archive:
        return archive.read(member)


def _unknown_class() -> bytes:
    """The small CNN with its second convolution renamed to a class Keras does not have."""
    config = json.loads(zipfile.ZipFile(io.BytesIO(built("small_cnn.keras"))).read("config.json"))
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "Conv2D" and layer["config"]["name"] == "conv_2":
            layer["class_name"] = "FancyConv2D"
    return _rezipped("small_cnn.keras", replace={"config.json": json.dumps(config).encode()})


def _claiming(unpacked_size: int) -> bytes:
    """A small zip whose directory claims its weights unpack to ``unpacked_size`` bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\0" * 1024)
    data = bytearray(buffer.getvalue())
    central = data.rindex(b"PK\x01\x02")  # the directory entry of the last member
    struct.pack_into("<I", data, central + 24, unpacked_size)  # its "uncompressed size"
    return bytes(data)


def _pickle() -> bytes:
    # A harmless object: what matters is that the app never unpickles anything.
    return pickle.dumps({"weights": [[0.5, -0.5]], "note": "a pickled model"}, protocol=4)


_TEXT = b"""Model: "sequential"
Layer (type)                 Output Shape              Param #
conv2d (Conv2D)              (None, 26, 26, 32)        320
dense (Dense)                (None, 10)                54090
Total params: 54,410
"""

# Messages the refusals share (a fragment of each page's message, case-insensitive).
NOT_KERAS = "not a Keras 3 model"

ENTRIES = [
    Entry(
        "model/small-cnn",
        "model",
        "a small Keras 3 CNN (28×28 grey, two convolutions), as model.save makes it",
        "accept",
        "accepted",
        filename="small_cnn.keras",
        make=lambda: built("small_cnn.keras"),
        slow=True,
    ),
    Entry(
        "model/empty",
        "model",
        "an empty file named .keras",
        "refuse",
        "refused: the file is empty",
        filename="empty.keras",
        make=lambda: b"",
        message="empty",
    ),
    Entry(
        "model/not-a-zip",
        "model",
        "a GIF picture renamed to .keras",
        "refuse",
        "refused: not a Keras 3 model (a .keras file is a zip archive)",
        filename="picture.keras",
        make=lambda: (
            b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04" + bytes(40)
        ),
        message=NOT_KERAS,
    ),
    Entry(
        "model/text",
        "model",
        "a text file (a printed model summary)",
        "refuse",
        "refused: a text file, not a model",
        filename="model.txt",
        make=lambda: _TEXT,
        message="text",
    ),
    Entry(
        "model/truncated",
        "model",
        "a .keras file cut off half-way (an interrupted download)",
        "refuse",
        "refused: not a readable zip archive, so not a .keras model",
        filename="truncated.keras",
        make=lambda: built("small_cnn.keras")[: len(built("small_cnn.keras")) // 2],
        message="not a readable zip",
    ),
    Entry(
        "model/missing-weights",
        "model",
        "a .keras file without its weights (model.weights.h5 taken out of the zip)",
        "refuse",
        "refused: the file holds no weights",
        filename="no_weights.keras",
        make=lambda: _rezipped("small_cnn.keras", drop="model.weights.h5"),
        message="weights",
    ),
    Entry(
        "model/missing-config",
        "model",
        "a zip of weights alone (no config.json)",
        "refuse",
        "refused: not a Keras 3 model (no config.json describing the layers)",
        filename="weights_only.keras",
        make=lambda: _rezipped("small_cnn.keras", drop="config.json"),
        message="config.json",
    ),
    Entry(
        "model/broken-config",
        "model",
        "a .keras file whose config.json is not JSON",
        "refuse",
        "refused: its description of the layers cannot be read",
        filename="broken_config.keras",
        make=lambda: _rezipped("small_cnn.keras", replace={"config.json": b"{not json"}),
        message="config.json",
    ),
    Entry(
        "model/junk-weights",
        "model",
        "a .keras file whose weights file is not HDF5 (damaged)",
        "refuse",
        "refused: the file could not be loaded (save it again)",
        filename="junk_weights.keras",
        make=lambda: _rezipped("small_cnn.keras", replace={"model.weights.h5": b"junk" * 100}),
        message="could not be loaded as a Keras model",
        slow=True,
    ),
    Entry(
        "model/foreign-weights",
        "model",
        "a .keras file holding another network's weights",
        "refuse",
        "refused: its weights do not fit its layers",
        filename="foreign_weights.keras",
        make=lambda: _rezipped(
            "small_cnn.keras",
            replace={"model.weights.h5": _member("two_outputs.keras", "model.weights.h5")},
        ),
        message="weights do not fit its layers",
        slow=True,
    ),
    Entry(
        "model/lambda",
        "model",
        "a model with a Lambda layer (serialized Python code)",
        "refuse",
        "refused before any worker opens it: Lambda layers would run code",
        filename="lambda.keras",
        make=lambda: built("lambda.keras"),
        message="Lambda layer",
    ),
    Entry(
        "model/custom-layer",
        "model",
        "a model with a custom layer class of its author's (registered, not part of Keras)",
        "refuse",
        "refused: custom layers are Python code this app never loads",
        filename="custom.keras",
        make=lambda: built("custom.keras"),
        message="custom",
        slow=True,
    ),
    Entry(
        "model/unknown-class",
        "model",
        "a model naming a layer class Keras does not have (FancyConv2D)",
        "refuse",
        "refused: a layer that is not part of Keras",
        filename="unknown_class.keras",
        make=_unknown_class,
        message="not part of Keras",
        slow=True,
    ),
    Entry(
        "model/pickle-renamed",
        "model",
        "a Python pickle renamed to .keras",
        "refuse",
        "refused without unpickling: pickles can run code",
        filename="model.keras",
        make=_pickle,
        message="pickle",
    ),
    Entry(
        "model/pickle",
        "model",
        "a Python pickle (.pkl)",
        "refuse",
        "refused without unpickling: pickles can run code",
        filename="model.pkl",
        make=_pickle,
        message="pickle",
    ),
    Entry(
        "model/zip-bomb",
        "model",
        "a 1 kB .keras zip whose directory claims 1 GiB unpacked",
        "refuse",
        "refused from the zip's directory alone, in milliseconds",
        filename="bomb.keras",
        make=lambda: _claiming(2**30),
        message="unpacks to",
    ),
    Entry(
        "model/nan-weights",
        "model",
        "a CNN whose weights hold NaN (a training run that diverged)",
        "note",
        "accepted with a note: its weights hold NaN, so the views after them cannot be shown",
        filename="nan_weights.keras",
        make=lambda: built("nan_weights.keras"),
        message="NaN",
        slow=True,
    ),
    Entry(
        "model/dense-only",
        "model",
        "a dense network without convolutions (the Train page's MLP preset)",
        "note",
        "accepted with a note: no filters or feature maps; prediction and saliency work",
        filename="dense_only.keras",
        make=lambda: built("dense_only.keras"),
        message="no convolution layers",
        slow=True,
    ),
    Entry(
        "model/two-inputs",
        "model",
        "a model with two image inputs",
        "refuse",
        "refused: the app works with models of one image input",
        filename="two_inputs.keras",
        make=lambda: built("two_inputs.keras"),
        message="2 inputs",
        slow=True,
    ),
    Entry(
        "model/two-outputs",
        "model",
        "a model with two outputs",
        "refuse",
        "refused: the app needs one output (the class scores)",
        filename="two_outputs.keras",
        make=lambda: built("two_outputs.keras"),
        message="2 outputs",
        slow=True,
    ),
    Entry(
        "model/dynamic-shape",
        "model",
        "a fully convolutional model taking any image size, input (None, None, 3)",
        "refuse",
        "refused: the input's height and width must be fixed (how to rebuild it is said)",
        filename="any_size.keras",
        make=lambda: built("dynamic_shape.keras"),
        message="height and width",
        slow=True,
    ),
    Entry(
        "model/sequence",
        "model",
        "a 1-D model for sequences (Conv1D on 100 steps)",
        "refuse",
        "refused: its input is not an image",
        filename="signal.keras",
        make=lambda: built("sequence.keras"),
        message="not an image",
        slow=True,
    ),
    Entry(
        "model/saved-model-zip",
        "model",
        "a TensorFlow SavedModel folder, zipped",
        "refuse",
        "refused: a SavedModel, not a .keras file (how to convert it is said)",
        filename="saved_model.zip",
        make=lambda: _zip_folder("saved_model"),
        message="SavedModel",
    ),
    Entry(
        "model/saved-model-pb",
        "model",
        "a SavedModel's saved_model.pb on its own",
        "refuse",
        "refused: not a Keras 3 model",
        filename="saved_model.pb",
        make=_saved_model_pb,
        message=NOT_KERAS,
    ),
    Entry(
        "model/checkpoint-zip",
        "model",
        "a TensorFlow checkpoint (checkpoint, .index and .data files), zipped",
        "refuse",
        "refused: a checkpoint holds weights without the network (how to convert it is said)",
        filename="checkpoint.zip",
        make=lambda: _zip_folder("checkpoint"),
        message="checkpoint",
    ),
    Entry(
        "model/checkpoint-index",
        "model",
        "a TensorFlow checkpoint's .index file on its own",
        "refuse",
        "refused: not a Keras 3 model",
        filename="model.ckpt.index",
        make=_checkpoint_index,
        message=NOT_KERAS,
    ),
]
