"""The Famous Architectures page through AppTest: every network, VGG16's conv base, a drawn
merge, functional Keras code, and "Train this" opening the Train page with the preset."""

from __future__ import annotations

import base64
import re

import pytest
from streamlit.testing.v1 import AppTest

from core.base.paths import PROJECT_ROOT
from core.nets.gallery import GALLERY_KEYS, gallery_entry, network
from core.nets.summary import summarize
from tests.apptest_helpers import choose

PAGE = str(PROJECT_ROOT / "app_pages" / "architectures.py")
APP = str(PROJECT_ROOT / "navigation.py")


@pytest.fixture(autouse=True)
def isolated_folders(tmp_path, monkeypatch):
    """The Train page, opened by "Train this", lists runs and models: keep them in tmp."""
    monkeypatch.setenv("CONVSCOPE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CONVSCOPE_MODELS_DIR", str(tmp_path / "models"))


def open_page(network: str | None = None, *, tab: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    if network is not None:
        at.query_params["network"] = network
    if tab is not None:
        at.query_params["tab"] = tab
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    """The headline figures, label to value, from their HTML block."""
    (headline,) = [block.value for block in at.html if "cs-headline" in block.value]
    pattern = r'class="lab"[^>]*>([^<]*)</div><div class="val">([^<]*)<'
    return dict(re.findall(pattern, headline))


def diagram(at: AppTest) -> str:
    """The drawn SVG, decoded from the picture in the page's HTML."""
    (drawn,) = [block.value for block in at.html if SVG_PICTURE in block.value]
    encoded = drawn.split(SVG_PICTURE, 1)[1].split('"', 1)[0]
    return base64.b64decode(encoded).decode("utf-8")


SVG_PICTURE = 'src="data:image/svg+xml;base64,'


@pytest.mark.parametrize("key", GALLERY_KEYS)
def test_every_network_opens_with_its_numbers_drawing_table_and_code(key):
    at = open_page(tab="code")
    choose(at, "arch.network", key)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    entry = gallery_entry(key)
    assert f"What makes {entry.title} special" in [header.value for header in at.subheader]
    assert "Parameters" in metrics(at)
    assert "<svg" in diagram(at)
    assert not at.get("iframe") and not at.dataframe  # a picture and a plain table instead
    (table,) = [block.value for block in at.html if "<table" in block.value]
    assert table.count("<tr>") == 1 + len(summarize(network(key)).layers)
    assert at.code[0].value.startswith("import keras")
    train_buttons = [b for b in at.button if not (b.key or "").startswith("arch.network_")]
    assert (len(train_buttons) == 1) == (entry.train_on is not None)


def test_the_code_is_built_only_when_its_tab_is_open():
    at = open_page("lenet5")  # the layer table's tab is open
    assert not at.code  # the browser loads no code highlighter for a closed tab
    assert any(c.value.startswith("Standalone Keras 3 code") for c in at.caption)
    at = open_page("lenet5", tab="code")
    assert at.code[0].value.startswith("import keras")


def test_vgg16_states_its_conv_base_of_14_714_688_parameters():
    at = open_page("vgg16")
    assert metrics(at)["Parameters"] == "138,357,544"
    assert metrics(at)["Convolutional base"] == "14,714,688"
    assert any("14,714,688 parameters" in markdown.value for markdown in at.markdown)


def test_resnet18_draws_its_merges_and_states_the_torchvision_count():
    at = open_page("resnet18")
    drawing = diagram(at)
    assert drawing.count("Add (+)") == 8
    assert metrics(at)["Trainable"] == "11,689,512"
    at.toggle(key="arch.compact").set_value(False).run()
    assert diagram(at).count(">BN<") == 20  # one box per Keras layer now


def test_googlenet_draws_its_concatenations_across_the_page():
    at = open_page("googlenet")
    assert diagram(at).count(">Concatenate<") == 9
    assert at.toggle(key="arch.compact").disabled  # nothing to fold


def test_the_keras_code_of_a_branched_network_uses_the_functional_api():
    code = open_page("resnet20", tab="code").code[0].value
    assert "keras.Model(inputs, outputs" in code and "keras.Sequential" not in code
    assert "layers.Add(" in code
    assert "keras.Sequential(" in open_page("lenet5", tab="code").code[0].value


def test_the_page_keeps_its_state_under_arch_keys_and_explains_every_control():
    at = open_page("lenet5")
    assert at.button(key="arch.network_next").help
    assert at.toggle(key="arch.compact").help
    assert at.button(key="arch.train").help
    keys = list(at.session_state._state.filtered_state)  # what the page stored
    # (the page-link helper's session-wide entries are shared by every page)
    assert keys and all(key.startswith(("arch.", "_link.")) for key in keys), keys


def open_in_app(network: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("app_pages/architectures.py").run()
    choose(at, "arch.network", network)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_train_this_opens_the_train_page_with_the_preset_chosen():
    at = open_in_app("lenet5")
    at.button(key="arch.train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [title.value for title in at.title] == ["Train a CNN"]
    assert at.session_state["train.dataset"] == "mnist"
    assert at.session_state["train.preset.mnist"] == "lenet5"
    assert not at.warning  # the preset came through the session state, not as a clash


def test_train_this_opens_a_branched_network_ready_to_train():
    at = open_in_app("resnet20")
    at.button(key="arch.train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["train.dataset"] == "cifar10"
    assert at.session_state["train.preset.cifar10"] == "resnet20"
    assert any(info.value.startswith("This network has branches") for info in at.info)
    assert not at.error
    assert at.session_state["train.spec"]["name"] == "resnet20"
    assert not at.button(key="train.start").disabled


def test_the_page_is_short():
    with open(PAGE, encoding="utf-8") as page:
        assert len(page.read().splitlines()) <= 200
