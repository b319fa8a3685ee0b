"""The drawn diagram of a network: one box per layer, top to bottom, with branches side by side
and the merges (Add, Concatenate) where they join, as inline SVG (no internet, no graphviz).

Layout: a layer's row is one below the lowest of the layers it reads, so parallel branches
share rows; in each row a layer takes the lane (column) of what it reads when that lane is
free, else the nearest free one. An edge that skips rows runs straight down an empty lane or,
when the lane is taken (a ResNet's identity shortcut), arcs around the boxes on the right.

`compact=True` draws a BatchNormalization or Activation in the box of the layer before it
when nothing else reads that layer ("Conv 3×3, 64 · BN · ReLU"), so a ResNet fits on screen.

>>> from core.nets.gallery import network
>>> from core.nets.summary import summarize
>>> spec = network("resnet20")
>>> drawing = layout(spec, summarize(spec), compact=True)
>>> drawing.rows, drawing.lanes, sum(node.kind == "merge" for node in drawing.nodes)
(31, (0, 1), 9)
"""

from __future__ import annotations

import base64
import html
import itertools
from dataclasses import dataclass

import streamlit as st

from core.nets.specs import INPUT_NAME, LayerSpec, ModelSpec
from core.nets.summary import LayerSummary, ModelSummary
from ui.architectures.table import human_count

NODE_WIDTH = 176
NODE_HEIGHT = 34
LANE_PITCH = 200  # a 24-pixel gap between lanes, where the shortcut arcs run
ROW_PITCH = 50
MARGIN = 12

# Fill and outline per kind of layer, light enough for dark text in either theme.
COLOURS = {
    "input": ("#ffffff", "#334155"),
    "conv": ("#dbeafe", "#2563eb"),
    "pool": ("#dcfce7", "#16a34a"),
    "norm": ("#f1f5f9", "#64748b"),
    "activation": ("#fef9c3", "#ca8a04"),
    "dropout": ("#f5f5f4", "#a8a29e"),
    "reshape": ("#ede9fe", "#7c3aed"),
    "dense": ("#fce7f3", "#db2777"),
    "merge": ("#ffedd5", "#ea580c"),
}

KIND_NAMES = {
    "input": "input",
    "conv": "convolution",
    "pool": "pooling",
    "norm": "batch normalisation",
    "activation": "activation",
    "dropout": "dropout",
    "reshape": "flatten / global pooling",
    "dense": "dense",
    "merge": "merge (Add, Concatenate)",
}

_KINDS = {
    "Conv2D": "conv",
    "MaxPooling2D": "pool",
    "AveragePooling2D": "pool",
    "BatchNormalization": "norm",
    "Activation": "activation",
    "Dropout": "dropout",
    "Flatten": "reshape",
    "GlobalAveragePooling2D": "reshape",
    "Dense": "dense",
    "Add": "merge",
    "Concatenate": "merge",
}

_ACTIVATION_NAMES = {"relu": "ReLU", "tanh": "tanh", "sigmoid": "sigmoid", "softmax": "softmax"}


@dataclass(frozen=True)
class Node:
    """One box: a layer, or a layer with the BatchNormalization / Activation folded into it.

    Attributes:
        name: the (first) layer's name; edges use it.
        kind: a key of `COLOURS`.
        label: the first line, e.g. `"Conv 3×3, 64, stride 2"`.
        folded: the layers drawn in the same box, e.g. `"BN · ReLU"`, or "".
        shape: the output shape, e.g. `"56×56×64"`.
        row, lane: the grid position (lane 0 is the main path; branches go either side).
        tooltip: every layer in the box with its parameters, multiply-adds and field.
    """

    name: str
    kind: str
    label: str
    folded: str
    shape: str
    row: int
    lane: int
    tooltip: str


@dataclass(frozen=True)
class Layout:
    """Boxes, arrows `(source, target)` between box names, rows and the `(first, last)` lane."""

    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str], ...]
    rows: int
    lanes: tuple[int, int]


