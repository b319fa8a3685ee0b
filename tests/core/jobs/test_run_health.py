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


# -- learning_warnings: crafted predictions -------------------------------------------------

from core.jobs.run_health import learning_warnings  # noqa: E402
from core.worker.evaluation import evaluate_predictions  # noqa: E402

CONFIG = {"learning_rate": 0.01, "epochs": 2, "augmentation": {"flip": "none"}}


def _evaluation(predicted, true, names=("cats", "dogs")):
    import numpy as np

    probabilities = np.full((len(predicted), len(names)), 0.1 / max(len(names) - 1, 1))
    probabilities[np.arange(len(predicted)), predicted] = 0.9
    return evaluate_predictions(probabilities, np.asarray(true), list(names))[0]


def test_one_class_for_everything_is_named_with_its_share_and_the_blind_guess():
    true = [0] * 50 + [1] * 50
    predicted = [0] * 100  # the case: "cats" for everything, 50%
    (warning,) = learning_warnings(_evaluation(predicted, true), CONFIG, params=1_234_567)
    assert "“cats” for 100% of the test images" in warning.problem
    assert "(50%) is no better than always answering “cats” (50%)" in warning.problem
    text = " ".join(warning.remedies)
    assert "learning rate (now 0.01; try 0.002)" in text
    assert "More epochs (now 2; try 5)" in text
    assert "Augmentation" in text
    assert "smaller model than 1,234,567 weights" in text
    assert warning.as_text().startswith("Warning: It predicts")


def test_chance_accuracy_without_one_class_is_named():
    rng = __import__("numpy").random.default_rng(0)
    true = [0, 1, 2, 3] * 50
    predicted = rng.integers(0, 4, size=200)  # random guesses: about 25%
    (warning,) = learning_warnings(_evaluation(predicted, true, "abcd"), CONFIG)
    assert "no better than always answering" in warning.problem
    assert "predicts “" not in warning.problem


def test_mostly_one_class_while_better_than_chance_is_still_a_collapse():
    true = [0] * 10 + [1] * 90
    predicted = [0] * 10 + [1] * 85 + [0] * 5  # 95% right: follows an unbalanced truth
    assert learning_warnings(_evaluation(predicted, true), CONFIG) == []
    true = [0] * 50 + [1] * 50
    predicted = [0] * 50 + [0] * 42 + [1] * 8  # 58% right, but "cats" for 92%
    (warning,) = learning_warnings(_evaluation(predicted, true), CONFIG)
    assert "“cats” for 92%" in warning.problem and "hardly learned" in warning.problem


def test_a_network_that_learned_gets_no_warning_and_nor_do_tiny_or_missing_results():
    true = [0] * 50 + [1] * 50
    predicted = [0] * 45 + [1] * 5 + [1] * 40 + [0] * 10  # 85%
    assert learning_warnings(_evaluation(predicted, true), CONFIG) == []
    assert learning_warnings(_evaluation([0] * 4, [0, 1, 0, 1]), CONFIG) == []  # 4 images
    assert learning_warnings(None, CONFIG) == []
    assert learning_warnings({"confusion_matrix": "damaged"}, CONFIG) == []


def test_augmentation_is_not_suggested_when_it_is_on_and_numbers_are_left_out_when_unknown():
    evaluation = _evaluation([0] * 100, [0, 1] * 50)
    (warning,) = learning_warnings(evaluation, {"augmentation": {"zoom": 0.1}})
    text = " ".join(warning.remedies)
    assert "Augmentation" not in text and "now" not in text
    assert "learning rate" in text and "More epochs" in text and "smaller model" in text


def test_a_live_run_is_judged_on_validation_accuracy_after_two_epochs():
    at_chance = [{"epoch": 1, "val_accuracy": 0.5}, {"epoch": 2, "val_accuracy": 0.52}]
    (warning,) = learning_warnings(None, CONFIG, epochs=at_chance, num_classes=2)
    assert "After 2 epochs" in warning.problem and "(52%)" in warning.problem
    assert learning_warnings(None, CONFIG, epochs=at_chance[:1], num_classes=2) == []
    learned = [*at_chance, {"epoch": 3, "val_accuracy": 0.8}]
    assert learning_warnings(None, CONFIG, epochs=learned, num_classes=2) == []
    no_validation = [{"epoch": 1, "accuracy": 0.5}, {"epoch": 2, "accuracy": 0.5}]
    assert learning_warnings(None, CONFIG, epochs=no_validation, num_classes=2) == []
