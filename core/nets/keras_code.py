"""A model spec as Keras: the constructor arguments of each layer, and runnable Python code.

`layer_arguments` is the one place that maps a `LayerSpec` to Keras; both `build_model` and
`to_keras_code` use it, so the model the app trains and the code it shows cannot drift apart.
Pure Python: Keras is not imported here.

>>> from core.nets.presets import preset
>>> print(to_keras_code(preset("mlp")))  # doctest: +ELLIPSIS
import keras
from keras import layers
...
"""

from __future__ import annotations

from core.nets.specs import LayerSpec, ModelSpec
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
    arguments["name"] = layer.name
    return layer.type, arguments


def _format_call(class_name: str, arguments: dict) -> str:
    """`layers.Conv2D(32, kernel_size=(3, 3), ...)`: the first argument positional, like Keras
    examples (`Conv2D(32, ...)`, `Dense(10, ...)`, `Dropout(0.5)`)."""
    items = list(arguments.items())
    parts = []
    if items and items[0][0] in ("filters", "units", "rate"):
        parts.append(repr(items.pop(0)[1]))
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
