"""``bench/rerun_cpu.py`` against two real servers (this checkout timed beside itself): it
must run the page through the websocket client and print a CPU figure per run for each."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_it_prints_the_cpu_per_run_of_both_servers_and_their_ratio():
    finished = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "rerun_cpu.py"),
            "--runs",
            "3",
            "--rounds",
            "2",
            "--before",
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    medians = dict(re.findall(r"^\s+(now|before)\s+median\s+([\d.]+)", finished.stdout, re.M))
    assert set(medians) == {"now", "before"}, finished.stdout
    assert all(float(value) > 0 for value in medians.values())  # a run costs the server CPU
    assert re.search(r"now / before: \d+\.\d\d", finished.stdout)
