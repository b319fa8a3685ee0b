"""CNN architectures as data: layer specs, the seed presets, Keras models built from them.

A `ModelSpec` (input shape + a tuple of `LayerSpec`) describes a `keras.Sequential` model.
Everything here except `build_model` and `build_transfer_model` is plain Python, so the
Streamlit server can edit specs, summarize them (`summarize`) and show them as Keras code
(`to_keras_code`) without importing TensorFlow; the two builders import Keras inside and are
meant for worker processes.

>>> from core.nets.presets import preset
>>> from core.nets.summary import summarize
>>> spec = preset("mnist_cnn_a")
>>> summarize(spec).total_params
220234
>>> preset("mnist_cnn_a", input_shape=(32, 32, 3)).input_shape
(32, 32, 3)
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from core.base.checks import (
    as_choice,
    as_int_tuple,
    as_pair,
    check_instance,
    check_int,
    check_real,
    check_string,
    received,
)
from core.ops.output_size import PADDINGS

LAYER_TYPES = (
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "BatchNormalization",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "Dense",
)


ACTIVATIONS = ("relu", "softmax", "tanh", "sigmoid", "linear")


# Keras' automatic layer names (snake_case of the class name).
KERAS_BASE_NAMES = {
    "Conv2D": "conv2d",
    "MaxPooling2D": "max_pooling2d",
    "AveragePooling2D": "average_pooling2d",
    "BatchNormalization": "batch_normalization",
    "Dropout": "dropout",
    "Flatten": "flatten",
    "GlobalAveragePooling2D": "global_average_pooling2d",
    "Dense": "dense",
}


_FIELDS_BY_TYPE = {
    "Conv2D": {"filters", "kernel_size", "strides", "padding", "activation"},
    "MaxPooling2D": {"pool_size", "strides", "padding"},
    "AveragePooling2D": {"pool_size", "strides", "padding"},
    "BatchNormalization": set(),
    "Dropout": {"rate"},
    "Flatten": set(),
    "GlobalAveragePooling2D": set(),
    "Dense": {"units", "activation"},
}


_OPTIONAL_FIELDS = ("filters", "units", "kernel_size", "strides", "padding", "pool_size")


_OPTIONAL_FIELDS += ("activation", "rate")


_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")


_NAME_RULE = (
    "a name that starts with a letter or underscore and uses only letters, digits, "
    "'_', '.', '-' (at most 64 characters)"
)


_SPEC_FORMAT = "convscope.model_spec"


def _check_name(value, argument: str = "name") -> str:
    """A Keras layer or model name."""
    return check_string(value, argument, pattern=_NAME_PATTERN, expected=_NAME_RULE)


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a `ModelSpec`, with Keras' argument names.

    Arguments are normalised once (an int `kernel_size` becomes a pair, `padding` lower case,
    missing `strides` become 1 for Conv2D and `pool_size` for pooling, a missing `activation`
    becomes `"linear"`) and validated; arguments that do not apply to `type` are refused.
    The helpers (`conv2d`, `dense`, ...) are the short way to make one.

    Attributes:
        type: one of `LAYER_TYPES`.
        filters: Conv2D output channels.
        units: Dense outputs.
        kernel_size: Conv2D window `(rows, cols)`.
        strides: Conv2D / pooling step `(rows, cols)`.
        padding: `"valid"` or `"same"`.
        pool_size: pooling window `(rows, cols)`.
        activation: one of `ACTIVATIONS` (Conv2D, Dense).
        rate: Dropout fraction in [0, 1).
        name: Keras layer name; None gets a Keras-style name (`conv2d_1`) in the ModelSpec.

    Example:

    >>> LayerSpec(type="Conv2D", filters=32, kernel_size=3).kernel_size
    (3, 3)
    """

    type: str
    filters: int | None = None
    units: int | None = None
    kernel_size: tuple[int, int] | None = None
    strides: tuple[int, int] | None = None
    padding: str | None = None
    pool_size: tuple[int, int] | None = None
    activation: str | None = None
    rate: float | None = None
    name: str | None = None

    def __post_init__(self):
        set_ = object.__setattr__
        kind = as_choice(self.type, "type", LAYER_TYPES)
        set_(self, "type", kind)
        allowed = _FIELDS_BY_TYPE[kind]
        for argument in _OPTIONAL_FIELDS:
            value = getattr(self, argument)
            if value is not None and argument not in allowed:
                raise ValueError(
                    f"`{argument}` does not apply to {kind}. {received(argument, value)}"
                )
        if self.name is not None:
            _check_name(self.name)

        if kind == "Conv2D":
            set_(self, "filters", check_int(self.filters, "filters", minimum=1))
            set_(self, "kernel_size", as_pair(self.kernel_size, "kernel_size"))
            set_(self, "strides", as_pair(1 if self.strides is None else self.strides, "strides"))
        if kind in ("MaxPooling2D", "AveragePooling2D"):
            pool_size = as_pair(2 if self.pool_size is None else self.pool_size, "pool_size")
            set_(self, "pool_size", pool_size)
            strides = pool_size if self.strides is None else self.strides
            set_(self, "strides", as_pair(strides, "strides"))
        if "padding" in allowed:
            padding = "valid" if self.padding is None else self.padding
            set_(self, "padding", as_choice(padding, "padding", PADDINGS))
        if kind == "Dense":
            set_(self, "units", check_int(self.units, "units", minimum=1))
        if "activation" in allowed:
            activation = "linear" if self.activation is None else self.activation
            set_(self, "activation", as_choice(activation, "activation", ACTIVATIONS))
        if kind == "Dropout":
            rate = check_real(self.rate, "rate", minimum=0.0, maximum=1.0, open_max=True)
            set_(self, "rate", rate)


