"""The Pooling page through AppTest: the slides' examples, stepping, backprop, errors, lessons."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.base.paths import PROJECT_ROOT
from core.imaging.seed_examples import POOL_EXAMPLES
from core.ops.pooling import pool2d_gradient
from tests.apptest_helpers import formulas, markdown_text, result_tables
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.pooling.link import TAB_NAMES

PAGE = str(PROJECT_ROOT / "app_pages" / "pooling.py")


@pytest.fixture()
def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_tab(at: AppTest, index: int) -> AppTest:
    """Open a tab as a click does: the page reruns and the open tab draws its lesson."""
    at.session_state["pool.tab"] = TAB_NAMES[index]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def load_example(at: AppTest, key: str) -> AppTest:
    at.selectbox(key="pool.example").set_value(key)
    at.button(key="pool.load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("key", sorted(POOL_EXAMPLES))
def test_each_pooling_example_reproduces_the_slide(page, key):
    at = load_example(page, key)
    assert not at.error
    np.testing.assert_array_equal(result_tables(at)[0], POOL_EXAMPLES[key].expected)


def test_first_window_and_winner_are_explained(page):
    at = load_example(page, "pool_a_stride2")
    assert "Output (0, 0): max(10, 12, 6, 8) = **12**" in markdown_text(at)
    assert "⌊(4 − 2) / 2⌋ + 1 = 2" in "\n".join(formulas(at))


def test_stepping_through_stride_1_windows(page):
    at = load_example(page, "pool_a_stride1")
    expected = POOL_EXAMPLES["pool_a_stride1"].expected
    for step in range(9):
        at.slider(key="pool.stepper.step").set_value(step).run()
        row, col = divmod(step, 3)
        assert f"Output ({row}, {col}): max(" in markdown_text(at)
        assert f"= **{expected[row, col]:g}**" in markdown_text(at)
    at.button(key="pool.stepper.first").click().run()
    assert at.session_state["pool.stepper.step"] == 0


def test_average_pooling_shows_the_mean(page):
    at = load_example(page, "pool_a_stride2")
    at.radio(key="pool.method").set_value("average").run()
    np.testing.assert_array_equal(result_tables(at)[0], [[9, 4], [10.75, 13.25]])
    assert "(10 + 12 + 6 + 8) / 4 = **9**" in markdown_text(at)


@pytest.mark.parametrize("method", ["max", "average"])
def test_backprop_routes_gradient(page, method):
    at = load_example(page, "pool_a_stride1")
    at.radio(key="pool.method").set_value(method)
    at.toggle(key="pool.backprop").set_value(True).run()
    assert not at.exception
    image = POOL_EXAMPLES["pool_a_stride1"].image
    upstream = np.arange(1.0, 10.0).reshape(3, 3)
    expected = pool2d_gradient(image, upstream, pool_size=2, strides=1, method=method)
    text = markdown_text(at)
    if method == "max":
        assert "goes **entirely** to input cell (0, 1)" in text
        # 12 at (0, 1) wins windows (0, 0) and (0, 1): gradients 1 + 2
        assert expected[0, 1] == 3
    else:
        assert "**shared** by its 4 real cells: 0.25 each" in text
    assert np.isclose(expected.sum(), upstream.sum())


def test_same_padding_pads_and_counts_only_real_cells(page):
    at = load_example(page, "pool_b_stride2")
    at.number_input(key="pool.size_rows").set_value(3)
    at.number_input(key="pool.size_cols").set_value(3)
    at.radio(key="pool.padding").set_value("same").run()
    assert not at.error
    assert result_tables(at)[0].shape == (2, 2)
    assert "1 cell before" not in "\n".join(c.value for c in at.caption)  # total 1: 0 + 1
    assert any("0 cells before and 1 after" in c.value for c in at.caption)


@pytest.mark.parametrize(
    ("widget", "value", "fragment"),
    [
        ("pool.stride_rows", 0, "row stride is 0"),
        ("pool.size_rows", 5, "5×2 pooling window does not fit"),
    ],
)
def test_impossible_settings_are_refused(page, widget, value, fragment):
    at = load_example(page, "pool_a_stride2")
    at.number_input(key=widget).set_value(value).run()
    assert not at.exception
    assert any(fragment in e.value for e in at.error), [e.value for e in at.error]


def test_window_larger_than_input_message_says_what_to_change(page):
    at = load_example(page, "pool_a_stride2")
    at.number_input(key="pool.size_cols").set_value(5).run()
    message = " ".join(e.value for e in at.error)
    assert "does not fit in the 4×4 input" in message and "padding 'same'" in message


def test_closed_lesson_tabs_draw_nothing_and_keep_their_controls_values(page):
    assert not page.metric and not page.get("image") and not page.dataframe
    assert [s.key for s in page.slider] == ["pool.stepper.step"]
    at = open_tab(page, 2)
    at.slider(key="pool.shift.px").set_value(3).run()
    at = open_tab(open_tab(at, 0), 3)  # two runs that do not draw the shift lesson
    at = open_tab(at, 2)
    assert at.slider(key="pool.shift.px").value == 3
    assert dict(at.query_params)["shift"] == "3"


def test_image_tab_pools_three_times_and_prints_sizes(page):
    captions = "\n".join(c.value for c in open_tab(page, 1).caption)
    assert (
        "input: **192×192** → pooled 1×: **96×96** → pooled 2×: **48×48** → pooled 3×: **24×24**"
        in captions
    )


def test_translation_tab_shows_pooling_hides_shifts(page):
    page = open_tab(page, 2)
    metrics = {m.label: m.value for m in page.metric}
    conv = float(metrics["Stride-1 convolution map changed by"].rstrip("%"))
    pooled = float(metrics["Max-pooled map (2×2) changed by"].rstrip("%"))
    assert pooled < conv
    page.slider(key="pool.shift.px").set_value(0).run()
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Stride-1 convolution map changed by"] == "0%"


def test_global_pooling_matches_numpy(page):
    page = open_tab(page, 3)
    table = next(df.value for df in page.dataframe if "global max" in df.value.columns)
    assert list(table["channel"])[:3] == ["R", "G", "B"]
    assert len(table) == 3 + 4  # colour channels and four feature maps
    assert (table["global max"] == table["pool2d, window = whole map (max)"]).all()
    assert (table["global average"] <= table["global max"]).all()
    assert "global max = **32**" in markdown_text(page)
    assert "global average = **9.25**" in markdown_text(page)


def test_every_control_has_a_tooltip(page):
    at = page
    at.toggle(key="pool.backprop").set_value(True).run()
    widgets = [*at.button, *at.number_input, *at.selectbox, *at.radio, *at.toggle, *at.slider]
    assert len(widgets) > 20
    missing = [w.key or w.label for w in widgets if not w.help]
    assert not missing
