"""ui.inspect.layer_sections: first-layer filters, feature maps and pooling, through AppTest.

The model is the small CNN of `tests.ui.inspect.small_network`, its maps computed in numpy;
`ArrayWorker` answers the sections' worker requests from the same arrays.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.base.numbers import readable
from core.jobs.inspection import (
    FeatureMaps,
    FilterWeights,
    InferenceError,
    LayerInfo,
    ModelRejectedError,
)
from tests.apptest_helpers import (
    array,
    chart,
    chart_keys,
    elements_in,
    html_in,
    kept_pictures,
    keyed_block,
    markdown_text,
    pixels,
)
from tests.ui.inspect.small_network import (
    PATH,
    SOBEL_X,
    ArrayWorker,
    Weights,
    branched_info,
    branched_maps,
    branched_worker,
    edge_image,
    feature_maps,
    model_info,
    weights,
)
from ui.inspect.layer_sections import MAX_FILTERS, channel_name, source_filter
from ui.inspect.views import kernel_mosaic


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def printed_matrix(page: str) -> np.ndarray:
    """The values of an HTML matrix table (``ui.widgets.matrix_html``), read from its cells."""
    cells = re.findall(r'title="row (\d+), column (\d+): ([^"]+)"', page)
    rows, cols = 1 + max(int(r) for r, _, _ in cells), 1 + max(int(c) for _, c, _ in cells)
    values = np.full((rows, cols), np.nan)
    for row, col, text in cells:
        values[int(row), int(col)] = float(text.replace("−", "-"))
    return values


def pictures(at: AppTest, key: str) -> int:
    return len(elements_in(keyed_block(at, key), "image"))


FILTER_BLOCKS = [
    "inspect.filter_grid",
    "inspect.filter_weights",
    "inspect.filter_frequency",
    "inspect.filter_template",
]


# ---------------------------------------------------------------------------
# Plain helpers
# ---------------------------------------------------------------------------


def errors_script(kind):
    import streamlit as st

    from core.jobs.inspection import InferenceError, ModelRejectedError
    from ui.inspect.layer_sections import reported_errors

    def action():
        if kind == "fine":
            return 42
        error = {
            "value": ValueError,
            "inference": InferenceError,
            "rejected": ModelRejectedError,
            "bug": KeyError,
        }[kind]
        raise error(f"{kind} went wrong")

    st.session_state["result"] = reported_errors(action)


@pytest.mark.parametrize(
    "kind", ["value", "inference", "rejected"], ids=["ValueError", "Inference", "Rejected"]
)
def test_worker_problems_become_an_error_box_and_none(kind):
    at = AppTest.from_function(errors_script, args=(kind,)).run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"{kind} went wrong"]
    assert at.session_state["result"] is None


def test_an_answer_passes_through_and_a_bug_is_not_hidden():
    at = AppTest.from_function(errors_script, args=("fine",)).run()
    assert at.session_state["result"] == 42 and not at.error
    at = AppTest.from_function(errors_script, args=("bug",)).run()
    assert at.exception  # a programming error is not a worker problem
    assert issubclass(ModelRejectedError, ValueError) and issubclass(InferenceError, RuntimeError)


def test_channels_are_named_by_colour_when_there_are_three():
    assert channel_name(1, np.zeros((3, 3, 3, 4))) == "G (channel 1)"
    assert channel_name(1, np.zeros((3, 3, 2, 4))) == "channel 1"


def branchy_info():
    """input → conv_a, conv_b → add → relu → pool: the relu's maps come from two convs."""
    conv = dict(activation="linear", kernel_size=(3, 3), strides=(1, 1), padding="same")
    return model_info(
        layers=(
            LayerInfo("input", "InputLayer", "input", (8, 8, 1), 0),
            LayerInfo("conv_a", "Conv2D", "conv", (8, 8, 2), 20, **conv, inbound=("input",)),
            LayerInfo("conv_b", "Conv2D", "conv", (8, 8, 2), 20, **conv, inbound=("input",)),
            LayerInfo("add", "Add", "merge", (8, 8, 2), 0, inbound=("conv_a", "conv_b")),
            LayerInfo("relu", "ReLU", "activation", (8, 8, 2), 0, inbound=("add",)),
            LayerInfo(
                "avg",
                "AveragePooling2D",
                "pooling",
                (4, 4, 2),
                0,
                kernel_size=(2, 2),
                strides=(2, 2),
                inbound=("relu",),
            ),
        ),
        total_params=40,
    )


