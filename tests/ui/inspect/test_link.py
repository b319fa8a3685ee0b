"""ui.inspect.link: the Inspect page's model, input, tab and layer picks survive a link;
a pick the model lacks is named as stale. The page runs a real inference worker (slow)."""

from __future__ import annotations

import pytest

from tests.link_helpers import controls, differing, link_warnings, open_page, reopened
from ui.inspect.link import LINK, _parse_model, _parse_pick

PAGE = "inspect_network"


def test_model_and_pick_texts():
    assert _parse_model(" saved:my_cnn-2 ") == "saved:my_cnn-2"
    assert _parse_pick("12") == 12 and _parse_pick("conv2d_1") == "conv2d_1"
    for bad in ("upload:x", "bundled:../etc", "bundled:"):
        with pytest.raises(ValueError):
            _parse_model(bad)
    with pytest.raises(ValueError):
        _parse_pick("a b;c")


@pytest.mark.slow
def test_the_model_input_tab_and_picks_round_trip(inspect_environment):
    at = open_page(PAGE, timeout=180)
    assert link_warnings(at) == []
    at.session_state["inspect.test_index"] = 7  # as its "Go to" box sets it
    at.run()
    at.radio(key="inspect.filter_layer").set_value(
        at.radio(key="inspect.filter_layer").options[-1]
    ).run()
    last_layer = at.radio(key="inspect.filter_layer").value
    at.session_state["inspect.tab"] = "Saliency"
    at.run()
    assert not at.exception
    # the Filters tab, now closed, draws nothing but keeps its layer for the link
    assert [box for box in at.radio if box.key == "inspect.filter_layer"] == []
    params = dict(at.query_params)
    assert params["index"] == "7" and params["tab"] == "saliency"
    assert params["flayer"] == last_layer
    assert at.selectbox(key="inspect.cam_class").options  # the open tab is drawn
    # the channel radio of the first layer is not on screen once a wide layer is picked
    again = reopened(PAGE, at, LINK, ignore=("fchannel",))
    assert again.session_state["inspect.test_index"] == 7
    assert "**Test image #7 (0 to 9,999)**" in [m.value for m in again.markdown]


@pytest.mark.slow
def test_bad_and_stale_parameters_are_named(inspect_environment):
    # the stale layer belongs to a closed tab (Saliency is open), which draws nothing
    query = {"model": "upload:x", "index": "-2", "flayer": "no_such_layer", "tab": "saliency"}
    at = open_page(PAGE, query, timeout=180)
    (warning,) = link_warnings(at)
    for given in ('"model=upload:x"', '"index=-2"', '"flayer=no_such_layer"'):
        assert given in warning
    fresh = open_page(PAGE, {"tab": "saliency"}, timeout=180)
    assert [n for n in differing(controls(at, LINK), controls(fresh, LINK)) if n != "flayer"] == []


def closed_tab_script():
    import streamlit as st

    from ui.inspect.link import keep_closed

    if st.session_state.get("draw", True):  # the tab open: its controls drawn
        st.selectbox("Layer", ["conv", "pool"], key="inspect.rf_layer")
        st.number_input("Row", 0, 9, key="inspect.rf_row_conv")
        st.selectbox("Grad-CAM layer", ["conv", "gone"], key="inspect.cam_layer")
    else:
        keep_closed("field", {"conv", "pool"})
        keep_closed("saliency", {"conv", "pool"})


def test_a_closed_tab_keeps_its_values_and_forgets_a_layer_the_model_lacks():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(closed_tab_script).run()
    at.selectbox(key="inspect.rf_layer").set_value("pool")
    at.number_input(key="inspect.rf_row_conv").set_value(7)
    at.selectbox(key="inspect.cam_layer").set_value("gone").run()
    at.session_state["draw"] = False
    at.run().run()  # two runs without the widgets: Streamlit would have forgotten them
    assert at.session_state["inspect.rf_layer"] == "pool"
    assert at.session_state["inspect.rf_row_conv"] == 7  # a key per layer, kept by its prefix
    assert "inspect.cam_layer" not in at.session_state  # "gone" is no layer of this model
    at.session_state["draw"] = True
    at.run()
    assert at.selectbox(key="inspect.rf_layer").value == "pool"
    assert at.number_input(key="inspect.rf_row_conv").value == 7
    assert at.selectbox(key="inspect.cam_layer").value == "conv"
