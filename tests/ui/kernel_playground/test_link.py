"""ui.kernel_playground.link through the whole page: every control goes into the address at
once and a fresh session opened on that address shows the same page (the generator's sliders,
the open tab and the picked pixel too, which the first links lost); old links still open."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.base.paths import PROJECT_ROOT
from core.ops.kernels import gaussian_kernel
from tests.apptest_helpers import choice_list, choose
from tests.ui.kernel_playground.popovers import unfolded
from ui.kernel_playground.link import LINK, TAB_SLUGS, image_names, widget_defaults
from ui.kernel_playground.tabs import TAB_NAMES

PAGE = str(PROJECT_ROOT / "app_pages" / "kernel_playground.py")


def fresh(query: dict[str, str] | None = None) -> AppTest:
    at = unfolded(AppTest.from_file(PAGE, default_timeout=60))
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def preset_box(at: AppTest):
    return choice_list(at, f"kernel.preset_choice.{at.session_state['kernel.preset_version']}")


def controls(at: AppTest) -> dict:
    """What every linked control of the page holds, as the link reads it."""
    return {item.name: LINK.value(item, at.session_state) for item in LINK.fields}


def differing(a: dict, b: dict) -> list[str]:
    """The controls whose values differ (none when the two pages are the same)."""
    return [
        name
        for name in a
        if not (np.array_equal(a[name], b[name]) if name == "k" else a[name] == b[name])
    ]


def reopened(at: AppTest) -> AppTest:
    """A fresh session on the address ``at`` shows; it must restore without a warning."""
    again = fresh(dict(at.query_params))
    assert not [w for w in again.warning if "link" in w.value]
    assert differing(controls(again), controls(at)) == []
    assert dict(again.query_params) == dict(at.query_params)
    return again


def test_the_generator_sliders_come_back_from_a_link():
    at = fresh()
    preset_box(at).set_value("gen:gaussian").run()
    at.slider(key="kernel.size").set_value(7).run()
    at.slider(key="kernel.sigma").set_value(1.5).run()
    assert at.query_params["gsize"] == "7" and at.query_params["sigma"] == "1.5"
    again = reopened(at)
    assert again.slider(key="kernel.size").value == 7
    assert again.slider(key="kernel.sigma").value == 1.5
    assert preset_box(again).value == "gen:gaussian"
    np.testing.assert_allclose(again.session_state["kernel.last_good"], gaussian_kernel(7, 1.5))


def test_a_generator_named_without_its_values_builds_them_from_the_sliders():
    at = fresh({"preset": "gen:gaussian", "gsize": "9", "sigma": "2"})
    np.testing.assert_allclose(at.session_state["kernel.last_good"], gaussian_kernel(9, 2.0))


def test_the_open_tab_comes_back():
    at = fresh()
    at.session_state["kernel.tab"] = "Frequency response"
    at.run()
    assert at.query_params["tab"] == "frequency"
    assert reopened(at).session_state["kernel.tab"] == "Frequency response"


def test_the_picked_pixel_is_in_the_address_right_after_picking_it():
    at = fresh({"img": "synthetic:example4", "pad": "valid"})
    at.number_input(key="kernel.row").set_value(1).run()
    assert at.query_params["px"] == "1,0"  # not one change later
    at.number_input(key="kernel.col").set_value(3).run()
    assert at.query_params["px"] == "1,3"
    again = reopened(at)
    assert (
        again.number_input(key="kernel.row").value,
        again.number_input(key="kernel.col").value,
    ) == (1, 3)


def test_many_controls_round_trip():
    at = fresh()
    at.radio(key="kernel.source").set_value("synthetic").run()
    choose(at, "kernel.synthetic", "checkerboard")
    at.number_input(key="kernel.stride_cols").set_value(2).run()
    at.radio(key="kernel.padding").set_value("explicit").run()
    at.number_input(key="kernel.pad_rows").set_value(3).run()
    at.radio(key="kernel.mode").set_value("reflect").run()
    at.number_input(key="kernel.dilation_rows").set_value(2).run()
    at.toggle(key="kernel.flip").set_value(True).run()
    at.number_input(key="kernel.bias").set_value(-2.5).run()
    at.toggle(key="kernel.relu").set_value(True).run()
    choose(at, "kernel.mapping", "abs")
    assert not at.exception
    params = dict(at.query_params)
    for name in ("img", "s", "pad", "p", "mode", "d", "flip", "bias", "relu", "map"):
        assert name in params, name
    reopened(at)


def test_lesson_tab_controls_round_trip():
    at = fresh()
    at.session_state["kernel.tab"] = "Noise & sharpening"
    at.run()
    at.radio(key="kernel.noise_kind").set_value("salt_pepper").run()
    at.slider(key="kernel.noise_fraction").set_value(0.25).run()
    at.slider(key="kernel.unsharp_amount").set_value(2.0).run()
    assert at.query_params["noise"] == "salt_pepper" and at.query_params["nfrac"] == "0.25"
    again = reopened(at)
    assert again.slider(key="kernel.noise_fraction").value == 0.25


def test_an_edited_kernel_round_trips_at_full_precision():
    at = fresh({"k": "1/3,0;0,-2.5", "tab": "separable"})
    np.testing.assert_allclose(at.session_state["kernel.last_good"], [[1 / 3, 0], [0, -2.5]])
    assert preset_box(at).value == "custom"
    reopened(at)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"tab": "nope"}, '"tab=nope"'),
        ({"gsize": "99"}, '"gsize=99"'),
        ({"sigma": "NaN"}, '"sigma=NaN"'),
        ({"bias": "1e9"}, '"bias=1e9"'),
        ({"px": "-1,2"}, '"px=-1,2"'),
        ({"network": "vgg16"}, '"network=vgg16"'),
    ],
)
def test_a_bad_parameter_is_named_and_the_page_stays_at_defaults(query, named):
    at = fresh(query)
    (warning,) = [w.value for w in at.warning if "link" in w.value]
    assert named in warning
    assert differing(controls(at), controls(fresh())) == []


def test_locked_and_hidden_controls():
    at = fresh({"s": "2", "lock": "s,k", "hide": "bias,relu"})
    assert at.number_input(key="kernel.stride_rows").disabled
    assert at.number_input(key="kernel.stride_cols").disabled
    cells = [button for button in at.button if button.key.startswith("kernel.view.")]
    assert len(cells) == 9 and all(button.disabled for button in cells)
    assert preset_box(at).disabled
    assert not at.number_input(key="kernel.dilation_rows").disabled
    css = "\n".join(element.proto.body for element in at.get("html"))
    assert ".st-key-kernel-bias, .st-key-kernel-bias__row {display: none" in css
    assert ".st-key-kernel-relu, .st-key-kernel-relu__row {display" in css
    assert at.query_params["lock"] == "s,k" and at.query_params["hide"] == "bias,relu"
    # the page still computes with the locked stride
    assert at.session_state["kernel.stride_rows"] == 2


def test_old_links_still_open():
    at = fresh(
        {
            "img": "synthetic:example2",
            "k": "0,1,2;2,2,0;0,1,2",
            "pad": "valid",
            "s": "1,2",
            "px": "0,1",
        }
    )
    assert not [w for w in at.warning if "link" in w.value]
    assert at.session_state["kernel.stride_cols"] == 2 and at.session_state["kernel.col"] == 1


def test_every_tab_has_a_slug_and_every_image_a_name():
    assert len(TAB_SLUGS) == len(TAB_NAMES)
    assert "photo:camera.png" in image_names() and "synthetic:impulse" in image_names()
    assert (
        widget_defaults()["kernel.stride_rows"] == 1 and "kernel.last_good" not in widget_defaults()
    )


def test_a_pixel_outside_the_output_is_named_as_stale():
    at = fresh({"img": "synthetic:example4", "pad": "valid", "px": "50,50"})
    (warning,) = [w.value for w in at.warning if "link" in w.value]
    assert '"px=50,50"' in warning and "cannot be used here" in warning
    assert at.query_params["px"] == "1,3"  # the last output pixel of the 2×4 output