def traced(info, name, channel):
    found = source_filter(info, info.layer(name), channel)
    return None if found is None else (found[0].name, found[1])


def test_the_conv_behind_a_map_is_found_through_activations_and_pooling():
    info = model_info()
    assert traced(info, "conv", 2) == ("conv", 2)
    assert traced(info, "pool", 3) == ("conv", 3)
    assert traced(info, "conv2", 1) == ("conv2", 1)
    assert traced(info, "flatten", 0) is None
    branchy = branchy_info()
    assert traced(branchy, "avg", 0) is None  # behind it: an Add of two
    assert traced(branchy, "conv_b", 1) == ("conv_b", 1)


def test_a_stacked_map_is_traced_into_the_branch_that_made_it_through_normalisation():
    info = branched_info()  # mixed = tower_1 (maps 0–1) ‖ tower_3 (maps 2–4)
    assert traced(info, "mixed", 1) == ("tower_1", 1)
    assert traced(info, "mixed", 2) == ("tower_3", 0)
    assert traced(info, "pool", 4) == ("tower_3", 2)
    assert traced(info, "a_relu", 3) == ("a1", 3)  # through BatchNormalization
    assert traced(info, "add", 0) is None


# ---------------------------------------------------------------------------
# First-layer filters
# ---------------------------------------------------------------------------


def filters_script(client, info):
    from ui.inspect.layer_sections import filters

    filters(client, info.path, info)