def conv2d(
    filters: int,
    kernel_size: int | tuple[int, int] = 3,
    *,
    strides: int | tuple[int, int] = 1,
    padding: str = "valid",
    activation: str = "relu",
    name: str | None = None,
) -> LayerSpec:
    """A Conv2D layer spec. `conv2d(32, 3, padding="same")` is `layers.Conv2D(32, 3, ...)`.

    >>> layer = conv2d(32, 3, padding="same")
    >>> layer.kernel_size, layer.strides, layer.activation
    ((3, 3), (1, 1), 'relu')
    """
    return LayerSpec(
        type="Conv2D",
        filters=filters,
        kernel_size=kernel_size,
        strides=strides,
        padding=padding,
        activation=activation,
        name=name,
    )


Window = int | tuple[int, int]


def max_pooling2d(
    pool_size: Window = 2, strides: Window | None = None, padding="valid", *, name=None
) -> LayerSpec:
    """A MaxPooling2D layer spec; `strides` default to `pool_size`, as in Keras.

    >>> max_pooling2d(3, 1).strides
    (1, 1)
    """
    return LayerSpec(
        "MaxPooling2D", pool_size=pool_size, strides=strides, padding=padding, name=name
    )


def average_pooling2d(
    pool_size: Window = 2, strides: Window | None = None, padding="valid", *, name=None
) -> LayerSpec:
    """An AveragePooling2D layer spec; `strides` default to `pool_size`, as in Keras.

    >>> average_pooling2d(2).strides
    (2, 2)
    """
    kind = "AveragePooling2D"
    return LayerSpec(kind, pool_size=pool_size, strides=strides, padding=padding, name=name)


def batch_normalization(*, name: str | None = None) -> LayerSpec:
    """A BatchNormalization layer spec (over the channel axis)."""
    return LayerSpec("BatchNormalization", name=name)


def dropout(rate: float, *, name: str | None = None) -> LayerSpec:
    """A Dropout layer spec; `rate` in [0, 1).

    >>> dropout(0.5).rate
    0.5
    """
    return LayerSpec("Dropout", rate=rate, name=name)


def flatten(*, name: str | None = None) -> LayerSpec:
    """A Flatten layer spec: `(H, W, C)` → `(H·W·C,)`."""
    return LayerSpec("Flatten", name=name)


def global_average_pooling2d(*, name: str | None = None) -> LayerSpec:
    """A GlobalAveragePooling2D layer spec: `(H, W, C)` → `(C,)`."""
    return LayerSpec("GlobalAveragePooling2D", name=name)


def dense(units: int, activation: str = "relu", *, name: str | None = None) -> LayerSpec:
    """A Dense layer spec; the output layer is `dense(num_classes, "softmax")`.

    >>> dense(10, "softmax").units
    10
    """
    return LayerSpec("Dense", units=units, activation=activation, name=name)


