"""Keep Python's full garbage collections off the objects the server holds for good.

A full collection walks every object the process holds: on this server, after its imports
(NumPy, SciPy, Plotly, Streamlit, the app), some 150,000 of them, for 80–130 ms with the
interpreter lock held. In a lecture room that stalls every student's follow that is under
way. ``gc.freeze`` moves the objects alive now out of the collector's sight: later full
collections walk only what came after (about 10 ms here).

``after_run`` does it at the end of a script run whenever modules were imported since the
last time (a page's first visit imports its modules), after a collection, so that no
garbage is frozen. Objects frozen stay until the process ends, even if they become
garbage: a few sessions' worth, from the handful of runs that imported something new.
Only in a real server (not under AppTest or a test process); ``CONVSCOPE_GC_FREEZE=0``
turns it off.
"""

from __future__ import annotations

import gc
import os
import sys

FREEZE_ENV = "CONVSCOPE_GC_FREEZE"  # "0": never freeze

_frozen_at_modules = 0  # len(sys.modules) at the last freeze


def freeze_if_new_modules() -> bool:
    """Collect and freeze when modules were imported since the last freeze.

    Returns whether it froze (``tests/ui/test_gc_freeze.py`` runs it in a process of its
    own: frozen objects stay frozen).
    """
    global _frozen_at_modules
    if len(sys.modules) == _frozen_at_modules:
        return False
    gc.collect()
    gc.freeze()
    _frozen_at_modules = len(sys.modules)
    return True


def in_server() -> bool:
    """Whether this process is a Streamlit server (AppTest runs scripts without one)."""
    from streamlit.runtime import Runtime

    return Runtime.exists()


def after_run() -> None:
    """Call at the end of ``app.py``: freeze what the server now holds for good."""
    if os.environ.get(FREEZE_ENV, "").strip() == "0" or not in_server():
        return
    freeze_if_new_modules()
