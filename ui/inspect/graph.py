"""Branches of a model for "Inspect a Network": which layers belong together on the page, and
receptive fields that follow every branch.

Plain functions of a `ModelInfo` (its layers carry `inbound`, `depth`, `block` and `branch`,
see `core.worker.model_description.annotate_graph`); no Streamlit here, so they are tested
directly. A chain of layers has one group, "Main path", and receptive fields as
`core.ops.receptive_field` computes them. Behind a merge a unit combines several branches
that each see their own window of the input; its receptive field is their union, which is
the largest of them when they share a centre, and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.jobs.inspection import LayerInfo, ModelInfo
from core.ops.receptive_field import (
    LayerGeometry,
    ReceptiveField,
    input_receptive_field,
    next_receptive_field,
)

MAIN_PATH = "Main path"


@dataclass(frozen=True)
class LayerGroup:
    """Consecutive layers the page shows together.

    Attributes:
        title: `"Main path"` or the branch label (`"shortcut (1×1 conv stride 2)"`).
        block: `""` on the main path, else the merge layer that joins the branch back.
        layers: the group's layers, parents before children.
    """

    title: str
    block: str
    layers: tuple[LayerInfo, ...]


@dataclass(frozen=True)
class FieldStep:
    """The receptive field after one layer on the path that sets the field of a deeper unit.

    `branches` is empty except at a merge, where it holds `(input layer, its field)` for each
    input: the merge's field is their union.
    """

    layer: str
    field: ReceptiveField
    branches: tuple[tuple[str, ReceptiveField], ...] = ()

    @property
    def is_maximum(self) -> bool:
        """Whether the branches of this merge see windows of different sizes."""
        return len({field.size for _, field in self.branches}) > 1


def branch_role(layer: LayerInfo) -> str:
    """The branch's short name, without what it does: `"shortcut"`, `"branch 2"`, `""`.

    >>> branch_role(LayerInfo("c", "Conv2D", "conv", (4, 4, 2), 0, branch="branch 2 (1×1 conv)"))
    'branch 2'
    """
    return layer.branch.split(" (", 1)[0]


def branch_summary(layer: LayerInfo) -> str:
    """What the layer's branch does, without its name: `"1×1 conv → 3×3 conv"`, or `""`.

    >>> branch_summary(LayerInfo("c", "Conv2D", "conv", (4, 4, 2), 0, branch="branch 2 (1×1 conv)"))
    '1×1 conv'
    """
    _, _, rest = layer.branch.partition(" (")
    return rest[:-1] if rest.endswith(")") else ""


def branch_heading(layer: LayerInfo) -> str:
    """A heading for the layer's branch (markdown): `"**Branch 2** of mixed: 1×1 conv → 3×3
    conv"`."""
    role = branch_role(layer)
    summary = branch_summary(layer)
    heading = f"**{role[:1].upper()}{role[1:]}** of {layer.block}"
    return f"{heading}: {summary}" if summary else heading


def layer_label(layer: LayerInfo) -> str:
    """The layer's name, with its branch when it lies in one (for lists of layers).

    >>> layer_label(LayerInfo("c", "Conv2D", "conv", (4, 4, 2), 0, branch="shortcut (1×1 conv)",
    ...                       block="add"))
    'c (shortcut of add)'
    """
    note = branch_note(layer)
    return f"{layer.name} ({note})" if note else layer.name


def branch_note(layer: LayerInfo) -> str:
    """`"shortcut of add"`: which branch of which merge the layer lies in; `""` if none."""
    return f"{branch_role(layer)} of {layer.block}" if layer.branch else ""


def has_branches(info: ModelInfo) -> bool:
    """Whether any layer of the model lies in a branch."""
    return any(layer.branch for layer in info.layers)


def _graph_order(info: ModelInfo) -> list[LayerInfo]:
    """The layers with each one after the layers it reads (Keras' order, sorted by depth)."""
    return sorted(info.layers, key=lambda layer: layer.depth)