def open_filters(client=None, info=None) -> AppTest:
    client = ArrayWorker() if client is None else client
    at = AppTest.from_function(filters_script, args=(client, info or model_info()))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_kernel_table(at: AppTest) -> None:
    """Unfold "Closest classic kernel of every filter", as a reader's click does (a rerun)."""
    at.session_state["inspect.kernel_table"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def assert_grid_shows(at: AppTest, kept: dict, stack: np.ndarray) -> None:
    """The filter grid is the picture of exactly these kernels ``(count, kh, kw)``."""
    (image,) = elements_in(keyed_block(at, "inspect.filter_grid"), "image")
    expected, _ = kernel_mosaic(stack, columns=min(8, len(stack)))
    np.testing.assert_array_equal(pixels(kept, image), expected)


def test_the_filters_are_described_drawn_and_matched_to_classic_kernels():
    client = ArrayWorker()
    at = open_filters(client)
    assert at.radio(key="inspect.filter_layer").value == "conv"  # the first conv layer
    assert client.requests == [("filters", PATH, "conv")]
    assert markdown_text(at).startswith("Layer **conv** has 4 filters of 3×3×1 weights.")
    assert "slides over the image" in markdown_text(at)
    assert [r.key for r in at.radio] == ["inspect.filter_layer"]  # one input channel: no pick
    assert pictures(at, "inspect.filter_grid") == 1  # the 4 filters as one picture
    limit = np.abs(weights().conv[:, :, 0, :4]).max()
    assert f"−{readable(limit)}" in html_in(keyed_block(at, "inspect.filter_grid"))
    np.testing.assert_allclose(
        printed_matrix(html_in(keyed_block(at, "inspect.filter_weights"))), SOBEL_X
    )
    assert not at.dataframe  # folded away: no table for the browser to build
    open_kernel_table(at)
    table = at.dataframe[0].value
    assert list(table["filter"]) == [0, 1, 2, 3]
    assert table.iloc[0].to_dict() == {
        "filter": 0,
        "closest classic kernel": "Sobel 0°",
        "sign": "",
        "cosine similarity": 1.0,
    }
    assert "**Filter 0 looks like a Sobel 0° (1.00).**" in markdown_text(at)
    assert captions(at)[0].endswith("Flat-image gain: 0.000.")  # an edge detector passes no flat
    (grid,) = elements_in(keyed_block(at, "inspect.filter_grid"), "image")
    assert grid.proto.imgs[0].caption.startswith("Diverging colours, one scale")  # its own
    assert chart_keys(at) == []  # no Plotly on the first tab: pictures and printed numbers
    template = printed_matrix(html_in(keyed_block(at, "inspect.filter_template")))
    np.testing.assert_allclose(template / np.abs(template).max(), SOBEL_X / 2, atol=0.01)


def test_studying_another_filter_shows_its_weights_and_its_gain():
    at = open_filters()
    at.button(key="inspect.filter_index_next").click().run()
    at.button(key="inspect.filter_index_next").click().run()
    kernel = weights().conv[:, :, 0, 2]
    shown = printed_matrix(html_in(keyed_block(at, "inspect.filter_weights")))
    np.testing.assert_allclose(shown, kernel, rtol=5e-3, atol=1e-6)
    assert f"Flat-image gain: {abs(kernel.sum()):.3f}." in captions(at)[0]
    assert "**Filter 2 looks like a" in markdown_text(at)
    assert "**Filter 2 (0 to 3)**" in markdown_text(at)  # the ◀ ▶ row


def test_the_frequency_response_of_an_edge_filter_is_dark_in_the_centre():
    at = open_filters()
    block = keyed_block(at, "inspect.filter_frequency")
    assert pictures(at, "inspect.filter_frequency") == 1
    labels = re.findall(r"<span>([^<]*)</span>", html_in(block))
    assert labels == ["0", "4", "8"]  # |H| of Sobel peaks at 4·2: the colour bar's end


def rgb_client() -> ArrayWorker:
    conv = np.zeros((3, 3, 3, 2), np.float32)
    conv[..., 0, 0] = SOBEL_X  # red channel of filter 0
    conv[..., 1, 1] = 1.0  # green channel of filter 1: a box blur
    base = weights()
    return ArrayWorker(Weights(conv, np.zeros(2), base.conv2, base.conv2_bias, base.dense))


def test_colour_filters_offer_each_channel_and_a_composite():
    client = rgb_client()
    with kept_pictures() as kept:
        at = open_filters(client, model_info(input_shape=(8, 8, 3)))
        channel = at.radio(key="inspect.filter_channel")
        assert channel.options == [
            "R (channel 0)",
            "G (channel 1)",
            "B (channel 2)",
            "RGB composite",
        ]
        conv = client.weights.conv
        assert_grid_shows(at, kept, np.moveaxis(conv[:, :, 0, :], 2, 0))
        channel.set_value(1).run()
        assert_grid_shows(at, kept, np.moveaxis(conv[:, :, 1, :], 2, 0))
    at.button(key="inspect.filter_index_next").click().run()
    shown = printed_matrix(html_in(keyed_block(at, "inspect.filter_weights")))
    assert shown.tolist() == [[1.0] * 3] * 3  # filter 1's green kernel: a box blur


def test_the_composite_shows_colour_pictures_and_sums_the_channels():
    at = open_filters(rgb_client(), model_info(input_shape=(8, 8, 3)))
    at.radio(key="inspect.filter_channel").set_value("rgb").run()
    assert not at.exception
    tiles, grid, frequencies = at.get("image")  # the colour tiles, the sums, one response
    assert len(tiles.proto.imgs) == 2  # one colour picture per filter
    assert elements_in(keyed_block(at, "inspect.filter_grid"), "image") == [grid]
    assert any(
        c.startswith("Each filter's R, G, B kernels as one colour picture") for c in captions(at)
    )
    np.testing.assert_allclose(  # R + G + B
        printed_matrix(html_in(keyed_block(at, "inspect.filter_weights"))), SOBEL_X
    )
    open_kernel_table(at)
    assert at.dataframe[0].value.iloc[1]["closest classic kernel"].startswith("Box")


def test_a_model_with_many_filters_shows_the_first_64():
    base = weights()
    conv = np.random.default_rng(1).normal(size=(3, 3, 1, 70)).astype(np.float32)
    client = ArrayWorker(Weights(conv, np.zeros(70), base.conv2, base.conv2_bias, base.dense))
    with kept_pictures() as kept:
        at = open_filters(client)
    assert "has 70 filters" in markdown_text(at)
    assert_grid_shows(at, kept, np.moveaxis(conv[:, :, 0, :MAX_FILTERS], 2, 0))
    at.session_state["inspect.filter_index"] = 99  # past the filters shown
    at.run()
    assert f"**Filter {MAX_FILTERS - 1} (0 to {MAX_FILTERS - 1})" in markdown_text(at)


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["NaN", "inf"])
def test_filters_holding_nan_or_infinite_weights_are_named_not_drawn(bad):
    base = weights()
    conv = base.conv.copy()
    conv[1, 1, 0, 2] = bad
    client = ArrayWorker(Weights(conv, base.conv_bias, base.conv2, base.conv2_bias, base.dense))
    at = open_filters(client)
    message = " ".join(e.value for e in at.error)
    assert "hold NaN or infinite values" in message
    assert "1 of 36 weights, in 1 of 4 filters: #2" in message
    assert "Retrain it" in message
    assert "has 4 filters of 3×3×1 weights" in markdown_text(at)
    assert chart_keys(at) == []


