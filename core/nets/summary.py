"""The layer-by-layer summary of a model spec, in plain Python (no Keras).

For every layer: output shape, parameters, multiply-adds and receptive field, computed with
Keras' own rules (`"valid"`: `floor((L - K) / S) + 1`, `"same"`: `ceil(L / S)`), so the page
can update the table instantly as the user edits the stack. Output sizes and receptive fields
come from `core.ops.receptive_field.next_receptive_field`, the arithmetic the Inspect page uses too.
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

from core.base.checks import check_instance
from core.nets.specs import LayerSpec, ModelSpec
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
    """

    input_shape: tuple[int, int, int]
    layers: tuple[LayerSummary, ...]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    total_macs: int

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of the model's output without the batch axis, e.g. `(10,)`."""
        return self.layers[-1].output_shape

    def to_rows(self) -> list[dict]:
        """The table as a list of dicts (one per layer), ready for `st.dataframe`.

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
    Flatten, GlobalAveragePooling2D) need an `(H, W, C)` input and Dense a flat one.

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

    shape: tuple[int, ...] = tuple(spec.input_shape)
    # None once the map is flattened (every value then sees the whole input); no window
    # layer may follow, so the Conv2D / pooling branch always has a field to extend.
    field: ReceptiveField | None = input_receptive_field(spec.input_shape[:2])
    rows: list[LayerSummary] = []
    for index, layer in enumerate(spec.layers, start=1):
        where = _where(index, layer)
        params = non_trainable = macs = 0
        details = ""
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
    )


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
