"""ui.architectures.picker: the network picker, the address and the fold toggle."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.nets.gallery import GALLERY_KEYS
from tests.apptest_helpers import choice_shown, choose
from ui.architectures.picker import option_label


def test_options_name_the_network_and_its_year():
    labels = [option_label(key) for key in GALLERY_KEYS]
    assert labels[:6] == [
        "LeNet-5 (1998)",
        "AlexNet (2012)",
        "VGG16 (2014)",
        "GoogLeNet (Inception v1) (2014)",
        "ResNet-18 (2015)",
        "ResNet-20 (CIFAR-10) (2015)",
    ]
    assert option_label("mlp") == "MLP (the course's baseline) (course)"


def picker_script(foldable):
    import streamlit as st

    from ui.architectures.link import LINK
    from ui.architectures.picker import compact_toggle, network_picker

    LINK.start()
    entry = network_picker()
    st.write(f"picked {entry.key}, compact {compact_toggle(foldable=foldable)}")
    LINK.sync()


def open_picker(foldable=True, **query) -> AppTest:
    at = AppTest.from_function(picker_script, args=(foldable,))
    for key, value in query.items():
        at.query_params[key] = value
    at.run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_picker_starts_at_lenet5_and_the_address_follows_the_choice():
    at = open_picker()
    assert at.session_state["arch.network"] == "lenet5"
    choose(at, "arch.network", "resnet18")
    assert "picked resnet18, compact True" in [m.value for m in at.markdown]
    assert at.query_params["network"] == "resnet18"


def test_next_steps_to_the_following_network_in_date_order():
    at = open_picker()
    assert at.radio == []  # the whole list waits in its shut popover
    at.button(key="arch.network_next").click().run()
    assert at.session_state["arch.network"] == GALLERY_KEYS[1] == "alexnet"
    assert choice_shown(at, "arch.network") == "AlexNet (2012)"
    assert at.query_params["network"] == "alexnet"


def test_the_address_picks_the_first_network_shown():
    assert open_picker(network="googlenet").session_state["arch.network"] == "googlenet"


def test_an_unknown_network_in_the_address_is_named_and_lenet5_shown():
    at = open_picker(network="resnet50")
    assert at.session_state["arch.network"] == "lenet5"
    assert '"network=resnet50"' in at.warning[0].value


def test_every_control_has_a_tooltip():
    at = open_picker()
    assert at.button(key="arch.network_next").help
    assert at.toggle(key="arch.compact").help


def test_the_toggle_is_off_and_disabled_when_nothing_folds():
    at = open_picker(foldable=False)
    assert at.toggle(key="arch.compact").disabled
    assert "picked lenet5, compact False" in [m.value for m in at.markdown]


def wrap_script():
    from ui.architectures.picker import wrap_labels

    wrap_labels()


def test_wrap_labels_lets_checkbox_and_metric_labels_wrap_on_the_page():
    at = AppTest.from_function(wrap_script).run(timeout=30)
    (style,) = [block.value for block in at.html]
    assert style.startswith("<style>") and style.endswith("</style>")  # nothing drawn
    assert '[data-testid="stCheckbox"]' in style and '[data-testid="stMetricLabel"]' in style
    assert "{white-space:normal;" in style
