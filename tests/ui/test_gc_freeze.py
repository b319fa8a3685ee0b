"""ui.gc_freeze: full collections skip what the server holds for good, never garbage."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from ui import gc_freeze

ROOT = Path(__file__).resolve().parents[2]


def run_isolated(code: str) -> str:
    """Run ``code`` in a fresh interpreter (a freeze would stay in this test process)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_a_freeze_follows_new_imports_only_and_never_keeps_garbage():
    out = run_isolated(
        """
        import gc, weakref
        from ui import gc_freeze

        class Node:
            pass

        cycle = Node(); cycle.me = cycle; gone = weakref.ref(cycle); del cycle
        kept = Node(); kept.me = kept
        first = gc_freeze.freeze_if_new_modules()
        frozen = gc.get_freeze_count()
        print(first, frozen > 1000, gone() is None)
        print(gc_freeze.freeze_if_new_modules(), gc.get_freeze_count() == frozen)
        import colorsys  # a page's first visit imports its modules
        print(gc_freeze.freeze_if_new_modules(), gc.get_freeze_count() >= frozen)
        # what a full collection walks: the frozen objects are not there, newer ones are
        later = Node()
        walked = gc.get_objects(generation=2) + gc.get_objects(generation=0)
        print(any(o is kept for o in walked), any(o is later for o in walked))
        """
    )
    assert out.splitlines() == [
        "True True True",  # froze after collecting: the dropped cycle is gone, not frozen
        "False True",  # nothing imported since: no second collection and freeze
        "True True",
        "False True",
    ]


def test_the_switch_and_a_process_without_a_server_leave_the_collector_alone():
    out = run_isolated(
        """
        import gc, os
        from ui import gc_freeze

        gc_freeze.after_run()  # no Streamlit server in this process
        print(gc.get_freeze_count())
        gc_freeze.in_server = lambda: True
        os.environ[gc_freeze.FREEZE_ENV] = "0"
        gc_freeze.after_run()
        print(gc.get_freeze_count())
        del os.environ[gc_freeze.FREEZE_ENV]
        gc_freeze.after_run()
        print(gc.get_freeze_count() > 0)
        """
    )
    assert out.splitlines() == ["0", "0", "True"]


def test_apptest_runs_the_app_without_a_server():
    assert gc_freeze.in_server() is False
