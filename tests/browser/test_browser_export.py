"""Browser test: figures download in real Chromium with their caption and a link that reopens
the page: a picture's PNG on two pages (the file made on the server on click), and a Plotly
chart's PNG and SVG (made in the browser by Plotly, captioned by the export script)."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from tests.browser_helpers import ARTIFACTS, EXCEPTION_SELECTOR, reveal, screenshot, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


PNG_BUTTON = '[data-testid="stDownloadButton"] button:has-text("PNG")'


def open_page(page, app_url: str, path: str) -> None:
    page.goto(app_url)  # the home page first: it sets up the app's navigation and layout
    wait_for_app(page, 60_000)
    page.goto(f"{app_url}/{path}")
    wait_for_app(page, 60_000)
    page.wait_for_selector(PNG_BUTTON, timeout=60_000)
    assert page.query_selector(EXCEPTION_SELECTOR) is None


def download(page, click) -> bytes:
    with page.expect_download(timeout=60_000) as event:
        click()
    with open(event.value.path(), "rb") as file:
        return file.read()


def picture_export(page) -> tuple[Image.Image, dict[str, list[str]]]:
    """Download the first picture's PNG; the image and its link's parameters."""
    data = download(page, lambda: page.locator(PNG_BUTTON).first.click())
    exported = Image.open(io.BytesIO(data))
    return exported, parse_qs(urlsplit(exported.text["URL"]).query)


def test_a_picture_downloads_with_its_caption_and_its_link_reopens_the_page(browser_page, app_url):
    page = browser_page
    open_page(page, app_url, "kernel_playground?img=synthetic%3Aexample4&pad=valid&s=2")
    exported, params = picture_export(page)
    assert exported.text["Software"] == "ConvScope"
    assert "/kernel_playground" in exported.text["URL"]
    assert params["s"] == ["2"] or params["s"] == ["2,2"]
    assert params["pad"] == ["valid"]
    assert "Kernel Playground" in exported.text["Description"]
    page.goto(exported.text["URL"])  # the link reopens the page in that state
    wait_for_app(page, 60_000)
    sliding = page.locator(".st-key-kernel-sliding_more button").first
    sliding.wait_for(timeout=60_000)
    assert "stride 2 · valid padding" in sliding.inner_text()  # the popover's label names it
    reveal(page, "kernel.stride_rows", "kernel.sliding_more")
    assert page.input_value(".st-key-kernel-stride_rows input") == "2"
    assert page.query_selector(EXCEPTION_SELECTOR) is None

    open_page(page, app_url, "pixels_channels")  # a second page, its own pictures
    exported, _ = picture_export(page)
    assert "/pixels_channels" in exported.text["URL"]
    assert "Pixels & Channels" in exported.text["Description"]


def test_a_chart_downloads_as_png_and_svg_with_its_caption(browser_page, app_url):
    page = browser_page
    open_page(page, app_url, "kernel_playground?img=synthetic%3Aexample4&tab=frequency")
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for(timeout=60_000)
    height = chart.bounding_box()["height"]
    chart.hover()
    svg_button = chart.locator(".modebar-btn.cs-svg")
    svg_button.wait_for(timeout=30_000)
    svg = download(page, svg_button.click).decode()
    assert svg.startswith("<svg") or "<svg" in svg[:200]
    assert "ConvScope · Kernel Playground · img=synthetic:example4" in svg  # lines wrap
    link = page.url.replace("%3A", ":")  # the same address (Plotly would write %253A)
    assert 'href="' + link + '"' in svg.replace("&amp;", "&")  # the link, whole
    chart.hover()
    camera = chart.locator('.modebar-btn[data-title^="Download plot"]:not(.cs-svg)')
    data = download(page, camera.click)
    (ARTIFACTS / "export_chart_download.png").write_bytes(data)
    (ARTIFACTS / "export_chart_download.svg").write_text(svg)
    png = Image.open(io.BytesIO(data))
    assert png.height >= 2 * (height + 3 * 14)  # twice the size, the caption's band under it
    screenshot(page, "export_chart")
    # the chart on screen is as it was: no caption left in it
    assert "ConvScope" not in chart.inner_text()