def test_a_deeper_conv_layer_shows_a_kernel_per_input_map():
    client = ArrayWorker()
    with kept_pictures() as kept:
        at = open_filters(client)
        at.radio(key="inspect.filter_layer").set_value("conv2").run()
        assert not at.exception
        assert client.requests[-1] == ("filters", PATH, "conv2")
        assert markdown_text(at).startswith("Layer **conv2** has 2 filters of 3×3×4 weights.")
        assert "slides over the maps before it" in markdown_text(at)
        channels = at.radio(key="inspect.filter_channel")
        assert channels.options == [f"channel {i}" for i in range(4)]
        channels.set_value(3).run()
        assert_grid_shows(at, kept, np.moveaxis(weights().conv2[:, :, 3, :], 2, 0))


def test_a_one_by_one_conv_is_shown_as_the_channel_mixing_it_does():
    kernel = np.arange(8, dtype=np.float32).reshape(1, 1, 4, 2) - 3
    client = branched_worker()
    client.more_filters["tower_1"] = FilterWeights("tower_1", kernel, np.zeros(2))
    at = open_filters(client, branched_info())
    assert "tower_1 (branch 1 of mixed)" in at.radio(key="inspect.filter_layer").options
    at.radio(key="inspect.filter_layer").set_value("tower_1").run()
    assert not at.exception and not at.error
    assert markdown_text(at).startswith("Layer **tower_1** has 2 filters of 1×1×4 weights.")
    assert "it mixes the 4 input maps" in markdown_text(at)
    matrix = chart(at, "inspect.filter_mixing")
    np.testing.assert_array_equal(array(matrix["data"][0]["z"]), kernel[0, 0])
    assert chart_keys(at) == ["inspect.filter_mixing"]  # no classic kernel for one weight
    assert not at.dataframe


def test_many_input_channels_are_picked_from_a_list():
    kernel = np.zeros((3, 3, 6, 2), np.float32)
    kernel[:, :, 5, 0] = SOBEL_X
    client = ArrayWorker(more_filters={"conv2": FilterWeights("conv2", kernel, np.zeros(2))})
    at = open_filters(client)
    at.radio(key="inspect.filter_layer").set_value("conv2").run()
    at.selectbox(key="inspect.filter_channel_list").set_value(5).run()
    assert not at.exception
    np.testing.assert_allclose(
        printed_matrix(html_in(keyed_block(at, "inspect.filter_weights"))), SOBEL_X
    )


def test_a_worker_that_cannot_answer_is_an_error_and_nothing_else():
    at = open_filters(ArrayWorker(failing=("filters",)))
    assert [e.value for e in at.error] == ["The worker could not answer filters."]
    assert not at.get("plotly_chart") and not at.markdown


# ---------------------------------------------------------------------------
# Feature maps
# ---------------------------------------------------------------------------


def maps_script(client, info, maps):
    from ui.inspect.layer_sections import feature_maps

    feature_maps(client, "/models/small.keras", info, maps)


def open_maps(client=None, info=None, maps=None) -> AppTest:
    client = ArrayWorker() if client is None else client
    maps = feature_maps(edge_image()) if maps is None else maps
    at = AppTest.from_function(maps_script, args=(client, info or model_info(), maps))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_map_layer_gets_a_mosaic_the_first_one_open():
    at = open_maps()
    assert [(e.label, e.proto.expanded) for e in at.expander] == [
        ("conv (Conv2D, relu) → 8×8×4", True),
        ("pool (MaxPooling2D, no activation) → 4×4×4", False),
        ("conv2 (Conv2D, linear) → 2×2×2", False),
    ]
    assert captions(at)[:3] == [
        "Colours: sequential (dark 0 → yellow max), one scale for the whole layer (0 … 4).",
        "Colours: sequential (dark 0 → yellow max), one scale for the whole layer (0 … 4).",
        f"Colours: diverging (blue < 0 < red), one scale for the whole layer "
        f"(±{np.abs(feature_maps(edge_image()).maps['conv2']).max():.3g}).",
    ]


