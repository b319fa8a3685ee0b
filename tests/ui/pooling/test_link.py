"""ui.pooling.link: the Pooling page restores from its address exactly, every tab too."""

from __future__ import annotations

from tests.link_helpers import controls, differing, link_warnings, open_page, reopened
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.pooling.link import LINK

PAGE = "pooling"


def test_a_first_visit_has_an_empty_address():
    at = open_page(PAGE)
    assert dict(at.query_params) == {} and link_warnings(at) == []


def test_the_small_matrix_lesson_round_trips():
    at = open_page(PAGE)
    at.selectbox(key="pool.example").set_value("pool_a_stride1").run()
    at.button(key="pool.load").click().run()
    at.radio(key="pool.method").set_value("average").run()
    at.toggle(key="pool.backprop").set_value(True).run()
    at.radio(key="pool.padding").set_value("same").run()
    at.number_input(key="pool.in_cols").set_value(6).run()
    at.slider(key="pool.stepper.step").set_value(4).run()
    assert not at.exception
    params = dict(at.query_params)
    assert params["method"] == "average" and params["bp"] == "1" and params["step"] == "4"
    assert params["ex"] == "none" and params["in"].count(";") == 3
    again = reopened(PAGE, at, LINK)
    assert again.slider(key="pool.stepper.step").value == 4


def test_the_open_tab_and_the_lessons_round_trip():
    at = open_page(PAGE)
    at.session_state["pool.tab"] = "Translation invariance"
    at.run()
    at.slider(key="pool.shift.px").set_value(3).run()
    at.session_state["pool.tab"] = "Pooling a photo"  # a closed tab draws nothing: open it
    at.run()
    at.selectbox(key="pool.img.photo").set_value("coins.png").run()
    at.slider(key="pool.img.times").set_value(2).run()
    at.session_state["pool.tab"] = "Global pooling"
    at.run()
    at.selectbox(key="pool.global.photo").set_value("brick.png").run()
    at.session_state["pool.tab"] = "Translation invariance"
    at.run()  # the other lessons closed again: their values stay in the address
    params = dict(at.query_params)
    assert params["tab"] == "shift" and params["shift"] == "3" and params["times"] == "2"
    assert params["imgphoto"] == "coins.png" and params["globalphoto"] == "brick.png"
    again = reopened(PAGE, at, LINK)
    assert again.session_state["pool.tab"] == "Translation invariance"


def test_bad_parameters_are_named_and_the_page_is_at_defaults():
    at = open_page(PAGE, {"size": "0,9", "method": "median", "in": "", "tab": "zz", "x": ""})
    (warning,) = link_warnings(at)
    for given in ('"size=0,9"', '"method=median"', '"in="', '"tab=zz"', '"x="'):
        assert given in warning
    assert differing(controls(at, LINK), controls(open_page(PAGE), LINK)) == []


def test_lock_disables_the_window_settings():
    at = open_page(PAGE, {"lock": "size,s,method", "hide": "in"})
    assert at.number_input(key="pool.size_rows").disabled
    assert at.radio(key="pool.method").disabled and not at.toggle(key="pool.backprop").disabled


def test_a_link_naming_an_example_brings_its_numbers():
    at = open_page(PAGE, {"ex": "pool_a_stride1"})
    assert link_warnings(at) == []
    assert (at.session_state["pool.stride_rows"], at.session_state["pool.stride_cols"]) == (1, 1)
