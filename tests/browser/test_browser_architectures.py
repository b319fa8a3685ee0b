"""Browser tests: the Famous Architectures page in a real Streamlit server and headless Chromium.

A shared link opens VGG16 with its exact conv-base count, the drawn diagram renders (a
picture of SVG boxes, a tooltip over each), a ResNet shows its merges, and "Train this" lands
on the Train page with the preset chosen. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import pytest

from tests.browser_helpers import EXCEPTION_SELECTOR, screenshot, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def open_network(page, app_url: str, network: str) -> None:
    page.goto(app_url)
    wait_for_app(page)
    page.goto(f"{app_url}/architectures?network={network}")
    wait_for_app(page)
    page.locator("h1", has_text="Famous Architectures").wait_for(timeout=30_000)


def diagram_text(page) -> str:
    """The tooltips of the drawn boxes (a picture, with an invisible box over each layer)."""
    boxes = page.locator(".st-key-arch-diagram [title]")
    boxes.first.wait_for(state="attached", timeout=30_000)
    assert page.locator(".st-key-arch-diagram img").first.evaluate("img => img.naturalWidth") > 0
    return "\n".join(boxes.evaluate_all("boxes => boxes.map((box) => box.title)"))


def test_a_link_opens_vgg16_with_its_exact_conv_base_and_a_drawn_diagram(
    browser_page, app_url, app_server
):
    page = browser_page
    open_network(page, app_url, "vgg16")
    page.get_by_text("14,714,688").first.wait_for(timeout=30_000)
    page.get_by_text("138,357,544").first.wait_for()
    drawn = diagram_text(page)
    assert "block1_conv1 (Conv2D) → 224×224×64: 1,792 parameters" in drawn
    assert "block5_conv3 (Conv2D)" in drawn
    screenshot(page, "architectures_vgg16")
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
    assert "libtensorflow" not in app_server.loaded_libraries()


def test_a_resnet_is_drawn_with_its_merges(browser_page, app_url):
    page = browser_page
    open_network(page, app_url, "resnet18")
    page.get_by_text("11,689,512").first.wait_for(timeout=30_000)
    drawn = diagram_text(page)
    assert "conv1_conv (Conv2D) → 112×112×64: 9,408 parameters" in drawn
    assert "(Add) → 56×56×64" in drawn  # the first residual merge
    screenshot(page, "architectures_resnet18")
    assert page.locator(EXCEPTION_SELECTOR).count() == 0
