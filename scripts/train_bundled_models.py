"""Train the networks bundled in ``assets/models/`` so "Inspect a Network" works out of the box.

Two small CNNs, trained from the shared data sets (``$CONVSCOPE_DATA_DIR``, default
``../shared/data``), seeded and deterministic (``keras.utils.set_random_seed`` plus
TensorFlow's op determinism), each saved as ``<name>.keras`` with a JSON sidecar in the
format of ``core/model_store.py``:

- ``mnist_cnn_a``: the seeds' MNIST CNN A (Sequential, Conv2D 32 → pool → Conv2D 64 → pool →
  Dense 64 → Dense 10; 220,234 parameters), Adam with cosine decay from 1e-3, batch 128, 5 epochs.
- ``fashion_mnist_cnn``: a functional-API CNN for Fashion-MNIST with separate ``Activation``
  layers (so the page can show a map before and after ReLU), 3 conv blocks, same optimizer,
  6 epochs.

The models are saved without their optimizer state, which keeps each file under 2 MB.

Run from the repository root::

    python scripts/train_bundled_models.py            # both models
    python scripts/train_bundled_models.py --only mnist_cnn_a
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data import (
    builtin,
    preprocessing,
)
from core.jobs import model_store
from core.nets import (
    presets,
    specs,
)
from core.worker import model_building
from core.worker.environment import import_keras

OUTPUT_DIR = ROOT / "assets" / "models"
SEED = 0
BATCH_SIZE = 128
LEARNING_RATE = 1e-3


def build_mnist_cnn_a(keras):
    """The seeds' MNIST CNN A, built from `core.nets.specs` (Sequential)."""
    return model_building.build_model(presets.preset("mnist_cnn_a"))


def build_fashion_cnn(keras):
    """A functional CNN whose ReLUs are their own layers, for Fashion-MNIST."""
    layers = keras.layers
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, padding="same", name="conv1")(inputs)
    x = layers.Activation("relu", name="relu1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, padding="same", name="conv2")(x)
    x = layers.Activation("relu", name="relu2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(64, 3, padding="same", name="conv3")(x)
    x = layers.Activation("relu", name="relu3")(x)
    x = layers.MaxPooling2D(2, name="pool3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    x = layers.Dropout(0.3, name="dropout")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="fashion_mnist_cnn")


RECIPES = {
    "mnist_cnn_a": {
        "title": "MNIST CNN A",
        "dataset": "mnist",
        "build": build_mnist_cnn_a,
        "epochs": 5,
        "description": (
            "The course's MNIST CNN A (two convolution layers, each followed by max pooling), "
            "trained on all 60,000 MNIST digits."
        ),
        "spec": lambda: specs.spec_to_dict(presets.preset("mnist_cnn_a")),
    },
    "fashion_mnist_cnn": {
        "title": "Fashion-MNIST CNN",
        "dataset": "fashion_mnist",
        "build": build_fashion_cnn,
        "epochs": 6,
        "description": (
            "A functional-API CNN with separate ReLU layers, trained on all 60,000 "
            "Fashion-MNIST images."
        ),
        "spec": lambda: None,
    },
}


def train_one(keras, name: str, data_dir: Path, output_dir: Path = OUTPUT_DIR) -> dict:
    """Train the recipe `name`, save it to `output_dir` and return its sidecar."""
    import numpy as np

    recipe = RECIPES[name]
    dataset = builtin.load_builtin(recipe["dataset"], data_dir=data_dir)
    grayscale = preprocessing.Preprocessing(target_size=None, color_mode="grayscale")
    x_train = preprocessing.preprocess(dataset.x_train, grayscale)
    x_test = preprocessing.preprocess(dataset.x_test, grayscale)

    keras.utils.set_random_seed(SEED)
    model = recipe["build"](keras)
    steps = recipe["epochs"] * -(-len(x_train) // BATCH_SIZE)
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=steps)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.monotonic()
    history = model.fit(
        x_train,
        dataset.y_train,
        batch_size=BATCH_SIZE,
        epochs=recipe["epochs"],
        shuffle=True,
        verbose=2,
    )
    train_seconds = time.monotonic() - start
    test_loss, test_accuracy = model.evaluate(x_test, dataset.y_test, verbose=0)
    print(f"{name}: test accuracy {test_accuracy:.4f} after {train_seconds:.0f} s", flush=True)

    # A fresh, uncompiled copy carries no optimizer state: a third of the file size.
    bare = recipe["build"](keras)
    bare.set_weights(model.get_weights())
    epochs = [
        {key: float(values[index]) for key, values in history.history.items()}
        | {"epoch": index + 1}
        for index in range(recipe["epochs"])
    ]
    sidecar = {
        "title": recipe["title"],  # how the app names it
        "description": recipe["description"],
        "dataset": recipe["dataset"],
        "dataset_source": dataset.source.replace(str(data_dir), "shared/data"),
        "class_names": list(dataset.class_names),
        "preprocessing": {"target_size": None, "color_mode": "grayscale", "resize_mode": "pad"},
        "input_shape": [int(d) for d in model.input_shape[1:]],
        "num_classes": dataset.num_classes,
        "model_spec": recipe["spec"](),
        "train_config": {
            "optimizer": "adam",
            "learning_rate": LEARNING_RATE,
            "learning_rate_schedule": "cosine decay to 0 over all steps",
            "batch_size": BATCH_SIZE,
            "epochs": recipe["epochs"],
            "seed": SEED,
        },
        "params": int(model.count_params()),
        "history": epochs,
        "epochs_completed": recipe["epochs"],
        "metrics": {
            "test_accuracy": round(float(test_accuracy), 4),
            "test_loss": round(float(test_loss), 4),
            "evaluated_on": "test",
            "num_test_images": int(len(x_test)),
        },
        "train_seconds": round(train_seconds, 1),
        "source": "bundled",
        "rebuild": "python scripts/train_bundled_models.py",
    }
    with tempfile.TemporaryDirectory() as folder:
        temporary = Path(folder) / f"{name}.keras"
        bare.save(temporary)
        model_store.save_model_file(temporary, name, sidecar, models_dir=output_dir, overwrite=True)
    np.testing.assert_allclose(  # the saved copy predicts what the trained model predicts
        keras.saving.load_model(output_dir / f"{name}.keras")(x_test[:8]),
        model(x_test[:8]),
        atol=1e-5,
    )
    return sidecar


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(RECIPES), action="append")
    parser.add_argument(
        "--data-dir",
        default=os.environ.get(builtin.DATA_DIR_ENV) or str(ROOT.parent / "shared" / "data"),
        help="folder with mnist/mnist.npz and fashion_mnist/fashion_mnist.npz",
    )
    parser.add_argument(
        "--output-dir", default=str(OUTPUT_DIR), help="where to write (default assets/models)"
    )
    arguments = parser.parse_args(argv)
    keras = import_keras()
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    for name in arguments.only or list(RECIPES):
        train_one(keras, name, Path(arguments.data_dir), Path(arguments.output_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
