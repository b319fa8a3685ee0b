"""What a training run is asked to build and train on, as plain JSON-safe dicts.

The page and the command line describe a model (a spec, a preset name, a saved file or a
transfer base), a data set (built-in name or an `.npz` path) and preprocessing; these
helpers check each and turn it into the entry stored in the run's `config.json`, and refuse
a transfer model that cannot start (wrong image shape, missing ImageNet weights) before any
worker process is spent on it."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from core.base.checks import check_instance, received
from core.data.catalog import BUILTIN_DATASETS
from core.data.preprocessing import Preprocessing
from core.jobs.train_config import check_keys, from_fields
from core.nets.presets import PRESETS
from core.nets.specs import ModelSpec, spec_from_dict, spec_to_dict
from core.nets.summary import summarize
from core.nets.transfer import (
    WeightsUnavailableError,
    imagenet_weights_advice,
    imagenet_weights_cached,
    imagenet_weights_path,
    transfer_entry,
    transfer_input_problem,
)

_TRANSFER_KEYS = ("transfer", "weights")


def model_request(model) -> dict:
    """The ``config.json`` entry of a model: a spec, a preset, a ``.keras`` file or a transfer.

    Args:
        model: A `ModelSpec` or a dict of one, a preset name, the path of an existing
            ``.keras`` file, or ``{"transfer": base, "weights": "imagenet" | None}``.

    Raises:
        TypeError: none of those types.
        ValueError: an unknown preset, a missing file, or a transfer dict with other keys.
        InvalidModelError: a spec whose stack cannot be built (naming the layer).

    >>> model_request("mnist_cnn_a")
    {'preset': 'mnist_cnn_a'}
    """
    if isinstance(model, dict) and "transfer" in model:
        check_keys(model, "model", _TRANSFER_KEYS)
        return transfer_entry(model["transfer"], weights=model.get("weights", "imagenet"))
    if isinstance(model, dict) or dataclasses.is_dataclass(model):
        spec = model if isinstance(model, ModelSpec) else None
        if spec is None and isinstance(model, dict):
            spec = spec_from_dict(model)
        if spec is None:
            raise TypeError(
                f"`model` must be a ModelSpec or a spec dict. {received('model', model)}"
            )
        summarize(spec)  # refuses a stack that cannot be built, naming the layer
        return {"spec": spec_to_dict(spec)}
    if isinstance(model, str) and not model.endswith(".keras"):
        if model not in PRESETS:
            raise ValueError(
                f"`model` must be one of the presets {tuple(PRESETS)}, a model spec or the path "
                f"of a .keras file. {received('model', model)}"
            )
        return {"preset": model}
    if isinstance(model, str | os.PathLike):
        path = Path(model)
        if path.suffix != ".keras" or not path.is_file():
            raise ValueError(
                "`model` must be a model spec or the path of an existing .keras file. "
                f"{received('model', os.fspath(model))}"
            )
        return {"keras_path": os.fspath(path.resolve())}
    raise TypeError(
        "`model` must be a ModelSpec, a spec dict, a preset name or a .keras path. "
        f"{received('model', model)}"
    )


# Native image shapes of the built-in data sets (what `core.data.builtin.load_builtin` gives).
_BUILTIN_IMAGE_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}


def check_transfer_can_start(
    model, dataset, preprocessing, *, require_cached_weights: bool = True
) -> None:
    """Refuse a transfer model that would fail in its worker: wrong images, missing weights.

    Plain Python (the image shape comes from the preprocessing, the built-in shapes or the
    ``.npz`` header), so the page learns it at once, before a worker loads TensorFlow.
    `prepare_run` (which the command line uses) checks only the images
    (``require_cached_weights=False``): the command line may download the weights.
    """
    if not (isinstance(model, dict) and "transfer" in model):
        return

    entry = model_request(model)
    shape = _expected_input_shape(dataset_request(dataset), preprocessing_request(preprocessing))
    if shape is None:
        return  # the worker checks once the data is loaded
    base = entry["transfer"]
    problem = transfer_input_problem(shape, base=base)
    if problem is not None:
        raise ValueError(problem)
    if (
        require_cached_weights
        and entry["weights"] == "imagenet"
        and not imagenet_weights_cached(input_shape=shape, base=base)
    ):
        path = imagenet_weights_path(input_shape=shape, base=base)
        raise WeightsUnavailableError(
            f"The ImageNet weights for {base} are not in the Keras cache: {path.name} is "
            f"missing from {path.parent}. {imagenet_weights_advice(input_shape=shape, base=base)}"
            " Or train the same architecture from random weights (weights=None)."
        )


def _expected_input_shape(dataset_entry: dict, preprocessing_entry: dict | None):
    """The network input shape the worker will see, or None when it cannot be told cheaply."""
    native = None
    if "name" in dataset_entry:
        native = _BUILTIN_IMAGE_SHAPES.get(dataset_entry["name"])
    else:
        import zipfile

        try:
            with (
                zipfile.ZipFile(dataset_entry["npz_path"]) as archive,
                archive.open("x_train.npy") as stream,
            ):
                version = np.lib.format.read_magic(stream)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                native = read_header(stream)[0][1:]
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            native = None
    if preprocessing_entry is not None:
        settings = Preprocessing(**preprocessing_entry)
        if settings.output_shape is not None:
            return settings.output_shape
        return None if native is None else settings.input_shape_for(native)
    if native is None or len(native) not in (2, 3):
        return None
    return (int(native[0]), int(native[1]), int(native[2]) if len(native) == 3 else 1)


def model_request_label(entry: dict) -> str:
    """A short name for a config's model entry (run folder names, run lists)."""
    if "spec" in entry:
        return entry["spec"].get("name", "?")
    if "transfer" in entry:
        return f"{entry['transfer']} transfer" + ("" if entry.get("weights") else " (random)")
    return entry.get("preset") or Path(entry.get("keras_path", "model")).stem


