"""CNN architectures as data: layer specs, the seed presets, Keras models built from them.

A `ModelSpec` (input shape + a tuple of `LayerSpec`) describes a `keras.Sequential` model, or,
when layers name their `inputs`, a graph of branches and merges (`Add`, `Concatenate`) that
Keras' functional API builds: a ResNet's residual blocks, an Inception module.
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
    check_bool,
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


# Layers that join branches; each names two or more `inputs`.
MERGE_TYPES = ("Add", "Concatenate")


# Every type a LayerSpec may have: LAYER_TYPES (what a plain stack uses, and the Train page's
# layer table offers), an activation as a layer of its own (after a BatchNormalization, as a
# ResNet has it) and the merges.
ALL_LAYER_TYPES = (*LAYER_TYPES, "Activation", *MERGE_TYPES)


# The name by which a layer's `inputs` refer to the model's input image.
INPUT_NAME = "input"


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
    "Activation": "activation",
    "Add": "add",
    "Concatenate": "concatenate",
}


_FIELDS_BY_TYPE = {
    "Conv2D": {"filters", "kernel_size", "strides", "padding", "activation", "use_bias"},
    "MaxPooling2D": {"pool_size", "strides", "padding"},
    "AveragePooling2D": {"pool_size", "strides", "padding"},
    "BatchNormalization": set(),
    "Dropout": {"rate"},
    "Flatten": set(),
    "GlobalAveragePooling2D": set(),
    "Dense": {"units", "activation", "use_bias"},
    "Activation": {"activation"},
    "Add": set(),
    "Concatenate": {"axis"},
}


# The arguments that apply to some layer types only.
_OPTIONAL_FIELDS = tuple(sorted(set().union(*_FIELDS_BY_TYPE.values())))


# Field values that mean "Keras' default", left out of `spec_to_dict` like an unset field.
_DEFAULTS = {"use_bias": True}


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
    becomes `"linear"`, a single `inputs` name a tuple) and validated; arguments that do not
    apply to `type` are refused. The helpers (`conv2d`, `dense`, `add`, ...) are the short way
    to make one.

    Attributes:
        type: one of `ALL_LAYER_TYPES`.
        filters: Conv2D output channels.
        units: Dense outputs.
        kernel_size: Conv2D window `(rows, cols)`.
        strides: Conv2D / pooling step `(rows, cols)`.
        padding: `"valid"` or `"same"`.
        pool_size: pooling window `(rows, cols)`.
        activation: one of `ACTIVATIONS` (Conv2D, Dense; required for Activation).
        rate: Dropout fraction in [0, 1).
        name: Keras layer name; None gets a Keras-style name (`conv2d_1`) in the ModelSpec.
        inputs: names of the earlier layers (or `INPUT_NAME`) this layer reads; None reads
            the layer before it. One name, except for the merges (`MERGE_TYPES`): two or more.
        use_bias: whether Conv2D / Dense add a bias (False before a BatchNormalization,
            whose shift does the same job).
        axis: Concatenate's axis, counted with the batch axis as in Keras: -1 (the default,
            the channels of a feature map) or 1 to 3.

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
    inputs: tuple[str, ...] | None = None
    use_bias: bool = True
    axis: int | None = None

    def __post_init__(self):
        set_ = object.__setattr__
        kind = as_choice(self.type, "type", ALL_LAYER_TYPES)
        set_(self, "type", kind)
        allowed = _FIELDS_BY_TYPE[kind]
        for argument in _OPTIONAL_FIELDS:
            value = getattr(self, argument)
            unset = value is None or (argument in _DEFAULTS and value is _DEFAULTS[argument])
            if not unset and argument not in allowed:
                raise ValueError(
                    f"`{argument}` does not apply to {kind}. {received(argument, value)}"
                )
        if self.name is not None:
            _check_name(self.name)
        set_(self, "inputs", _check_inputs(self.inputs, kind))
        if "use_bias" in allowed:
            set_(self, "use_bias", check_bool(self.use_bias, "use_bias"))
        if kind == "Concatenate":
            axis = check_int(-1 if self.axis is None else self.axis, "axis", minimum=-1, maximum=3)
            if axis == 0:
                raise ValueError(
                    f"`axis` must not be 0, the batch axis: use -1 (the channels) or 1 to 3. "
                    f"{received('axis', axis)}"
                )
            set_(self, "axis", axis)
        if kind == "Activation":
            set_(self, "activation", as_choice(self.activation, "activation", ACTIVATIONS))

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


def _article(word: str) -> str:
    return "an" if word[0] in "AEIOU" else "a"


def _check_inputs(inputs, kind: str) -> tuple[str, ...] | None:
    """`inputs` as a tuple of layer names: one for most layers, two or more for a merge."""
    merge = kind in MERGE_TYPES
    what = f"`inputs` of {_article(kind)} {kind} layer must name"
    if inputs is None:
        if merge:
            raise ValueError(f"{what} the 2 or more layers it joins. {received('inputs', inputs)}")
        return None
    names = (inputs,) if isinstance(inputs, str) else inputs
    check_instance(names, "inputs", (tuple, list, str), "a layer name or a tuple of names")
    names = tuple(_check_name(name, "inputs") for name in names)
    if merge and len(names) < 2:
        raise ValueError(f"{what} 2 or more layers. {received('inputs', inputs)}")
    if not merge and len(names) != 1:
        raise ValueError(
            f"{what} exactly 1 layer (only Add and Concatenate join several). "
            f"{received('inputs', inputs)}"
        )
    return names


def conv2d(
    filters: int,
    kernel_size: int | tuple[int, int] = 3,
    *,
    strides: int | tuple[int, int] = 1,
    padding: str = "valid",
    activation: str = "relu",
    use_bias: bool = True,
    inputs: str | None = None,
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
        use_bias=use_bias,
        inputs=inputs,
        name=name,
    )


Window = int | tuple[int, int]


def max_pooling2d(
    pool_size: Window = 2,
    strides: Window | None = None,
    padding="valid",
    *,
    inputs: str | None = None,
    name=None,
) -> LayerSpec:
    """A MaxPooling2D layer spec; `strides` default to `pool_size`, as in Keras.

    >>> max_pooling2d(3, 1).strides
    (1, 1)
    """
    kind = "MaxPooling2D"
    return LayerSpec(
        kind, pool_size=pool_size, strides=strides, padding=padding, inputs=inputs, name=name
    )


def average_pooling2d(
    pool_size: Window = 2,
    strides: Window | None = None,
    padding="valid",
    *,
    inputs: str | None = None,
    name=None,
) -> LayerSpec:
    """An AveragePooling2D layer spec; `strides` default to `pool_size`, as in Keras.

    >>> average_pooling2d(2).strides
    (2, 2)
    """
    kind = "AveragePooling2D"
    return LayerSpec(
        kind, pool_size=pool_size, strides=strides, padding=padding, inputs=inputs, name=name
    )


def batch_normalization(*, inputs: str | None = None, name: str | None = None) -> LayerSpec:
    """A BatchNormalization layer spec (over the channel axis)."""
    return LayerSpec("BatchNormalization", inputs=inputs, name=name)


def activation(kind: str, *, inputs: str | None = None, name: str | None = None) -> LayerSpec:
    """An Activation layer spec: `activation("relu")` is `layers.Activation("relu")`.

    >>> activation("relu", name="conv1_relu").activation
    'relu'
    """
    return LayerSpec("Activation", activation=kind, inputs=inputs, name=name)


def add(inputs: tuple[str, ...] | list[str], *, name: str | None = None) -> LayerSpec:
    """An Add layer spec: the element-wise sum of 2 or more layers of the same shape (the
    merge at the end of a residual block).

    >>> add(["conv2_block1_2_bn", "pool1"]).inputs
    ('conv2_block1_2_bn', 'pool1')
    """
    return LayerSpec("Add", inputs=inputs, name=name)


def concatenate(
    inputs: tuple[str, ...] | list[str], *, axis: int = -1, name: str | None = None
) -> LayerSpec:
    """A Concatenate layer spec: 2 or more feature maps of the same height and width stacked
    along the channels (the merge at the end of an Inception module).

    >>> concatenate(["branch_a", "branch_b"]).axis
    -1
    """
    return LayerSpec("Concatenate", inputs=inputs, axis=axis, name=name)


def dropout(rate: float, *, inputs: str | None = None, name: str | None = None) -> LayerSpec:
    """A Dropout layer spec; `rate` in [0, 1).

    >>> dropout(0.5).rate
    0.5
    """
    return LayerSpec("Dropout", rate=rate, inputs=inputs, name=name)


def flatten(*, inputs: str | None = None, name: str | None = None) -> LayerSpec:
    """A Flatten layer spec: `(H, W, C)` → `(H·W·C,)`."""
    return LayerSpec("Flatten", inputs=inputs, name=name)


def global_average_pooling2d(*, inputs: str | None = None, name: str | None = None) -> LayerSpec:
    """A GlobalAveragePooling2D layer spec: `(H, W, C)` → `(C,)`."""
    return LayerSpec("GlobalAveragePooling2D", inputs=inputs, name=name)


def dense(
    units: int,
    activation: str = "relu",
    *,
    use_bias: bool = True,
    inputs: str | None = None,
    name: str | None = None,
) -> LayerSpec:
    """A Dense layer spec; the output layer is `dense(num_classes, "softmax")`.

    >>> dense(10, "softmax").units
    10
    """
    return LayerSpec(
        "Dense", units=units, activation=activation, use_bias=use_bias, inputs=inputs, name=name
    )


@dataclass(frozen=True)
class ModelSpec:
    """A CNN: input shape and layers. Layers without a name get Keras-style names.

    Each layer reads the layer before it (a Sequential model) unless it names its `inputs`:
    earlier layers, or `INPUT_NAME` for the image. Branches start where several layers read
    the same one and end at a merge (`Add`, `Concatenate`); the last layer is the output,
    and every other layer must feed a later one.

    Attributes:
        name: model name (letters, digits, `_`, `.`, `-`).
        input_shape: `(H, W, C)` of one input image.
        layers: the `LayerSpec`s in order (each after the layers it reads); the last must be
            `dense(num_classes, "softmax")` (checked by `summarize`, which also checks that
            every layer fits its inputs).

    Raises:
        ValueError: duplicate layer names, `inputs` that name no earlier layer, or a layer
            whose output nothing reads.

    Example:

    >>> spec = ModelSpec("tiny", (28, 28, 1), (conv2d(8), flatten(), dense(10, "softmax")))
    >>> [layer.name for layer in spec.layers]
    ['conv2d', 'flatten', 'dense']
    >>> spec.has_branches
    False
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
        _check_graph(self.layers, self.layer_inputs)

    @property
    def num_classes(self) -> int:
        """Units of the last layer (the number of classes for a valid spec)."""
        return self.layers[-1].units or 0

    @property
    def layer_inputs(self) -> tuple[tuple[str, ...], ...]:
        """What each layer reads: its `inputs`, else the layer before it (`INPUT_NAME` for
        the first layer).

        >>> spec = ModelSpec("m", (8, 8, 1), (flatten(name="f"), dense(2, "softmax")))
        >>> spec.layer_inputs
        (('input',), ('f',))
        """
        previous = (INPUT_NAME,) + tuple(layer.name for layer in self.layers[:-1])
        return tuple(
            layer.inputs if layer.inputs is not None else (before,)
            for layer, before in zip(self.layers, previous, strict=True)
        )

    @property
    def has_branches(self) -> bool:
        """Whether some layer reads anything but the layer before it (then Keras builds the
        model with the functional API instead of `keras.Sequential`)."""
        previous = (INPUT_NAME,) + tuple(layer.name for layer in self.layers[:-1])
        return any(
            inputs != (before,) for inputs, before in zip(self.layer_inputs, previous, strict=True)
        )