def test_without_a_shared_scale_each_map_is_stretched():
    at = open_maps()
    at.toggle(key="inspect.shared_scale").set_value(False).run()
    assert captions(at)[0].endswith("each map stretched to its own maximum.")


def test_an_enlarged_map_sits_beside_the_filter_that_made_it():
    client = ArrayWorker()
    at = open_maps(client)
    assert at.selectbox(key="inspect.enlarge_layer").value == "conv"
    enlarged = chart(at, "inspect.enlarged_map")
    np.testing.assert_allclose(
        array(enlarged["data"][0]["z"]), feature_maps(edge_image()).maps["conv"][:, :, 0]
    )
    assert enlarged["layout"]["title"]["text"] == "conv, map 0"
    kernel = chart(at, "inspect.enlarged_kernel")
    np.testing.assert_array_equal(array(kernel["data"][0]["z"]), SOBEL_X)
    assert kernel["layout"]["title"]["text"] == "Filter 0 of conv"
    assert captions(at)[-1].startswith("Filter 0 of conv: one 3×3 kernel per input channel")
    assert client.requests[-1] == ("filters", PATH, "conv")


def test_a_deeper_map_shows_one_kernel_per_input_channel():
    at = open_maps()
    at.selectbox(key="inspect.enlarge_layer").set_value("conv2")
    at.number_input(key="inspect.enlarge_channel").set_value(1).run()
    grid = chart(at, "inspect.enlarged_kernel")
    assert [trace["name"] for trace in grid["data"]] == ["in 0", "in 1", "in 2", "in 3"]
    for channel, trace in enumerate(grid["data"]):
        np.testing.assert_allclose(array(trace["z"]), weights().conv2[:, :, channel, 1])


def test_a_pooled_map_is_traced_back_to_its_conv_filter():
    client = ArrayWorker()
    at = open_maps(client)
    at.selectbox(key="inspect.enlarge_layer").set_value("pool")
    at.number_input(key="inspect.enlarge_channel").set_value(3).run()
    assert client.requests[-1] == ("filters", PATH, "conv")
    assert chart(at, "inspect.enlarged_kernel")["layout"]["title"]["text"] == "Filter 3 of conv"


def test_a_map_made_by_several_convs_says_so():
    maps = FeatureMaps(
        maps={
            "conv_a": np.zeros((8, 8, 2), np.float32),
            "conv_b": np.zeros((8, 8, 2), np.float32),
            "add": np.zeros((8, 8, 2), np.float32),
            "relu": np.ones((8, 8, 2), np.float32),
            "avg": np.ones((4, 4, 2), np.float32),
        },
        pre_activations={},
        probabilities=np.array([0.2, 0.3, 0.5], np.float32),
        worker_ms=1.0,
    )
    client = ArrayWorker()
    at = open_maps(client, branchy_info(), maps)
    asked = len(client.requests)
    at.selectbox(key="inspect.enlarge_layer").set_value("relu").run()
    assert [i.value for i in at.info] == ["This map was not made by a single conv filter."]
    assert len(client.requests) == asked  # no filters to fetch


def test_a_branched_model_groups_its_maps_by_branch_before_each_merge():
    at = open_maps(branched_worker(), branched_info(), branched_maps())
    assert [m.value for m in at.markdown] == [
        "##### Main path",
        "##### 2 branches into add (Add: adds them up)",
        "**Residual branch** of add: 3×3 conv",
        "**Identity shortcut** of add: the maps of stem, unchanged (no layers)",
        "##### Main path",
        "##### 2 branches into mixed (Concatenate: stacks their maps)",
        "**Branch 1** of mixed: 1×1 conv",
        "**Branch 2** of mixed: 3×3 conv",
        "##### Main path",
        "#### Enlarge one map beside the kernel that made it",
    ]
    assert [e.label for e in at.expander] == [
        "stem (Conv2D, relu) → 8×8×4",
        "a1 (Conv2D, linear) → 8×8×4 · residual branch of add",
        "a_relu (ReLU, no activation) → 8×8×4 · residual branch of add",
        "add (Add, no activation) → 8×8×4",
        "tower_1 (Conv2D, relu) → 8×8×2 · branch 1 of mixed",
        "tower_3 (Conv2D, relu) → 8×8×3 · branch 2 of mixed",
        "mixed (Concatenate, no activation) → 8×8×5",
        "pool (MaxPooling2D, no activation) → 4×4×5",
    ]
    assert any(
        c.endswith("Maps 0–1 from tower_1, 2–4 from tower_3 (stacked side by side).")
        for c in captions(at)
    )
    assert any(
        "combines the maps of the same number from a_relu and stem (Add)" in c for c in captions(at)
    )


