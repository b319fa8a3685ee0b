"""AppTest helper: runs with the Arithmetic, Pooling, Backpropagation and Train pages' popovers
open, as a visitor who opened them (their widgets are drawn only while open, and an AppTest
run does not send a popover's state back)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

POPOVERS = (
    "arith.sizes",
    "arith.sliding",
    "pool.sizes",
    "pool.window",
    "backprop.layer",
    "train.settings_open",
)


@pytest.fixture(autouse=True)
def popovers_open(monkeypatch):
    """Every AppTest run of the test opens ``POPOVERS`` first."""
    run = AppTest._run

    def run_open(self, *args, **kwargs):
        for key in POPOVERS:
            self.session_state[key] = True
        return run(self, *args, **kwargs)

    monkeypatch.setattr(AppTest, "_run", run_open)
