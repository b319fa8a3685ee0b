"""ui.inspect.views: colour maps, tiles, overlays and the figures of "Inspect a Network"."""

from __future__ import annotations

import numpy as np
import pytest

from core.jobs.inspection import LayerInfo
from core.ops.receptive_field import InputRegion
from tests.ui.inspect.small_network import branched_info, model_info
from ui.inspect.views import (
    LABEL_PX,
    colorbar_html,
    colorize,
    draw_region,
    enlarge,
    heatmap_figure,
    image_figure,
    input_rgb,
    kernel_grid_figure,
    kernel_mosaic,
    labelled_mosaic,
    map_tiles,
    mosaic,
    overlay,
    region_figure,
    rgb_kernel_tiles,
    summary_rows,
)

VIRIDIS_DARK, VIRIDIS_YELLOW = [68, 1, 84], [253, 231, 37]
BLUE, WHITE, RED = [5, 48, 97], [247, 247, 247], [103, 0, 31]


# ---------------------------------------------------------------------------
# Colours and tiles
# ---------------------------------------------------------------------------


def test_signed_values_go_blue_white_red_within_plus_minus_the_limit():
    rgb = colorize(np.array([[-2.0, 0.0, 2.0, 5.0]]), limit=2.0, signed=True)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 4, 3)
    assert rgb[0].tolist() == [BLUE, WHITE, RED, RED]  # beyond the limit: clipped


def test_non_negative_values_go_dark_to_yellow_from_zero_to_the_limit():
    rgb = colorize(np.array([[0.0, 4.0, 8.0]]), limit=4.0, signed=False)
    assert rgb[0, 0].tolist() == VIRIDIS_DARK
    assert rgb[0, 1].tolist() == rgb[0, 2].tolist() == VIRIDIS_YELLOW


def test_the_sequential_scale_interpolates_between_its_stops():
    # 10 stops: 0.5 of the way is halfway between the 5th and 6th (indices 4 and 5).
    middle = colorize(np.array([[0.5]]), limit=1.0, signed=False)[0, 0]
    assert middle.tolist() == [round((38 + 31) / 2), round((130 + 158) / 2), round(139.5)]


@pytest.mark.parametrize("limit", [0.0, -1.0, np.nan, np.inf, None])
def test_a_useless_limit_becomes_one(limit):
    np.testing.assert_array_equal(
        colorize(np.array([[0.5]]), limit=limit, signed=True),
        colorize(np.array([[0.5]]), limit=1.0, signed=True),
    )


def test_enlarging_repeats_pixels_by_a_whole_factor():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    big = enlarge(rgb, 10)
    assert big.shape == (8, 12, 3)  # factor ceil(10 / 3) = 4
    np.testing.assert_array_equal(big[::4, ::4], rgb)
    np.testing.assert_array_equal(big[3, 11], rgb[0, 2])
    assert enlarge(rgb, 2).shape == rgb.shape  # never shrinks


def test_the_input_as_rgb_rounds_clips_and_repeats_grey():
    grey = np.array([[[0.0], [0.5], [1.2]]], np.float32)
    assert input_rgb(grey)[0].tolist() == [[0, 0, 0], [128, 128, 128], [255, 255, 255]]
    colour = np.zeros((1, 1, 3), np.float32)
    colour[0, 0] = [1.0, 0.0, -0.5]
    assert input_rgb(colour)[0, 0].tolist() == [255, 0, 0]


def test_shared_tiles_use_the_layers_largest_value_own_tiles_their_own():
    maps = np.zeros((2, 2, 2), np.float32)
    maps[0, 0, 0] = 4.0
    maps[0, 0, 1] = 1.0
    shared, signed, text = map_tiles(maps, shared=True)
    assert not signed
    assert (
        text == "Colours: sequential (dark 0 → yellow max), one scale for the whole layer (0 … 4)."
    )
    assert shared[0].shape == (84, 84, 3)  # enlarged 42 times
    assert shared[0][0, 0].tolist() == VIRIDIS_YELLOW
    assert shared[1][0, 0].tolist() != VIRIDIS_YELLOW  # 1 of 4: still dark
    own, _, text = map_tiles(maps, shared=False)
    assert own[1][0, 0].tolist() == VIRIDIS_YELLOW
    assert (
        text == "Colours: sequential (dark 0 → yellow max), each map stretched to its own maximum."
    )


