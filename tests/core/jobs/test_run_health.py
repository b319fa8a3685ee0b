"""Tests for core.jobs.run_health: each hand-made damage of a run folder is named once, in
words; a live run is not blamed for the files its worker has yet to write."""

from __future__ import annotations

import json
import os

import pytest

from core.jobs import runs
from core.jobs.run_health import run_problems
from tests.helpers_faults import DAMAGES, finished_run


@pytest.fixture()
def run_dir(tiny_dataset, runs_root):
    return finished_run(tiny_dataset, runs_root)


def test_a_whole_run_has_no_problems(run_dir):
    assert run_problems(run_dir) == []


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_each_damage_is_named_once_and_nothing_else_is_blamed(run_dir, damage):
    break_it, phrase = DAMAGES[damage]
    break_it(run_dir)
    problems = run_problems(run_dir)
    assert len(problems) == 1 and phrase in problems[0], problems
    assert all("Traceback" not in p and "Error" not in p for p in problems)


def test_a_live_run_is_not_blamed_for_files_its_worker_has_yet_to_write(run_dir):
    status = json.loads((run_dir / runs.STATUS_FILE).read_text())
    (run_dir / runs.STATUS_FILE).write_text(json.dumps({**status, "state": "running"}))
    (run_dir / runs.PID_FILE).write_text(str(os.getpid()))  # a live process as its worker
    (run_dir / runs.PULSE_FILE).touch()
    (run_dir / runs.MODEL_FILE).unlink()
    (run_dir / runs.EVALUATION_FILE).write_text("{")
    assert run_problems(run_dir) == []
    (run_dir / runs.PROGRESS_FILE).write_text('{"type": "batch", "step": 1}\n{"type": "ep')
    assert run_problems(run_dir) == []  # a last line still being written is no damage
