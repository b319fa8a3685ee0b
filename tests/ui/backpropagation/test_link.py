"""ui.backpropagation.link: the Backpropagation page restores from its address exactly."""

from __future__ import annotations

from tests.apptest_helpers import type_into_matrix
from tests.link_helpers import controls, differing, link_warnings, open_page, reopened
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.backpropagation.link import AUTO, LINK

PAGE = "backpropagation"


def edit_cell(at, key: str, row: int, col: int, value: float):
    """Type into a matrix editor as the browser does, and rerun."""
    type_into_matrix(at, key, {row: {str(col): value}}).run()
    assert not at.exception


def test_a_first_visit_has_an_empty_address():
    at = open_page(PAGE)
    assert dict(at.query_params) == {} and link_warnings(at) == []
    assert controls(at, LINK)["grad"] == AUTO


def test_a_setup_the_tab_and_the_steppers_round_trip():
    at = open_page(PAGE)
    at.selectbox(key="backprop.example").set_value("stride2").run()
    at.button(key="backprop.load").click().run()
    at.slider(key="backprop.w_stepper.step").set_value(3).run()
    at.session_state["backprop.tab"] = "One step of descent"
    at.run()
    at.number_input(key="backprop.lr").set_value(0.05).run()
    params = dict(at.query_params)
    assert params["ex"] == "stride2" and params["s"] == "2,2" and params["tab"] == "descent"
    assert params["wstep"] == "3" and params["lr"] == "0.05"
    again = reopened(PAGE, at, LINK)
    assert again.session_state["backprop.tab"] == "One step of descent"


def test_typed_numbers_and_the_loss_round_trip():
    at = open_page(PAGE)
    edit_cell(at, "backprop.gradient", 0, 1, 4.5)
    edit_cell(at, "backprop.kernel", 2, 2, -1)
    at.number_input(key="backprop.bias").set_value(1.5).run()
    assert at.query_params["grad"].startswith("1,4.5,-1;")
    reopened(PAGE, at, LINK)
    at.radio(key="backprop.source").set_value("mse").run()
    edit_cell(at, "backprop.target", 0, 0, 11)
    assert at.query_params["src"] == "mse" and "target" in at.query_params
    again = reopened(PAGE, at, LINK)
    assert controls(again, LINK)["target"][0, 0] == 11


def test_bad_parameters_are_named_and_the_page_is_at_defaults():
    at = open_page(PAGE, {"grad": "1,x", "lr": "0", "src": "l1", "in": "1;" * 20, "d": "3.5"})
    (warning,) = link_warnings(at)
    for given in ('"grad=1,x"', '"lr=0"', '"src=l1"', '"in=', '"d=3.5"'):
        assert given in warning
    assert differing(controls(at, LINK), controls(open_page(PAGE), LINK)) == []


def test_lock_disables_the_layer_settings():
    at = open_page(PAGE, {"lock": "s,d,pad,p,bias,src"})
    assert at.number_input(key="backprop.stride_rows").disabled
    assert at.radio(key="backprop.source").disabled


def test_a_link_naming_a_setup_brings_its_numbers():
    at = open_page(PAGE, {"ex": "dilation2"})
    assert link_warnings(at) == []
    assert at.session_state["backprop.dilation"] == 2
    assert controls(at, LINK)["in"].shape == (7, 7)