def _check_graph(layers: tuple[LayerSpec, ...], layer_inputs) -> None:
    """Every layer reads earlier layers (or the input) and feeds a later one (or is last)."""
    seen, used = {INPUT_NAME}, set()
    for index, (layer, inputs) in enumerate(zip(layers, layer_inputs, strict=True), start=1):
        if layer.name == INPUT_NAME:
            raise ValueError(
                f"Layer {index} must not be named {INPUT_NAME!r}: `inputs` use that name for "
                f"the model's input image. {received('name', layer.name)}"
            )
        unknown = [name for name in inputs if name not in seen]
        if unknown:
            raise ValueError(
                f"Layer {index} ({layer.name}) reads {unknown}, which is not the input or an "
                f"earlier layer. `inputs` must name layers that come before it, or "
                f"{INPUT_NAME!r}. {received('inputs', layer.inputs)}"
            )
        seen.add(layer.name)
        used.update(inputs)
    unused = [layer.name for layer in layers[:-1] if layer.name not in used]
    if unused:
        raise ValueError(
            f"Every layer but the last must feed a later layer; the output of {unused} is not "
            f"read by any. Name it in the `inputs` of a later layer (a merge), or remove it. "
            f"Received: unused={unused}."
        )


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
            default = _DEFAULTS.get(spec_field.name)
            if value is not None and not (default is not None and value is default):
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