def test_a_layer_with_negative_values_gets_signed_tiles():
    maps = np.zeros((2, 2, 3), np.float32)
    maps[1, 1, 2] = -0.5
    tiles, signed, text = map_tiles(maps, shared=True, limit_count=2)
    assert signed and len(tiles) == 2  # only the first 2 of 3 maps
    assert text == "Colours: diverging (blue < 0 < red), one scale for the whole layer (±0.5)."
    assert tiles[0][0, 0].tolist() == WHITE  # zero is white


def test_an_overlay_blends_hot_colours_over_the_input_in_grey():
    image = np.zeros((1, 2, 3), np.float32)
    image[0, 1] = [1.0, 0.5, 0.0]  # grey 0.5
    heat = np.array([[1.0, 0.0]])
    blended = overlay(image, heat, alpha=0.5)
    assert blended[0, 0].tolist() == [128, 128, 110]  # half the hottest colour over black
    assert blended[0, 1].tolist() == [64, 64, 64]  # no heat (black) over grey 127.5


def test_a_region_outline_is_drawn_on_a_copy_at_the_enlarged_place():
    rgb = np.zeros((16, 16, 3), np.uint8)
    region = InputRegion(top=1, left=2, bottom=3, right=4, full_size=(2, 2))
    drawn = draw_region(rgb, region, scale=4, color=(255, 80, 0))
    assert not rgb.any()  # the input is untouched
    assert drawn[4, 8].tolist() == [255, 80, 0] and drawn[11, 15].tolist() == [255, 80, 0]
    assert not drawn[7, 11].any()  # inside the box
    assert not drawn[3, 8].any() and not drawn[12, 15].any()  # outside it


def test_a_mosaic_numbers_its_tiles_on_white():
    tiles = [np.full((20, 30, 3), 100, np.uint8) for _ in range(5)]
    canvas = mosaic(tiles, columns=3, gap=3)
    assert canvas.shape == (2 * 20 + 3, 3 * 30 + 2 * 3, 3)
    assert (canvas[20:23] == 255).all()  # the gap between the rows
    assert (canvas[23:, 66:] == 255).all()  # no sixth tile
    assert canvas[15, 15].tolist() == [100, 100, 100]
    label = canvas[23:37, 33:45, 0]  # tile 4's corner: a white "4" on a black box
    assert label[0].tolist() == [0] * 12 and label.max() > 240
    assert canvas[23, 45].tolist() == [100, 100, 100]  # the box ends there


def test_a_mosaic_of_fewer_tiles_than_columns_is_as_wide_as_the_tiles():
    canvas = mosaic([np.zeros((5, 5, 3), np.uint8)] * 2, columns=8, gap=1)
    assert canvas.shape == (5, 11, 3)


def test_colour_kernels_are_stretched_min_max_each():
    kernels = np.zeros((2, 2, 3, 2), np.float32)
    kernels[..., 0] = np.linspace(-1, 1, 12).reshape(2, 2, 3)
    kernels[..., 1] = 0.3  # flat
    tiles = rgb_kernel_tiles(kernels)
    assert [tile.shape for tile in tiles] == [(72, 72, 3)] * 2
    assert tiles[0][0, 0].tolist() == [0, 23, 46] and tiles[0][-1, -1].tolist() == [209, 232, 255]
    assert not tiles[1].any()


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------


