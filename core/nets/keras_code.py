"""A model spec as Keras: the constructor arguments of each layer, and runnable Python code.

`layer_arguments` is the one place that maps a `LayerSpec` to Keras; both `build_model` and
`to_keras_code` use it, so the model the app trains and the code it shows cannot drift apart.
A plain stack becomes `keras.Sequential`; a spec with branches the functional API (each layer
called on the tensors it reads, `keras.Model(inputs, outputs)`). Pure Python: Keras is not
imported here.

>>> from core.nets.presets import preset
>>> print(to_keras_code(preset("mlp")))  # doctest: +ELLIPSIS
import keras
from keras import layers
...
"""

from __future__ import annotations

import keyword
import re

from core.nets.specs import INPUT_NAME, LayerSpec, ModelSpec
from core.nets.summary import summarize


def layer_arguments(layer: LayerSpec) -> tuple[str, dict]:
    """The Keras class name and keyword arguments that build `layer`; defaults are left out.

    >>> from core.nets.specs import max_pooling2d
    >>> layer_arguments(max_pooling2d(2, name="max_pooling2d"))
    ('MaxPooling2D', {'pool_size': (2, 2), 'name': 'max_pooling2d'})
    """
    arguments: dict = {}
    if layer.type == "Conv2D":
        arguments["filters"] = layer.filters
        arguments["kernel_size"] = layer.kernel_size
        if layer.strides != (1, 1):
            arguments["strides"] = layer.strides
        if layer.padding != "valid":
            arguments["padding"] = layer.padding
        if layer.activation != "linear":
            arguments["activation"] = layer.activation
        if not layer.use_bias:
            arguments["use_bias"] = False
    elif layer.type in ("MaxPooling2D", "AveragePooling2D"):
        arguments["pool_size"] = layer.pool_size
        if layer.strides != layer.pool_size:
            arguments["strides"] = layer.strides
        if layer.padding != "valid":
            arguments["padding"] = layer.padding
    elif layer.type == "Dropout":
        arguments["rate"] = layer.rate
    elif layer.type == "Dense":
        arguments["units"] = layer.units
        if layer.activation != "linear":
            arguments["activation"] = layer.activation
        if not layer.use_bias:
            arguments["use_bias"] = False
    elif layer.type == "Activation":
        arguments["activation"] = layer.activation
    elif layer.type == "Concatenate" and layer.axis != -1:
        arguments["axis"] = layer.axis
    arguments["name"] = layer.name
    return layer.type, arguments


def _format_call(class_name: str, arguments: dict) -> str:
    """`layers.Conv2D(32, kernel_size=(3, 3), ...)`: the first argument positional, like Keras
    examples (`Conv2D(32, ...)`, `Dense(10, ...)`, `Dropout(0.5)`, `Activation("relu")`)."""
    items = list(arguments.items())
    parts = []
    if items and items[0][0] in ("filters", "units", "rate", "activation"):
        parts.append(_literal(items.pop(0)[1]))
    parts.extend(f"{key}={_literal(value)}" for key, value in items)
    return f"layers.{class_name}({', '.join(parts)})"


def _literal(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def to_keras_code(spec: ModelSpec) -> str:
    """Python source that builds the same model with Keras 3 and prints its summary.

    The code is standalone (imports included) and uses the spec's layer names, so its
    `model.summary()` matches the app's table row for row.

    A plain stack is written as `keras.Sequential([...])`; a spec with branches in the
    functional API, one line per layer: `x` carries the output on to the next line, and an
    output that a later layer reads too (the start of a branch) gets a variable named after
    the layer.

    Args:
        spec: the `ModelSpec` (validated by `summarize` first).

    Returns:
        The source code as a string, ending with a newline.

    Raises:
        InvalidModelError: the stack cannot be built.

    Example:

    >>> from core.nets.presets import preset
    >>> print(to_keras_code(preset("mnist_cnn_b")).splitlines()[6])
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu", name="conv2d"),
    """

    summary = summarize(spec)
    if spec.has_branches:
        return _functional_code(spec, summary.total_params)
    lines = [
        "import keras",
        "from keras import layers",
        "",
        "model = keras.Sequential(",
        "    [",
        f"        keras.Input(shape={tuple(spec.input_shape)!r}),",
    ]
    for layer in spec.layers:
        lines.append(f"        {_format_call(*layer_arguments(layer))},")
    lines += [
        "    ],",
        f"    name={_literal(spec.name)},",
        ")",
        f"model.summary()  # {summary.total_params:,} parameters",
    ]
    return "\n".join(lines) + "\n"


def _variable_names(spec: ModelSpec) -> dict[str, str]:
    """The Python variable that holds each layer's output in the functional code.

    `x` when only the next line reads it; otherwise the layer's name made a valid, unused
    identifier (`conv2_block1_out`); `inputs` and `outputs` for the two ends.
    """
    readers: dict[str, list[int]] = {}
    for index, inputs in enumerate(spec.layer_inputs):
        for name in inputs:
            readers.setdefault(name, []).append(index)
    reserved = {"keras", "layers", "model", "inputs", "outputs", "x"}
    names = {INPUT_NAME: "inputs"}
    for index, layer in enumerate(spec.layers):
        if index == len(spec.layers) - 1:
            names[layer.name] = "outputs"
        elif readers[layer.name] == [index + 1]:
            names[layer.name] = "x"
        else:
            base = re.sub(r"\W", "_", layer.name)
            if base[0].isdigit() or keyword.iskeyword(base):
                base = "_" + base
            candidate, count = base, 1
            while candidate in reserved:
                candidate, count = f"{base}_{count}", count + 1
            reserved.add(candidate)
            names[layer.name] = candidate
    return names


def _functional_code(spec: ModelSpec, total_params: int) -> str:
    """`to_keras_code` for a spec with branches: Keras' functional API."""
    variables = _variable_names(spec)
    lines = [
        "import keras",
        "from keras import layers",
        "",
        f"inputs = keras.Input(shape={tuple(spec.input_shape)!r}, name={_literal(INPUT_NAME)})",
    ]
    for layer, inputs in zip(spec.layers, spec.layer_inputs, strict=True):
        sources = [variables[name] for name in inputs]
        argument = sources[0] if len(sources) == 1 else "[" + ", ".join(sources) + "]"
        lines.append(
            f"{variables[layer.name]} = {_format_call(*layer_arguments(layer))}({argument})"
        )
    lines += [
        f"model = keras.Model(inputs, outputs, name={_literal(spec.name)})",
        f"model.summary()  # {total_params:,} parameters",
    ]
    return "\n".join(lines) + "\n"
