"""ui.train.health: the Train page warns when a network predicts one class for everything or
sits at chance, with remedies in the run's own numbers; a network that learned gets nothing.

Runs are real run folders (`prepare_run`) with the files a worker writes; no worker starts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.jobs import runs
from tests.ui.train.run_files import new_run, write_evaluation, write_progress, write_status


@pytest.fixture()
def run_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CONVSCOPE_RUNS_DIR", str(tmp_path / "runs"))
    run_dir = new_run(tmp_path / "runs", epochs=2)
    (run_dir / runs.MODEL_SIDECAR_FILE).write_text(json.dumps({"num_classes": 2, "params": 5210}))
    return run_dir


def health_script(run_dir):
    from core.jobs.training_job import TrainingJob
    from ui.train.health import show_health

    job = TrainingJob.attach(run_dir)
    show_health(job, was_live=job.status().is_live)


def warnings_shown(run_dir: Path) -> list[str]:
    at = AppTest.from_function(health_script, args=(run_dir,), default_timeout=20).run()
    assert not at.exception, [e.value for e in at.exception]
    return [w.value for w in at.warning]


def test_one_class_for_everything_is_warned_about_with_remedies(run_dir):
    write_status(run_dir, state="finished", epoch=2, epochs=2)
    write_evaluation(run_dir, [0, 1] * 10, [0] * 20, ["cats", "dogs"])
    (text,) = warnings_shown(run_dir)
    assert "“cats” for 100% of the test images" in text
    assert "no better than always answering" in text
    assert "now 0.002; try 0.0004" in text  # the run's own learning rate (TrainConfig default)
    assert "now 2; try 5" in text
    assert "Augmentation" in text and "smaller model than 5,210 weights" in text


def test_a_network_that_learned_gets_no_warning(run_dir):
    write_status(run_dir, state="finished", epoch=2, epochs=2)
    write_evaluation(run_dir, [0, 1] * 10, [0, 1] * 9 + [1, 1], ["cats", "dogs"])
    assert warnings_shown(run_dir) == []


def test_a_live_run_at_chance_after_two_epochs_is_warned_about(run_dir):
    write_status(run_dir, state="running", epoch=2, epochs=4)
    epochs = [{"epoch": e, "loss": 0.69, "accuracy": 0.5, "val_accuracy": 0.5} for e in (1, 2)]
    write_progress(run_dir, [], epochs)
    (text,) = warnings_shown(run_dir)
    assert "After 2 epochs" in text and "still at chance" in text
    write_progress(run_dir, [], epochs[:1])
    assert warnings_shown(run_dir) == []
