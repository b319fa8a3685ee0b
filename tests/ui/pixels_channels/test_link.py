"""ui.pixels_channels.link: the image, the open tab and each tab's controls survive a link."""

from __future__ import annotations

from tests.apptest_helpers import choose
from tests.link_helpers import controls, differing, link_warnings, open_page, reopened
from ui.pixels_channels.link import LINK

PAGE = "pixels_channels"


def test_a_plain_visit_has_an_empty_address():
    at = open_page(PAGE)
    assert dict(at.query_params) == {} and link_warnings(at) == []


def test_numbers_tab_round_trip():
    at = open_page(PAGE)
    choose(at, "pixels.photo", "coins.png")
    at.select_slider(key="pixels.window").set_value(8).run()
    at.slider(key="pixels.row").set_value(40).run()
    at.slider(key="pixels.col").set_value(7).run()
    assert not at.exception
    params = dict(at.query_params)
    assert params["img"] == "photo:coins.png" and params["window"] == "8"
    assert params["row"] == "40" and params["col"] == "7"
    again = reopened(PAGE, at, LINK)
    assert again.slider(key="pixels.row").value == 40


def test_a_digit_and_its_window_round_trip():
    at = open_page(PAGE, {"img": "digit:17", "window": "12"})
    assert at.number_input(key="pixels.digit").value == 17
    assert at.select_slider(key="pixels.window").value == 12  # not widened to 32
    reopened(PAGE, at, LINK)


def test_colour_channel_and_the_other_tabs_round_trip():
    at = open_page(PAGE, {"img": "photo:astronaut.png"})
    at.radio(key="pixels.channel").set_value("Green").run()
    assert at.query_params["channel"] == "green"
    reopened(PAGE, at, LINK)
    at.session_state["pixels.tab"] = "Histogram & equalisation"
    at.run()
    at.radio(key="pixels.space").set_value("lab").run()
    assert at.query_params["tab"] == "histogram" and at.query_params["space"] == "lab"
    assert reopened(PAGE, at, LINK).session_state["pixels.tab"] == "Histogram & equalisation"
    at.session_state["pixels.tab"] = "Resize & pad"
    at.run()
    at.select_slider(key="pixels.target").set_value(224).run()
    assert at.query_params["size"] == "224"
    reopened(PAGE, at, LINK)


def test_a_colour_channel_on_a_grey_image_falls_back_to_grey():
    at = open_page(PAGE, {"img": "digit:3", "channel": "red"})
    assert at.session_state["pixels.channel"] == "Grey"
    assert not [r for r in at.radio if r.key == "pixels.channel"]  # one plane: no choice
    assert at.query_params.get("channel", "grey") == "grey"


def test_bad_parameters_are_named_and_the_page_is_at_defaults():
    at = open_page(PAGE, {"img": "photo:../secret", "window": "7", "row": "-4", "tab": "x"})
    (warning,) = link_warnings(at)
    for given in ('"img=photo:../secret"', '"window=7"', '"row=-4"', '"tab=x"'):
        assert given in warning
    assert differing(controls(at, LINK), controls(open_page(PAGE), LINK)) == []


def test_hide_and_lock():
    at = open_page(PAGE, {"hide": "img", "lock": "window"})
    css = "\n".join(element.proto.body for element in at.get("html"))
    assert ".st-key-pixels-source, .st-key-pixels-source__row {display: none" in css
    assert ".st-key-pixels-photo, .st-key-pixels-photo__row {display: none" in css  # ◀ ▶ too
    assert ".st-key-pixels-window, .st-key-pixels-window__row {pointer-events: none" in css


def test_a_centre_outside_a_small_image_is_named_as_stale():
    at = open_page(PAGE, {"img": "digit:3", "row": "500"})
    (warning,) = link_warnings(at)
    assert '"row=500"' in warning and "cannot be used here" in warning
    assert at.slider(key="pixels.row").value == 27
