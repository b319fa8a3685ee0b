"""Legacy ``.h5`` models, converted to ``.keras`` in the worker without running their code.

Most tutorials of the seeds' era saved models with ``model.save("name.h5")``: an HDF5 file
holding the network's description (``model_config``, JSON) and its weights. Keras 3 still
reads them; ``convert_h5`` does so here, in the worker, and saves the same model as a
``.keras`` file (without optimizer state), which the rest of the app then treats like any
upload.

Nothing in the file may run: the description is read as JSON and refused when it names a
``Lambda`` layer (marshalled Python bytecode), TensorFlow-op layers or a class of its
author's (``Package>Name`` or a module outside Keras) before Keras sees it; Keras then loads
it with ``safe_mode=True`` and ``compile=False`` (a training configuration can name Python
loss functions), and any class it does not know is refused. A file with weights but no
description, a damaged file and an HDF5 file that is no model at all get their own
messages saying what to do.
"""

from __future__ import annotations

import json
import os

from core.jobs.inspection import ModelRejectedError
from core.worker.environment import import_keras
from core.worker.model_description import refusal_message

# Layers whose config carries Python code (Lambda's marshalled function) or stands for
# TensorFlow operations recorded from a tf.keras 2 functional model.
CODE_LAYERS = frozenset({"Lambda", "TFOpLambda", "SlicingOpLambda", "__lambda__"})


LAMBDA_MESSAGE = (
    "This .h5 model contains a Lambda layer or other Python code, which ConvScope never "
    "runs. Rebuild it from standard Keras layers, copy the weights over and save it with "
    "model.save('name.keras')."
)


DAMAGED_MESSAGE = (
    "This .h5 file is damaged or cut short (an interrupted download?), so it cannot be read. "
    "Download or save it again."
)


WEIGHTS_ONLY_MESSAGE = (
    "This .h5 file holds only weights (what model.save_weights writes), not the network they "
    "belong to. ConvScope needs the whole model: in Keras, build the network, load these "
    "weights with model.load_weights(...) and save it with model.save('name.keras'), then "
    "upload that file."
)


NO_MODEL_MESSAGE = (
    "This HDF5 file holds no Keras model (no model description, no weights). Upload a model "
    "saved with model.save('name.keras') or, from older Keras, model.save('name.h5')."
)


def custom_class(config) -> str | None:
    """The first layer class in a model description that Keras does not ship, or None.

    Only what the description itself says: a registered name ``Package>Name`` or a module
    outside Keras. Classes Keras does not know are refused when it loads the model.

    >>> custom_class({"class_name": "Conv2D", "module": "keras.layers", "config": {}})
    >>> custom_class({"layers": [{"class_name": "Mine>Doubler", "config": {}}]})
    'Mine>Doubler'
    """
    for item in _dicts(config):
        name = item.get("class_name")
        module = item.get("module")
        if isinstance(name, str) and ">" in name and not name.startswith("keras"):
            return name
        if isinstance(module, str) and module.split(".")[0] not in ("keras", "tf_keras"):
            return str(name)
    return None


def names_code(config) -> bool:
    """Whether a model description holds Python code (a Lambda or TensorFlow-op layer).

    >>> names_code({"layers": [{"class_name": "Lambda", "config": {"function": "..."}}]})
    True
    >>> names_code({"layers": [{"class_name": "Dense", "config": {"units": 2}}]})
    False
    """
    return any(
        item.get("class_name") in CODE_LAYERS or "function_type" in item for item in _dicts(config)
    )


def _dicts(config):
    """Every dict nested in a JSON value, iteratively (a deep file cannot exhaust the stack)."""
    stack = [config]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            yield value
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def read_description(source: str | os.PathLike) -> dict:
    """The ``model_config`` of an ``.h5`` file as JSON, refusing what must not be loaded.

    Raises:
        ModelRejectedError: damaged, weights only, no model, code or a custom class.
    """
    import h5py

    try:
        handle = h5py.File(source, "r")
    except OSError:
        raise ModelRejectedError(DAMAGED_MESSAGE) from None
    with handle:
        try:
            raw = handle.attrs.get("model_config")
            has_weights = "model_weights" in handle or "layer_names" in handle.attrs
            has_weights = has_weights or "vars" in handle or "layers" in handle
        except (OSError, KeyError, RuntimeError):
            raise ModelRejectedError(DAMAGED_MESSAGE) from None
    if raw is None:
        raise ModelRejectedError(WEIGHTS_ONLY_MESSAGE if has_weights else NO_MODEL_MESSAGE)
    try:
        config = json.loads(raw.decode("utf-8") if hasattr(raw, "decode") else str(raw))
    except (ValueError, RecursionError):
        raise ModelRejectedError(
            "This .h5 file's description of the layers cannot be read. Save the model again."
        ) from None
    if not isinstance(config, dict):
        raise ModelRejectedError(NO_MODEL_MESSAGE)
    if names_code(config):
        raise ModelRejectedError(LAMBDA_MESSAGE)
    if (name := custom_class(config)) is not None:
        raise ModelRejectedError(
            f"This .h5 model uses a custom layer or function of its author's ({name}), not "
            "part of Keras, so it cannot be loaded safely here. Rebuild it from standard Keras "
            "layers and save it with model.save('name.keras')."
        )
    return config


def convert_h5(source: str | os.PathLike, target: str | os.PathLike) -> dict:
    """Load a legacy ``.h5`` model safely and save it as ``target`` (a ``.keras`` file).

    Args:
        source: the ``.h5`` file (its name must end in ``.h5``: Keras picks the reader by it).
        target: where to write the ``.keras`` file.

    Returns:
        ``{"keras_version": the version that wrote the file, or ""}``.

    Raises:
        ModelRejectedError: the file cannot be converted safely; the message says why.
    """
    source, target = os.fspath(source), os.fspath(target)
    if not source.endswith(".h5") or not target.endswith(".keras"):
        raise ValueError(
            f"`source` must end in .h5 and `target` in .keras. Received: source={source!r}, "
            f"target={target!r}."
        )
    read_description(source)
    keras = import_keras()
    try:
        model = keras.saving.load_model(source, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types; all mean "refused"
        raise ModelRejectedError(_h5_refusal(error)) from None
    if not isinstance(model, keras.Model):
        raise ModelRejectedError("The .h5 file holds a Keras object that is not a model.")
    model.save(target)
    import h5py

    with h5py.File(source, "r") as handle:
        version = handle.attrs.get("keras_version", "")
    return {"keras_version": version.decode() if hasattr(version, "decode") else str(version)}


def _h5_refusal(error: Exception) -> str:
    """`refusal_message`, with the damage of a truncated file named as such."""
    text = str(error).lower()
    if "truncated" in text or "unable to" in text or "errno" in text:
        return DAMAGED_MESSAGE
    return refusal_message(error)
