"""The layer-by-layer summary of a model spec, in plain Python (no Keras).

For every layer: output shape, parameters, multiply-adds and receptive field, computed with
Keras' own rules (`"valid"`: `floor((L - K) / S) + 1`, `"same"`: `ceil(L / S)`), so the page
can update the table instantly as the user edits the stack. Branches are followed layer by
layer: a merge checks that its inputs fit together (`Add`: the same shape; `Concatenate`:
the same height and width) and takes the largest receptive field among them. Output sizes
and receptive fields come from `core.ops.receptive_field.next_receptive_field`, the
arithmetic the Inspect page uses too.
A test checks every preset against Keras' `count_params()` and output shapes.

Use it through `core.nets.specs`:

>>> from core.nets.presets import preset
>>> summary = summarize(preset("mnist_cnn_a"))
>>> summary.total_params, summary.layers[0].output_shape
(220234, (28, 28, 32))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.base.checks import check_instance, received
from core.nets.specs import INPUT_NAME, MERGE_TYPES, LayerSpec, ModelSpec
from core.ops.receptive_field import (
    LayerGeometry,
    ReceptiveField,
    input_receptive_field,
    next_receptive_field,
)


class InvalidModelError(ValueError):
    """A stack of layers that cannot be built; the message names the layer (1-based) and why.

    >>> from core.nets.specs import ModelSpec, dense, flatten, max_pooling2d
    >>> tiny = ModelSpec("tiny", (1, 1, 1), (max_pooling2d(2), flatten(), dense(2, "softmax")))
    >>> summarize(tiny)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    core.nets.summary.InvalidModelError: Layer 1 (max_pooling2d) would shrink the 1×1 map ...
    """


@dataclass(frozen=True)
class LayerSummary:
    """One row of the summary table.

    Attributes:
        index: position in the stack, 1-based (as the error messages count).
        name: the Keras layer name, e.g. `"conv2d_1"`.
        type: the Keras class name, e.g. `"Conv2D"`.
        output_shape: shape without the batch axis, `(H, W, C)` or `(units,)`.
        params: all parameters (trainable and not).
        non_trainable_params: BatchNormalization's moving mean and variance; 0 elsewhere.
        macs: multiply-adds for one image (Conv2D, Dense, BatchNormalization; 0 elsewhere).
        receptive_field: side in input pixels of the square that bounds what one output
            value sees (the larger of `receptive_field_hw`); None after Flatten / pooling over
            the whole map, where every value sees the whole input.
        receptive_field_hw: `(height, width)` of the receptive field, or None.
        jump: `(rows, cols)` distance in input pixels between neighbouring outputs, or None.
        details: the settings in words, e.g. `"32 filters 3×3, same, relu"`.
        inputs: the names of the layers it reads (`"input"` for the image).
    """

    index: int
    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    receptive_field: int | None
    receptive_field_hw: tuple[int, int] | None = None
    jump: tuple[int, int] | None = None
    non_trainable_params: int = 0
    details: str = ""
    inputs: tuple[str, ...] = ()

    @property
    def trainable_params(self) -> int:
        """Parameters updated by training."""
        return self.params - self.non_trainable_params


@dataclass(frozen=True)
class ModelSummary:
    """The whole table plus totals.

    Attributes:
        input_shape: `(H, W, C)` of one input image.
        layers: one `LayerSummary` per layer, in order.
        total_params, trainable_params, non_trainable_params: parameter counts.
        total_macs: multiply-adds for one image.
        has_branches: whether some layer reads anything but the layer before it.
    """

    input_shape: tuple[int, int, int]
    layers: tuple[LayerSummary, ...]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    total_macs: int
    has_branches: bool = False

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of the model's output without the batch axis, e.g. `(10,)`."""
        return self.layers[-1].output_shape

    def params_up_to(self, name: str) -> int:
        """Parameters of layer `name` and of every layer it depends on: e.g. a network's
        convolutional base, up to its last pooling layer.

        >>> from core.nets.presets import preset
        >>> summarize(preset("mnist_cnn_a")).params_up_to("max_pooling2d_1")  # 320 + 18,496
        18816
        """
        by_name = {layer.name: layer for layer in self.layers}
        if name not in by_name:
            raise ValueError(
                f"`name` must be one of the layers {list(by_name)}. {received('name', name)}"
            )
        needed, waiting = set(), [name]
        while waiting:
            current = waiting.pop()
            if current in by_name and current not in needed:
                needed.add(current)
                waiting.extend(by_name[current].inputs)
        return sum(by_name[layer].params for layer in needed)

    def to_rows(self) -> list[dict]:
        """The table as a list of dicts (one per layer), ready for `st.dataframe`; a model
        with branches gets an "Inputs" column (what each layer reads).

        >>> from core.nets.presets import preset
        >>> summarize(preset("mlp")).to_rows()[1]["Output shape"]
        '512'
        """
        return [
            {
                "#": layer.index,
                "Layer": layer.name,
                "Type": layer.type,
                "Settings": layer.details,
                **({"Inputs": ", ".join(layer.inputs)} if self.has_branches else {}),
                "Output shape": " × ".join(str(d) for d in layer.output_shape),
                "Parameters": layer.params,
                "Multiply-adds": layer.macs,
                "Receptive field": (
                    "whole input"
                    if layer.receptive_field_hw is None
                    else "{}×{}".format(*layer.receptive_field_hw)
                ),
            }
            for layer in self.layers
        ]


