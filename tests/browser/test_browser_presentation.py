"""Browser test: presentation mode on a projector (1280×720 at 150 %, so 853×480 CSS pixels).

Every page opened with ``?present=1`` shows its main picture fully on the first screen,
without scrolling (checked on element boxes in real Chromium), with the sidebar closed; the
keys work (→ moves the sliding window, space plays and pauses, 1 and 2 load worked examples,
``p`` leaves and re-enters presentation mode, and the address follows); every worked example of
every page is a button on the page (one click, no list or expander to open first); a lecturer
presenting to a room can still ask the room. The screenshots go to
``test-artifacts/presentation_*.png`` for a person to look at.
"""

from __future__ import annotations

import re

import pytest

from bench.follow_latency import go_to_page, open_lecture_room
from tests.browser_helpers import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    EXCEPTION_SELECTOR,
    reveal,
    running_app,
)
from tests.browser_helpers import screenshot as save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTH, HEIGHT = 853, 480  # 1280×720 device pixels at 150 % zoom
PROJECTOR = {"viewport": {"width": WIDTH, "height": HEIGHT}, "device_scale_factor": 1.5}
TIMEOUT_MS = 240_000  # two cores shared by many: a first page load can take a minute
BAR = ".st-key-present-bar"

# page → the elements that make its main picture (the first visible match of each).
MAIN_PICTURES = {
    "": ["h1"],
    "pixels_channels": [".st-key-pixels-numbers", '.st-key-pixels-tab [data-testid="stImage"]'],
    "kernel_playground": [
        '[data-testid="stImage"]',
        '[data-testid="stColumn"]:has(.st-key-kernel-mapping__row) [data-testid="stImage"]',
    ],
    "convolution_arithmetic": [
        ".st-key-arith-stepper-forward",
        ".st-key-arith-view-input",
        ".st-key-arith-view-output",
    ],
    "pooling": [
        ".st-key-pool-stepper-forward",
        ".st-key-pool-view-input",
        ".st-key-pool-view-output",
    ],
    "backpropagation": [
        ".st-key-backprop-w_stepper-forward",
        '.st-key-backprop-tab [data-testid="stHtml"]',
    ],
    "train_cnn": [".st-key-train-samples_chart"],
    "inspect_network": [".st-key-inspect-input_chart", ".st-key-inspect-prediction_chart"],
    "architectures": [".st-key-arch-diagram"],
}

BOXES = """(selectors) => selectors.map((selector) => {
  const el = [...document.querySelectorAll(selector)].find((e) => e.offsetParent !== null);
  if (!el) return null;
  const box = el.getBoundingClientRect();
  return {selector, top: box.top, left: box.left, bottom: box.bottom, right: box.right};
})"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app, with a room file of this module's own (a lecturer presents to a room)."""
    rooms = tmp_path_factory.mktemp("rooms") / "rooms.sqlite3"
    with running_app({"CONVSCOPE_ROOMS_DB": str(rooms)}) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def settle(page, ms: int = 1_500) -> None:
    """Wait until the app has stopped running, then let the pictures be fitted."""
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')""",
        timeout=TIMEOUT_MS,
    )
    page.wait_for_timeout(ms)


def open_presenting(browser, app, path: str):
    context = browser.new_context(**PROJECTOR)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{app.url}/{path}")
    page.wait_for_selector(BAR, timeout=TIMEOUT_MS)
    settle(page, 3_000)
    return context, page


@pytest.mark.parametrize("name", list(MAIN_PICTURES), ids=lambda n: n or "home")
def test_each_page_shows_its_main_picture_on_one_screen(browser, app, name):
    context, page = open_presenting(browser, app, f"{name}?present=1")
    try:
        for selector in MAIN_PICTURES[name]:
            page.wait_for_selector(selector, state="visible", timeout=TIMEOUT_MS)
        settle(page, 2_000)
        save_screenshot(page, f"presentation_{name or 'home'}")
        assert page.locator(EXCEPTION_SELECTOR).count() == 0
        assert not page.locator('[data-testid="stSidebar"]').is_visible()  # closed
        for box in page.evaluate(BOXES, MAIN_PICTURES[name]):
            assert box is not None
            inside = (
                box["top"] >= -1
                and box["left"] >= -1
                and box["bottom"] <= HEIGHT + 1
                and box["right"] <= WIDTH + 1
            )
            assert inside, f"{box['selector']} is not on the first screen: {box}"
        scrolled = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollTop")
        assert scrolled == 0  # nothing scrolled to get there
    finally:
        context.close()