def layer_label(layer: LayerSpec) -> str:
    """A short name of a layer for its box.

    >>> from core.nets.specs import conv2d, max_pooling2d
    >>> layer_label(conv2d(64, 7, strides=2)), layer_label(max_pooling2d(3, 2))
    ('Conv 7×7, 64, stride 2', 'MaxPool 3×3, stride 2')
    """
    stride = "" if layer.strides in (None, (1, 1)) else ", stride " + _side(layer.strides)
    if layer.type == "Conv2D":
        return f"Conv {_pair(layer.kernel_size)}, {layer.filters}{stride}"
    if layer.type in ("MaxPooling2D", "AveragePooling2D"):
        name = "MaxPool" if layer.type == "MaxPooling2D" else "AvgPool"
        stride = "" if layer.strides == layer.pool_size else ", stride " + _side(layer.strides)
        return f"{name} {_pair(layer.pool_size)}{stride}"
    if layer.type == "Dense":
        return f"Dense {layer.units:,}, {_ACTIVATION_NAMES.get(layer.activation, 'linear')}"
    if layer.type == "Activation":
        return _ACTIVATION_NAMES.get(layer.activation, layer.activation)
    if layer.type == "Dropout":
        return f"Dropout {layer.rate:g}"
    return {
        "BatchNormalization": "BN",
        "GlobalAveragePooling2D": "GlobalAvgPool",
        "Add": "Add (+)",
    }.get(layer.type, layer.type)


def _pair(values: tuple[int, int]) -> str:
    return f"{values[0]}×{values[1]}"


def _side(values: tuple[int, int]) -> str:
    """`2` for a square step `(2, 2)`, `2×1` otherwise."""
    return str(values[0]) if values[0] == values[1] else _pair(values)


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape)


def _describe(row: LayerSummary) -> str:
    field = "whole input" if row.receptive_field_hw is None else _pair(row.receptive_field_hw)
    return (
        f"{row.name} ({row.type}) → {_shape(row.output_shape)}: {row.params:,} parameters, "
        f"{human_count(row.macs)} multiply-adds, receptive field {field}"
    )


def _folds(spec: ModelSpec) -> dict[str, str]:
    """For compact drawing: layer name → the name of the box it is drawn in."""
    readers: dict[str, int] = {}
    for inputs in spec.layer_inputs:
        for name in inputs:
            readers[name] = readers.get(name, 0) + 1
    box: dict[str, str] = {INPUT_NAME: INPUT_NAME}
    for layer, inputs in zip(spec.layers, spec.layer_inputs, strict=True):
        foldable = layer.type in ("BatchNormalization", "Activation")
        source = inputs[0]
        if foldable and source != INPUT_NAME and readers.get(source) == 1:
            box[layer.name] = box[source]
        else:
            box[layer.name] = layer.name
    return box


def can_fold(spec: ModelSpec) -> bool:
    """Whether `compact=True` draws fewer boxes (some BatchNorm or activation can fold).

    >>> from core.nets.gallery import network
    >>> can_fold(network("resnet18")), can_fold(network("vgg16"))
    (True, False)
    """
    return any(box != name for name, box in _folds(spec).items())


def layout(spec: ModelSpec, summary: ModelSummary, *, compact: bool = False) -> Layout:
    """Place the boxes of `spec` (with its `summary`) on a grid of rows and lanes.

    Args:
        spec: the network.
        summary: `summarize(spec)`.
        compact: fold BatchNormalization / Activation layers into the box before them.
    """
    box = (
        _folds(spec)
        if compact
        else {INPUT_NAME: INPUT_NAME} | {layer.name: layer.name for layer in spec.layers}
    )
    members: dict[str, list[tuple[LayerSpec, LayerSummary]]] = {}
    for layer, row in zip(spec.layers, summary.layers, strict=True):
        members.setdefault(box[layer.name], []).append((layer, row))
    place = {INPUT_NAME: (0, 0)}
    taken = {(0, 0)}
    edges: list[tuple[str, str]] = []
    nodes = [
        Node(
            INPUT_NAME,
            "input",
            "Input",
            "",
            _shape(spec.input_shape),
            0,
            0,
            f"input image {_shape(spec.input_shape)}",
        )
    ]
    for layer, inputs in zip(spec.layers, spec.layer_inputs, strict=True):
        name = box[layer.name]
        if name != layer.name:
            continue  # drawn in the box of the layer before it
        sources = [box[source] for source in inputs]
        row = 1 + max(place[source][0] for source in sources)
        lane = _free_lane(place[sources[0]][1], row, taken)
        place[name] = (row, lane)
        taken.add((row, lane))
        edges.extend((source, name) for source in sources)
        group = members[name]
        last = group[-1][1]
        label = layer_label(layer)
        folded = " · ".join(layer_label(member) for member, _ in group[1:])
        tooltip = "\n".join(_describe(summary_row) for _, summary_row in group)
        shape = _shape(last.output_shape)
        nodes.append(Node(name, _KINDS[layer.type], label, folded, shape, row, lane, tooltip))
    lanes = [lane for _, lane in place.values()]
    rows = 1 + max(row for row, _ in place.values())
    return Layout(tuple(nodes), tuple(edges), rows, (min(lanes), max(lanes)))


