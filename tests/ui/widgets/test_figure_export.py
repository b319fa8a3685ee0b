"""ui.widgets.figure_export: the captioned PNG (decodes, keeps the picture, carries its text),
the caption built from the page's link (which reopens the page in that state), and the
charts' export settings. Downloads in a real browser: tests/browser/test_browser_export.py."""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from streamlit.testing.v1 import AppTest

from ui.widgets.figure_export import (
    CAPTION_WIDTH_PX,
    EXPORT_SCRIPT,
    META_KEY,
    Caption,
    captioned_png,
    chart_export,
    chart_title,
    file_name,
    page_address,
    rgb_png,
    settings_texts,
)

CAPTION = Caption(
    "Output: 3×3 box on camera.png — 512×512",
    "Kernel Playground",
    ("s=2,2", "pad=valid"),
    "http://host/kernel_playground?s=2%2C2&pad=valid",
)


def picture(height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def test_the_captioned_png_keeps_the_picture_and_adds_a_band_of_text_under_it():
    pixels = picture(40, 30)
    exported = Image.open(io.BytesIO(captioned_png(rgb_png(pixels), CAPTION)))
    assert exported.format == "PNG"
    assert exported.width == CAPTION_WIDTH_PX  # a narrow picture: the band is wider
    assert exported.height > 40 + 3 * 14  # three lines of text at least
    array = np.asarray(exported.convert("RGB"))
    np.testing.assert_array_equal(array[:40, :30], pixels)  # the picture, pixel for pixel
    band = array[40:]
    assert (band < 100).any() and (band == 255).mean() > 0.8  # dark text on white


def test_a_wide_picture_keeps_its_width_and_the_text_wraps_inside_it():
    long_link = "http://host/p?k=" + "1%2C" * 200
    caption = Caption("Output", "Pooling", (), long_link)
    wide = Image.open(io.BytesIO(captioned_png(rgb_png(picture(10, 700)), caption)))
    narrow = Image.open(io.BytesIO(captioned_png(rgb_png(picture(10, 700)), CAPTION)))
    assert wide.width == 700
    assert wide.height > narrow.height  # the long link takes several lines


def test_the_png_carries_the_caption_and_the_link_as_text():
    exported = Image.open(io.BytesIO(captioned_png(rgb_png(picture(8, 8)[:, :, 0]), CAPTION)))
    assert exported.text["Title"] == CAPTION.title  # × and — survive (iTXt is UTF-8)
    assert exported.text["URL"] == CAPTION.link
    assert exported.text["Software"] == "ConvScope"
    description = exported.text["Description"]
    assert "Kernel Playground" in description and "s=2,2 · pad=valid" in description
    assert description.endswith(CAPTION.link)


def test_the_address_and_the_settings_come_from_the_link_parameters():
    params = {"s": "2,2", "k": "0.5," * 30}
    address = page_address("https://uni.example/convscope/kernel_playground?old=1", params)
    assert urlsplit(address).path == "/convscope/kernel_playground"
    assert dict(parse_qsl(urlsplit(address).query)) == params
    shown = settings_texts(params)
    assert shown[0] == "s=2,2" and shown[1].endswith("…") and len(shown[1]) <= 50
    assert file_name(CAPTION, "svg") == (
        "convscope-kernel-playground-output-3-3-box-on-camera-png-512-512.svg"
    )


def linked_page():
    """A page with one linked control and one picture, as every page of the app has."""
    import numpy as np
    import streamlit as st

    from ui.widgets import figure_export
    from ui.widgets.image_view import show_image
    from ui.widgets.link_params import number
    from ui.widgets.page_link import PageLink

    link = PageLink("demo", [number("n", "demo.n", 1, low=1, high=9)])
    link.start()
    value = st.slider("n", 1, 9, key="demo.n")
    show_image(np.full((4, 4), float(value)), caption="Filled")
    show_image(np.zeros((4, 4)), caption="Filled")  # the same caption twice on one page
    st.session_state["demo.caption"] = figure_export.current_caption("Filled")
    link.finish()


def test_the_caption_link_reopens_the_page_in_the_state_it_shows():
    at = AppTest.from_function(linked_page, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    at.slider(key="demo.n").set_value(7).run()
    caption = at.session_state["demo.caption"]
    assert caption.settings == ("n=7",)
    assert "n=7" in caption.lines()[1]
    buttons = at.get("download_button")
    assert len(buttons) == 2  # one per picture, under keys of their own
    assert {button.proto.label for button in buttons} == {"PNG"}
    again = AppTest.from_function(linked_page, default_timeout=30)
    again.query_params.update(dict(parse_qsl(urlsplit(caption.link).query)))
    again.run()
    assert not again.exception
    assert again.slider(key="demo.n").value == 7


def test_a_chart_carries_its_caption_and_downloads_png_at_twice_its_size():
    figure = go.Figure(go.Bar(y=[1, 2]), layout={"title": {"text": "Loss <b>per</b> epoch"}})
    exported, config = chart_export(figure, {"scrollZoom": False})
    assert chart_title(figure) == "Loss  per  epoch"
    info = exported.layout.meta[META_KEY]
    assert info["caption"][0] == "Loss  per  epoch" and info["caption"][1].startswith("ConvScope")
    assert config["scrollZoom"] is False  # the page's own settings stay
    assert config["toImageButtonOptions"]["format"] == "png"
    assert config["toImageButtonOptions"]["scale"] == 2
    assert "modeBarButtons" not in config  # a chart with a tool bar keeps all of it
    assert figure.layout.meta is None  # the caller's figure (perhaps cached) is untouched


def test_the_browser_side_adds_svg_and_captions_every_plotly_download():
    assert EXPORT_SCRIPT.startswith("<script>") and EXPORT_SCRIPT.rstrip().endswith("</script>")
    assert '"svg"' in EXPORT_SCRIPT and META_KEY in EXPORT_SCRIPT
    assert "location.href" in EXPORT_SCRIPT  # charts drawn elsewhere: the address is the link
    # Streamlit's sanitizer (DOMPurify) drops a script whose text looks like markup
    assert re.findall(r"<[/\w!]", EXPORT_SCRIPT[len("<script>") : -len("</script>")]) == []


def array_export_page():
    import numpy as np
    import streamlit as st

    from ui.widgets.figure_export import export_button

    rgb = np.zeros((6, 5, 3), dtype=np.uint8)
    st.image(rgb)
    export_button(rgb, "Drawn with st.image")  # the array a page drew, encoded on click
    export_button(rgb[:, :, 0], "Its red plane")  # grey too


def test_a_picture_drawn_by_the_page_itself_gets_its_button_from_the_array():
    at = AppTest.from_function(array_export_page, default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    buttons = at.get("download_button")
    assert [button.proto.label for button in buttons] == ["PNG", "PNG"]
    assert len({button.proto.id for button in buttons}) == 2
    grey = Image.open(io.BytesIO(captioned_png(rgb_png(np.zeros((6, 5), np.uint8)), CAPTION)))
    assert grey.size[1] > 6  # the grey plane encodes and gets its caption band