def wait_for_address(page, text: str, present: bool = True) -> None:
    """Wait until the address has (or no longer has) ``text`` (written without a reload)."""
    script = (
        "(t) => location.search.includes(t)" if present else "(t) => !location.search.includes(t)"
    )
    page.wait_for_function(script, arg=text, timeout=TIMEOUT_MS)


def caption(page) -> str:
    return page.get_by_text(re.compile(r"^Position \d+ of \d+$")).first.inner_text()


def test_keys_step_play_load_examples_and_toggle_presentation(browser, app):
    context, page = open_presenting(browser, app, "convolution_arithmetic?present=1")
    try:
        page.wait_for_selector(".st-key-arith-stepper-forward", state="visible")
        assert caption(page) == "Position 1 of 9"  # worked example 1: 5×5 input, 3×3 kernel
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "() => document.body.innerText.includes('Position 2 of 9')", timeout=TIMEOUT_MS
        )
        page.keyboard.press("ArrowLeft")
        page.wait_for_function(
            "() => document.body.innerText.includes('Position 1 of 9')", timeout=TIMEOUT_MS
        )

        page.keyboard.press(" ")  # play, then pause
        page.wait_for_selector(".st-key-arith-stepper-play >> text=Pause", timeout=TIMEOUT_MS)
        page.keyboard.press(" ")
        page.wait_for_selector(".st-key-arith-stepper-play >> text=Play", timeout=TIMEOUT_MS)

        page.keyboard.press("2")  # worked example 2: 5×5 image, no flip: 3×3 output
        wait_for_address(page, "ex=ex2")
        settle(page)
        assert caption(page) == "Position 1 of 9"
        page.keyboard.press("3")  # example 3: zero padding keeps 7×7, so 49 positions
        wait_for_address(page, "ex=ex3")
        page.wait_for_function(
            "() => document.body.innerText.includes('Position 1 of 49')", timeout=TIMEOUT_MS
        )
        page.keyboard.press("1")
        page.wait_for_function(
            "() => document.body.innerText.includes('Position 1 of 9')", timeout=TIMEOUT_MS
        )
        wait_for_address(page, "ex=ex3", present=False)

        page.keyboard.press("p")  # leave presentation mode: the sidebar's switch is back
        page.wait_for_selector(".st-key-present-switch_on", state="visible", timeout=TIMEOUT_MS)
        assert page.locator(BAR).count() == 0
        wait_for_address(page, "present=1", present=False)
        page.keyboard.press("p")
        page.wait_for_selector(BAR, state="visible", timeout=TIMEOUT_MS)
        wait_for_address(page, "present=1")

        page.locator(".st-key-present-controls label").click()  # "Show controls" unfolds
        page.wait_for_selector(".st-key-arith-sliding", state="visible", timeout=TIMEOUT_MS)
        reveal(page, "arith.stride_rows", "arith.sliding")  # the popover that holds it
        settle(page)
        save_screenshot(page, "presentation_keys_controls_shown")
        assert page.locator(EXCEPTION_SELECTOR).count() == 0
    finally:
        context.close()


def test_typing_in_a_field_is_not_a_key(browser, app):
    context, page = open_presenting(browser, app, "convolution_arithmetic?present=1")
    try:
        page.locator(".st-key-present-controls label").click()
        page.wait_for_selector(".st-key-arith-sliding", state="visible", timeout=TIMEOUT_MS)
        reveal(page, "arith.cval", "arith.sliding")  # in the sliding popover
        field = page.locator(".st-key-arith-cval input")
        field.wait_for(state="visible", timeout=TIMEOUT_MS)
        field.click()
        field.press("ArrowRight")
        field.press("p")
        page.wait_for_timeout(1_500)
        assert page.locator(BAR).is_visible()  # still presenting
        assert caption(page) == "Position 1 of 9"  # the window did not move
    finally:
        context.close()


EXAMPLE_BUTTONS = """() => {
  // one per example: the element holding its button (a tooltip can add a hidden second one)
  const all = [...document.querySelectorAll(
    '[data-testid="stElementContainer"][class*="-example-"]')];
  const shown = all.map((holder) => [...holder.querySelectorAll('button')]
    .find((b) => b.offsetParent !== null)).filter(Boolean);
  return {all: all.length, shown: shown.length, labels: shown.map((b) => b.innerText.trim()),
          expanders: document.querySelectorAll('[data-testid="stMain"] details').length};
}"""


