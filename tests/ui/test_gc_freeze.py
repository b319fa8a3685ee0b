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


def test_one_freeze_per_process_after_a_collection():
    out = run_isolated(
        """
        import gc, weakref
        from ui import gc_freeze

        class Node:
            pass

        cycle = Node(); cycle.me = cycle; gone = weakref.ref(cycle); del cycle
        kept = Node(); kept.me = kept
        print(gc_freeze.freeze_once(), gc.get_freeze_count() > 1000, gone() is None)
        # what a full collection walks: the frozen objects are not there, newer ones are
        later = Node(); later.me = later
        walked = gc.get_objects(generation=2) + gc.get_objects(generation=0)
        print(any(o is kept for o in walked), any(o is later for o in walked))
        # a second call freezes nothing more: a session alive now stays collectable
        frozen = gc.get_freeze_count()
        print(gc_freeze.freeze_once(), gc.get_freeze_count() == frozen)
        dropped = weakref.ref(later); del later, walked; gc.collect()
        print(dropped() is None)
        """
    )
    assert out.splitlines() == [
        "True True True",  # froze after collecting: the dropped cycle is gone, not frozen
        "False True",
        "False True",
        "True",
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
