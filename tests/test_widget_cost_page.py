"""`bench/widget_cost_page.py` draws every kind of widget the benchmark times, one and many of
each, without an error: a kind that failed would be timed as an error box, not a widget."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

PAGE = ROOT / "bench" / "widget_cost_page.py"


def kinds() -> list[str]:
    import sys

    sys.path.insert(0, str(ROOT))
    from bench.widget_cost_page import WIDGETS

    return list(WIDGETS)


@pytest.mark.parametrize("kind", kinds())
def test_each_kind_draws_one_and_six_without_an_error(kind):
    for count in (1, 6):
        at = AppTest.from_file(str(PAGE))
        at.query_params.update({"kind": kind, "n": str(count)})
        at.run()
        assert not at.exception, (kind, count, [e.value for e in at.exception])
        assert at.title[0].value == "A bare page" and len(at.get("image")) == 1