def _where(index: int, layer: LayerSpec) -> str:
    return f"Layer {index} ({layer.name})"


def _pair(values: tuple[int, int]) -> str:
    return f"{values[0]}×{values[1]}"


def summarize(spec: ModelSpec) -> ModelSummary:
    """Compute output shapes, parameters, multiply-adds and receptive fields of a model spec.

    Pure Python: Keras is not imported. The stack must end with a `Dense` layer with
    `activation="softmax"` (the class probabilities); spatial layers (Conv2D, pooling,
    Flatten, GlobalAveragePooling2D) need an `(H, W, C)` input and Dense a flat one; `Add`
    needs inputs of one shape, `Concatenate` inputs that differ only in their channels.

    Args:
        spec: the `ModelSpec`.

    Returns:
        A `ModelSummary`.

    Raises:
        InvalidModelError: a layer cannot be applied; the message names it (1-based index
            and name) and suggests a fix.

    Example:

    >>> from core.nets.presets import preset
    >>> summary = summarize(preset("mnist_cnn_b"))
    >>> [layer.output_shape for layer in summary.layers[:3]]
    [(26, 26, 32), (13, 13, 32), (11, 11, 64)]
    >>> summary.total_params
    93322
    """

    check_instance(spec, "spec", ModelSpec)

    # The output shape and receptive field of the input and of each layer so far. A field is
    # None once the map is flattened (every value then sees the whole input); no window
    # layer may follow, so the Conv2D / pooling branch always has a field to extend.
    outputs: dict[str, tuple[tuple[int, ...], ReceptiveField | None]] = {
        INPUT_NAME: (tuple(spec.input_shape), input_receptive_field(spec.input_shape[:2]))
    }
    rows: list[LayerSummary] = []
    for index, (layer, inputs) in enumerate(
        zip(spec.layers, spec.layer_inputs, strict=True), start=1
    ):
        where = _where(index, layer)
        params = non_trainable = macs = 0
        details = ""
        if layer.type in MERGE_TYPES:
            shape, field, details = _merge(
                where, layer, [(name, *outputs[name]) for name in inputs]
            )
        else:
            shape, field = outputs[inputs[0]]
        spatial = len(shape) == 3
        if layer.type in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):
            if not spatial:
                raise InvalidModelError(
                    f"{where} needs a feature map (H, W, C) but receives a flat vector of "
                    f"{shape[0]} values. Move it before Flatten / GlobalAveragePooling2D."
                )
            height, width, channels = shape
            if layer.type == "Conv2D":
                window, word = layer.kernel_size, "kernel_size"
            else:
                window, word = layer.pool_size, "pool_size"
            geometry = LayerGeometry(layer.name, window, layer.strides, layer.padding)
            try:
                field = next_receptive_field(field, geometry)
            except ValueError:
                hint = "use a smaller kernel, " if layer.type == "Conv2D" else ""
                raise InvalidModelError(
                    f"{where} would shrink the {height}×{width} map below 1×1: "
                    f"{word}={window} with padding='valid' needs at least {_pair(window)}. "
                    f"Remove a pooling layer, {hint}or use padding='same'."
                ) from None
            out_height, out_width = field.output_size
            if layer.type == "Conv2D":
                out_channels = layer.filters
                weights = window[0] * window[1] * channels * layer.filters
                params = weights + layer.filters
                macs = out_height * out_width * weights
                details = (
                    f"{layer.filters} filters {_pair(window)}, stride {_pair(layer.strides)}, "
                    f"{layer.padding}, {layer.activation}"
                )
            else:
                out_channels = channels
                details = f"{_pair(window)}, stride {_pair(layer.strides)}, {layer.padding}"
            shape = (out_height, out_width, out_channels)
        elif layer.type in ("Flatten", "GlobalAveragePooling2D"):
            if not spatial:
                raise InvalidModelError(
                    f"{where} needs a feature map (H, W, C) but the input is already flat "
                    f"({shape[0]} values). Remove it."
                )
            shape = (math.prod(shape),) if layer.type == "Flatten" else (shape[2],)
            field = None
        elif layer.type == "Dense":
            if spatial:
                raise InvalidModelError(
                    f"{where} needs a flat input but receives a {_pair(shape[:2])}×{shape[2]} "
                    "feature map. Add Flatten or GlobalAveragePooling2D before it."
                )
            params = shape[0] * layer.units + layer.units
            macs = shape[0] * layer.units
            details = f"{layer.units} units, {layer.activation}"
            shape = (layer.units,)
            field = None
        elif layer.type == "BatchNormalization":
            channels = shape[-1]
            params, non_trainable = 4 * channels, 2 * channels
            macs = math.prod(shape)
        elif layer.type == "Dropout":
            details = f"rate {layer.rate:g}"
        elif layer.type == "Activation":
            details = layer.activation
        if layer.type in ("Conv2D", "Dense") and not layer.use_bias:
            params -= layer.filters or layer.units
            details += ", no bias"
        outputs[layer.name] = (shape, field)
        rows.append(
            LayerSummary(
                index=index,
                name=layer.name,
                type=layer.type,
                output_shape=tuple(int(d) for d in shape),
                params=params,
                macs=macs,
                receptive_field=max(field.size) if field is not None else None,
                receptive_field_hw=field.size if field is not None else None,
                jump=field.jump if field is not None else None,
                non_trainable_params=non_trainable,
                details=details,
                inputs=inputs,
            )
        )

    _check_output_layer(spec)
    total = sum(row.params for row in rows)
    non_trainable_total = sum(row.non_trainable_params for row in rows)
    return ModelSummary(
        input_shape=tuple(spec.input_shape),
        layers=tuple(rows),
        total_params=total,
        trainable_params=total - non_trainable_total,
        non_trainable_params=non_trainable_total,
        total_macs=sum(row.macs for row in rows),
        has_branches=spec.has_branches,
    )