def test_a_stacked_map_is_enlarged_beside_the_filter_of_its_branch():
    client = branched_worker()
    at = open_maps(client, branched_info(), branched_maps())
    layer = at.selectbox(key="inspect.enlarge_layer")
    assert "tower_3 (branch 2 of mixed)" in layer.options
    layer.set_value("mixed").run()
    at.number_input(key="inspect.enlarge_channel").set_value(4).run()
    assert not at.exception
    assert client.requests[-1] == ("filters", PATH, "tower_3")
    kernel = chart(at, "inspect.enlarged_kernel")
    assert [trace["name"] for trace in kernel["data"]] == ["in 0", "in 1", "in 2", "in 3"]
    np.testing.assert_allclose(
        array(kernel["data"][0]["z"]), client.more_filters["tower_3"].kernels[:, :, 0, 2]
    )
    assert captions(at)[-1].startswith("Filter 2 of tower_3")


def test_a_map_of_a_one_by_one_conv_shows_a_weight_per_input_map():
    client = branched_worker()
    at = open_maps(client, branched_info(), branched_maps())
    at.selectbox(key="inspect.enlarge_layer").set_value("tower_1").run()
    at.number_input(key="inspect.enlarge_channel").set_value(1).run()
    figure = chart(at, "inspect.enlarged_kernel")
    np.testing.assert_allclose(
        array(figure["data"][0]["z"]), client.more_filters["tower_1"].kernels[0, 0, :, 1][None]
    )
    assert figure["layout"]["title"]["text"] == "Filter 1 of tower_1: a weight per input map"


def test_a_map_number_beyond_another_layers_maps_starts_again_at_zero():
    at = open_maps(branched_worker(), branched_info(), branched_maps())
    at.selectbox(key="inspect.enlarge_layer").set_value("mixed").run()
    at.number_input(key="inspect.enlarge_channel").set_value(4).run()
    at.selectbox(key="inspect.enlarge_layer").set_value("tower_1").run()
    assert not at.exception
    assert at.number_input(key="inspect.enlarge_channel").value == 0


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------


def pooling_script(info, maps):
    from ui.inspect.layer_sections import pooling

    pooling(info, maps)


