"""Loading a user's `.keras` file safely and describing it (layers, shapes, kinds) for the pages,
with one message for every way a file is refused."""

from __future__ import annotations

import os

from core.jobs.inspection import (
    LayerInfo,
    ModelInfo,
    ModelRejectedError,
    layer_kind,
)
from core.worker.environment import import_keras
from core.worker.model_building import first_conv_layer


def pair_or_none(value) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


def activation_name(layer) -> str | None:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", type(activation).__name__)


def output_shape_of(layer) -> tuple | None:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return None
    return tuple(None if d is None else int(d) for d in shape[1:])


def inbound_layers(layer) -> tuple[str, ...]:
    names = []
    for node in getattr(layer, "_inbound_nodes", []) or []:
        for tensor in getattr(node, "input_tensors", []) or []:
            history = getattr(tensor, "_keras_history", None)
            if history is not None:
                names.append(history[0].name)
    return tuple(names)


def describe_model(model, path: str) -> ModelInfo:
    """`ModelInfo` for a loaded Keras model, with `problem` set when it is not an image CNN."""
    layers = []
    for layer in model.layers:
        class_name = type(layer).__name__
        kind = layer_kind(class_name)
        window = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
        spatial = kind in ("conv", "pooling")
        layers.append(
            LayerInfo(
                name=layer.name,
                class_name=class_name,
                kind=kind,
                output_shape=output_shape_of(layer),
                params=int(layer.count_params()) if layer.built else 0,
                activation=activation_name(layer),
                kernel_size=pair_or_none(window) if spatial else None,
                strides=pair_or_none(getattr(layer, "strides", None)) if spatial else None,
                padding=getattr(layer, "padding", None) if spatial else None,
                dilation_rate=pair_or_none(getattr(layer, "dilation_rate", 1)) or (1, 1),
                filters=getattr(layer, "filters", None),
                inbound=inbound_layers(layer),
            )
        )
    inputs = list(getattr(model, "inputs", None) or [])
    outputs = list(getattr(model, "outputs", None) or [])
    problem = ""
    input_shape: tuple = ()
    if len(inputs) != 1:
        problem = (
            f"This model has {len(inputs)} inputs. The page inspects models with one image "
            "input; rebuild it with a single keras.Input(shape=(height, width, channels))."
        )
    else:
        input_shape = tuple(None if d is None else int(d) for d in inputs[0].shape[1:])
        if len(input_shape) != 3 or None in input_shape or input_shape[2] not in (1, 3):
            problem = (
                f"This model's input has shape {input_shape}, which is not an image "
                "(height, width, 1 or 3 channels) of fixed size. The page inspects image CNNs."
            )
    if not problem and len(outputs) != 1:
        problem = (
            f"This model has {len(outputs)} outputs; the page needs exactly one (the classes)."
        )
    if not problem and len(outputs[0].shape) != 2:
        problem = (
            f"This model's output has shape {tuple(outputs[0].shape[1:])}; the page needs one "
            "score per class (a Dense output layer)."
        )
    if not problem and not any(layer.kind == "conv" for layer in layers):
        problem = (
            "This model has no convolution layers (it looks like a dense network), so there "
            "are no filters or feature maps to inspect. Pick or train a CNN."
        )
    num_classes = int(outputs[0].shape[-1]) if len(outputs) == 1 and outputs[0].shape[-1] else 0
    return ModelInfo(
        path=path,
        name=model.name,
        input_shape=input_shape,
        num_classes=num_classes,
        layers=tuple(layers),
        total_params=int(model.count_params()),
        problem=problem,
    )


def default_cam_layer(info: ModelInfo) -> str:
    """The last conv or activation layer with feature maps (Grad-CAM's usual choice)."""
    candidates = [layer.name for layer in info.map_layers if layer.kind in ("conv", "activation")]
    if not candidates:
        raise ValueError("The model has no conv layer to compute Grad-CAM on.")
    return candidates[-1]


def refusal_message(error: Exception) -> str:
    """Why Keras refused to load a file, in words a user can act on."""
    text = str(error)
    lowered = text.lower()
    first_line = text.splitlines()[0][:300] if text else type(error).__name__
    if "lambda" in lowered or "safe_mode" in lowered or "arbitrary code" in lowered:
        return (
            "This model contains a Lambda layer or other Python code, which this app never "
            "loads (Keras safe_mode). Rebuild it from standard Keras layers and save it again."
        )
    if "could not locate" in lowered or "custom" in lowered or "unknown" in lowered:
        return (
            "This model uses a custom layer or function that is not part of Keras, so it "
            f"cannot be loaded safely here. Keras says: {first_line}"
        )
    return f"The file could not be loaded as a Keras model: {first_line}"


def describe_upload(path: str | os.PathLike) -> dict:
    """Load a ``.keras`` file with ``safe_mode=True`` and describe it for the model store.

    Returns:
        ``{"input_shape", "output_shape", "total_params", "layers": [{"name", "class_name"}],
        "first_conv_layer"}``.

    Raises:
        ModelRejectedError: the file cannot be loaded safely (`refusal_message` says why).
    """
    keras = import_keras()
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types; all mean "refused"
        raise ModelRejectedError(refusal_message(error)) from None
    conv = first_conv_layer(model)
    return {
        "input_shape": list(model.input_shape[1:]),
        "output_shape": list(model.output_shape[1:]),
        "total_params": int(model.count_params()),
        "layers": [
            {"name": layer.name, "class_name": type(layer).__name__} for layer in model.layers
        ],
        "first_conv_layer": None if conv is None else conv.name,
    }