def test_a_grey_input_is_a_grey_heatmap_from_0_to_1_with_rows_downwards():
    image = np.random.default_rng(0).random((5, 6, 1)).astype(np.float32)
    figure = image_figure(image, title="seen")
    (heatmap,) = figure.data
    assert heatmap.type == "heatmap" and heatmap.colorscale[0][1] == "rgb(0, 0, 0)"
    assert (heatmap.zmin, heatmap.zmax, heatmap.showscale) == (0, 1, False)
    np.testing.assert_array_equal(heatmap.z, image[:, :, 0])
    assert figure.layout.yaxis.autorange == "reversed" and figure.layout.yaxis.scaleanchor == "x"
    assert figure.layout.title.text == "seen" and figure.layout.margin.t == 30


def test_a_colour_input_is_an_image():
    figure = image_figure(np.ones((4, 4, 3), np.float32))
    (image,) = figure.data
    assert image.type == "image"
    assert np.asarray(image.z).max() == 255
    assert figure.layout.margin.t == 1  # no title, no room for one: only for the frame
    (frame,) = figure.layout.shapes  # framed on a white page, around the pixels exactly
    assert (frame.x0, frame.x1, frame.y0, frame.y1) == (-0.5, 3.5, -0.5, 3.5)


def test_a_kernel_grid_shares_one_symmetric_scale_and_one_colour_bar():
    kernels = np.zeros((10, 3, 3), np.float32)
    kernels[3, 1, 1] = -2.0
    kernels[9, 0, 0] = 1.0
    titles = [f"#{i}" for i in range(10)]
    figure = kernel_grid_figure(kernels, titles=titles, columns=8, height_per_row=50)
    assert len(figure.data) == 10
    assert {(trace.zmin, trace.zmax) for trace in figure.data} == {(-2.0, 2.0)}
    assert [trace.showscale for trace in figure.data] == [True] + [False] * 9
    assert [a.text for a in figure.layout.annotations] == titles
    assert figure.data[9].xaxis == "x10" and figure.layout.height == 40 + 2 * 50
    np.testing.assert_array_equal(figure.data[3].z, kernels[3])


