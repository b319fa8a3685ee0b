"""CNN architectures as data: layer specs, the seed presets, Keras models built from them.

A `ModelSpec` (input shape + a tuple of `LayerSpec`) describes a `keras.Sequential` model.
Everything here except `build_model` and `build_transfer_model` is plain Python, so the
Streamlit server can edit specs, summarize them (`summarize`) and show them as Keras code
(`to_keras_code`) without importing TensorFlow; the two builders import Keras inside and are
meant for worker processes.

>>> spec = preset("mnist_cnn_a")
>>> summarize(spec).total_params
220234
>>> preset("mnist_cnn_a", input_shape=(32, 32, 3)).input_shape
(32, 32, 3)
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path

from core.datasets import can_reach, keras_home
from core.keras_code import layer_arguments, to_keras_code
from core.model_summary import InvalidModelError, LayerSummary, ModelSummary, summarize

__all__ = [
    "ACTIVATIONS",
    "LAYER_TYPES",
    "PADDINGS",
    "PRESETS",
    "PRESET_INPUT_SHAPES",
    "InvalidModelError",
    "LayerSpec",
    "TRANSFER_BASES",
    "TRANSFER_MODELS",
    "LayerSummary",
    "ModelSpec",
    "ModelSummary",
    "WeightsUnavailableError",
    "average_pooling2d",
    "batch_normalization",
    "build_model",
    "build_transfer_model",
    "conv2d",
    "dense",
    "dropout",
    "flatten",
    "global_average_pooling2d",
    "imagenet_weights_advice",
    "imagenet_weights_cached",
    "imagenet_weights_path",
    "max_pooling2d",
    "preset",
    "spec_from_dict",
    "spec_to_dict",
    "summarize",
    "to_keras_code",
    "transfer_entry",
    "transfer_input_problem",
    "transfer_summary_rows",
]

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
PADDINGS = ("valid", "same")
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
_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
_SPEC_FORMAT = "convscope.model_spec"


def _positive_int(value, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{argument}` must be a positive int. Received: {argument}={value!r}")
    return int(value)


def _int_pair(value, argument: str) -> tuple[int, int]:
    """Normalise `3` or `(3, 3)` or `[3, 3]` to `(3, 3)`, Keras style."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(
            f"`{argument}` must be an int or a pair of ints. Received: {argument}={value!r}"
        )
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
        raise ValueError(f"`{argument}` values must be >= 1. Received: {argument}={value!r}")
    return (int(value[0]), int(value[1]))


def _input_shape(shape) -> tuple[int, int, int]:
    if (
        not isinstance(shape, tuple | list)
        or len(shape) != 3
        or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape)
    ):
        raise ValueError(
            f"`input_shape` must be three positive ints (H, W, C). Received: input_shape={shape!r}"
        )
    return (int(shape[0]), int(shape[1]), int(shape[2]))


