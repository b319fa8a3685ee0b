"""Keras models from the app's specs: presets adapted to the data, transfer models, optimizers,
augmentation layers, and saving a trained model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.base.checks import as_int_tuple, check_choice, check_int, received
from core.jobs.files import atomic_output
from core.jobs.train_config import Augmentation, TrainConfig
from core.nets import presets, specs, transfer
from core.nets.keras_code import layer_arguments
from core.nets.specs import INPUT_NAME, MOBILENET_V2_URL, ModelSpec
from core.nets.summary import summarize
from core.nets.transfer import (
    MIN_TRANSFER_SIZE,
    TRANSFER_WEIGHTS,
    WeightsUnavailableError,
    _check_base,
    imagenet_weights_advice,
    imagenet_weights_path,
)
from core.worker.downloads import can_reach, download_weights
from core.worker.environment import import_keras
from core.worker.training_data import TrainingData


def build_model(spec: ModelSpec):
    """Build the Keras model of `spec` (imports Keras: worker processes only).

    A plain stack becomes a `keras.Sequential`; a spec with branches a functional
    `keras.Model`, each layer called on the layers it reads (the graph `to_keras_code`
    writes). The model starts with `keras.Input(shape=spec.input_shape)` and its layers
    carry the spec's names, so `model.summary()` matches `summarize(spec)`.

    Args:
        spec: the `ModelSpec`.

    Returns:
        An uncompiled `keras.Sequential` or `keras.Model`, input `(batch, H, W, C)`, output
        `(batch, num_classes)` softmax probabilities.

    Raises:
        InvalidModelError: the stack cannot be built (checked before Keras is imported).

    Example:

    >>> from core.nets.presets import preset
    >>> build_model(preset("mnist_cnn_b")).count_params()
    93322
    """
    summarize(spec)
    import keras

    if spec.has_branches:
        tensors = {INPUT_NAME: keras.Input(shape=spec.input_shape, name=INPUT_NAME)}
        for layer, inputs in zip(spec.layers, spec.layer_inputs, strict=True):
            class_name, arguments = layer_arguments(layer)
            sources = [tensors[name] for name in inputs]
            keras_layer = getattr(keras.layers, class_name)(**arguments)
            tensors[layer.name] = keras_layer(sources if len(sources) > 1 else sources[0])
        outputs = tensors[spec.layers[-1].name]
        return keras.Model(tensors[INPUT_NAME], outputs, name=spec.name)
    layers = [keras.Input(shape=spec.input_shape)]
    for layer in spec.layers:
        class_name, arguments = layer_arguments(layer)
        layers.append(getattr(keras.layers, class_name)(**arguments))
    return keras.Sequential(layers, name=spec.name)


def build_transfer_model(
    *,
    input_shape: tuple[int, int, int],
    num_classes: int,
    weights: str | None = "imagenet",
    base: str = "MobileNetV2",
    dropout_rate: float = 0.2,
    timeout: float = 3.0,
):
    """A frozen pretrained base with a new classification head (imports Keras: workers only).

    Inputs in [0, 1] (as `core.data.preprocessing.preprocess` gives) are rescaled to MobileNetV2's
    [-1, 1]; grayscale inputs are repeated to 3 channels. The base runs in inference mode
    (its BatchNormalization statistics stay fixed) and is not trainable; only the head
    (GlobalAveragePooling2D → Dropout → Dense softmax) learns.

    Args:
        input_shape: `(H, W, C)`, H and W >= 32, C 1 or 3; 96 to 224 suits the weights best.
        num_classes: outputs of the head, >= 2.
        weights: `"imagenet"` (from `~/.keras/models`, downloaded when missing and online)
            or None (random initialisation, for tests).
        base: one of `TRANSFER_BASES`.
        dropout_rate: Dropout rate before the head.
        timeout: seconds to wait for the download server when the weights are not cached.

    Returns:
        A `keras.Model`, output `(batch, num_classes)`.

    Raises:
        TypeError: an argument of the wrong type (e.g. ``num_classes=2.0``).
        ValueError: images smaller than 32×32 or with 2 channels, fewer than 2 classes,
            or unknown weights or base.
        WeightsUnavailableError: ImageNet weights not cached and not downloadable now; the
            message says which file to put where.

    Example:

    >>> model = build_transfer_model(input_shape=(96, 96, 3), num_classes=2, weights=None)
    >>> model.layers[-1].units
    2
    """
    _check_base(base)
    shape = as_int_tuple(input_shape, "input_shape", length=3)
    if min(shape[:2]) < MIN_TRANSFER_SIZE or shape[2] not in (1, 3):
        raise ValueError(
            f"`input_shape` must be at least {MIN_TRANSFER_SIZE}×{MIN_TRANSFER_SIZE} with 1 or 3 "
            f"channels for {base}. {received('input_shape', input_shape)}"
        )
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    check_choice(weights, "weights", TRANSFER_WEIGHTS)

    weights_file = None
    if weights == "imagenet":
        weights_file = imagenet_weights_path(input_shape=shape, base=base)
        if not weights_file.is_file():
            url = MOBILENET_V2_URL + weights_file.name
            how = imagenet_weights_advice(input_shape=shape, base=base)
            if not can_reach(("storage.googleapis.com", 443), timeout):
                raise WeightsUnavailableError(
                    f"The ImageNet weights for {base} are not in the Keras cache and "
                    f"storage.googleapis.com cannot be reached (offline?). {how}"
                )
            download_weights(url, weights_file, how)

    import keras

    base_model = keras.applications.MobileNetV2(
        input_shape=(shape[0], shape[1], 3),
        include_top=False,
        weights=None if weights_file is None else str(weights_file),
    )
    base_model.trainable = False
    inputs = keras.Input(shape=shape, name="image")
    features = keras.layers.Rescaling(2.0, offset=-1.0, name="rescaling")(inputs)
    if shape[2] == 1:
        features = keras.layers.Concatenate(name="gray_to_rgb")([features] * 3)
    features = base_model(features, training=False)
    features = keras.layers.GlobalAveragePooling2D(name="global_average_pooling2d")(features)
    features = keras.layers.Dropout(dropout_rate, name="dropout")(features)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="dense")(features)
    return keras.Model(inputs, outputs, name=f"{base.lower()}_transfer")


def build_training_model(keras, config: dict, data: TrainingData):
    """Build (or load) the model a run's config describes and check it fits the data."""
    entry = config["model"]
    if "spec" in entry or "preset" in entry:
        if "spec" in entry:
            spec = specs.spec_from_dict(entry["spec"])
        else:
            spec = presets.preset(
                entry["preset"], input_shape=data.input_shape, num_classes=len(data.class_names)
            )
            entry["spec"] = specs.spec_to_dict(spec)  # the sidecar records what was built
        model = build_model(spec)
    elif "transfer" in entry:
        base = entry["transfer"]
        problem = transfer.transfer_input_problem(data.input_shape, base=base)
        if problem is not None:
            raise ValueError(problem)
        # Cached ImageNet weights are read from the Keras cache; a missing file raises
        # WeightsUnavailableError (after a download attempt when online).
        model = build_transfer_model(
            input_shape=data.input_shape,
            num_classes=len(data.class_names),
            weights=entry.get("weights"),
            base=base,
        )
    else:
        model = keras.saving.load_model(entry["keras_path"], safe_mode=True, compile=False)
    expected = tuple(model.input_shape[1:])
    if expected != data.input_shape:
        raise ValueError(
            f"The model expects images of shape {expected} but the data set gives "
            f"{data.input_shape}. Change the target size or colour mode, or the model's input."
        )
    outputs = int(model.output_shape[-1])
    if outputs != len(data.class_names):
        raise ValueError(
            f"The model has {outputs} outputs but the data set has {len(data.class_names)} "
            "classes. The last Dense layer needs one unit per class."
        )
    return model