def test_the_kernel_playgrounds_examples_are_one_click_or_one_key_away(browser, app):
    from ui.kernel_playground.link_state import LECTURE_EXAMPLES

    context = browser.new_context(**PROJECTOR)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(f"{app.url}/kernel_playground")
        page.wait_for_selector(".st-key-kernel-example-example5 button", state="visible")
        settle(page)
        buttons = page.evaluate(EXAMPLE_BUTTONS)
        # every example a button on the page, none in a closed expander or a list
        assert buttons["shown"] == buttons["all"] == len(LECTURE_EXAMPLES) == 7
        assert buttons["labels"] == ["1", "2", "3", "4a", "4b", "4c", "5"]
        for index in range(7):  # each button whole on the page (the row may wrap once)
            box = page.locator('.st-key-kernel-examples [class*="-example-"]').nth(index)
            box = box.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, box
        page.keyboard.press("7")  # the 7th button: example 5, 10×10 with stride 2
        wait_for_address(page, "img=synthetic%3Aexample5")
        page.get_by_text("4.5, rounded down to 4").first.wait_for(timeout=TIMEOUT_MS)
        page.locator(".st-key-kernel-example-example1 button").first.click()  # one click
        wait_for_address(page, "img=synthetic%3Aexample1")
        assert page.locator(EXCEPTION_SELECTOR).count() == 0
    finally:
        context.close()


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("convolution_arithmetic", "arith-example-"),
        ("pooling", "pool-example-"),
        ("backpropagation", "backprop-example-"),
    ],
)
def test_every_pages_worked_examples_are_buttons_on_the_page(browser, app, name, first):
    context = browser.new_context(**PROJECTOR)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(f"{app.url}/{name}")
        page.wait_for_selector(f'[class*="{first}"] button', state="visible")
        settle(page)
        buttons = page.evaluate(EXAMPLE_BUTTONS)
        assert buttons["shown"] == buttons["all"] >= 2, buttons
        assert len(set(buttons["labels"])) == buttons["shown"]  # no two buttons alike
    finally:
        context.close()


def test_a_lecturer_presenting_can_ask_the_room(browser, app):
    context = browser.new_context(**PROJECTOR)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        open_lecture_room(page, app.url)
        go_to_page(page, "Convolution Arithmetic")
        page.wait_for_selector(".st-key-arith-stepper-forward", state="visible")
        settle(page)
        page.locator(".st-key-present-switch_on button").first.click()  # the sidebar's switch
        page.wait_for_selector(BAR, state="visible")
        ask = page.locator(f"{BAR} .st-key-room-ask button").first
        ask.wait_for(state="visible", timeout=TIMEOUT_MS)
        settle(page)
        assert "Ask the room" in ask.inner_text()
        box = ask.bounding_box()  # on the first screen, in the bar
        assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT / 2
        assert box["x"] + box["width"] <= WIDTH + 1
        assert not page.locator('[data-testid="stSidebar"]').is_visible()
        ask.click()
        page.wait_for_selector(".st-key-room-question", state="visible", timeout=TIMEOUT_MS)
        settle(page)
        save_screenshot(page, "presentation_ask_the_room")
        assert page.locator(EXCEPTION_SELECTOR).count() == 0
    except Exception:
        save_screenshot(page, "presentation_ask_the_room_failed")  # for a person to look at
        raise
    finally:
        context.close()


def test_a_presented_mnist_digit_shows_its_picture_beside_all_its_numbers(browser, app):
    context, page = open_presenting(
        browser, app, "pixels_channels?img=digit%3A0&window=32&present=1"
    )
    try:
        page.wait_for_function(
            "() => document.querySelectorAll('.cs-matrix td').length >= 784", timeout=TIMEOUT_MS
        )
        settle(page, 2_000)
        save_screenshot(page, "presentation_pixels_mnist")
        selectors = [".st-key-pixels-numbers", '.st-key-pixels-tab [data-testid="stImage"]']
        boxes = page.evaluate(BOXES, selectors)
        for box in boxes:
            assert box is not None and box["bottom"] <= HEIGHT + 1 and box["right"] <= WIDTH + 1
        numbers, picture = boxes
        assert picture["left"] >= numbers["right"] - 1  # side by side, the numbers first
        assert page.evaluate(
            "() => [...document.querySelectorAll('.cs-matrix')]"
            ".every((box) => box.scrollWidth <= box.clientWidth + 1)"
        )
    finally:
        context.close()