def _check_name(value, argument: str = "name") -> str:
    if not isinstance(value, str) or not _NAME_PATTERN.match(value):
        raise ValueError(
            f"`{argument}` must start with a letter or underscore and use only letters, digits, "
            f"'_', '.', '-' (at most 64 characters). Received: {argument}={value!r}"
        )
    return value


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
        canonical = {t.lower(): t for t in LAYER_TYPES}.get(str(self.type).lower())
        if canonical is None:
            raise ValueError(f"`type` must be one of {LAYER_TYPES}. Received: type={self.type!r}")
        set_ = object.__setattr__
        set_(self, "type", canonical)
        allowed = _FIELDS_BY_TYPE[canonical]
        for argument in _OPTIONAL_FIELDS:
            value = getattr(self, argument)
            if value is not None and argument not in allowed:
                raise ValueError(
                    f"`{argument}` does not apply to {canonical}. Received: {argument}={value!r}"
                )
        if self.name is not None:
            _check_name(self.name)

        if canonical == "Conv2D":
            set_(self, "filters", _positive_int(self.filters, "filters"))
            set_(self, "kernel_size", _int_pair(self.kernel_size, "kernel_size"))
            set_(self, "strides", _int_pair(1 if self.strides is None else self.strides, "strides"))
        if canonical in ("MaxPooling2D", "AveragePooling2D"):
            pool_size = _int_pair(2 if self.pool_size is None else self.pool_size, "pool_size")
            set_(self, "pool_size", pool_size)
            strides = pool_size if self.strides is None else self.strides
            set_(self, "strides", _int_pair(strides, "strides"))
        if "padding" in allowed:
            padding = "valid" if self.padding is None else str(self.padding).lower()
            if padding not in PADDINGS:
                raise ValueError(
                    f"`padding` must be one of {PADDINGS}. Received: padding={self.padding!r}"
                )
            set_(self, "padding", padding)
        if canonical == "Dense":
            set_(self, "units", _positive_int(self.units, "units"))
        if "activation" in allowed:
            activation = "linear" if self.activation is None else str(self.activation).lower()
            if activation not in ACTIVATIONS:
                raise ValueError(
                    f"`activation` must be one of {ACTIVATIONS}. "
                    f"Received: activation={self.activation!r}"
                )
            set_(self, "activation", activation)
        if canonical == "Dropout":
            rate = self.rate
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1:
                raise ValueError(f"`rate` must be a number in [0, 1). Received: rate={rate!r}")
            set_(self, "rate", float(rate))


def conv2d(
    filters: int,
    kernel_size: int | tuple[int, int] = 3,
    *,
    strides: int | tuple[int, int] = 1,
    padding: str = "valid",
    activation: str = "relu",
    name: str | None = None,
) -> LayerSpec:
    """A Conv2D layer spec. `conv2d(32, 3, padding="same")` is `layers.Conv2D(32, 3, ...)`."""
    return LayerSpec(
        type="Conv2D",
        filters=filters,
        kernel_size=kernel_size,
        strides=strides,
        padding=padding,
        activation=activation,
        name=name,
    )


def max_pooling2d(
    pool_size: int | tuple[int, int] = 2,
    strides: int | tuple[int, int] | None = None,
    padding: str = "valid",
    *,
    name: str | None = None,
) -> LayerSpec:
    """A MaxPooling2D layer spec; `strides` default to `pool_size`, as in Keras."""
    return LayerSpec(
        "MaxPooling2D", pool_size=pool_size, strides=strides, padding=padding, name=name
    )


def average_pooling2d(
    pool_size: int | tuple[int, int] = 2,
    strides: int | tuple[int, int] | None = None,
    padding: str = "valid",
    *,
    name: str | None = None,
) -> LayerSpec:
    """An AveragePooling2D layer spec; `strides` default to `pool_size`, as in Keras."""
    return LayerSpec(
        "AveragePooling2D", pool_size=pool_size, strides=strides, padding=padding, name=name
    )


def batch_normalization(*, name: str | None = None) -> LayerSpec:
    """A BatchNormalization layer spec (over the channel axis)."""
    return LayerSpec("BatchNormalization", name=name)


def dropout(rate: float, *, name: str | None = None) -> LayerSpec:
    """A Dropout layer spec; `rate` in [0, 1)."""
    return LayerSpec("Dropout", rate=rate, name=name)


def flatten(*, name: str | None = None) -> LayerSpec:
    """A Flatten layer spec: `(H, W, C)` → `(H·W·C,)`."""
    return LayerSpec("Flatten", name=name)


def global_average_pooling2d(*, name: str | None = None) -> LayerSpec:
    """A GlobalAveragePooling2D layer spec: `(H, W, C)` → `(C,)`."""
    return LayerSpec("GlobalAveragePooling2D", name=name)


