"""ui.architectures.diagram: where the boxes go, the arrows between them, and the SVG."""

from __future__ import annotations

import base64
import html
import re

import pytest
from streamlit.testing.v1 import AppTest

from core.nets.blocks import basic_block, inception_module
from core.nets.gallery import GALLERY_KEYS, network
from core.nets.presets import preset
from core.nets.specs import INPUT_NAME, ModelSpec, dense, flatten, global_average_pooling2d
from core.nets.summary import summarize
from ui.architectures.diagram import (
    COLOURS,
    NODE_WIDTH,
    can_fold,
    diagram_html,
    diagram_size,
    diagram_svg,
    layer_label,
    layout,
    legend_html,
)


def drawn(spec: ModelSpec, *, compact: bool = False):
    return layout(spec, summarize(spec), compact=compact)


def inception_spec() -> ModelSpec:
    module = inception_module("input", 4, 3, 6, 2, 3, 2, name="m")
    return ModelSpec("one_module", (8, 8, 3), (*module, flatten(), dense(2, "softmax")))


def residual_spec(project: bool) -> ModelSpec:
    filters, strides = (8, 2) if project else (3, 1)
    block = basic_block("input", filters, strides=strides, project=project, name="b")
    head = (global_average_pooling2d(), dense(2, "softmax"))
    return ModelSpec("one_block", (8, 8, 3), (*block, *head))


def test_a_chain_is_one_column_with_one_arrow_per_layer():
    drawing = drawn(preset("mnist_cnn_a"))
    assert drawing.lanes == (0, 0)
    assert [node.row for node in drawing.nodes] == list(range(8))
    assert len(drawing.edges) == 7
    assert drawing.nodes[0].name == INPUT_NAME and drawing.nodes[0].shape == "28×28×1"


def test_inception_branches_sit_side_by_side_and_meet_at_the_concatenate():
    drawing = drawn(inception_spec())
    nodes = {node.name: node for node in drawing.nodes}
    first_row = {nodes[name].row for name in ("m_1x1", "m_3x3_reduce", "m_5x5_reduce", "m_pool")}
    assert first_row == {1}
    lanes = {nodes[name].lane for name in ("m_1x1", "m_3x3_reduce", "m_5x5_reduce", "m_pool")}
    assert len(lanes) == 4  # four branches, four lanes
    assert nodes["m_3x3"].lane == nodes["m_3x3_reduce"].lane  # a branch stays in its lane
    merge = nodes["m_output"]
    assert merge.kind == "merge" and merge.row == 3 and merge.lane == nodes["m_1x1"].lane
    into_merge = {source for source, target in drawing.edges if target == "m_output"}
    assert into_merge == {"m_1x1", "m_3x3", "m_5x5", "m_pool_proj"}


@pytest.mark.parametrize("key", GALLERY_KEYS)
@pytest.mark.parametrize("compact", [False, True])
def test_every_network_is_drawn_without_overlaps_and_with_every_connection(key, compact):
    spec = network(key)
    drawing = drawn(spec, compact=compact)
    places = [(node.row, node.lane) for node in drawing.nodes]
    assert len(places) == len(set(places))
    rows = {node.name: node.row for node in drawing.nodes}
    assert all(rows[source] < rows[target] for source, target in drawing.edges)
    if not compact:
        expected = {
            (source, layer.name)
            for layer, inputs in zip(spec.layers, spec.layer_inputs, strict=True)
            for source in inputs
        }
        assert set(drawing.edges) == expected


def test_compact_drawing_folds_batch_norm_and_relu_into_the_convolution():
    spec = residual_spec(project=True)
    full, compact = drawn(spec), drawn(spec, compact=True)
    assert len(compact.nodes) < len(full.nodes)
    first = next(node for node in compact.nodes if node.name == "b_1_conv")
    assert first.label == "Conv 3×3, 8, stride 2"
    assert (first.folded, first.shape) == ("BN · ReLU", "4×4×8")
    assert first.tooltip.count("\n") == 2  # three layers in the box, one line each
    assert "b_1_relu (Activation) → 4×4×8: 0 parameters" in first.tooltip
    add = next(node for node in compact.nodes if node.name == "b_add")
    assert add.folded == "ReLU"
    assert ("b_0_conv", "b_add") in compact.edges  # the projection arrives at the Add


