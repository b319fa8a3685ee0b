"""Two models side by side: which of their layers to compare, and whether one input fits both.

Inspect's "Compare & replay" tab shows the feature maps of matching layers. Two epochs of
one run, or two models built from one preset, share layer names, so layers are matched by
name; two different networks rarely do, so then their convolutions are matched by order
(the first with the first, ...), and the page says which layer is matched with which.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.jobs.inspection import ModelInfo

MATCHED_BY = ("name", "order")


@dataclass(frozen=True)
class LayerMatch:
    """A layer of the left model and the one of the right model it is compared with.

    ``matched_by`` is ``"name"`` (both are called ``left``) or ``"order"`` (both are the
    ``position``-th convolution of their model, 1-based).
    """

    left: str
    right: str
    matched_by: str
    position: int = 0

    def describe(self) -> str:
        """How the two layers were matched, in words.

        >>> LayerMatch("conv1", "conv1", "name").describe()
        'conv1 (same name in both)'
        >>> LayerMatch("conv2d", "block1_conv", "order", 1).describe()
        'conv2d ↔ block1_conv (the 1st convolution of each)'
        """
        if self.matched_by == "name":
            return f"{self.left} (same name in both)"
        return f"{self.left} ↔ {self.right} (the {_ordinal(self.position)} convolution of each)"


def match_layers(left: ModelInfo, right: ModelInfo) -> list[LayerMatch]:
    """The layers with feature maps to compare, in the left model's order.

    Map layers (convolution, activation, pooling, merge) with the same name in both models
    and the same kind are matched by name. When no convolution is matched that way, the
    convolutions are matched by order instead, as far as the shorter model goes.

    Returns:
        One `LayerMatch` per pair; ``[]`` when a model has no feature maps.
    """
    right_maps = {layer.name: layer for layer in right.map_layers}
    by_name = [
        LayerMatch(layer.name, layer.name, "name")
        for layer in left.map_layers
        if layer.name in right_maps and right_maps[layer.name].kind == layer.kind
    ]
    left_convs = [layer for layer in left.conv_layers if layer.is_map]
    names = {match.left for match in by_name}
    if any(layer.name in names for layer in left_convs):
        return by_name
    right_convs = [layer for layer in right.conv_layers if layer.is_map]
    return [
        LayerMatch(a.name, b.name, "order", position)
        for position, (a, b) in enumerate(zip(left_convs, right_convs, strict=False), start=1)
    ]


def input_mismatch(left: ModelInfo, right: ModelInfo) -> str:
    """Why one input cannot go to both models, in words; ``""`` when it can.

    >>> from core.jobs.inspection import ModelInfo
    >>> a = ModelInfo("a.keras", "a", (28, 28, 1), 10, (), 0)
    >>> input_mismatch(a, ModelInfo("b.keras", "b", (32, 32, 3), 10, (), 0))
    'it takes 32×32 colour images and this input is a 28×28 grayscale image'
    >>> input_mismatch(a, a)
    ''
    """
    if tuple(left.input_shape) == tuple(right.input_shape):
        return ""
    return (
        f"it takes {_kind(right.input_shape)} images and this input is a "
        f"{_kind(left.input_shape)} image"
    )


def _kind(shape: tuple) -> str:
    if len(shape) != 3:
        return "non-image"
    height, width, channels = shape
    colour = {1: "grayscale", 3: "colour"}.get(channels, f"{channels}-channel")
    return f"{height}×{width} {colour}"


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10)
    return f"{number}{suffix or 'th'}"
