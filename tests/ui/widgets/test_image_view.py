"""ui.widgets.image_view: honest pictures of float arrays, their colour bars and captions."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.imaging.images import to_display
from core.ops.kernel_analysis import frequency_response
from ui.widgets import image_view
from ui.widgets.image_view import (
    FRAME_CSS,
    MAX_DISPLAY_SIDE,
    MIN_DISPLAY_SIDE,
    SHARED_RENDERS,
    cell_px,
    choose_mapping,
    colorbar_html,
    compact_format,
    encode_picture,
    frequency_figure,
    histogram_figure,
    input_mapping,
    outline_region,
    render,
    render_cached,
    render_shared,
    value_range_text,
    window_overlay_html,
)


def decoded(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([[-1.0, 2.0]], "diverging"),
        ([[0.0, 200.0]], "clip"),
        ([[0.0, 1.0]], "minmax"),  # an impulse: clipping would show it black
        ([[0.0, 900.0]], "minmax"),  # above 255: clipping would hide the top
        ([[np.nan, np.nan]], "clip"),
    ],
)
def test_auto_mapping(values, expected):
    assert choose_mapping(np.array(values), "auto") == expected


def test_a_chosen_mapping_is_kept():
    assert choose_mapping(np.array([[-5.0, 5.0]]), "clip") == "clip"


def test_dark_inputs_are_stretched_and_ordinary_ones_shown_as_stored():
    assert input_mapping(np.array([[0.0, 1.0]])) == "minmax"
    assert input_mapping(np.array([[0.0, 255.0]])) == "clip"


def test_tiny_pictures_are_enlarged_with_square_pixels():
    picture = to_display(np.array([[0.0, 255.0], [255.0, 0.0]]), mapping="clip")
    image = decoded(encode_picture(picture))
    assert image.shape == (MIN_DISPLAY_SIDE, MIN_DISPLAY_SIDE, 3)
    half = MIN_DISPLAY_SIDE // 2
    assert (image[:half, :half] == 0).all() and (image[:half, half:] == 255).all()


def test_large_pictures_are_shrunk_to_the_display_width():
    picture = to_display(np.zeros((1024, 2048)), mapping="clip")
    image = decoded(encode_picture(picture))
    assert image.shape == (MAX_DISPLAY_SIDE // 2, MAX_DISPLAY_SIDE, 3)


def test_render_resolves_auto_and_encodes_a_png():
    png, picture = render(np.array([[-3.0, 0.0, 3.0]] * 300))
    assert png.startswith(b"\x89PNG")
    assert picture.mapping == "diverging"
    assert (picture.vmin, picture.vmax) == (-3.0, 3.0)
    assert decoded(png).shape == (300, 3, 3)


def test_render_shared_reuses_the_png_of_the_same_values_only():
    """The students of a room share one encoding of the same picture, never another's."""
    values = np.arange(64.0).reshape(8, 8) - 20
    first = render_shared(values, "auto")
    assert render_shared(values.copy(), "auto") is first  # same content, another array
    assert first[0] == render(values, "auto")[0]  # what ``render`` makes
    assert not first[1].pixels.flags.writeable  # no session can change another's picture
    changed = values.copy()
    changed[3, 3] += 1
    assert render_shared(changed, "auto")[0] != first[0]
    assert render_shared(values, "abs") is not first  # the mapping is part of the key
    assert render_shared(values.astype(np.float32), "auto") is not first


def test_shared_pictures_are_bounded_and_keyed_pictures_stay_apart_from_valued_ones():
    """A server keeps at most ``SHARED_RENDERS`` pictures, however many sessions draw."""
    keyed = render_cached(("test", "bounded"), np.eye(3), "auto")
    for shift in range(SHARED_RENDERS + 5):
        render_shared(np.eye(3) + shift, "auto")
    assert len(image_view._RENDERS) == SHARED_RENDERS
    again = render_cached(("test", "bounded"), np.eye(3), "auto")
    assert again is not keyed and again[0] == keyed[0]  # made again once pushed out


def test_colorbar_shows_the_ends_and_zero_for_signed_values():
    _, picture = render(np.array([[-4.0, 4.0]]), "diverging")
    html = colorbar_html(picture)
    assert [f"<span>{t}</span>" in html for t in ("-4", "0", "4")] == [True] * 3
    assert "linear-gradient" in html


def test_colorbar_of_a_stretch_shows_its_middle_and_of_abs_its_meaning():
    _, stretched = render(np.array([[10.0, 30.0]]), "minmax")
    assert "<span>20</span>" in colorbar_html(stretched)
    _, absolute = render(np.array([[-10.0, 30.0]]), "abs")
    assert "|x| ≥ 255" in colorbar_html(absolute)


def test_value_range_text():
    assert value_range_text(np.array([[-1.5, np.nan, 2.0]])) == "values from -1.5 to 2"
    assert value_range_text(np.array([[np.nan]])) == "no finite values"


@pytest.mark.parametrize(("columns", "px"), [(3, 42), (5, 42), (9, 34), (15, 26)])
def test_cells_shrink_for_wide_matrices(columns, px):
    assert cell_px((3, columns)) == px


def test_compact_format_prints_numbers_for_people():
    whole = compact_format(np.array([1.0, -2.0, np.nan]))
    assert (whole(1.0), whole(-2.0)) == ("1", "-2")
    fractions = compact_format(np.array([1 / 3, 2.0, 3.3306690738754696e-16]))
    assert (fractions(1 / 3), fractions(3.3306690738754696e-16)) == ("0.333", "0")