def _free_lane(preferred: int, row: int, taken: set[tuple[int, int]]) -> int:
    """`preferred` if free in `row`, else the nearest free lane (right first, then left)."""
    for distance in itertools.count():
        for lane in (preferred + distance, preferred - distance):
            if (row, lane) not in taken:
                return lane
    return preferred  # not reached: some lane is always free


def diagram_size(drawing: Layout) -> tuple[int, int]:
    """Width and height of the drawing in pixels (room for the shortcut arcs included).

    >>> diagram_size(Layout((), (), 3, (-1, 2)))
    (824, 158)
    """
    first, last = drawing.lanes
    width = 2 * MARGIN + (last - first + 1) * LANE_PITCH
    height = 2 * MARGIN + (drawing.rows - 1) * ROW_PITCH + NODE_HEIGHT
    return width, height


def diagram_svg(drawing: Layout) -> str:
    """The layout as an SVG picture: boxes, arrows (orange into a merge), tooltips.

    >>> from core.nets.presets import preset
    >>> from core.nets.summary import summarize
    >>> spec = preset("mlp")
    >>> svg = diagram_svg(layout(spec, summarize(spec)))
    >>> svg.startswith("<svg") and svg.count("<rect") == 5
    True
    """
    first, _ = drawing.lanes
    width, height = diagram_size(drawing)
    by_name = {node.name: node for node in drawing.nodes}
    taken = {(node.row, node.lane) for node in drawing.nodes}

    def centre_x(lane: int) -> float:
        return MARGIN + (lane - first) * LANE_PITCH + NODE_WIDTH / 2

    def top(row: int) -> float:
        return MARGIN + row * ROW_PITCH

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif">',
        "<defs>",
        *(
            f'<marker id="arrow-{tint}" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" '
            f'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="{colour}"/></marker>'
            for tint, colour in (("plain", "#94a3b8"), ("merge", COLOURS["merge"][1]))
        ),
        "</defs>",
    ]
    for source, target in drawing.edges:
        start, end = by_name[source], by_name[target]
        # Arrows into a merge land side by side on its top, in the order of their lanes.
        spread = (start.lane - end.lane) * 16 if end.kind == "merge" else 0
        spread = max(-NODE_WIDTH / 2 + 12, min(NODE_WIDTH / 2 - 12, spread))
        path = _edge_path(start, end, taken, centre_x, top, spread)
        tint = "merge" if end.kind == "merge" else "plain"
        colour = COLOURS["merge"][1] if tint == "merge" else "#94a3b8"
        parts.append(
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.6" '
            f'marker-end="url(#arrow-{tint})"/>'
        )
    for node in drawing.nodes:
        fill, outline = COLOURS[node.kind]
        x, y = centre_x(node.lane) - NODE_WIDTH / 2, top(node.row)
        radius = NODE_HEIGHT / 2 if node.kind == "merge" else 5
        dash = ' stroke-dasharray="4 3"' if node.kind == "dropout" else ""
        label = node.label if len(node.label) <= 28 else node.label[:27] + "…"
        second = f"{node.folded} → {node.shape}" if node.folded else node.shape
        parts += [
            f"<g><title>{html.escape(node.tooltip)}</title>",
            f'<rect x="{x:g}" y="{y:g}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" '
            f'rx="{radius:g}" fill="{fill}" stroke="{outline}" stroke-width="1.3"{dash}/>',
            f'<text x="{x + NODE_WIDTH / 2:g}" y="{y + 14:g}" text-anchor="middle" '
            f'font-size="11.5" font-weight="600" fill="#0f172a">{html.escape(label)}</text>',
            f'<text x="{x + NODE_WIDTH / 2:g}" y="{y + 28:g}" text-anchor="middle" '
            f'font-size="10.5" fill="#475569">{html.escape(second)}</text>',
            "</g>",
        ]
    parts.append("</svg>")
    return "".join(parts)


