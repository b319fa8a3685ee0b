"""ui.pixels_channels.views: the four tabs and the small helpers behind their numbers."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.imaging.images import resize_and_pad
from ui.pixels_channels.views import (
    PadPlan,
    channel_options,
    channel_plane,
    number_cell_px,
    numbers_fit_css,
    pad_plan,
)


def test_channel_options_offer_colour_channels_only_for_colour_images():
    assert channel_options(False) == ["Grey"]
    assert channel_options(True) == ["Grey (luma)", "Red", "Green", "Blue"]


def test_channel_plane_picks_grey_or_one_colour():
    pixels = np.arange(24.0).reshape(2, 4, 3)
    grey = pixels.mean(axis=2)
    assert channel_plane(pixels, grey, "Grey (luma)") is grey
    assert channel_plane(pixels, grey, "Grey") is grey
    np.testing.assert_array_equal(channel_plane(pixels, grey, "Red"), pixels[..., 0])
    np.testing.assert_array_equal(channel_plane(pixels, grey, "Blue"), pixels[..., 2])


def test_number_cells_are_tighter_for_wide_windows():
    assert number_cell_px(16) == 34 and number_cell_px(24) == 22


@pytest.mark.parametrize(
    ("shape", "target", "plan"),
    [
        ((300, 451), 64, PadPlan(64 / 451, 43, 64, 10, 11, 0, 0)),
        ((28, 28), 64, PadPlan(64 / 28, 64, 64, 0, 0, 0, 0)),
        ((100, 40), 32, PadPlan(0.32, 32, 13, 0, 0, 9, 10)),
    ],
)
def test_pad_plan_fits_the_longer_side_and_centres_the_rest(shape, target, plan):
    assert pad_plan(*shape, target) == plan


def test_pad_plan_matches_resize_and_pad():
    pixels = np.full((100, 40), 200.0)
    plan = pad_plan(100, 40, 32)
    square = resize_and_pad(pixels, 32)
    assert (square[:, : plan.left] == 0).all() and (square[:, 32 - plan.right :] == 0).all()
    assert (square[:, plan.left : 32 - plan.right] > 0).all()


def tab_script(tab, pixels, name):
    from core.imaging.images import to_grayscale
    from ui.pixels_channels.views import TAB_NAMES, TABS
    from ui.widgets.image_input import ImageChoice

    choice = ImageChoice(pixels, name, name)
    gray = to_grayscale(pixels) if pixels.ndim == 3 else pixels
    TABS[TAB_NAMES.index(tab)](choice, gray)


def open_tab(tab: str, pixels: np.ndarray, name: str = "demo") -> AppTest:
    at = AppTest.from_function(tab_script, args=(tab, pixels.astype(np.float32), name))
    at.run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    return at


def ramp(height: int = 40, width: int = 50) -> np.ndarray:
    return np.add.outer(np.arange(height) * 2.0, np.arange(width) * 3.0)


def colour() -> np.ndarray:
    pixels = np.zeros((40, 40, 3))
    pixels[..., 0] = 200.0
    pixels[:20, :, 2] = 100.0
    return pixels


def captions(at: AppTest) -> list[str]:
    return [c for image in at.image for c in image.captions]


def test_the_numbers_tab_prints_the_window_around_the_centre():
    at = open_tab("As numbers", ramp())
    at.select_slider(key="pixels.window").set_value(8)
    at.slider(key="pixels.row").set_value(0)
    at.slider(key="pixels.col").set_value(49).run()
    assert captions(at) == ["The red frame: rows 0–7, columns 42–49"]
    assert not [r for r in at.radio if r.key == "pixels.channel"]  # grey: nothing to choose


def test_a_small_image_fits_whole_in_the_window():
    at = open_tab("As numbers", ramp(28, 28), name="digit:1")
    assert at.select_slider(key="pixels.window").value == 32
    assert captions(at) == ["The red frame: rows 0–27, columns 0–27"]


def test_the_numbers_fit_their_width_in_square_cells():
    css = numbers_fit_css(28)
    # 28 columns and the row numbers share the box's width, with 1 px around each cell
    assert "((min(100cqw, 1392px) - 30px) / 29)" in css
    assert ".st-key-pixels-numbers_box {container-type: inline-size;}" in css
    # 3 digits of 0.62 em and 2 px of room: 13.6 px type in a 27-px cell (1280 wide at 150 %)
    assert "calc((((min(100cqw, 1392px) - 30px) / 29) - 2px) / 1.860)" in css
    assert "clamp(8px," in css and ", 16px)" in css
    assert "(min(100cqw, 432px) - 10px) / 9" in numbers_fit_css(8)


def test_presenting_puts_a_wide_windows_picture_beside_its_numbers():
    """One screen tall: the picture beside the numbers, after them (what comes before the
    numbers folds away in presentation mode)."""
    at = AppTest.from_function(
        tab_script, args=("As numbers", ramp(28, 28).astype(np.float32), "digit:1")
    )
    at.session_state["present.on"] = True
    at.run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.columns) == 3 + 2  # the three sliders, then numbers and picture
    numbers, picture = at.columns[-2:]
    assert any("cs-matrix" in html.proto.body for html in numbers.get("html"))
    assert not numbers.image and [i.captions for i in picture.image] == [
        ["The red frame: rows 0–27, columns 0–27"]
    ]
    at.session_state["present.on"] = False
    at.run(timeout=30)
    assert len(at.columns) == 3  # not presenting: the numbers below the picture, full width


def test_the_numbers_tab_sizes_its_grid_from_its_box():
    at = open_tab("As numbers", ramp(28, 28), name="digit:1")
    styles = [h.proto.body for h in at.get("html") if "container-type" in h.proto.body]
    assert styles == [numbers_fit_css(28)]


def test_the_channels_tab_splits_a_colour_photo():
    at = open_tab("Channels", colour())
    shown = [c.split(" — ")[0] for c in captions(at)]
    assert shown[:2] == ["Red alone, in grey", "Red in its own colour"]
    assert len(shown) == 7 and shown[-1] == "Grayscale"


def test_the_channels_tab_says_a_grey_image_has_one_channel():
    at = open_tab("Channels", ramp())
    assert "single channel" in at.info[0].value and not at.image


def test_the_histogram_tab_shows_before_and_after():
    at = open_tab("Histogram & equalisation", ramp())
    charts = [c.proto.id for c in at.get("plotly_chart")]
    assert any("pixels.hist_before" in c for c in charts)
    assert any("pixels.hist_after" in c for c in charts)
    assert not [r for r in at.radio if r.key == "pixels.space"]


def test_the_histogram_tab_equalises_colour_two_ways():
    at = open_tab("Histogram & equalisation", colour())
    shown = [c.split(" — ")[0] for c in captions(at)[2:]]
    assert shown == ["Original", "Per channel (R, G, B each)", "Luminance only"]
    assert captions(at)[2] == "Original — hue change 0.0° — 40×40"


def test_the_resize_tab_explains_scale_and_padding():
    at = open_tab("Resize & pad", ramp(40, 50))
    at.select_slider(key="pixels.target").set_value(32).run()
    assert at.markdown[0].value.startswith(
        "Scale by 0.64 → 26×32, then pad 3 rows on top, 3 below, 0 columns left and 0 right."
    )
    assert [c.split(" — ")[0] for c in captions(at)] == ["Original", "32×32 network input"]


@pytest.mark.parametrize("shape", [(1, 1), (1, 200), (200, 1), (2, 1), (1, 1, 3)])
def test_every_tab_works_for_a_one_pixel_wide_or_high_image(shape):
    pixels = np.full(shape, 100.0)
    for tab in ("As numbers", "Channels", "Histogram & equalisation", "Resize & pad"):
        at = open_tab(tab, pixels)
        assert not at.error
    at = open_tab("As numbers", pixels)
    sliders = {s.key: s for s in at.slider}
    assert ("pixels.row" in sliders) == (shape[0] > 1)
    assert ("pixels.col" in sliders) == (shape[1] > 1)
    notes = " ".join(c.value for c in at.caption)
    assert ("only one row" in notes) == (shape[0] == 1)
    assert ("only one column" in notes) == (shape[1] == 1)


def test_the_centre_sliders_stay_valid_when_a_smaller_image_follows():
    at = open_tab("As numbers", ramp(40, 50))
    at.slider(key="pixels.row").set_value(39)
    at.slider(key="pixels.col").set_value(49).run()
    at = AppTest.from_function(tab_script, args=("As numbers", ramp(5, 6).astype(np.float32), "x"))
    at.session_state["pixels.row"] = 39
    at.session_state["pixels.col"] = 49
    at.run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider(key="pixels.row").value == 4
    assert at.slider(key="pixels.col").value == 5