def dataset_request(dataset) -> dict:
    """The ``config.json`` entry of a data set: a built-in name (any case) or an ``.npz`` file.

    Raises:
        TypeError: neither a string nor a path.
        ValueError: an unknown name, or a path that is not an existing file.

    >>> dataset_request("MNIST")
    {'name': 'mnist'}
    """
    if isinstance(dataset, os.PathLike) or (isinstance(dataset, str) and dataset.endswith(".npz")):
        path = Path(dataset)
        if not path.is_file():
            raise ValueError(
                "`dataset` must be an existing .npz file. "
                f"{received('dataset', os.fspath(dataset))}"
            )
        return {"npz_path": os.fspath(path.resolve())}
    if isinstance(dataset, str):
        if dataset.lower() not in BUILTIN_DATASETS:
            raise ValueError(
                f"`dataset` must be one of {BUILTIN_DATASETS} or an .npz path. "
                f"{received('dataset', dataset)}"
            )
        return {"name": dataset.lower()}
    raise TypeError(
        f"`dataset` must be a data set name or an .npz path. {received('dataset', dataset)}"
    )


def dataset_request_label(entry: dict) -> str:
    return entry.get("name") or Path(entry["npz_path"]).stem


def preprocessing_request(preprocessing) -> dict | None:
    """The ``config.json`` entry of the preprocessing: every field, or None for none.

    Raises:
        TypeError: not a `Preprocessing`, a dict or None (or a field of the wrong type).
        ValueError: a dict with a key that is not a field, or a field out of range.

    >>> preprocessing_request({"target_size": 32})["color_mode"]
    'grayscale'
    """
    if preprocessing is None:
        return None
    if isinstance(preprocessing, dict):
        # Preprocessing checks each field, naming it.
        preprocessing = from_fields(Preprocessing, preprocessing, "preprocessing")
    check_instance(
        preprocessing,
        "preprocessing",
        Preprocessing,
        "a Preprocessing, a dict of its fields or None",
    )
    return dataclasses.asdict(preprocessing)
