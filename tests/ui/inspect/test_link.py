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
    at.number_input(key="inspect.test_index").set_value(7).run()
    at.session_state["inspect.tab"] = "Saliency & Grad-CAM"
    at.run()
    at.selectbox(key="inspect.filter_layer").set_value(
        at.selectbox(key="inspect.filter_layer").options[-1]
    ).run()
    assert not at.exception
    params = dict(at.query_params)
    assert params["index"] == "7" and params["tab"] == "saliency" and "flayer" in params
    # the channel radio of the first layer is not on screen once a wide layer is picked
    again = reopened(PAGE, at, LINK, ignore=("fchannel",))
    assert again.number_input(key="inspect.test_index").value == 7


@pytest.mark.slow
def test_bad_and_stale_parameters_are_named(inspect_environment):
    at = open_page(
        PAGE, {"model": "upload:x", "index": "-2", "flayer": "no_such_layer"}, timeout=180
    )
    (warning,) = link_warnings(at)
    for given in ('"model=upload:x"', '"index=-2"', '"flayer=no_such_layer"'):
        assert given in warning
    fresh = open_page(PAGE, timeout=180)
    assert [n for n in differing(controls(at, LINK), controls(fresh, LINK)) if n != "flayer"] == []