def open_pooling(info=None, maps=None) -> AppTest:
    maps = feature_maps(edge_image()) if maps is None else maps
    at = AppTest.from_function(pooling_script, args=(info or model_info(), maps)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_map_before_and_after_relu_beside_its_pooled_map():
    at = open_pooling()
    assert [m.value for m in at.markdown] == [
        "**Before ReLU**",
        "**conv (after ReLU)**",
        "**pool (MaxPooling2D 2×2)**",
    ]
    assert captions(at)[:3] == [
        "8×8, signed blue < 0 < red",
        "8×8, colours dark 0 → yellow 4",
        "4×4, colours dark 0 → yellow 4",  # one scale: the map's
    ]
    pre = feature_maps(edge_image()).pre_activations["conv"][:, :, 0]
    assert captions(at)[3] == (
        f"ReLU replaced {(pre <= 0).mean():.0%} of the values (all the negative ones) with 0."
    )
    assert captions(at)[4].startswith(
        "Drawn at the same scale (30 screen pixels per unit), so the pooled map really is "
        "smaller: 8×8 → 4×4. MaxPooling2D keeps the strongest response in each window"
    )


def test_another_channel_changes_the_share_relu_removed():
    at = open_pooling()
    at.number_input(key="inspect.pool_channel").set_value(1).run()
    pre = feature_maps(edge_image()).pre_activations["conv"][:, :, 1]
    assert f"ReLU replaced {(pre <= 0).mean():.0%}" in captions(at)[3]


def test_a_model_without_pooling_says_so():
    info = model_info(layers=tuple(layer for layer in model_info().layers if layer.name != "pool"))
    at = open_pooling(info)
    assert [i.value for i in at.info] == ["This model has no pooling layer."]


def test_average_pooling_after_an_activation_layer_without_its_input():
    maps = FeatureMaps(
        maps={
            "conv_a": np.zeros((8, 8, 2), np.float32),
            "conv_b": np.zeros((8, 8, 2), np.float32),
            "add": np.zeros((8, 8, 2), np.float32),
            "relu": np.ones((8, 8, 2), np.float32),
            "avg": np.ones((4, 4, 2), np.float32),
        },
        pre_activations={},
        probabilities=np.array([0.2, 0.3, 0.5], np.float32),
        worker_ms=1.0,
    )
    at = open_pooling(branchy_info(), maps)
    assert [m.value for m in at.markdown] == ["**relu**", "**avg (AveragePooling2D 2×2)**"]
    assert "averages each window: the map shrinks and gets smoother" in captions(at)[-1]
    assert not any("ReLU replaced" in c for c in captions(at))  # no map before the ReLU


def test_pooling_after_a_merge_shows_the_merged_map():
    maps = branched_maps()
    at = open_pooling(branched_info(), maps)
    assert [m.value for m in at.markdown] == ["**mixed**", "**pool (MaxPooling2D 2×2)**"]
    at.number_input(key="inspect.pool_channel").set_value(4).run()
    assert not at.exception
    assert "smaller: 8×8 → 4×4" in captions(at)[-1]


def test_a_pool_that_keeps_the_size_does_not_claim_to_shrink_it():
    layers = tuple(
        LayerInfo(
            "pool",
            "MaxPooling2D",
            "pooling",
            (8, 8, 5),
            0,
            kernel_size=(3, 3),
            strides=(1, 1),
            padding="same",
            inbound=("mixed",),
        )
        if layer.name == "pool"
        else layer
        for layer in branched_info().layers
    )
    info = branched_info(layers=layers)
    maps = branched_maps()
    maps.maps["pool"] = np.ones((8, 8, 5), np.float32)
    at = open_pooling(info, maps)
    assert "smaller" not in captions(at)[-1]
    assert "both 8×8" in captions(at)[-1] and "keeps its size" in captions(at)[-1]


def closed_tab_script(section, client, info, maps):
    import streamlit as st

    from ui.inspect import layer_sections
    from ui.widgets.tab_charts import in_tab

    tabs = st.tabs(["Other", "Section"], key="demo.tab", on_change="rerun")
    with in_tab(tabs[1]):
        if section == "pooling":
            layer_sections.pooling(info, maps)
        else:
            layer_sections.feature_maps(client, "/models/small.keras", info, maps)


@pytest.mark.parametrize("section", ["pooling", "feature_maps"])
def test_a_closed_tab_keeps_its_words_and_controls_but_sends_no_pictures(section):
    maps = feature_maps(edge_image())
    args = (section, ArrayWorker(), model_info(), maps)
    at = AppTest.from_function(closed_tab_script, args=args).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("image")  # nobody sees them: the browser need not load them
    words = markdown_text(at) + " ".join(captions(at)) + " ".join(e.label for e in at.expander)
    assert ("Before ReLU" if section == "pooling" else "conv (Conv2D") in words
    assert at.number_input  # the controls stay, with their values
    at.session_state["demo.tab"] = "Section"  # the reader opens the tab: a rerun
    at.run()
    assert at.get("image")


def test_a_pooling_layer_whose_input_is_not_shown_says_so():
    maps = feature_maps(edge_image())
    del maps.maps["conv"]
    at = open_pooling(maps=maps)
    assert [i.value for i in at.info] == ["The input of pool is not a feature map shown here."]


# ---------------------------------------------------------------------------
# The real worker, once: ArrayWorker answers as it does
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_filters_section_with_the_real_worker_and_a_bundled_model():
    from tests.inspect_helpers import MNIST_MODEL
    from ui.inspect.models import inference_client

    client = inference_client()
    info = client.model_info(MNIST_MODEL)
    at = AppTest.from_function(filters_script, args=(client, info), default_timeout=120)
    at.run()
    assert not at.exception and not at.error
    assert markdown_text(at).startswith("Layer **conv2d** has 32 filters of 3×3×1 weights.")
    open_kernel_table(at)
    assert len(at.dataframe[0].value) == 32
