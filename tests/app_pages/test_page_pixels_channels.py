"""AppTest tests of the Pixels & Channels page."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.base.paths import PROJECT_ROOT
from core.imaging.images import load_image
from tests.apptest_helpers import choose, matrix_tables

ROOT = PROJECT_ROOT
PAGE = str(ROOT / "app_pages" / "pixels_channels.py")
TABS = ["As numbers", "Channels", "Histogram & equalisation", "Resize & pad"]


def fresh() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def on_tab(at: AppTest, label: str) -> AppTest:
    at.session_state["pixels.tab"] = label
    at.run()
    assert not at.exception, at.exception
    return at


def use_photo(at: AppTest, name: str) -> AppTest:
    choose(at, "pixels.photo", name)
    assert not at.exception, at.exception
    return at


def printed_numbers(at: AppTest) -> np.ndarray:
    """The numbers of the region grid, read back from the HTML table sent to the page."""
    import re

    (table,) = matrix_tables(at)
    rows = re.findall(r"<tr style=\"height:\d+px\">(.*?)</tr>", table)
    return np.array([[float(v) for v in re.findall(r"<td[^>]*>([^<]*)</td>", row)] for row in rows])


def test_default_page_and_every_tab_run():
    at = fresh()
    assert at.title[0].value == "Pixels & Channels"
    assert any("512 rows × 512 columns" in m.value for m in at.markdown)
    for label in TABS:
        on_tab(at, label)
        assert not at.error


def test_every_control_has_a_tooltip():
    at = use_photo(fresh(), "astronaut.png")
    for label in TABS:
        on_tab(at, label)
        for widget in [*at.selectbox, *at.radio, *at.slider, *at.select_slider, *at.number_input]:
            assert widget.help, f"{widget.label!r} on {label!r} has no help text"


def test_region_numbers_are_the_pixels():
    at = fresh()
    at.slider(key="pixels.row").set_value(100)
    at.slider(key="pixels.col").set_value(200)
    at.select_slider(key="pixels.window").set_value(8).run()
    expected = load_image(ROOT / "assets" / "images" / "camera.png").pixels[96:104, 196:204]
    np.testing.assert_array_equal(printed_numbers(at), np.round(expected))
    assert any("rows 96–103, columns 196–203" in c for i in at.image for c in i.captions)


def test_region_stays_inside_at_the_corner():
    at = fresh()
    at.slider(key="pixels.row").set_value(511)
    at.slider(key="pixels.col").set_value(0).run()
    assert printed_numbers(at).shape == (16, 16)
    assert any("rows 496–511, columns 0–15" in c for i in at.image for c in i.captions)


def test_whole_mnist_digit_fits_the_window():
    at = fresh()
    at.radio(key="pixels.source").set_value("digit").run()
    at.number_input(key="pixels.digit").set_value(3).run()
    at.select_slider(key="pixels.window").set_value(32).run()
    numbers = printed_numbers(at)
    assert numbers.shape == (28, 28)
    assert numbers.min() == 0 and numbers.max() > 200
    assert any("MNIST digit #3" in m.value for m in at.markdown)


def test_colour_photo_offers_channels():
    at = use_photo(fresh(), "astronaut.png")
    at.radio(key="pixels.channel").set_value("Green").run()
    photo = load_image(ROOT / "assets" / "images" / "astronaut.png").pixels
    np.testing.assert_array_equal(printed_numbers(at), photo[248:264, 248:264, 1])
    on_tab(at, "Channels")
    captions = [c for i in at.image for c in i.captions]
    for name in ("Red", "Green", "Blue"):
        assert any(c.startswith(f"{name} alone, in grey") for c in captions)
        assert any(c.startswith(f"{name} in its own colour") for c in captions)
    assert any("0.299·R + 0.587·G + 0.114·B" in m.value for m in at.markdown)


def test_grey_photo_says_it_has_one_channel():
    at = on_tab(fresh(), "Channels")
    assert any("single channel" in i.value for i in at.info)


def test_equalisation_shows_both_histograms_and_colour_methods():
    at = on_tab(use_photo(fresh(), "chelsea.png"), "Histogram & equalisation")
    charts = [c.proto.id for c in at.get("plotly_chart")]
    assert any("pixels.hist_before" in c for c in charts)
    assert any("pixels.hist_after" in c for c in charts)
    captions = [c for i in at.image for c in i.captions]
    per_channel = next(c for c in captions if c.startswith("Per channel"))
    luminance = next(c for c in captions if c.startswith("Luminance only"))

    def degrees(caption: str) -> float:
        return float(caption.split("hue change ")[1].split("°")[0])

    assert degrees(per_channel) > degrees(luminance)
    at.radio(key="pixels.space").set_value("lab").run()
    assert not at.exception


@pytest.mark.parametrize(("target", "expected"), [(64, "Scale by 0.142"), (224, "Scale by 0.497")])
def test_resize_and_pad_explains_the_numbers(target, expected):
    at = on_tab(use_photo(fresh(), "chelsea.png"), "Resize & pad")
    at.select_slider(key="pixels.target").set_value(target).run()
    text = next(m.value for m in at.markdown if m.value.startswith("Scale by"))
    assert text.startswith(expected)
    assert any(f"{target}×{target} network input" in c for i in at.image for c in i.captions)


def test_corrupt_upload_shows_an_error_and_a_fallback():
    at = fresh()
    at.radio(key="pixels.source").set_value("upload").run()
    at.file_uploader(key="pixels.upload").set_value(("x.jpg", b"\xff\xd8garbage", "image/jpeg"))
    at.run()
    assert not at.exception
    assert any("cannot be used" in e.value for e in at.error)
    assert any("512 rows × 512 columns" in m.value for m in at.markdown)


def png_bytes(pixels: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("shape", "size_text"), [((1, 1), "1 rows × 1 columns"), ((1, 5000), "1 rows × 512 columns")]
)
def test_a_one_pixel_or_one_row_upload_works_on_every_tab(shape, size_text):
    at = fresh()
    at.slider(key="pixels.row").set_value(511)
    at.slider(key="pixels.col").set_value(511).run()
    at.radio(key="pixels.source").set_value("upload").run()
    pixels = (np.arange(np.prod(shape)) % 256).reshape(shape)
    at.file_uploader(key="pixels.upload").set_value(("strip.png", png_bytes(pixels), "image/png"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(size_text in m.value for m in at.markdown)
    assert not [s for s in at.slider if s.key == "pixels.row"]
    assert any("only one row" in c.value for c in at.caption)
    for label in TABS:
        on_tab(at, label)
        assert not at.error