def dense(units: int, activation: str = "relu", *, name: str | None = None) -> LayerSpec:
    """A Dense layer spec; the output layer is `dense(num_classes, "softmax")`."""
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
        object.__setattr__(self, "input_shape", _input_shape(self.input_shape))
        layers = self.layers
        if not isinstance(layers, tuple | list) or not layers:
            raise ValueError(f"`layers` must be a non-empty sequence. Received: layers={layers!r}")
        for index, layer in enumerate(layers, start=1):
            if not isinstance(layer, LayerSpec):
                raise TypeError(
                    f"`layers` must hold LayerSpec objects. Received: layer {index} of "
                    f"type {type(layer).__name__}"
                )
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
        raise ValueError(f"Layer names must be unique. Received duplicates: {duplicates}")
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


# --------------------------------------------------------------------------------------------
# Presets: every architecture of the seed texts, at its original input shape
# --------------------------------------------------------------------------------------------

PRESETS: dict[str, str] = {
    "mlp": (
        "MLP: Flatten → Dense 512 relu → Dense 512 relu → Dense 10 softmax on 28×28×1; "
        "669,706 parameters. The baseline that shows why CNNs win."
    ),
    "mnist_cnn_a": (
        "MNIST CNN A: Conv2D 32 3×3 same → MaxPool 2 → Conv2D 64 3×3 same → MaxPool 2 → "
        "Flatten → Dense 64 → Dense 10 on 28×28×1; 220,234 parameters (about 99.2% on MNIST)."
    ),
    "mnist_cnn_b": (
        "MNIST CNN B: Conv2D 32 3×3 valid → MaxPool 2 → Conv2D 64 → MaxPool 2 → Conv2D 64 → "
        "Flatten → Dense 64 → Dense 10 on 28×28×1; 93,322 parameters."
    ),
    "mnist_cnn_c": (
        "MNIST CNN C (book): Conv2D 64 5×5 same → MaxPool 2 → Conv2D 128 5×5 same → MaxPool 2 → "
        "Flatten → Dense 1024 → Dropout 0.5 → Dense 10 on 28×28×1; 6,640,394 parameters."
    ),
    "cifar10_cnn": (
        "CIFAR-10 CNN: Conv2D 16/32/64 2×2 same, each with MaxPool 2 → Dropout 0.3 → Flatten → "
        "Dense 500 → Dropout 0.4 → Dense 10 on 32×32×3; 528,054 parameters."
    ),
    "dogs_vs_cats_cnn": (
        "Dogs vs cats CNN: Conv2D 32 3×3 same → MaxPool 2 → Conv2D 64 → Conv2D 64 (same) → "
        "MaxPool 2 → Flatten → Dense 512 → Dropout 0.5 → Dense 2 on 64×64×3; 8,446,466 parameters."
    ),
    "lenet5": (
        "LeNet-5 (Keras version): Conv2D 6 5×5 same tanh → AvgPool 2 → Conv2D 16 5×5 valid tanh → "
        "AvgPool 2 → Flatten → Dense 120 tanh → Dense 84 tanh → Dense 10 on 28×28×1; 61,706 "
        "parameters (the 'same' first layer makes 28×28 behave like the original 32×32)."
    ),
    "tinyvgg": (
        "TinyVGG (CNN Explainer): two blocks of Conv2D 10 3×3 valid relu ×2 → MaxPool 2, "
        "then Flatten → Dense 10 softmax on 64×64×3; 19,920 parameters."
    ),
}
PRESET_INPUT_SHAPES: dict[str, tuple[int, int, int]] = {
    "mlp": (28, 28, 1),
    "mnist_cnn_a": (28, 28, 1),
    "mnist_cnn_b": (28, 28, 1),
    "mnist_cnn_c": (28, 28, 1),
    "cifar10_cnn": (32, 32, 3),
    "dogs_vs_cats_cnn": (64, 64, 3),
    "lenet5": (28, 28, 1),
    "tinyvgg": (64, 64, 3),
}


