"""ui.architectures.link: the network, the fold toggle and the open tab restore from a link."""

from __future__ import annotations

from tests.apptest_helpers import choose
from tests.link_helpers import controls, differing, link_warnings, open_page, reopened
from ui.architectures.link import LINK

PAGE = "architectures"


def test_the_network_the_toggle_and_the_tab_round_trip():
    at = open_page(PAGE)
    assert dict(at.query_params) == {} and link_warnings(at) == []
    choose(at, "arch.network", "resnet18")
    at.toggle(key="arch.compact").set_value(False).run()
    at.session_state["arch.tab"] = "As Keras code"
    at.run()
    assert dict(at.query_params) == {"network": "resnet18", "fold": "0", "tab": "code"}
    again = reopened(PAGE, at, LINK)
    assert again.session_state["arch.network"] == "resnet18"
    assert not again.toggle(key="arch.compact").value


def test_old_network_links_still_open():
    at = open_page(PAGE, {"network": "vgg16"})
    assert at.session_state["arch.network"] == "vgg16" and link_warnings(at) == []


def test_bad_parameters_are_named_and_the_page_is_at_defaults():
    at = open_page(PAGE, {"network": "<script>", "fold": "2", "tab": "", "run": "x" * 5000})
    (warning,) = link_warnings(at)
    for given in ('"network=<script>"', '"fold=2"', '"tab="', '"run='):
        assert given in warning
    assert differing(controls(at, LINK), controls(open_page(PAGE), LINK)) == []


def test_a_locked_network():
    at = open_page(PAGE, {"network": "alexnet", "lock": "network"})
    css = "\n".join(element.proto.body for element in at.get("html"))
    assert ".st-key-arch-network, .st-key-arch-network__row {pointer-events: none" in css
