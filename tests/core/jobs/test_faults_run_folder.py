"""Run folders edited, truncated or deleted by hand: every reader still answers (no exception),
what can be read is read, and `run_problems` names what is broken in plain words.

The folders are written file by file as a worker writes them (`tests.helpers_faults`), then
broken the way a person would: a truncated file, JSON of the wrong shape, a deleted file, a
stray file, a folder deleted while it is listed.
"""

from __future__ import annotations

import json
import shutil

import pytest

from core.jobs import runs
from core.jobs.training_job import TrainingJob
from tests.helpers_faults import DAMAGES, finished_run


@pytest.fixture()
def run_dir(tiny_dataset, runs_root):
    return finished_run(tiny_dataset, runs_root)


def read_everything(run_dir):
    """Every reader the Train page calls on a run."""
    job = TrainingJob.attach(run_dir)
    return {
        "status": job.status(),
        "progress": job.progress(),
        "snapshots": job.snapshots(),
        "evaluation": job.evaluation(),
        "predictions": job.predictions(),
        "config": job.config,
        "metadata": job.model_metadata(),
        "problems": job.problems(),
    }


def test_an_intact_run_has_no_problems(run_dir):
    read = read_everything(run_dir)
    assert read["problems"] == []
    assert read["status"].state == "finished"
    assert len(read["progress"].batches) == 8 and len(read["progress"].epochs) == 2
    assert read["evaluation"]["num_test"] == len(read["predictions"]["true"]) == 64


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_run_broken_by_hand_is_read_as_far_as_it_can_be_and_the_damage_named(run_dir, damage):
    intact = read_everything(run_dir)
    break_it, phrase = DAMAGES[damage]
    break_it(run_dir)
    read = read_everything(run_dir)  # never raises
    assert any(phrase in problem for problem in read["problems"]), read["problems"]
    # Each damage costs only its own part: the rest reads as before.
    if not damage.startswith("progress"):
        assert read["progress"] == intact["progress"]
    if not damage.startswith("evaluation"):
        assert read["evaluation"] == intact["evaluation"]
    else:
        assert read["evaluation"] is None
    if damage.startswith("predictions"):
        assert read["predictions"] is None
    if damage.startswith("status"):
        assert read["status"].state == "failed"
        assert "status file (status.json) is missing or damaged" in read["status"].error
        assert not read["status"].is_live
    elif not damage.startswith("config"):
        assert read["status"] == intact["status"]
    if damage.startswith("progress"):
        # The cut last line (epoch 2) and the garbage line are left out; the rest is kept.
        assert len(read["progress"].epochs) == 1 and len(read["progress"].batches) == 8


def test_a_run_with_a_broken_config_is_still_listed_with_its_problem(run_dir, runs_root):
    (run_dir / runs.CONFIG_FILE).write_text("{oops")
    [listed] = runs.list_runs(runs_root)
    assert listed.run_dir == run_dir and listed.run_id == run_dir.name
    assert listed.problem == runs.CONFIG_DAMAGED
    assert listed.status.state == "finished"
    assert listed.model_name == "?" and listed.dataset_name == "?"


def test_values_of_the_wrong_type_are_dropped_not_raised(run_dir):
    (run_dir / runs.PROGRESS_FILE).write_text(
        '{"type": "batch", "step": "three", "loss": 1}\n'
        '{"type": "epoch", "epoch": null}\n'
        '{"type": "batch", "step": 4, "loss": "high", "accuracy": 0.5}\n'
    )
    status = json.loads((run_dir / runs.STATUS_FILE).read_text())
    status.update(epoch="two", epochs=[2], elapsed_seconds="long", test_accuracy=True)
    (run_dir / runs.STATUS_FILE).write_text(json.dumps(status))
    (run_dir / runs.SNAPSHOT_DIR / runs.SNAPSHOT_INDEX_FILE).write_text(
        '{"step": 1}\n{"file": "../../etc/passwd"}\n[1, 2]\n'
    )
    read = read_everything(run_dir)
    assert [b["step"] for b in read["progress"].batches] == [4]
    assert read["progress"].epochs == []
    assert read["snapshots"] == []
    assert read["status"].state == "finished" and read["status"].epoch == 0
    assert read["status"].test_accuracy is None
    assert 0.0 <= read["status"].fraction_done <= 1.0


def test_stray_files_and_folders_in_the_runs_folder_are_not_runs(run_dir, runs_root):
    (runs_root / "notes.txt").write_text("a stray file")
    (runs_root / "datasets").mkdir()
    (runs_root / "empty").mkdir()
    (runs_root / ".hidden").mkdir()
    (run_dir / "stray.bin").write_bytes(b"\0" * 10)
    assert [run.run_dir for run in runs.list_runs(runs_root)] == [run_dir]
    assert read_everything(run_dir)["problems"] == []


def test_a_run_folder_deleted_while_listed_is_not_brought_back(run_dir, runs_root):
    [listed] = runs.list_runs(runs_root)
    shutil.rmtree(run_dir)
    status = runs.read_status(listed.run_dir)
    assert status.state == "failed" and not status.is_live
    assert runs.mark_failed_if_live(listed.run_dir, "gone") is False
    TrainingJob(listed.run_dir).poll()  # the page's poll of a run that has gone
    assert not run_dir.exists()  # no status or heartbeat file recreated it
    with pytest.raises(FileNotFoundError, match="not a training run folder"):
        TrainingJob.attach(listed.run_dir)
    assert runs.list_runs(runs_root) == []


def test_a_live_run_whose_status_was_damaged_by_hand_is_told_apart_from_a_dead_one(
    tiny_dataset, runs_root
):
    """While setting up (no worker yet, config fresh) a missing status reads as starting."""
    from core.jobs.training_job import prepare_run
    from tests.helpers_training import tiny_spec_dict

    fresh = prepare_run(tiny_spec_dict(), tiny_dataset, runs_root_dir=runs_root)
    (fresh / runs.STATUS_FILE).unlink()
    assert runs.read_status(fresh).state == "queued"
    config = json.loads((fresh / runs.CONFIG_FILE).read_text())
    (fresh / runs.CONFIG_FILE).write_text(json.dumps({**config, "created": 0}))
    assert runs.read_status(fresh).state == "failed"  # long ago, and no worker ever wrote it