def _preset_layers(name: str, num_classes: int) -> tuple[LayerSpec, ...]:
    output = dense(num_classes, "softmax")
    if name == "mlp":
        return (flatten(), dense(512), dense(512), output)
    if name == "mnist_cnn_a":
        return (
            conv2d(32, 3, padding="same"),
            max_pooling2d(2),
            conv2d(64, 3, padding="same"),
            max_pooling2d(2),
            flatten(),
            dense(64),
            output,
        )
    if name == "mnist_cnn_b":
        return (
            conv2d(32, 3),
            max_pooling2d(2),
            conv2d(64, 3),
            max_pooling2d(2),
            conv2d(64, 3),
            flatten(),
            dense(64),
            output,
        )
    if name == "mnist_cnn_c":
        return (
            conv2d(64, 5, padding="same"),
            max_pooling2d(2),
            conv2d(128, 5, padding="same"),
            max_pooling2d(2),
            flatten(),
            dense(1024),
            dropout(0.5),
            output,
        )
    if name == "cifar10_cnn":
        return (
            conv2d(16, 2, padding="same"),
            max_pooling2d(2),
            conv2d(32, 2, padding="same"),
            max_pooling2d(2),
            conv2d(64, 2, padding="same"),
            max_pooling2d(2),
            dropout(0.3),
            flatten(),
            dense(500),
            dropout(0.4),
            output,
        )
    if name == "dogs_vs_cats_cnn":
        return (
            conv2d(32, 3, padding="same"),
            max_pooling2d(2),
            conv2d(64, 3, padding="same"),
            conv2d(64, 3, padding="same"),
            max_pooling2d(2),
            flatten(),
            dense(512),
            dropout(0.5),
            output,
        )
    if name == "lenet5":
        return (
            conv2d(6, 5, padding="same", activation="tanh"),
            average_pooling2d(2),
            conv2d(16, 5, activation="tanh"),
            average_pooling2d(2),
            flatten(),
            dense(120, "tanh"),
            dense(84, "tanh"),
            output,
        )
    # tinyvgg
    return (
        conv2d(10, 3),
        conv2d(10, 3),
        max_pooling2d(2),
        conv2d(10, 3),
        conv2d(10, 3),
        max_pooling2d(2),
        flatten(),
        output,
    )


def preset(
    name: str,
    *,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
) -> ModelSpec:
    """The spec of a preset architecture, optionally adapted to another data set.

    Args:
        name: one of `PRESETS`.
        input_shape: `(H, W, C)`; None keeps the original (`PRESET_INPUT_SHAPES[name]`).
        num_classes: units of the output Dense layer, >= 2; None keeps the original.

    Returns:
        A `ModelSpec` named after the preset. It may not fit a very small `input_shape`:
        `summarize` then raises `InvalidModelError` naming the layer.

    Example:

    >>> spec = preset("cifar10_cnn", input_shape=(28, 28, 1), num_classes=10)
    >>> summarize(spec).layers[-1].output_shape
    (10,)
    """
    if name not in PRESETS:
        raise ValueError(f"`name` must be one of {tuple(PRESETS)}. Received: name={name!r}")
    if num_classes is None:
        num_classes = 2 if name == "dogs_vs_cats_cnn" else 10
    elif isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"`num_classes` must be an int >= 2. Received: num_classes={num_classes!r}"
        )
    shape = PRESET_INPUT_SHAPES[name] if input_shape is None else input_shape
    return ModelSpec(name=name, input_shape=shape, layers=_preset_layers(name, num_classes))


# --------------------------------------------------------------------------------------------
# JSON round trip
# --------------------------------------------------------------------------------------------


