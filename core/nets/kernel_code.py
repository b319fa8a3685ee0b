"""One kernel on one picture, as a runnable Keras script that gives the same numbers.

The Kernel Playground slides a kernel with ``core.ops.convolution.conv2d``, adds a bias
and an optional ReLU; ``kernel_keras_code`` writes that same computation as a short Keras
script a student can run: the kernel as typed, flipped when the page flips it (Keras'
``Conv2D`` computes cross-correlation), ``strides``, ``padding``, ``dilation_rate``, the
bias and the activation, and the page's colour handling (grey, the same kernel on each
channel with ``DepthwiseConv2D``, or one 3-channel filter whose responses are summed).

Where Keras has no word for a setting, the script says so in a comment and does it
another way: border fills other than zeros are done by ``np.pad`` before a "valid"
``Conv2D``; padding Keras' "same" does not produce ("full", explicit) is a
``ZeroPadding2D`` layer; and since TensorFlow's ``Conv2D`` refuses strides together with
dilation, the kernel is then spread out with zeros instead. Pure Python: Keras is not
imported here.

>>> code = kernel_keras_code([[1, 0], [0, -1]], (8, 8), strides=2, activation="relu")
>>> layer = next(line for line in code.splitlines() if "Conv2D(" in line)
>>> print(layer)  # doctest: +NORMALIZE_WHITESPACE
        layers.Conv2D(1, kernel_size=(2, 2), strides=(2, 2), activation="relu",
                      use_bias=False, name="kernel"),
"""

from __future__ import annotations

from core.base.checks import (
    as_pair,
    as_real_array,
    check_choice,
    check_real,
    check_string,
    received,
)
from core.imaging.images import LUMA_WEIGHTS
from core.ops.convolution import ConvOptions
from core.ops.output_size import conv_padding, effective_kernel_size

# How a colour picture meets the kernel, as the Kernel Playground names it.
COLOR_HANDLINGS = ("grayscale", "per_channel", "summed")


ACTIVATIONS = ("linear", "relu")