def test_a_layer_read_twice_is_never_folded():
    spec = residual_spec(project=False)
    compact = drawn(spec, compact=True)
    # The block input is the model input, read by the main path and by the Add.
    assert (INPUT_NAME, "b_add") in compact.edges
    assert can_fold(spec) and not can_fold(preset("mnist_cnn_a"))


def test_an_identity_shortcut_arcs_around_the_main_path():
    svg = diagram_svg(drawn(residual_spec(project=False)))
    arcs = re.findall(r'<path d="(M[^"]*Q[^"]*)"', svg)
    assert len(arcs) == 1  # the input → Add arrow goes around the convolutions
    assert 'stroke="#ea580c"' in svg  # arrows into the merge are orange


def test_the_svg_has_a_box_a_tooltip_and_two_lines_per_node():
    drawing = drawn(inception_spec())
    svg = diagram_svg(drawing)
    assert svg.count("<rect") == svg.count("<title>") == len(drawing.nodes)
    assert svg.count("<text") == 2 * len(drawing.nodes)
    assert f'rx="{34 / 2:g}"' in svg  # the merge is a pill
    width, height = diagram_size(drawing)
    assert f'width="{width}" height="{height}"' in svg
    assert width >= 4 * NODE_WIDTH


def test_text_in_the_svg_is_escaped():
    spec = ModelSpec("m", (8, 8, 1), (flatten(name="a-b.c"), dense(2, "softmax")))
    svg = diagram_svg(drawn(spec))
    assert "→" in svg and "<title>a-b.c (Flatten) → 64: 0 parameters" in svg


def test_labels_say_the_settings_in_a_few_words():
    labels = [layer_label(layer) for layer in network("alexnet").layers]
    assert labels[:3] == ["Conv 11×11, 96, stride 4", "MaxPool 3×3, stride 2", "Conv 5×5, 256"]
    assert labels[-2:] == ["Dropout 0.5", "Dense 1,000, softmax"]
    spec = network("googlenet")
    assert {layer_label(layer) for layer in spec.layers if layer.type == "Concatenate"} == {
        "Concatenate"
    }


def test_the_legend_names_only_the_kinds_drawn():
    legend = legend_html(drawn(preset("mlp")))
    assert "dense" in legend and "flatten / global pooling" in legend
    assert "convolution" not in legend and "merge" not in legend
    assert COLOURS["dense"][0] in legend


def test_the_picture_has_a_tooltip_box_over_each_layer():
    drawing = drawn(preset("mlp"))
    text = diagram_html(drawing, height=300)
    picture = text.split('src="data:image/svg+xml;base64,', 1)[1].split('"', 1)[0]
    assert base64.b64decode(picture).decode("utf-8") == diagram_svg(drawing)
    boxes = re.findall(
        r'<div title="([^"]*)" style="position:absolute;left:(\d+)px;top:(\d+)px', text
    )
    assert [title for title, _, _ in boxes] == [html.escape(n.tooltip) for n in drawing.nodes]
    svg = diagram_svg(drawing)  # each box sits where the SVG draws its rectangle
    rects = re.findall(r'<rect x="([\d.]+)" y="([\d.]+)"', svg)
    assert [(float(x), float(y)) for _, x, y in boxes] == [(float(x), float(y)) for x, y in rects]
    assert "max-height:300px;overflow:auto" in text


def shown_script():
    from core.nets.gallery import network
    from core.nets.summary import summarize
    from ui.architectures.diagram import layout, show_diagram

    spec = network("resnet20")
    show_diagram(layout(spec, summarize(spec), compact=True), height=300)


def test_show_diagram_draws_the_legend_and_a_scrolling_frame():
    at = AppTest.from_function(shown_script).run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    assert "merge (Add, Concatenate)" in at.html[0].value
    assert not at.get("iframe")  # a picture in the page: no second document to load
    (drawing,) = [block.value for block in at.html if "data:image/svg+xml" in block.value]
    assert "(Add) →" in drawing and "max-height:300px" in drawing  # a merge's tooltip