def spec_to_dict(spec: ModelSpec) -> dict:
    """A JSON-safe dict of `spec` (lists instead of tuples, unset fields left out).

    >>> spec_to_dict(preset("mlp"))["layers"][1]
    {'type': 'Dense', 'units': 512, 'activation': 'relu', 'name': 'dense'}
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"`spec` must be a ModelSpec. Received: type={type(spec).__name__}")
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

    >>> spec_from_dict(spec_to_dict(preset("lenet5"))) == preset("lenet5")
    True
    """
    if not isinstance(data, dict):
        raise TypeError(f"`data` must be a dict. Received: type={type(data).__name__}")
    if data.get("format", _SPEC_FORMAT) != _SPEC_FORMAT or data.get("version", 1) != 1:
        raise ValueError(
            f"`data` is not a version-1 {_SPEC_FORMAT}. "
            f"Received: format={data.get('format')!r}, version={data.get('version')!r}"
        )
    missing = {"name", "input_shape", "layers"} - data.keys()
    if missing:
        raise ValueError(f"`data` lacks the keys {sorted(missing)}. Received keys: {sorted(data)}")
    if not isinstance(data["layers"], list | tuple):
        raise ValueError(f"`data['layers']` must be a list. Received: {data['layers']!r}")
    known = {f.name for f in dataclasses.fields(LayerSpec)}
    layers = []
    for index, entry in enumerate(data["layers"], start=1):
        if not isinstance(entry, dict) or not set(entry) <= known or "type" not in entry:
            raise ValueError(
                f"Layer {index} must be a dict with 'type' and only the keys {sorted(known)}. "
                f"Received: {entry!r}"
            )
        arguments = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
        layers.append(LayerSpec(**arguments))
    input_shape = data["input_shape"]
    if isinstance(input_shape, list):
        input_shape = tuple(input_shape)
    return ModelSpec(name=data["name"], input_shape=input_shape, layers=tuple(layers))


# --------------------------------------------------------------------------------------------
# Keras models (worker processes only: these import Keras)
# --------------------------------------------------------------------------------------------


