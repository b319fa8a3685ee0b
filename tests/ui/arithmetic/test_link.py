"""ui.arithmetic.link: the Convolution Arithmetic page restores from its address exactly."""

from __future__ import annotations

from tests.apptest_helpers import type_into_matrix
from tests.link_helpers import controls, differing, link_warnings, open_page, reopened
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.arithmetic.link import LINK
from ui.widgets.page_link import key_class, row_key

PAGE = "convolution_arithmetic"


def edit_cell(at, key: str, row: int, col: int, value: float):
    """Type into a matrix editor as the browser does, and rerun."""
    type_into_matrix(at, key, {row: {str(col): value}}).run()
    assert not at.exception


def test_a_first_visit_is_example_1_with_an_empty_address():
    at = open_page(PAGE)
    assert dict(at.query_params) == {} and link_warnings(at) == []
    assert at.session_state["arith.loaded"] == "ex1"


def test_a_loaded_example_and_a_step_round_trip():
    at = open_page(PAGE)
    at.selectbox(key="arith.example").set_value("ex4_strides").run()
    at.button(key="arith.load").click().run()
    at.slider(key="arith.stepper.step").set_value(2).run()
    params = dict(at.query_params)
    assert params["ex"] == "ex4_strides" and params["pick"] == "ex4_strides"
    assert params["s"] == "1,2" and params["step"] == "2"
    again = reopened(PAGE, at, LINK)
    assert again.slider(key="arith.stepper.step").value == 2
    assert any("4b ·" in c.value for c in again.caption)  # "Showing 4b · …"


def test_every_option_and_typed_cells_round_trip():
    at = open_page(PAGE)
    at.number_input(key="arith.in_rows").set_value(6).run()
    edit_cell(at, "arith.input", 1, 2, 7.5)
    edit_cell(at, "arith.kernel", 0, 0, -3)
    at.radio(key="arith.padding").set_value("explicit").run()
    at.number_input(key="arith.pad").set_value(2).run()
    at.radio(key="arith.border").set_value("reflect").run()
    at.number_input(key="arith.dilation").set_value(2).run()
    at.checkbox(key="arith.flip").check().run()
    at.checkbox(key="arith.relu").check().run()
    assert not at.exception
    params = dict(at.query_params)
    assert params["ex"] == "none" and params["pad"] == "explicit" and "in" in params
    again = reopened(PAGE, at, LINK)
    assert controls(at, LINK)["in"].shape == (6, 5)
    assert controls(again, LINK)["in"][1, 2] == 7.5
    assert controls(again, LINK)["k"][0, 0] == -3


def test_transposed_mode_round_trips():
    at = open_page(PAGE)
    at.radio(key="arith.mode").set_value("Transposed convolution").run()
    at.number_input(key="arith.stride_rows").set_value(2).run()
    at.checkbox(key="arith.use_output_padding").check().run()
    at.number_input(key="arith.out_pad_rows").set_value(1).run()
    assert at.query_params["mode"] == "transposed" and at.query_params["op"] == "1,0"
    reopened(PAGE, at, LINK)


def test_bad_parameters_are_named_and_the_page_is_at_defaults():
    at = open_page(PAGE, {"in": "1,2;3", "k": "1,1,1,1,1,1", "s": "9", "ex": "ex99", "dd": "1"})
    (warning,) = link_warnings(at)
    for given in ('"in=1,2;3"', '"k=1,1,1,1,1,1"', '"s=9"', '"ex=ex99"', '"dd=1"'):
        assert given in warning
    assert differing(controls(at, LINK), controls(open_page(PAGE), LINK)) == []


def test_a_stripped_down_exercise():
    at = open_page(PAGE, {"ex": "ex2", "hide": "in,k", "lock": "s,pad", "guess": "1"})
    assert at.number_input(key="arith.stride_rows").disabled
    assert at.radio(key="arith.padding").disabled
    css = "\n".join(element.proto.body for element in at.get("html"))
    rows = key_class(row_key("arith.in_rows"))
    assert f".{key_class('arith.in_rows')}, .{rows} {{display: none" in css
    assert at.toggle(key="arith.guess").value


def test_a_link_naming_an_example_brings_its_numbers():
    at = open_page(PAGE, {"ex": "ex4_padded"})
    assert link_warnings(at) == []
    assert at.session_state["arith.padding"] == "explicit" and at.session_state["arith.relu"]
    assert controls(at, LINK)["in"].shape == (4, 6)
    assert at.query_params["ex"] == "ex4_padded" and "in" in at.query_params  # written out
    # the link's own values win over the example's
    at = open_page(PAGE, {"ex": "ex4_padded", "relu": "0"})
    assert not at.session_state["arith.relu"] and at.session_state["arith.padding"] == "explicit"
