"""AppTest helper: keep the Kernel Playground's popovers open, as a visitor who opened them.

Their widgets are drawn only while open (ui/kernel_playground/controls.py), and an
AppTest run does not send a popover's state back, so each run opens them again.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

# The sliding options, the kernel tools, and the output pixel's "Go to…" boxes.
POPOVERS = (
    "kernel.sliding_more",
    "kernel.tools",
    "demo.tools",
    "kernel.row_goto",
    "kernel.col_goto",
)


def unfolded(at: AppTest) -> AppTest:
    """``at`` with every popover of ``POPOVERS`` open in each of its runs (the first too)."""
    run = at._run

    def run_unfolded(*args, **kwargs):
        for key in POPOVERS:
            at.session_state[key] = True
        return run(*args, **kwargs)

    at._run = run_unfolded
    return at