def build_model(spec: ModelSpec):
    """Build the `keras.Sequential` model of `spec` (imports Keras: worker processes only).

    The model starts with `keras.Input(shape=spec.input_shape)` and its layers carry the
    spec's names, so `model.summary()` matches `summarize(spec)`.

    Args:
        spec: the `ModelSpec`.

    Returns:
        An uncompiled `keras.Sequential`, input `(batch, H, W, C)`, output
        `(batch, num_classes)` softmax probabilities.

    Raises:
        InvalidModelError: the stack cannot be built (checked before Keras is imported).

    Example:

    >>> build_model(preset("mnist_cnn_b")).count_params()  # doctest: +SKIP
    93322
    """
    summarize(spec)
    import keras

    layers = [keras.Input(shape=spec.input_shape)]
    for layer in spec.layers:
        class_name, arguments = layer_arguments(layer)
        layers.append(getattr(keras.layers, class_name)(**arguments))
    return keras.Sequential(layers, name=spec.name)


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights are not in the Keras cache and cannot be downloaded now."""


TRANSFER_BASES = ("MobileNetV2",)
MOBILENET_V2_SIZES = (96, 128, 160, 192, 224)
MOBILENET_V2_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"


def imagenet_weights_path(
    *, input_shape: tuple[int, int, int] = (224, 224, 3), base: str = "MobileNetV2"
) -> Path:
    """Where Keras caches the ImageNet weights (no top) that `build_transfer_model` needs.

    MobileNetV2 has weights for square inputs of 96, 128, 160, 192 and 224 pixels; other
    sizes use the 224 ones (the convolution weights fit any size).

    >>> imagenet_weights_path(input_shape=(96, 96, 3)).name
    'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5'
    """
    _check_base(base)
    rows = _weights_rows(input_shape)
    filename = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"
    return keras_home() / "models" / filename


def _weights_rows(input_shape) -> int:
    """The square size whose ImageNet weights Keras uses for `input_shape` (224 otherwise)."""
    height, width = input_shape[0], input_shape[1]
    return height if height == width and height in MOBILENET_V2_SIZES else 224


def imagenet_weights_cached(
    *, input_shape: tuple[int, int, int] = (224, 224, 3), base: str = "MobileNetV2"
) -> bool:
    """Whether the ImageNet weights for `build_transfer_model` are in the Keras cache."""
    return imagenet_weights_path(input_shape=input_shape, base=base).is_file()


def imagenet_weights_advice(
    *, input_shape: tuple[int, int, int] = (224, 224, 3), base: str = "MobileNetV2"
) -> str:
    """How to put the ImageNet weights file into the Keras cache by hand (one sentence).

    >>> "_96_no_top.h5" in imagenet_weights_advice(input_shape=(96, 96, 3))
    True
    """
    weights_file = imagenet_weights_path(input_shape=input_shape, base=base)
    url = MOBILENET_V2_URL + weights_file.name
    return (
        f"Download {url} and save it as {weights_file}, or on a machine with internet run "
        '`python -c "import keras; keras.applications.MobileNetV2('
        f"input_shape=({input_shape[0]}, {input_shape[1]}, 3), include_top=False, "
        "weights='imagenet')\"` and copy ~/.keras/models/ here."
    )


def _check_base(base: str) -> None:
    if base not in TRANSFER_BASES:
        raise ValueError(f"`base` must be one of {TRANSFER_BASES}. Received: base={base!r}")


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

    Inputs in [0, 1] (as `core.datasets.preprocess` gives) are rescaled to MobileNetV2's
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
        WeightsUnavailableError: ImageNet weights not cached and not downloadable now; the
            message says which file to put where.

    Example:

    >>> model = build_transfer_model(input_shape=(96, 96, 3), num_classes=2, weights=None)
    >>> model.layers[-1].units  # doctest: +SKIP
    2
    """
    _check_base(base)
    shape = _input_shape(input_shape)
    if shape[0] < 32 or shape[1] < 32 or shape[2] not in (1, 3):
        raise ValueError(
            f"`input_shape` must be at least 32×32 with 1 or 3 channels for {base}. "
            f"Received: input_shape={input_shape!r}"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"`num_classes` must be an int >= 2. Received: num_classes={num_classes!r}"
        )
    if weights not in ("imagenet", None):
        raise ValueError(f"`weights` must be 'imagenet' or None. Received: weights={weights!r}")

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
            _download_weights(url, weights_file, how)

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


def _download_weights(url: str, destination: Path, how: str) -> None:
    """Fetch the weights file into the Keras cache, or raise WeightsUnavailableError."""
    import keras

    try:
        keras.utils.get_file(
            destination.name,
            url,
            cache_subdir="models",
            cache_dir=os.fspath(destination.parent.parent),
        )
    except Exception as error:  # noqa: BLE001 - any download failure gets the same advice
        raise WeightsUnavailableError(f"Downloading {url} failed ({error}). {how}") from error
    if not destination.is_file():
        raise WeightsUnavailableError(f"Downloaded {url} but cannot find {destination}. {how}")


# --------------------------------------------------------------------------------------------
# Transfer learning as data (plain Python: the server and config.json use these)
# --------------------------------------------------------------------------------------------

# Command-line / preset-style names of the transfer models, and their base.
TRANSFER_MODELS: dict[str, str] = {"mobilenet_v2_transfer": "MobileNetV2"}
TRANSFER_WEIGHTS = ("imagenet", None)
MIN_TRANSFER_SIZE = 32
# `keras.applications.MobileNetV2(include_top=False, alpha=1.0).count_params()`; the
# convolution weights do not depend on the input size (checked against Keras in the tests).
MOBILENET_V2_BASE_PARAMS = 2_257_984
MOBILENET_V2_FEATURES = 1280
MOBILENET_V2_STRIDE = 32  # five stride-2 stages, each rounding up


