"""Loading a user's `.keras` file safely and describing it (layers, shapes, kinds) for the pages,
with one message for every way a file is refused."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence

import numpy as np

from core.jobs.inspection import (
    LayerInfo,
    ModelInfo,
    ModelRejectedError,
    layer_kind,
    nan_weights_message,
)
from core.worker.environment import import_keras
from core.worker.model_building import first_conv_layer


def pair_or_none(value) -> tuple[int, int] | None:
    """A 2-D window or step as ``(rows, columns)``; None for anything else (a 1-D or 3-D one).

    >>> pair_or_none(3), pair_or_none([2, 1]), pair_or_none((1,)), pair_or_none(None)
    ((3, 3), (2, 1), None, None)
    """
    if value is None:
        return None
    if isinstance(value, int):
        return (value, value)
    if len(value) != 2:
        return None
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


def _topological_order(names: list[str], parents: dict[str, list[str]]) -> list[str]:
    """`names` with every layer after the layers it reads, otherwise in the given order."""
    position = {name: index for index, name in enumerate(names)}
    waiting = {name: len(parents[name]) for name in names}
    children: dict[str, list[str]] = {name: [] for name in names}
    for name in names:
        for parent in parents[name]:
            children[parent].append(name)
    ready = sorted((name for name in names if waiting[name] == 0), key=position.get)
    order = []
    while ready:
        name = ready.pop(0)
        order.append(name)
        for child in children[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
                ready.sort(key=position.get)
    # A cycle cannot come out of Keras; keep whatever was left in its given order.
    return order + [name for name in names if name not in set(order)]


_SPATIAL_WORDS = {
    "DepthwiseConv2D": "depthwise conv",
    "SeparableConv2D": "separable conv",
    "Conv2DTranspose": "transposed conv",
    "MaxPooling2D": "max pool",
    "MaxPool2D": "max pool",
    "AveragePooling2D": "average pool",
    "AveragePool2D": "average pool",
}


def _spatial_word(layer: LayerInfo) -> str:
    """`"3×3 conv"`, `"1×1 conv stride 2"`, `"3×3 max pool"`: a conv or pooling layer in words."""
    word = _SPATIAL_WORDS.get(layer.class_name, "conv" if layer.kind == "conv" else "pool")
    size = "×".join(map(str, layer.kernel_size)) if layer.kernel_size else "?"
    strides = layer.strides or (1, 1)
    step = "" if strides == (1, 1) else f" stride {'×'.join(map(str, sorted(set(strides))))}"
    return f"{size} {word}{step}"


def _branch_summary(members: list[LayerInfo]) -> str:
    """What a branch does: its convolutions and pooling in order, `"identity"` when empty."""
    if not members:
        return "identity"
    spatial = [_spatial_word(layer) for layer in members if layer.kind in ("conv", "pooling")]
    if spatial:
        return " → ".join(spatial)
    return " → ".join(layer.class_name for layer in members)


def _branch_roles(merge: LayerInfo, slot_sizes: list[int]) -> list[str]:
    """A name per input of `merge`: residual branch and shortcut for a two-way Add, else
    branch 1, 2, ..."""
    if merge.class_name == "Add" and len(slot_sizes) == 2 and slot_sizes[0] != slot_sizes[1]:
        shortcut = 0 if slot_sizes[0] < slot_sizes[1] else 1
        return ["shortcut" if slot == shortcut else "residual branch" for slot in (0, 1)]
    return [f"branch {slot + 1}" for slot in range(len(slot_sizes))]


def annotate_graph(layers: Sequence[LayerInfo]) -> tuple[LayerInfo, ...]:
    """`layers` with `depth`, `branch` and `block` filled in from their `inbound` links.

    The *main path* is the layers that every path from the input to the output goes
    through. Any other layer lies in a branch: its `block` is the first main-path layer after
    it (the merge that joins the branches again) and its `branch` names which input of that
    merge it feeds, with what the branch does. A two-way `Add` has a `"residual branch"` and a
    `"shortcut"` (the one with fewer layers; an `"identity"` shortcut has none); other merges
    number their inputs `"branch 1"`, `"branch 2"`, ... A layer that feeds several inputs of
    the merge (a fork inside a branch) is `"shared by branch 2 and branch 3"`.

    Args:
        layers: every layer of a model, each naming its `inbound` layers.

    Returns:
        The same layers, in the same order, annotated.

    >>> def make(name, class_name, kind, *inbound, kernel=None):
    ...     return LayerInfo(name, class_name, kind, (8, 8, 1), 0, kernel_size=kernel,
    ...                      inbound=inbound)
    >>> described = annotate_graph([
    ...     make("in", "InputLayer", "input"),
    ...     make("conv", "Conv2D", "conv", "in", kernel=(3, 3)),
    ...     make("add", "Add", "merge", "conv", "in"),
    ... ])
    >>> [(layer.name, layer.depth, layer.block, layer.branch) for layer in described]
    [('in', 0, '', ''), ('conv', 1, 'add', 'residual branch (3×3 conv)'), ('add', 2, '', '')]
    """
    by_name = {layer.name: layer for layer in layers}
    names = list(by_name)
    parents = {
        name: [p for p in dict.fromkeys(by_name[name].inbound) if p in by_name and p != name]
        for name in names
    }
    order = _topological_order(names, parents)
    position = {name: index for index, name in enumerate(order)}
    children: dict[str, list[str]] = {name: [] for name in names}
    for name in order:
        for parent in parents[name]:
            children[parent].append(name)

    depth: dict[str, int] = {}
    from_input: dict[str, int] = {}
    for name in order:
        depth[name] = 1 + max((depth[p] for p in parents[name]), default=-1)
        from_input[name] = sum(from_input[p] for p in parents[name]) if parents[name] else 1
    to_output: dict[str, int] = {}
    for name in reversed(order):
        to_output[name] = sum(to_output[c] for c in children[name]) if children[name] else 1
    # Path counts are exact (Python integers): a layer is on every input → output path
    # exactly when the paths through it are all of them.
    total = sum(from_input[name] for name in names if not children[name])
    main = {name for name in names if from_input[name] * to_output[name] == total}

    block: dict[str, str] = {}
    for name in reversed(order):
        if name in main:
            continue
        after = [c if c in main else block.get(c, "") for c in children[name]]
        after = [c for c in after if c]
        if after:
            block[name] = min(after, key=position.get)
    slots: dict[str, set[int]] = {}
    for name in reversed(order):
        if name not in block:
            continue
        merge = by_name[block[name]]
        slots[name] = {k for k, source in enumerate(merge.inbound) if source == name}
        for child in children[name]:
            if child not in main:
                slots[name] |= slots.get(child, set())

    labels: dict[str, str] = {}
    for merge_name in sorted(set(block.values()), key=position.get):
        merge = by_name[merge_name]
        members = [
            [by_name[n] for n in order if block.get(n) == merge_name and slots.get(n) == {k}]
            for k in range(len(merge.inbound))
        ]
        roles = _branch_roles(merge, [len(group) for group in members])
        for k, group in enumerate(members):
            for layer in group:
                labels[layer.name] = f"{roles[k]} ({_branch_summary(group)})"
        for name in order:
            if block.get(name) == merge_name and name not in labels:
                shared = sorted(slots.get(name, ()))
                labels[name] = "shared by " + " and ".join(roles[k] for k in shared)
    return tuple(
        dataclasses.replace(
            layer,
            depth=depth[layer.name],
            block=block.get(layer.name, ""),
            branch=labels.get(layer.name, "") if layer.name in block else "",
        )
        for layer in layers
    )


def nan_layers(model) -> tuple[str, ...]:
    """The names of the layers whose weights hold NaN or infinite values (a diverged run)."""
    broken = []
    for layer in model.layers:
        if any(not np.isfinite(np.asarray(weight)).all() for weight in layer.weights):
            broken.append(layer.name)
    return tuple(broken)


def _input_problem(inputs: list) -> tuple[str, tuple]:
    """Why the model's inputs are not one image of fixed size (``""`` if they are), and the
    input shape without the batch axis."""
    if len(inputs) != 1:
        return (
            f"This model has {len(inputs)} inputs. ConvScope works with models of one image "
            "input; rebuild it with a single keras.Input(shape=(height, width, channels)).",
            (),
        )
    shape = tuple(None if d is None else int(d) for d in inputs[0].shape[1:])
    if len(shape) != 3 or shape[2] not in (1, 3):
        return (
            f"This model's input has shape {shape}, which is not an image (height, width and "
            "1 or 3 channels). ConvScope works with image CNNs.",
            shape,
        )
    if None in shape:
        shown = "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
        return (
            f"This model's input has shape {shown}: its height and width are not fixed, and "
            "ConvScope needs one image size. Build the same layers on keras.Input(shape=("
            f"height, width, {shape[2]})), copy the weights over with set_weights and save it "
            "again.",
            shape,
        )
    return "", shape


def describe_model(model, path: str) -> ModelInfo:
    """`ModelInfo` for a loaded Keras model.

    `problem` is set when it is not a single-input image classifier (the pages cannot use
    it); `notes` say what still works when it has no convolution layers or weights that are
    not numbers (`nan_layers`).
    """
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
    problem, input_shape = _input_problem(inputs)
    if not problem and len(outputs) != 1:
        problem = (
            f"This model has {len(outputs)} outputs; ConvScope needs exactly one (the class "
            "scores)."
        )
    if not problem and len(outputs[0].shape) != 2:
        problem = (
            f"This model's output has shape {tuple(outputs[0].shape[1:])}; ConvScope needs one "
            "score per class (a Dense output layer)."
        )
    notes = []
    if not any(layer.kind == "conv" for layer in layers):
        notes.append(
            "This model has no convolution layers (a dense network), so it has no filters or "
            "feature maps: only its prediction, saliency and summary can be shown."
        )
    broken = nan_layers(model)
    if broken:
        notes.append(
            nan_weights_message(
                "everything computed from them on (feature maps, the prediction, saliency, "
                "Grad-CAM)",
                broken,
            )
        )
    num_classes = int(outputs[0].shape[-1]) if len(outputs) == 1 and outputs[0].shape[-1] else 0
    return ModelInfo(
        path=path,
        name=model.name,
        input_shape=input_shape,
        num_classes=num_classes,
        layers=annotate_graph(layers),
        total_params=int(model.count_params()),
        problem=problem,
        notes=tuple(notes),
        nan_layers=broken,
    )


def default_cam_layer(info: ModelInfo) -> str:
    """The last convolution (`ModelInfo.last_conv`): Grad-CAM's usual choice, on any branch.

    Raises:
        ValueError: the model has no conv layer with feature maps.
    """
    last = info.last_conv
    if last is None:
        raise ValueError("The model has no conv layer to compute Grad-CAM on.")
    return last.name


# A class Keras could not find or build, as its messages quote it.
_QUOTED_CLASS = re.compile(r"(?:class|deserialize) '([\w.>]+)'")


# Keras' own wrappers, named when the real culprit is a layer inside them.
_CONTAINERS = frozenset({"Functional", "Sequential", "Model"})


def _plain(text: str) -> str:
    """Keras' wording without Python reprs or module paths.

    >>> _plain("<class 'keras.src.models.functional.Functional'> failed in keras.src.ops.x")
    'Functional failed in x'
    >>> _plain("for object <Conv2D name=conv, built=True>")
    'for object conv (Conv2D)'
    """
    text = re.sub(r"<class '([\w.]+)'>", lambda match: match.group(1).rsplit(".", 1)[-1], text)
    text = re.sub(r"<(\w+) name=([\w.-]+)[^>]*>", r"\2 (\1)", text)
    return re.sub(r"\bkeras\.src(?:\.\w+)*\.(\w+)", r"\1", text)


def refusal_message(error: Exception) -> str:
    """Why Keras refused to load a file, in words a user can act on.

    Keras often wraps the real reason (a class it cannot find) in another error; the
    whole chain is read. No exception names, reprs or module paths reach the message.
    """
    texts = []
    current: BaseException | None = error
    while current is not None and len(texts) < 5:
        texts.append(str(current))
        current = current.__cause__ or current.__context__
    joined = "\n".join(texts)
    lowered = joined.lower()
    if "lambda" in lowered or "safe_mode" in lowered or "arbitrary code" in lowered:
        return (
            "This model contains a Lambda layer or other Python code, which this app never "
            "loads (Keras safe_mode). Rebuild it from standard Keras layers and save it again."
        )
    names = [name.rsplit(".", 1)[-1].rsplit(">", 1)[-1] for name in _QUOTED_CLASS.findall(joined)]
    names = [name for name in names if name not in _CONTAINERS]
    if names or any(
        word in lowered for word in ("could not locate", "custom", "unknown", "kerassaveable")
    ):
        which = f" ({names[0]})" if names else ""
        return (
            f"This model uses a layer or function that is not part of Keras{which}: custom "
            "code, which this app never loads. Rebuild it from standard Keras layers and save "
            "it again."
        )
    if (
        "could not be loaded. example error message" in lowered
        or "objects could not be loaded" in lowered
    ):
        return (
            "This model's weights do not fit its layers: the weights file inside it belongs to "
            "another network or is damaged. Save the model again with model.save('name.keras') "
            "and upload that file."
        )
    first_line = _plain(texts[0].strip().splitlines()[0][:300]) if texts[0].strip() else ""
    reason = f" ({first_line.rstrip('.')})" if first_line else ""
    return (
        f"The file could not be loaded as a Keras model{reason}. Save the model again with "
        "model.save('name.keras') and upload that file."
    )


def load_safely(keras, path: str | os.PathLike):
    """Load a ``.keras`` file with ``safe_mode=True`` (no Lambda layers, no custom code).

    Raises:
        ModelRejectedError: Keras refused the file or it holds no model; the message says
            why (`refusal_message`).
    """
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types; all mean "refused"
        raise ModelRejectedError(refusal_message(error)) from None
    if not isinstance(model, keras.Model):
        raise ModelRejectedError("The file holds a Keras object that is not a model.")
    return model


def describe_upload(path: str | os.PathLike) -> dict:
    """Load a ``.keras`` file safely and describe it for the model store.

    The same check as "Inspect a Network" makes (`describe_model`): a file the pages could
    not use is refused, and what they can only partly show comes back as ``notes``.

    Returns:
        ``{"input_shape", "output_shape", "total_params", "layers": [{"name", "class_name"}],
        "first_conv_layer", "notes"}``.

    Raises:
        ModelRejectedError: the file cannot be loaded safely (`refusal_message` says why) or
            is not a single-input image classifier (`describe_model`'s problem).
    """
    model = load_safely(import_keras(), path)
    info = describe_model(model, os.fspath(path))
    if info.problem:
        raise ModelRejectedError(info.problem)
    conv = first_conv_layer(model)
    return {
        "input_shape": list(info.input_shape),
        "output_shape": list(model.output_shape[1:]),
        "total_params": info.total_params,
        "layers": [
            {"name": layer.name, "class_name": type(layer).__name__} for layer in model.layers
        ],
        "first_conv_layer": None if conv is None else conv.name,
        "notes": list(info.notes),
    }
