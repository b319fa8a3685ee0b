"""ui.widgets.bar_list: horizontal bars as HTML, every value printed beside its bar."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import html_in, keyed_block
from ui.widgets.bar_list import BAR_COLOR, HIGHLIGHT_COLOR, bars_html


def widths(page: str) -> list[float]:
    return [float(width) for width in re.findall(r"width:([\d.]+)%", page)]


def test_bars_are_as_long_as_their_share_of_the_top_value():
    page = bars_html([10, 40, 0], ["a", "b", "c"], texts=["10", "40", "0"])
    assert widths(page) == [25.0, 100.0, 0.0]  # the largest value fills the row
    page = bars_html([0.2, 0.5], ["a", "b"], texts=["20%", "50%"], top=1.0)
    assert widths(page) == [20.0, 50.0]


def test_every_value_is_printed_and_labels_are_plain_text():
    page = bars_html([1, 2], ["<b>cat</b>", "dog & co"], texts=["1", "2"])
    assert "&lt;b&gt;cat&lt;/b&gt;" in page and "<b>" not in page
    assert "dog &amp; co" in page
    assert re.findall(r">(\d)</div>", page) == ["1", "2"]


def test_only_the_highlighted_bar_is_orange():
    page = bars_html([1, 2, 3], ["a", "b", "c"], texts=["1", "2", "3"], highlight=1)
    colours = re.findall(r"background:(#[0-9a-f]{6});border-radius", page)
    assert colours == [BAR_COLOR, HIGHLIGHT_COLOR, BAR_COLOR]


def test_nothing_to_draw_draws_empty_bars_not_an_error():
    page = bars_html([np.nan, -1.0, 0.0], ["a", "b", "c"], texts=["?", "-1", "0"])
    assert widths(page) == [0.0, 0.0, 0.0]
    assert widths(bars_html([5.0], ["a"], texts=["5"], top=2.0)) == [100.0]  # capped


def test_lists_of_different_lengths_are_refused_by_name():
    with pytest.raises(ValueError, match="`values`, `labels` and `texts` must have the same"):
        bars_html([1, 2], ["a"], texts=["1", "2"])


def bars_script():
    from ui.widgets.bar_list import show_bars

    show_bars([3, 1], ["x", "y"], texts=["3", "1"], key="demo.bars", highlight=0)


def test_the_bars_sit_in_a_container_named_by_its_key():
    at = AppTest.from_function(bars_script).run()
    assert not at.exception
    page = html_in(keyed_block(at, "demo.bars"))
    assert widths(page) == [100.0, pytest.approx(33.3)]
