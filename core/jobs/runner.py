"""TODO docstring"""

from __future__ import annotations

import os
import subprocess

from core.base.paths import PROJECT_ROOT


def worker_environment() -> dict:
    """The environment for worker processes: quiet TensorFlow, ``core`` importable."""
    environment = dict(os.environ)
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    python_path = environment.get("PYTHONPATH", "")
    root = os.fspath(PROJECT_ROOT)
    if root not in python_path.split(os.pathsep):
        environment["PYTHONPATH"] = root + (os.pathsep + python_path if python_path else "")
    return environment


# Workers started by this process, so they can be reaped (no zombies) and killed.
_CHILDREN: dict[str, subprocess.Popen] = {}


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stream:
            # The state letter follows the parenthesised command name.
            return stream.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, IndexError, OSError):
        return True