def _edge_path(start: Node, end: Node, taken, centre_x, top, spread: float) -> str:
    """An SVG path from the bottom of `start` to the top of `end` (`spread` pixels right of
    its middle), around other boxes."""
    x1, y1 = centre_x(start.lane), top(start.row) + NODE_HEIGHT
    x2, y2 = centre_x(end.lane) + spread, top(end.row)
    between = range(start.row + 1, end.row)
    if not between:
        middle = (y1 + y2) / 2
        return f"M{x1:g},{y1:g} C{x1:g},{middle:g} {x2:g},{middle:g} {x2:g},{y2:g}"
    gap = ROW_PITCH - NODE_HEIGHT
    if all((row, start.lane) not in taken for row in between):
        # Straight down the free lane, then over to the target in the last gap.
        bend = y2 - gap
        middle = (bend + y2) / 2
        return f"M{x1:g},{y1:g} L{x1:g},{bend:g} C{x1:g},{middle:g} {x2:g},{middle:g} {x2:g},{y2:g}"
    if all((row, end.lane) not in taken for row in between):
        bend = y1 + gap
        middle = (y1 + bend) / 2
        return f"M{x1:g},{y1:g} C{x1:g},{middle:g} {x2:g},{middle:g} {x2:g},{bend:g} L{x2:g},{y2:g}"
    # Around the boxes on the right, through the gap between the lanes.
    side = max(x1, x2) + NODE_WIDTH / 2 + (LANE_PITCH - NODE_WIDTH) / 2
    right1, right2 = x1 + NODE_WIDTH / 2, x2 + NODE_WIDTH / 2
    y_start, y_end = y1 - NODE_HEIGHT / 2, y2 + NODE_HEIGHT / 2
    return (
        f"M{right1:g},{y_start:g} Q{side:g},{y_start:g} {side:g},{y_start + 12:g} "
        f"L{side:g},{y_end - 12:g} Q{side:g},{y_end:g} {right2:g},{y_end:g}"
    )


def legend_html(drawing: Layout) -> str:
    """Coloured chips naming the kinds of layer the drawing uses.

    >>> conv = Node("c", "conv", "Conv 3×3, 8", "", "6×6×8", 1, 0, "")
    >>> "convolution" in legend_html(Layout((conv,), (), 2, (0, 0)))
    True
    """
    used = [kind for kind in COLOURS if any(node.kind == kind for node in drawing.nodes)]
    chips = "".join(
        f'<span style="display:inline-flex;align-items:center;gap:4px;margin-right:12px">'
        f'<span style="width:12px;height:12px;border-radius:3px;background:{COLOURS[kind][0]};'
        f'border:1.3px solid {COLOURS[kind][1]}"></span>{KIND_NAMES[kind]}</span>'
        for kind in used
    )
    return f'<div style="font-size:0.8rem;line-height:1.8">{chips}</div>'


def diagram_html(drawing: Layout, *, height: int) -> str:
    """The SVG as a picture in a frame at most ``height`` pixels high (it scrolls inside),
    with an invisible box over each layer whose tooltip gives its numbers: ``st.html`` strips
    inline SVG, and a picture costs the browser far less than an iframe's whole page.

    >>> from core.nets.presets import preset
    >>> from core.nets.summary import summarize
    >>> spec = preset("mlp")
    >>> text = diagram_html(layout(spec, summarize(spec)), height=300)
    >>> text.count('<img src="data:image/svg+xml;base64,'), text.count(' title="')
    (1, 5)
    """
    first, _ = drawing.lanes
    width, drawn_height = diagram_size(drawing)
    picture = base64.b64encode(diagram_svg(drawing).encode("utf-8")).decode("ascii")
    boxes = "".join(
        f'<div title="{html.escape(node.tooltip)}" style="position:absolute;'
        f"left:{MARGIN + (node.lane - first) * LANE_PITCH}px;top:{MARGIN + node.row * ROW_PITCH}px;"
        f'width:{NODE_WIDTH}px;height:{NODE_HEIGHT}px"></div>'
        for node in drawing.nodes
    )
    return (
        f'<div class="cs-diagram" style="max-height:{height}px;overflow:auto;'
        'text-align:center;padding:4px;background:#ffffff">'
        f'<div style="position:relative;display:inline-block;width:{width}px;'
        f'height:{drawn_height}px;text-align:left">'
        f'<img src="data:image/svg+xml;base64,{picture}" width="{width}" '
        f'height="{drawn_height}" alt="The layers of the network, drawn" '
        f'style="display:block;max-width:none">{boxes}</div></div>'
    )


def show_diagram(drawing: Layout, *, height: int) -> None:
    """Draw `drawing` with its legend in a box at most `height` pixels high (it scrolls inside
    when the network is longer)."""
    st.html(legend_html(drawing))
    with st.container(border=True, key="arch-diagram"):
        st.html(diagram_html(drawing, height=height))
