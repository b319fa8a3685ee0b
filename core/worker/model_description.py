"""Loading a user's `.keras` file safely and describing it (layers, shapes, kinds) for the pages,
with one message for every way a file is refused."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

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
        layers=annotate_graph(layers),
        total_params=int(model.count_params()),
        problem=problem,
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