def transfer_entry(base: str = "MobileNetV2", *, weights: str | None = "imagenet") -> dict:
    """The JSON-safe description of a transfer model that `TrainingJob.start` accepts.

    The worker builds it with `build_transfer_model` for the data's input shape and number
    of classes.

    Args:
        base: one of `TRANSFER_BASES`.
        weights: `"imagenet"` (pretrained base) or None (the same architecture, random weights).

    >>> transfer_entry(weights=None)
    {'transfer': 'MobileNetV2', 'weights': None}
    """
    _check_base(base)
    if weights not in TRANSFER_WEIGHTS:
        raise ValueError(f"`weights` must be 'imagenet' or None. Received: weights={weights!r}")
    return {"transfer": base, "weights": weights}


def transfer_input_problem(
    input_shape: tuple[int, int, int], *, base: str = "MobileNetV2"
) -> str | None:
    """Why images of `input_shape` cannot train a transfer model, or None when they can.

    MobileNetV2's ImageNet filters look at colour photos of at least 32×32 pixels, so the
    data must be RGB and at least that large.

    >>> transfer_input_problem((96, 96, 3)) is None
    True
    >>> transfer_input_problem((28, 28, 1)).startswith("MobileNetV2 needs RGB")
    True
    """
    _check_base(base)
    height, width, channels = _input_shape(input_shape)
    if channels == 3 and min(height, width) >= MIN_TRANSFER_SIZE:
        return None
    shape = "×".join(str(d) for d in (height, width, channels))
    return (
        f"{base} needs RGB images (3 channels) of at least {MIN_TRANSFER_SIZE}×"
        f"{MIN_TRANSFER_SIZE} pixels; this data gives {shape}. Choose RGB colour and an image "
        f"size of {MIN_TRANSFER_SIZE} or more (96 to 224 suits "
        "the ImageNet weights best), or choose another architecture."
    )


def transfer_summary_rows(
    input_shape: tuple[int, int, int], num_classes: int, *, base: str = "MobileNetV2"
) -> list[dict]:
    """The layer table of a transfer model, like `ModelSummary.to_rows` (no Keras import).

    The frozen base is one row; the head (global average pooling, dropout, Dense softmax)
    has a row per layer. Multiply-adds and receptive fields are left empty (None).

    >>> rows = transfer_summary_rows((96, 96, 3), 2)
    >>> [(row["Layer"], row["Output shape"], row["Parameters"]) for row in rows[1:3]]
    [('mobilenetv2_1.00_96', '3 × 3 × 1280', 2257984), ('global_average_pooling2d', '1280', 0)]
    >>> rows[-1]["Parameters"]  # (1280 + 1) × 2
    2562
    """
    _check_base(base)
    height, width, _ = _input_shape(input_shape)
    features = MOBILENET_V2_FEATURES
    grid = (-(-height // MOBILENET_V2_STRIDE), -(-width // MOBILENET_V2_STRIDE))
    layers = [
        ("rescaling", "Rescaling", "[0, 1] → [-1, 1]", input_shape, 0, 0),
        (
            f"mobilenetv2_1.00_{height}",
            f"{base} (frozen)",
            "pretrained base, not trained",
            (*grid, features),
            MOBILENET_V2_BASE_PARAMS,
            0,
        ),
        ("global_average_pooling2d", "GlobalAveragePooling2D", "", (features,), 0, 0),
        ("dropout", "Dropout", "rate=0.2", (features,), 0, 0),
        (
            "dense",
            "Dense",
            f"units={num_classes}, softmax (trained)",
            (num_classes,),
            (features + 1) * num_classes,
            (features + 1) * num_classes,
        ),
    ]
    return [
        {
            "#": index,
            "Layer": name,
            "Type": kind,
            "Settings": settings,
            "Output shape": " × ".join(str(d) for d in shape),
            "Parameters": params,
            "Trainable": trainable,
        }
        for index, (name, kind, settings, shape, params, trainable) in enumerate(layers, start=1)
    ]
