"""Receptive fields of units in stacked convolution and pooling layers (pure Python).

A unit in a deep feature map looks at a square patch of the input: its *receptive field*.
Walking from the input towards the unit, every layer with kernel size k (dilation d, so an
effective size k' = d·(k − 1) + 1) and stride s updates three numbers per axis:

- size:  r_out = r_in + (k' − 1) · j_in      (how many input pixels one unit sees)
- jump:  j_out = j_in · s                    (input pixels between neighbouring units)
- start: c_out = c_in + ((k' − 1) / 2 − p) · j_in
  (input coordinate of the centre of unit 0; p is the padding before the first pixel)

starting from r = 1, j = 1, c = 0 at the input. Two 3×3 convolutions see 5×5 pixels, three
see 7×7, and conv 3×3 → max-pool 2×2 → conv 3×3 sees 8×8.

Padding follows TensorFlow: "valid" pads nothing; "same" pads
max((⌈n/s⌉ − 1)·s + k' − n, 0) in total with the smaller half first (top/left). The output
sizes and padding come from `core.ops.output_size.describe_output_size`, so this module and
`conv2d` cannot disagree; `core.nets.summary` uses `next_receptive_field` for the same reason.

Example:

>>> conv = LayerGeometry("conv", kernel_size=3)
>>> receptive_field([conv, conv], input_size=(28, 28)).size
(5, 5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.base.checks import as_choice, as_pair, check_instance, check_int
from core.ops.output_size import PADDINGS, describe_output_size, effective_kernel_size


@dataclass(frozen=True)
class LayerGeometry:
    """What a layer does to the spatial grid: a sliding window with a step.

    Convolutions and pooling layers use all fields; layers that keep the grid (activations,
    batch normalisation, dropout) are `LayerGeometry(name)` with the defaults, a 1×1 window.

    Attributes:
        name: the layer's name, for messages.
        kernel_size: window size, an int or `(height, width)` (`pool_size` for pooling).
        strides: step of the window, an int or a pair.
        padding: `"valid"` or `"same"` (TensorFlow's rules).
        dilation_rate: gaps between kernel taps, an int or a pair.
    """

    name: str
    kernel_size: int | tuple[int, int] = 1
    strides: int | tuple[int, int] = 1
    padding: str = "valid"
    dilation_rate: int | tuple[int, int] = 1

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "kernel_size", as_pair(self.kernel_size, "kernel_size"))
        set_(self, "strides", as_pair(self.strides, "strides"))
        set_(self, "padding", as_choice(self.padding, "padding", PADDINGS))
        set_(self, "dilation_rate", as_pair(self.dilation_rate, "dilation_rate"))


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of every unit of one feature map, per axis `(rows, cols)`.

    Attributes:
        layer: name of the layer whose output this describes (`"input"` for the image).
        size: input pixels one unit sees.
        jump: input pixels between neighbouring units.
        start: input coordinate of the centre of unit `(0, 0)` (a half-integer for even sizes;
            negative when padding puts it outside the image).
        output_size: height and width of the feature map.
    """

    layer: str
    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[float, float]
    output_size: tuple[int, int]


@dataclass(frozen=True)
class InputRegion:
    """Input pixels `[top, bottom) × [left, right)` a unit depends on, clipped to the image.

    `full_size` is the receptive field before clipping; a clipped region is smaller because the
    rest of the window lies on padding.
    """

    top: int
    left: int
    bottom: int
    right: int
    full_size: tuple[int, int]

    @property
    def height(self) -> int:
        """Rows of the region."""
        return self.bottom - self.top

    @property
    def width(self) -> int:
        """Columns of the region."""
        return self.right - self.left


def input_receptive_field(input_size: tuple[int, int]) -> ReceptiveField:
    """The input pixels themselves, where the recurrence starts: size 1, jump 1, start 0.

    >>> input_receptive_field((28, 28)).output_size
    (28, 28)
    """
    height, width = as_pair(input_size, "input_size")
    return ReceptiveField("input", (1, 1), (1, 1), (0.0, 0.0), (height, width))


def next_receptive_field(previous: ReceptiveField, layer: LayerGeometry) -> ReceptiveField:
    """One step of the recurrence: the receptive field after `layer`, from the one before it.

    Args:
        previous: the receptive field of the map that `layer` reads.
        layer: the layer's window, stride, padding and dilation.

    Returns:
        The `ReceptiveField` of the layer's output, named after the layer.

    Raises:
        ValueError: the layer shrinks the map below 1×1 (a "valid" window larger than it).

    >>> after = next_receptive_field(input_receptive_field((28, 28)), LayerGeometry("c", 3))
    >>> after.size, after.jump, after.start, after.output_size
    ((3, 3), (1, 1), (1.0, 1.0), (26, 26))
    """
    check_instance(layer, "layer", LayerGeometry)
    size, jump, start, output = [], [], [], []
    for axis in range(2):
        effective = effective_kernel_size(layer.kernel_size[axis], layer.dilation_rate[axis])
        try:
            arithmetic = describe_output_size(
                previous.output_size[axis],
                layer.kernel_size[axis],
                strides=layer.strides[axis],
                padding=layer.padding,
                dilation_rate=layer.dilation_rate[axis],
            )
        except ValueError:
            raise ValueError(
                f"Layer {layer.name!r} shrinks the feature map below 1×1 "
                f"(input {previous.output_size}, window {effective}, padding "
                f"{layer.padding!r})."
            ) from None
        size.append(previous.size[axis] + (effective - 1) * previous.jump[axis])
        jump.append(previous.jump[axis] * layer.strides[axis])
        start.append(
            previous.start[axis]
            + ((effective - 1) / 2 - arithmetic.pad_before) * previous.jump[axis]
        )
        output.append(arithmetic.size)
    return ReceptiveField(layer.name, tuple(size), tuple(jump), tuple(start), tuple(output))


def receptive_fields(
    layers: list[LayerGeometry] | tuple[LayerGeometry, ...], *, input_size: tuple[int, int]
) -> list[ReceptiveField]:
    """The receptive field after the input and after each layer, in order.

    Args:
        layers: the spatial layers from the input to the map of interest.
        input_size: `(height, width)` of the input image.

    Returns:
        `len(layers) + 1` `ReceptiveField`s; element 0 is the input itself (size 1).

    Raises:
        ValueError: a bad `input_size`, or a layer that shrinks the map below 1×1.

    >>> conv3, pool2 = LayerGeometry("c", 3), LayerGeometry("p", 2, strides=2)
    >>> [f.size[0] for f in receptive_fields([conv3, pool2, conv3], input_size=(28, 28))]
    [1, 3, 4, 8]
    """
    fields = [input_receptive_field(input_size)]
    for layer in layers:
        fields.append(next_receptive_field(fields[-1], layer))
    return fields


def receptive_field(
    layers: list[LayerGeometry] | tuple[LayerGeometry, ...], *, input_size: tuple[int, int]
) -> ReceptiveField:
    """The receptive field of the units after the last of `layers` (see `receptive_fields`).

    >>> conv = LayerGeometry("conv", kernel_size=3)
    >>> receptive_field([conv, conv, conv], input_size=(28, 28)).size
    (7, 7)
    """
    return receptive_fields(layers, input_size=input_size)[-1]


def input_region(
    field: ReceptiveField, row: int, col: int, *, input_size: tuple[int, int] | None = None
) -> InputRegion:
    """The input pixels unit `(row, col)` of a feature map depends on.

    Args:
        field: the map's `ReceptiveField`.
        row, col: the unit, 0-based, inside `field.output_size`.
        input_size: `(height, width)` of the image; when given, the window is cut to the
            image (the rest of it lies on padding).

    Returns:
        An `InputRegion` with half-open bounds.

    >>> fields = receptive_fields([LayerGeometry("c", 3)], input_size=(5, 5))
    >>> region = input_region(fields[-1], 0, 0)
    >>> (region.top, region.left, region.bottom, region.right)
    (0, 0, 3, 3)
    """
    bounds = []
    for axis, name in enumerate(("row", "col")):
        limit = field.output_size[axis]
        index = check_int((row, col)[axis], name, minimum=0, maximum=limit - 1)
        centre = field.start[axis] + index * field.jump[axis]
        low = math.floor(centre - (field.size[axis] - 1) / 2 + 1e-9)
        high = low + field.size[axis]
        bounds.append((low, high))
    (top, bottom), (left, right) = bounds
    region = InputRegion(top, left, bottom, right, field.size)
    return region if input_size is None else clip_region(region, input_size=input_size)


def clip_region(region: InputRegion, *, input_size: tuple[int, int]) -> InputRegion:
    """`region` cut to an image of `input_size` `(height, width)`.

    >>> clip_region(InputRegion(-1, -1, 2, 2, (3, 3)), input_size=(5, 5)).top
    0
    """
    height, width = as_pair(input_size, "input_size")
    return InputRegion(
        max(region.top, 0),
        max(region.left, 0),
        min(region.bottom, height),
        min(region.right, width),
        region.full_size,
    )