def _slot_order(info: ModelInfo, merge_name: str) -> dict[str, int]:
    """Branch label → the first input of the merge it feeds (the order to show branches in)."""
    names = {layer.name: layer for layer in info.layers}
    merge = names.get(merge_name)
    order: dict[str, int] = {}
    if merge is None:
        return order
    for slot, source in enumerate(merge.inbound):
        layer = names.get(source)
        if layer is not None and layer.block == merge_name:
            order.setdefault(layer.branch, slot)
    return order


def group_by_branch(info: ModelInfo, layers) -> list[LayerGroup]:
    """`layers` (a subset of the model's, e.g. its map layers) as the page shows them.

    Main-path layers form `"Main path"` groups; the layers of the branches that a merge
    joins come just before that merge, one group per branch, in the order of the merge's
    inputs. A model without branches gives one group.
    """
    chosen = {layer.name for layer in layers}
    groups: list[LayerGroup] = []
    pending: dict[str, dict[str, list[LayerInfo]]] = {}

    def flush(block: str) -> None:
        branches = pending.pop(block, {})
        slots = _slot_order(info, block)
        for title in sorted(branches, key=lambda t: (slots.get(t, len(slots)), t)):
            groups.append(LayerGroup(title, block, tuple(branches[title])))

    for layer in _graph_order(info):
        if layer.name in pending:
            flush(layer.name)
        if layer.name not in chosen:
            continue
        if layer.branch:
            pending.setdefault(layer.block, {}).setdefault(layer.branch, []).append(layer)
        elif groups and not groups[-1].block:
            last = groups[-1]
            groups[-1] = LayerGroup(last.title, "", (*last.layers, layer))
        else:
            groups.append(LayerGroup(MAIN_PATH, "", (layer,)))
    for block in list(pending):
        flush(block)
    return groups


_MERGE_WORDS = {
    "Add": "adds them up",
    "Concatenate": "stacks their maps",
    "Average": "averages them",
    "Multiply": "multiplies them",
    "Subtract": "subtracts the second from the first",
    "Maximum": "keeps the larger value",
    "Minimum": "keeps the smaller value",
}


def block_heading(info: ModelInfo, merge_name: str) -> str:
    """A heading for the branches a merge joins: `"2 branches into add (Add: adds them up)"`."""
    merge = info.layer(merge_name)
    count = len(dict.fromkeys(merge.inbound))
    how = _MERGE_WORDS.get(merge.class_name, "joins them")
    return f"{count} branches into {merge_name} ({merge.class_name}: {how})"


def unchanged_inputs(info: ModelInfo, merge_name: str) -> list[str]:
    """Lines (markdown) for the merge's inputs taken straight from the main path, which no
    layer of a branch stands for: an identity shortcut of an `Add`, else a numbered branch."""
    merge = info.layer(merge_name)
    lines = []
    for slot, source in enumerate(merge.inbound):
        if info.layer(source).block == merge_name or source in merge.inbound[:slot]:
            continue
        role = "Identity shortcut" if merge.class_name == "Add" else f"Branch {slot + 1}"
        lines.append(f"**{role}** of {merge_name}: the maps of {source}, unchanged (no layers)")
    return lines


def concatenated_sources(info: ModelInfo, merge: LayerInfo) -> list[tuple[str, int, int]]:
    """For a `Concatenate` along the channels: `(input layer, first channel, end)` per input.

    Empty when the merge does not stack channels (another merge, or another axis).
    """
    if merge.class_name != "Concatenate" or merge.output_shape is None:
        return []
    shapes = [info.layer(source).output_shape for source in merge.inbound]
    if any(shape is None or len(shape) != 3 for shape in shapes):
        return []
    if sum(shape[-1] for shape in shapes) != merge.output_shape[-1]:
        return []
    sources, start = [], 0
    for source, shape in zip(merge.inbound, shapes, strict=True):
        sources.append((source, start, start + shape[-1]))
        start += shape[-1]
    return sources


def geometry(layer: LayerInfo) -> LayerGeometry:
    """The layer's sliding window (1×1, stride 1 for layers that keep the grid)."""
    if layer.kind in ("conv", "pooling") and layer.kernel_size:
        return LayerGeometry(
            layer.name,
            layer.kernel_size,
            layer.strides or 1,
            layer.padding or "valid",
            layer.dilation_rate,
        )
    return LayerGeometry(layer.name)