def test_captions_and_colour_bars_never_print_e_notation():
    noisy = np.array([[3.3306690738754696e-16, 1.0]])
    assert value_range_text(noisy) == "values from 0 to 1"
    _, shown = render(noisy, "minmax")
    assert re.findall(r"<span>([^<]*)</span>", colorbar_html(shown)) == ["0", "0.5", "1"]


def test_every_picture_gets_a_frame_from_the_app_style():
    assert '[data-testid="stImage"] img' in FRAME_CSS and "outline:1px solid" in FRAME_CSS


def overlay_box(overlay: str, cls: str = "cs-window") -> dict[str, float]:
    style = re.search(rf'<div class="{cls}" style="([^"]*)"', overlay).group(1)
    return {k: float(v) for k, v in re.findall(r"(top|left|height|width):(-?[\d.]+)px", style)}


def test_window_overlay_places_the_window_on_the_input_in_its_own_pixels():
    overlay = window_overlay_html(np.zeros((5, 5)), [1, 2, 3], [2, 3, 4])
    box = overlay_box(overlay)
    assert box == {"top": 48.0, "left": 96.0, "height": 144.0, "width": 144.0}  # 48 px a pixel
    assert 'src="data:image/png;base64,' in overlay and "dashed" not in overlay


def test_window_overlay_keeps_a_tiny_window_visible_on_a_photo():
    photo = np.random.default_rng(0).uniform(0, 255, (512, 384))
    overlay = window_overlay_html(photo, [100, 101, 102], [10, 11, 12])
    box = overlay_box(overlay)
    assert box["width"] >= 8 and box["height"] >= 8  # 3 pixels would be under 2 px wide
    assert overlay.count("rgba(255,127,14") == 2  # cross-hairs lead to it
    assert len(overlay) < 200_000  # the picture is sent at its drawn size (320 px)


def test_window_overlay_sends_a_photo_as_a_small_jpeg_close_to_the_photo():
    import base64

    import cv2

    from core.base.paths import ASSETS_DIR

    photo = cv2.cvtColor(
        cv2.imread(str(ASSETS_DIR / "images" / "astronaut.png")), cv2.COLOR_BGR2RGB
    )
    overlay = window_overlay_html(photo.astype(np.float64), [200, 201, 202], [300, 301, 302])
    data = re.search(r'src="data:image/jpeg;base64,([^"]+)"', overlay).group(1)
    sent = decoded(base64.b64decode(data))
    drawn = cv2.resize(photo, (320, 320), interpolation=cv2.INTER_AREA)
    assert sent.shape == drawn.shape
    assert np.abs(sent.astype(float) - drawn).mean() < 3  # no visible loss at this size
    assert len(overlay) < 60_000  # the PNG made it 240 kB, in every run of every session


def test_window_overlay_marks_each_tap_of_a_dilated_kernel():
    overlay = window_overlay_html(np.zeros((9, 9)), [0, 2, 4], [0, 2, 4])
    assert overlay.count("border:2px solid") == 9


def test_outline_region_draws_a_red_frame_around_the_region_only():
    grey = np.zeros((20, 30), np.uint8)
    framed = outline_region(grey, 5, 10, 4, 6)
    assert framed.shape == (20, 30, 3)
    assert framed[5, 10].tolist() == [230, 30, 30] and framed[8, 15].tolist() == [230, 30, 30]
    assert framed[6, 12].tolist() == [0, 0, 0]  # inside the frame: untouched
    assert framed[0, 0].tolist() == [0, 0, 0] and grey.max() == 0  # the input is not changed


def test_frequency_figure_centres_zero_frequency():
    response = frequency_response(np.ones((3, 3)) / 9)
    figure = frequency_figure(response, title="Box")
    heatmap = figure.data[0]
    np.testing.assert_allclose(np.asarray(heatmap.z), response.magnitude)
    assert 0.0 in list(heatmap.x) and figure.layout.title.text == "Box"


def test_histogram_figure_has_bars_and_a_cdf_from_0_to_1():
    counts = np.zeros(256)
    counts[[10, 200]] = [3, 1]
    figure = histogram_figure(counts, title="Before")
    bars, cdf = figure.data
    assert list(bars.y[[10, 200]]) == [3, 1]
    assert cdf.y[9] == 0 and cdf.y[10] == pytest.approx(0.75) and cdf.y[-1] == pytest.approx(1)
    assert cdf.yaxis == "y2"


def picture_script(values, mapping):
    from ui.widgets.image_view import show_image, show_small_matrix

    show_image(values, caption="Output", mapping=mapping)
    show_image(values, caption="Plain", colorbar=False, details=False)
    show_small_matrix([[1, 2], [3, 4]], title="Kernel")


def test_show_image_captions_the_size_the_mapping_and_the_range():
    values = np.array([[-2.0, 5.0, 1.0]])
    at = AppTest.from_function(picture_script, args=(values, "diverging"), default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [c for image in at.image for c in image.captions]
    assert captions == ["Output — 1×3", "Plain — 1×3"]
    texts = [c.value for c in at.caption]
    assert any(t.startswith("Signed colour scale") and "from -2 to 5" in t for t in texts)
    assert "Values from -2 to 5." in texts
    html = [h.proto.body for h in at.get("html")]
    assert sum("linear-gradient" in h for h in html) == 1  # one colour bar: the second has none
    assert any("Kernel" in h and ">4</td>" in h for h in html)