def _number(value: float) -> str:
    """A float as Python reads it back exactly, without a useless ``.0``: ``-1``, ``0.5``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _array(values) -> str:
    return "[" + ", ".join(_number(v) for v in values) + "]"


def _pads_text(pads) -> str:
    (top, bottom), (left, right) = pads
    return f"(({top}, {bottom}), ({left}, {right}))"


def kernel_keras_code(
    kernel,
    image_shape,
    *,
    strides=1,
    padding="valid",
    mode: str = "constant",
    cval: float = 0.0,
    dilation_rate=1,
    flip_kernel: bool = False,
    bias: float = 0.0,
    activation: str = "linear",
    color: str = "grayscale",
    channel_weights=(1.0, 1.0, 1.0),
    input_channels: int = 1,
    image_path: str = "picture.png",
) -> str:
    """A Keras script computing ``conv2d(image, kernel, ...)`` + ``bias``, then ``activation``.

    Args:
        kernel: (kh, kw) grid of weights, as typed.
        image_shape: (rows, cols) of the picture the kernel slides over; "same" padding with
            a border fill other than zeros depends on it when a stride is above 1.
        strides, padding, mode, cval, dilation_rate, flip_kernel: as ``conv2d``.
        bias: added to every output value.
        activation: "linear" or "relu".
        color: "grayscale" (one channel), "per_channel" (the kernel on R, G and B
            separately: three outputs) or "summed" (one filter with a slice per channel,
            the kernel times ``channel_weights``; the three responses summed).
        channel_weights: R, G, B scale of the kernel's slices in the "summed" handling.
        input_channels: 1 for a grey picture file, 3 for a colour one (converted to grey
            with the page's luma weights when ``color`` is "grayscale").
        image_path: the picture file the script loads.

    Returns:
        The script, ending with a newline; it leaves the result in ``output``: (rows, cols),
        or (rows, cols, 3) for "per_channel".

    Raises:
        ValueError: a bad value (unknown names, a colour handling for a grey picture, ...).
        TypeError: an argument of the wrong type.

    >>> print(kernel_keras_code([[0, 1, 0]], (5, 5), padding="same").splitlines()[-1])
    output = model.predict(image[None], verbose=0)[0, :, :, 0]  # as on the page
    """
    kernel = as_real_array(kernel, "kernel", ndims=(2,))
    rows, cols = as_pair(image_shape, "image_shape")
    options = ConvOptions(strides, padding, mode, cval, dilation_rate, flip_kernel)
    bias = check_real(bias, "bias")
    activation = check_choice(activation, "activation", ACTIVATIONS)
    color = check_choice(color, "color", COLOR_HANDLINGS)
    input_channels = check_choice(input_channels, "input_channels", (1, 3))
    image_path = check_string(image_path, "image_path")
    weights = as_real_array(channel_weights, "channel_weights", ndims=(1,))
    if weights.shape != (3,):
        raise ValueError(
            f"`channel_weights` must hold 3 numbers (R, G, B). "
            f"{received('channel_weights', weights)}"
        )
    if color != "grayscale" and input_channels != 3:
        raise ValueError(
            f"`color`={color!r} needs a colour picture (input_channels=3). "
            f"Received: input_channels={input_channels}."
        )

    lines = ["import keras", "import numpy as np", "from keras import layers", ""]
    lines += _kernel_lines(kernel, options, color, weights)
    lines += _image_lines(image_path, input_channels, color)
    layer_padding, padding_lines, model_padding = _padding_plan(kernel, (rows, cols), options)
    lines += padding_lines
    lines += _model_lines(kernel, options, layer_padding, model_padding, bias, activation, color)
    return "\n".join(lines) + "\n"


def _spread(options: ConvOptions) -> bool:
    """Whether the kernel must be spread with zeros: strides and dilation at once."""
    return options.strides != (1, 1) and options.dilation_rate != (1, 1)


def _kernel_lines(kernel, options: ConvOptions, color: str, weights) -> list[str]:
    lines = ["# The kernel as typed on the page (rows, columns)."]
    lines.append("kernel = np.array([")
    lines += [f"    {_array(row)}," for row in kernel]
    lines.append("])")
    if options.flip_kernel:
        lines += [
            "# True convolution: Keras' Conv2D computes cross-correlation, so the kernel",
            "# is rotated by 180° first.",
            "kernel = kernel[::-1, ::-1]",
        ]
    if _spread(options):
        dilation = options.dilation_rate
        size = tuple(
            effective_kernel_size(n, d) for n, d in zip(kernel.shape, dilation, strict=True)
        )
        lines += [
            "# Keras' Conv2D cannot combine strides with dilation_rate, so the kernel is",
            f"# spread out with zeros instead: the taps dilation_rate={dilation} reaches.",
            f"spread = np.zeros({size})",
            f"spread[::{dilation[0]}, ::{dilation[1]}] = kernel",
            "kernel = spread",
        ]
    if color == "summed":
        lines += [
            "# One CNN filter: a slice of the kernel per input channel (R, G, B), scaled by",
            "# the channel weights; the filter adds the three responses into one map.",
            f"kernel = kernel[:, :, None] * np.array({_array(weights)})",
        ]
    return lines + [""]


def _image_lines(image_path: str, input_channels: int, color: str) -> list[str]:
    path = '"' + image_path.replace("\\", "\\\\").replace('"', '\\"') + '"'
    lines = ["# The picture as float values 0–255 (the page shrinks large photos first)."]
    if input_channels == 1:
        lines.append(
            "image = keras.utils.img_to_array("
            f'keras.utils.load_img({path}, color_mode="grayscale"))'
        )
        return lines + [""]
    lines.append(f"image = keras.utils.img_to_array(keras.utils.load_img({path}))")
    if color == "grayscale":
        luma = ", ".join(format(float(w), ".3g") for w in LUMA_WEIGHTS)
        lines += [
            "# Converted to grey with the page's weights: 0.299 R + 0.587 G + 0.114 B.",
            f'image = (image @ np.array([{luma}], dtype="float32"))[:, :, None]',
        ]
    return lines + [""]


def _padding_plan(kernel, image_shape, options: ConvOptions) -> tuple[str, list[str], tuple]:
    """(Conv2D's padding, lines padding the picture with NumPy, pads for ZeroPadding2D)."""
    if options.padding == "valid":
        return "valid", [], ()
    zeros = options.mode == "constant" and options.cval == 0
    if options.padding == "same" and zeros:
        return "same", [], ()
    pads = conv_padding(
        image_shape,
        kernel.shape,
        strides=options.strides,
        padding=options.padding,
        dilation_rate=options.dilation_rate,
    )
    if pads == ((0, 0), (0, 0)):
        return "valid", [], ()
    if zeros:
        return "valid", [], pads
    name = f'padding="{options.padding}"' if isinstance(options.padding, str) else "padding"
    if options.padding == "same" and options.strides != (1, 1):
        name += f" for a {image_shape[0]}×{image_shape[1]} picture"
    fill = f'mode="{options.mode}"'
    if options.mode == "constant":
        fill += f", constant_values={_number(options.cval)}"
    (top, bottom), (left, right) = pads
    lines = [
        f'# Keras pads only with zeros, so NumPy adds the border ("{options.mode}" fill;',
        f'# {name}) and Conv2D uses padding="valid".',
        "# Rows above and below, columns left and right, no new channels:",
        f"image = np.pad(image, (({top}, {bottom}), ({left}, {right}), (0, 0)), {fill})",
        "",
    ]
    return "valid", lines, ()


def _model_lines(
    kernel, options: ConvOptions, layer_padding, model_padding, bias, activation, color
) -> list[str]:
    spread = _spread(options)
    dilation = (1, 1) if spread else options.dilation_rate
    # A spread kernel already holds the dilation's gaps.
    spread_by = options.dilation_rate if spread else (1, 1)
    size = tuple(effective_kernel_size(n, d) for n, d in zip(kernel.shape, spread_by, strict=True))
    channels = 1 if color == "grayscale" else 3
    depthwise = color == "per_channel"
    arguments = [f"kernel_size={size}"]
    if options.strides != (1, 1):
        arguments.append(f"strides={options.strides}")
    if layer_padding != "valid":
        arguments.append(f'padding="{layer_padding}"')
    if dilation != (1, 1):
        arguments.append(f"dilation_rate={dilation}")
    if activation != "linear":
        arguments.append(f'activation="{activation}"')
    if bias == 0:
        arguments.append("use_bias=False")
    arguments.append('name="kernel"')
    call = (
        "layers.DepthwiseConv2D(" if depthwise else "layers.Conv2D(1, "
    ) + f"{', '.join(arguments)}),"
    lines = []
    if depthwise:
        lines.append("# The same kernel on R, G and B separately: one kernel slice per channel.")
    lines += [
        "model = keras.Sequential(",
        "    [",
        f"        keras.Input(shape=(None, None, {channels})),",
    ]
    if model_padding:
        lines += [
            "        # Zeros added (above, below), (left, right): a padding Keras' names lack.",
            f"        layers.ZeroPadding2D({_pads_text(model_padding)}),",
        ]
    lines += [f"        {call}", "    ]", ")"]
    if depthwise:
        lines.append("# DepthwiseConv2D keeps its kernel as (rows, cols, channels, 1).")
        weights = [f"np.repeat(kernel[:, :, None, None], {channels}, axis=2)"]
        if bias != 0:
            weights.append(f"np.full({channels}, {_number(bias)})")
    else:
        lines.append("# Conv2D keeps its kernel as (rows, cols, input channels, filters).")
        weights = [f"kernel.reshape({size[0]}, {size[1]}, {channels}, 1)"]
        if bias != 0:
            weights.append(f"np.array([{_number(bias)}])")
    lines.append(f"weights = [{', '.join(weights)}]")
    lines.append('model.get_layer("kernel").set_weights(weights)')
    lines.append("")
    if depthwise:
        lines.append(
            "output = model.predict(image[None], verbose=0)[0]  # (rows, cols, 3), as on the page"
        )
    else:
        lines.append("output = model.predict(image[None], verbose=0)[0, :, :, 0]  # as on the page")
    return lines