@dataclass(frozen=True)
class ModelSpec:
    """A Sequential CNN: input shape and layers. Layers without a name get Keras-style names.

    Attributes:
        name: model name (letters, digits, `_`, `.`, `-`).
        input_shape: `(H, W, C)` of one input image.
        layers: the `LayerSpec`s in order; the last must be `dense(num_classes, "softmax")`
            (checked by `summarize`, which also checks that every layer fits its input).

    Example:

    >>> spec = ModelSpec("tiny", (28, 28, 1), (conv2d(8), flatten(), dense(10, "softmax")))
    >>> [layer.name for layer in spec.layers]
    ['conv2d', 'flatten', 'dense']
    """

    name: str
    input_shape: tuple[int, int, int]
    layers: tuple[LayerSpec, ...]

    def __post_init__(self):
        _check_name(self.name)
        shape = as_int_tuple(self.input_shape, "input_shape", length=3)
        object.__setattr__(self, "input_shape", shape)
        layers = check_instance(self.layers, "layers", (tuple, list))
        if not layers:
            raise ValueError(f"`layers` must not be empty. {received('layers', layers)}")
        for index, layer in enumerate(layers, start=1):
            check_instance(layer, f"layers[{index - 1}]", LayerSpec)
        object.__setattr__(self, "layers", _name_layers(tuple(layers)))

    @property
    def num_classes(self) -> int:
        """Units of the last layer (the number of classes for a valid spec)."""
        return self.layers[-1].units or 0


def _name_layers(layers: tuple[LayerSpec, ...]) -> tuple[LayerSpec, ...]:
    """Fill missing names the way Keras does (`conv2d`, `conv2d_1`, ...); refuse duplicates."""
    given = [layer.name for layer in layers if layer.name is not None]
    duplicates = sorted({name for name in given if given.count(name) > 1})
    if duplicates:
        raise ValueError(f"Layer names must be unique. Received: duplicates={duplicates}.")
    taken, counters, named = set(given), {}, []
    for layer in layers:
        if layer.name is None:
            base = KERAS_BASE_NAMES[layer.type]
            while True:
                count = counters.get(base, 0)
                counters[base] = count + 1
                candidate = base if count == 0 else f"{base}_{count}"
                if candidate not in taken:
                    break
            taken.add(candidate)
            layer = dataclasses.replace(layer, name=candidate)
        named.append(layer)
    return tuple(named)


def spec_to_dict(spec: ModelSpec) -> dict:
    """A JSON-safe dict of `spec` (lists instead of tuples, unset fields left out).

    >>> from core.nets.presets import preset
    >>> spec_to_dict(preset("mlp"))["layers"][1]
    {'type': 'Dense', 'units': 512, 'activation': 'relu', 'name': 'dense'}
    """
    check_instance(spec, "spec", ModelSpec)
    layers = []
    for layer in spec.layers:
        entry = {}
        for spec_field in dataclasses.fields(layer):
            value = getattr(layer, spec_field.name)
            if value is not None:
                entry[spec_field.name] = list(value) if isinstance(value, tuple) else value
        layers.append(entry)
    return {
        "format": _SPEC_FORMAT,
        "version": 1,
        "name": spec.name,
        "input_shape": list(spec.input_shape),
        "layers": layers,
    }


def spec_from_dict(data: dict) -> ModelSpec:
    """Rebuild a `ModelSpec` from `spec_to_dict`'s output (e.g. after `json.loads`).

    >>> from core.nets.presets import preset
    >>> spec_from_dict(spec_to_dict(preset("lenet5"))) == preset("lenet5")
    True
    """
    check_instance(data, "data", dict)
    if data.get("format", _SPEC_FORMAT) != _SPEC_FORMAT or data.get("version", 1) != 1:
        raise ValueError(
            f"`data` is not a version-1 {_SPEC_FORMAT}. "
            f"Received: format={data.get('format')!r}, version={data.get('version')!r}."
        )
    missing = {"name", "input_shape", "layers"} - data.keys()
    if missing:
        raise ValueError(
            f"`data` lacks the keys {sorted(missing)}. {received('data.keys()', sorted(data))}"
        )
    check_instance(data["layers"], "data['layers']", (list, tuple))
    known = {f.name for f in dataclasses.fields(LayerSpec)}
    layers = []
    for index, entry in enumerate(data["layers"], start=1):
        if not isinstance(entry, dict) or not set(entry) <= known or "type" not in entry:
            where = f"data['layers'][{index - 1}]"
            raise ValueError(
                f"Layer {index} must be a dict with 'type' and only the keys {sorted(known)}. "
                f"{received(where, entry)}"
            )
        arguments = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
        layers.append(LayerSpec(**arguments))
    input_shape = data["input_shape"]
    if isinstance(input_shape, list):
        input_shape = tuple(input_shape)
    return ModelSpec(name=data["name"], input_shape=input_shape, layers=tuple(layers))


MOBILENET_V2_SIZES = (96, 128, 160, 192, 224)


MOBILENET_V2_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"


# `keras.applications.MobileNetV2(include_top=False, alpha=1.0).count_params()`; the
# convolution weights do not depend on the input size (checked against Keras in the tests).
MOBILENET_V2_BASE_PARAMS = 2_257_984


MOBILENET_V2_FEATURES = 1280


MOBILENET_V2_STRIDE = 32  # five stride-2 stages, each rounding up