def make_optimizer(keras, config: TrainConfig, *, total_steps: int):
    """The Keras optimizer a `TrainConfig` names, with its learning-rate schedule.

    Args:
        total_steps: Batches planned in all (the cosine schedule reaches 0 there).
    """
    learning_rate = config.learning_rate
    if config.learning_rate_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=max(1, total_steps)
        )
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=config.momentum)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate)
    return keras.optimizers.Adam(learning_rate=learning_rate)


def augmentation_model(keras, augmentation: Augmentation, *, seed: int = 0):
    """A ``keras.Sequential`` of random layers for ``augmentation`` (None when inactive)."""
    if not augmentation.active:
        return None
    layers = []
    if augmentation.flip != "none":
        layers.append(keras.layers.RandomFlip(augmentation.flip, seed=seed))
    if augmentation.rotation:
        layers.append(
            keras.layers.RandomRotation(augmentation.rotation, fill_mode="constant", seed=seed)
        )
    if augmentation.translation:
        layers.append(
            keras.layers.RandomTranslation(
                augmentation.translation,
                augmentation.translation,
                fill_mode="constant",
                seed=seed,
            )
        )
    if augmentation.zoom:
        layers.append(keras.layers.RandomZoom(augmentation.zoom, fill_mode="constant", seed=seed))
    return keras.Sequential(layers, name="augmentation")


def first_conv_layer(model):
    """The first ``Conv2D`` layer of ``model`` (searching nested models), or None."""
    for layer in model.layers:
        if type(layer).__name__ == "Conv2D":
            return layer
        if hasattr(layer, "layers"):
            inner = first_conv_layer(layer)
            if inner is not None:
                return inner
    return None


def save_keras_model(model, path: str | os.PathLike) -> Path:
    """Save ``model`` to ``path`` atomically and durably (`core.jobs.files.atomic_output`).

    A worker killed mid-save leaves the previous file whole; its hidden temporary file is
    removed later. Keras needs the temporary name to end in .keras.
    """
    path = Path(path)
    with atomic_output(path, suffix=".keras") as temporary:
        model.save(temporary)
    return path


def augment_examples(
    image: np.ndarray, augmentation: Augmentation, *, count: int, seed: int
) -> np.ndarray:
    """``count`` random versions of ``image`` (H, W, C float32) through the training layers."""
    keras = import_keras()
    augmenter = augmentation_model(keras, augmentation, seed=seed)
    batch = np.repeat(image[np.newaxis].astype(np.float32), count, axis=0)
    if augmenter is None:
        return batch
    keras.utils.set_random_seed(seed)
    return np.clip(np.asarray(augmenter(batch, training=True), dtype=np.float32), 0.0, 1.0)
