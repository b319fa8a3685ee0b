"""ui.inspect.link: the Inspect page's model, input, tab and layer picks survive a link;
a pick the model lacks is named as stale. The page runs a real inference worker (slow)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import SHARED_DATA
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


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    saved = {key: os.environ.get(key) for key in ("CONVSCOPE_DATA_DIR", "CONVSCOPE_MODELS_DIR")}
    os.environ["CONVSCOPE_DATA_DIR"] = str(SHARED_DATA)
    os.environ["CONVSCOPE_MODELS_DIR"] = str(tmp_path_factory.mktemp("no-saved-models"))
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.mark.slow
def test_the_model_input_tab_and_picks_round_trip(environment):
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
def test_bad_and_stale_parameters_are_named(environment):
    at = open_page(
        PAGE, {"model": "upload:x", "index": "-2", "flayer": "no_such_layer"}, timeout=180
    )
    (warning,) = link_warnings(at)
    for given in ('"model=upload:x"', '"index=-2"', '"flayer=no_such_layer"'):
        assert given in warning
    fresh = open_page(PAGE, timeout=180)
    assert [n for n in differing(controls(at, LINK), controls(fresh, LINK)) if n != "flayer"] == []