def _union(name: str, fields: list[ReceptiveField]) -> ReceptiveField:
    """One field covering every field of `fields` (which step through the input alike)."""
    jumps = {field.jump for field in fields}
    sizes = {field.output_size for field in fields}
    if len(jumps) > 1 or len(sizes) > 1:
        raise ValueError(
            f"The branches joined by {name} step through the input differently "
            f"(jumps {sorted(jumps)}, map sizes {sorted(sizes)}), so one window per unit "
            "cannot describe them."
        )
    size, start = [], []
    for axis in range(2):
        low = min(field.start[axis] - (field.size[axis] - 1) / 2 for field in fields)
        high = max(field.start[axis] + (field.size[axis] - 1) / 2 for field in fields)
        size.append(int(round(high - low)) + 1)
        start.append((low + high) / 2)
    return ReceptiveField(name, tuple(size), fields[0].jump, tuple(start), fields[0].output_size)


def _all_fields(info: ModelInfo):
    """Every layer's field, the fields of each merge's inputs, and why some have none."""
    fields: dict[str, ReceptiveField] = {}
    inputs: dict[str, tuple[tuple[str, ReceptiveField], ...]] = {}
    unknown: dict[str, str] = {}
    input_size = tuple(info.input_shape[:2])
    known = {layer.name for layer in info.layers}
    for layer in _graph_order(info):
        if layer.kind == "input":
            fields[layer.name] = input_receptive_field(input_size)
            continue
        if layer.output_shape is None or len(layer.output_shape) != 3:
            continue
        parents = list(dict.fromkeys(layer.inbound))
        for parent in parents:
            if parent not in known:  # the input of a Sequential model is not among its layers
                fields[parent] = input_receptive_field(input_size)
        missing = [p for p in parents if p not in fields]
        if not parents or missing:
            reason = next((unknown[p] for p in missing if p in unknown), None)
            unknown[layer.name] = reason or (
                f"{layer.name} reads {', '.join(missing) or 'nothing'}, whose units have no "
                "window on the input this page can work out."
            )
            continue
        try:
            if len(parents) == 1:
                before = fields[parents[0]]
            else:
                inputs[layer.name] = tuple((p, fields[p]) for p in parents)
                before = _union(layer.name, [fields[p] for p in parents])
            field = next_receptive_field(before, geometry(layer))
        except ValueError as error:
            unknown[layer.name] = str(error)
            continue
        if field.output_size != tuple(layer.output_shape[:2]):
            unknown[layer.name] = (
                f"{layer.name} ({layer.class_name}) changes the map from {before.output_size} "
                f"to {tuple(layer.output_shape[:2])} in a way this page does not model."
            )
            continue
        fields[layer.name] = field
    return fields, inputs, unknown


def field_steps(info: ModelInfo, name: str) -> list[FieldStep]:
    """The receptive field of the units of layer `name`, and how it grew from the input.

    The path goes back from `name` through the input of each merge whose field is largest,
    so it ends with the true field (the union over branches) and shows where it came from.

    Returns:
        Steps from the input (size 1) to `name`.

    Raises:
        ValueError: the field cannot be worked out (a layer that resizes the map in a way
            the page does not model, or branches that step through the input differently);
            the message says which layer.
    """
    fields, inputs, unknown = _all_fields(info)
    if name not in fields:
        raise ValueError(unknown.get(name, f"{name} has no feature maps."))
    steps, current = [], name
    layers = {layer.name: layer for layer in info.layers}
    while current is not None:
        steps.append(FieldStep(current, fields[current], inputs.get(current, ())))
        layer = layers.get(current)
        if layer is None or layer.kind == "input":
            break
        parents = list(dict.fromkeys(layer.inbound))
        current = max(
            parents, key=lambda p: (fields[p].size[0] * fields[p].size[1], -parents.index(p))
        )
    return steps[::-1]