def _describe_shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape)


def _merge(where: str, layer: LayerSpec, sources: list) -> tuple:
    """Output shape, receptive field and details of an Add or Concatenate layer.

    `sources` holds `(name, shape, field)` of each input. The largest receptive field among
    the inputs is the merge's: an output value sees everything any of its inputs sees.
    """
    shapes = [shape for _, shape, _ in sources]
    listing = ", ".join(f"{_describe_shape(shape)} from {name}" for name, shape, _ in sources)
    fields = [field for _, _, field in sources]
    field = None if None in fields else max(fields, key=lambda f: (max(f.size), f.size))
    if layer.type == "Add":
        if len(set(shapes)) > 1:
            hint = (
                "A shortcut that skips a strided or wider convolution needs a 1×1 Conv2D "
                "with the same strides and filters (a projection) to match."
                if all(len(shape) == 3 for shape in shapes)
                else "Give the branches the same number of units."
            )
            raise InvalidModelError(f"{where} adds inputs of different shapes: {listing}. {hint}")
        return shapes[0], field, f"sum of {len(sources)} inputs"
    ranks = {len(shape) for shape in shapes}
    last_axis = max(ranks)  # the channel axis, counted with the batch axis as in Keras
    if len(ranks) > 1 or layer.axis not in (-1, last_axis):
        raise InvalidModelError(
            f"{where} can join inputs only along their last axis (the channels of feature "
            f"maps), axis=-1. Received: axis={layer.axis} for {listing}."
        )
    if len({shape[:-1] for shape in shapes}) > 1:
        raise InvalidModelError(
            f"{where} stacks inputs whose height and width differ: {listing}. Use "
            "padding='same' and the same strides in every branch."
        )
    channels = [shape[-1] for shape in shapes]
    shape = (*shapes[0][:-1], sum(channels))
    return shape, field, "joins " + " + ".join(str(c) for c in channels) + " channels"


def _check_output_layer(spec: ModelSpec) -> None:
    index, last = len(spec.layers), spec.layers[-1]
    if last.type != "Dense" or last.activation != "softmax":
        received = (
            last.type if last.type != "Dense" else f"Dense with activation={last.activation!r}"
        )
        raise InvalidModelError(
            f"{_where(index, last)} is the output layer, so it must be Dense with "
            f"activation='softmax' (one probability per class). Received: {received}."
        )
    if last.units < 2:
        raise InvalidModelError(
            f"{_where(index, last)} is the output layer and needs one unit per class, at "
            f"least 2. Received: units={last.units}."
        )
