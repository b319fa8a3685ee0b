"""Keep Python's full garbage collections off the objects the server holds for good.

A full collection walks every object the process holds: on this server, after its imports
(NumPy, SciPy, Plotly, Streamlit, the app), some 150,000 of them, for 80–130 ms with the
interpreter lock held. In a lecture room that stalls every student's follow under way.
``gc.freeze`` moves the objects alive now out of the collector's sight: later full
collections walk only what came after (14–42 ms here).

``after_run`` does it once per process, at the end of the server's first script run (the
imports are done), after a collection, so that no garbage is frozen. What is frozen stays
until the process ends, even if it becomes garbage; once, that is one session's worth at
most. Freezing again after later imports would also freeze every session alive then, whose
state could never be released. Only in a real server (not under AppTest or a test
process); ``CONVSCOPE_GC_FREEZE=0`` turns it off.
"""

from __future__ import annotations

import gc
import os
import threading

FREEZE_ENV = "CONVSCOPE_GC_FREEZE"  # "0": never freeze

_LOCK = threading.Lock()

_frozen = False


def freeze_once() -> bool:
    """Collect, then freeze what is alive, the first time only; whether it froze now.

    ``tests/ui/test_gc_freeze.py`` runs it in a process of its own: frozen objects stay.
    """
    global _frozen
    with _LOCK:
        if _frozen:
            return False
        _frozen = True
    gc.collect()
    gc.freeze()
    return True


def in_server() -> bool:
    """Whether this process is a Streamlit server (AppTest runs scripts without one)."""
    from streamlit.runtime import Runtime

    return Runtime.exists()


def after_run() -> None:
    """Call at the end of ``navigation.py``: the server's first run freezes what it holds."""
    if _frozen or os.environ.get(FREEZE_ENV, "").strip() == "0" or not in_server():
        return
    freeze_once()
