"""The short soak (`bench/soak.py --minutes 2`): a real app server driven by two browser
sessions that train, inspect, upload and navigate.

It asserts what must hold however slow the machine is: no worker is left once the sessions
have ended (only the warm inspection worker may stay, by design), none outlives the server,
the server logged no traceback and no page showed an exception, and the server's memory grew
little over the last half (a share of its first sample, not a number of megabytes).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def soak(tmp_path_factory):
    figures = tmp_path_factory.mktemp("soak") / "soak.json"
    finished = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "soak.py"),
            "--minutes",
            "2",
            "--sessions",
            "2",
            "--interval",
            "15",
            "--json",
            str(figures),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    print(finished.stdout[-6000:])  # the samples and the verdicts, shown when a test fails
    assert finished.returncode == 0, finished.stderr[-3000:]
    return json.loads(figures.read_text())


def test_the_sessions_did_real_work(soak):
    done = sum(sum(actions.values()) for actions in soak["actions"].values())
    assert done >= 2, (soak["actions"], soak["failures"])
    assert max(sample["runs"] for sample in soak["samples"]) >= 1  # a run folder was made


def test_no_worker_is_left_once_the_sessions_have_ended(soak):
    assert "train" not in soak["workers_after_sessions"], soak["workers_after_sessions"]
    assert soak["workers_after_sessions"] in ([], ["serve"])  # the warm worker may stay
    assert soak["final_processes"] == soak["first_processes"] + len(soak["workers_after_sessions"])
    assert soak["workers_outliving_the_server"] == []


def test_no_traceback_in_the_server_log_and_no_exception_on_a_page(soak):
    assert soak["tracebacks_in_log"] == 0
    assert soak["exception_boxes"] == 0


def test_the_server_memory_grows_little_over_the_last_half(soak):
    # The first sample is the bare server (about 70 MB); pages seen for the first time fill
    # their caches (a data set is tens of MB), so only a gross leak can fail this.
    assert soak["server_growth_last_half"] < 1.0, soak["samples"]