def test_the_kernel_picture_draws_every_weight_as_a_square_on_one_shared_scale():
    kernels = np.zeros((10, 3, 3), np.float32)
    kernels[3, 1, 1] = -2.0
    kernels[9, 0, 2] = 1.0
    picture, limit = kernel_mosaic(kernels, columns=8, tile=30)
    assert limit == 2.0 and picture.dtype == np.uint8
    cell, gap = 10, 4  # 30 // 3 screen pixels per weight; the gap between tiles

    def weight_color(index, row, col):
        top = (index // 8) * (LABEL_PX + 30 + gap) + LABEL_PX + row * cell
        left = (index % 8) * (30 + gap) + col * cell
        square = picture[top : top + cell, left : left + cell].reshape(-1, 3)
        assert (square == square[0]).all()  # one flat colour per weight
        return square[0].tolist()

    assert weight_color(3, 1, 1) == BLUE  # −2: the end of the shared scale
    assert weight_color(9, 0, 2) == colorize(np.array([[1.0]]), limit=2, signed=True)[0, 0].tolist()
    assert weight_color(0, 2, 2) == WHITE and weight_color(9, 2, 2) == WHITE
    assert picture.shape == (2 * (LABEL_PX + 30 + gap) - gap, 8 * (30 + gap) - gap, 3)
    label = picture[:LABEL_PX, :30]
    assert (label < 128).any() and (picture[LABEL_PX : LABEL_PX + 30, :30] == WHITE).all()


def test_all_zero_kernels_get_a_scale_of_one_not_a_division_by_zero():
    picture, limit = kernel_mosaic(np.zeros((2, 5, 5)), tile=10)
    assert limit == 1.0
    assert (picture[LABEL_PX : LABEL_PX + 10, :10] == WHITE).all()


def test_labels_stand_above_their_tiles_and_never_cover_them():
    tiles = [np.zeros((6, 6, 3), np.uint8) for _ in range(3)]
    picture = labelled_mosaic(tiles, ["#0", "#1", "#2"], columns=2, gap=2)
    assert picture.shape == (2 * (LABEL_PX + 6 + 2) - 2, 2 * (6 + 2) - 2, 3)
    assert (picture[LABEL_PX : LABEL_PX + 6, :6] == 0).all()  # the first tile, whole
    assert (picture[-6:, 8:] == 255).all()  # no fourth tile: white
    with pytest.raises(ValueError):
        labelled_mosaic(tiles, ["#0"])


def test_a_colour_bar_names_its_ends_as_people_read_them():
    signed = colorbar_html(0.123456, signed=True)
    assert "<span>−0.123</span><span>0</span><span>0.123</span>" in signed
    assert "rgb(5,48,97)" in signed and "rgb(103,0,31)" in signed  # blue … red
    unsigned = colorbar_html(8.0, signed=False)
    assert "<span>0</span><span>4</span><span>8</span>" in unsigned
    assert "rgb(68,1,84)" in unsigned and "rgb(253,231,37)" in unsigned  # viridis
    assert "<span>1</span>" in colorbar_html(0.0, signed=True)  # no scale: ±1


def test_a_signed_heatmap_is_symmetric_and_an_unsigned_one_starts_at_zero():
    values = np.array([[-1.0, 3.0]])
    signed = heatmap_figure(values, title="w", signed=True)
    assert (signed.data[0].zmin, signed.data[0].zmax) == (-3.0, 3.0)
    assert signed.data[0].colorscale[0][1] == "rgb(5,48,97)"
    unsigned = heatmap_figure(np.abs(values), title="m", signed=False, limit=10.0, height=200)
    assert (unsigned.data[0].zmin, unsigned.data[0].zmax) == (0, 10.0)
    assert unsigned.data[0].colorscale[0][1] == "#440154"
    assert unsigned.layout.title.text == "m" and unsigned.layout.height == 200
    assert heatmap_figure(np.zeros((2, 2)), title="", signed=True).data[0].zmax == 1.0


def test_the_region_figure_draws_the_field_solid_and_its_extent_dotted():
    region = InputRegion(top=0, left=0, bottom=3, right=2, full_size=(5, 5))
    full = InputRegion(top=-2, left=-3, bottom=3, right=2, full_size=(5, 5))
    figure = region_figure(np.zeros((8, 8, 1), np.float32), region, full, title="unit")
    _, dotted, solid = figure.layout.shapes  # the first is the picture's frame
    assert (dotted.line.dash, solid.line.dash) == ("dot", "solid")
    assert (solid.x0, solid.x1, solid.y0, solid.y1) == (-0.5, 1.5, -0.5, 2.5)  # pixel edges
    assert (dotted.x0, dotted.y0) == (-3.5, -2.5)
    assert figure.layout.title.text == "unit" and figure.layout.height == 360


def test_summary_rows_spell_out_shapes_windows_and_missing_values():
    info = model_info(
        layers=(
            *model_info().layers[1:3],
            LayerInfo("shared", "Dense", "other", None, 10),
        )
    )
    conv, pool, shared = summary_rows(info)
    assert conv == {
        "layer": "conv",
        "type": "Conv2D",
        "inputs": "input",
        "branch": "",
        "output shape": "(8, 8, 4)",
        "parameters": 40,
        "activation": "relu",
        "kernel / pool": "3×3",
        "strides": "1×1",
        "padding": "same",
    }
    assert (pool["kernel / pool"], pool["strides"], pool["activation"]) == ("2×2", "2×2", "")
    assert (shared["output shape"], shared["kernel / pool"], shared["padding"]) == ("?", "", "")


def test_summary_rows_say_what_each_layer_reads_and_which_branch_it_lies_in():
    rows = {row["layer"]: row for row in summary_rows(branched_info())}
    assert rows["add"]["inputs"] == "a_relu, stem" and rows["add"]["branch"] == ""
    assert rows["bn"]["branch"] == "add · residual branch (3×3 conv)"
    assert rows["tower_1"]["branch"] == "mixed · branch 1 (1×1 conv)"
