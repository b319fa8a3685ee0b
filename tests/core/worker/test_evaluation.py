"""Tests for core.worker.evaluation.evaluate_predictions: known answers, and properties checked
against a plain loop over the images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.worker.evaluation import MAX_MISCLASSIFIED, evaluate_predictions


def test_evaluate_predictions_counts_a_known_confusion_matrix():
    probabilities = np.array(
        [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.7, 0.2, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]
    )
    y_true = np.array([0, 1, 1, 2, 2])
    evaluation, predictions = evaluate_predictions(probabilities, y_true, ["a", "b", "c"])
    assert evaluation["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [1, 0, 1]]
    assert evaluation["per_class_accuracy"] == [1.0, 0.5, 0.5]
    assert evaluation["test_accuracy"] == pytest.approx(3 / 5)
    expected_loss = -np.mean(np.log([0.9, 0.8, 0.2, 0.5, 0.1]))
    assert evaluation["test_loss"] == pytest.approx(expected_loss)
    # Most confident mistake first: index 2 (0.7) before index 4 (0.6).
    assert [m["index"] for m in evaluation["misclassified"]] == [2, 4]
    assert predictions["predicted"].tolist() == [0, 1, 0, 2, 0]


def test_a_class_without_test_images_has_no_accuracy_rather_than_zero():
    evaluation, _ = evaluate_predictions(
        np.array([[0.9, 0.1, 0.0], [0.3, 0.7, 0.0]]), np.array([0, 1]), ["a", "b", "c"]
    )
    assert evaluation["per_class_accuracy"] == [1.0, 1.0, None]
    assert evaluation["confusion_matrix"][2] == [0, 0, 0]


def test_a_zero_probability_for_the_true_class_gives_a_finite_loss():
    evaluation, _ = evaluate_predictions(np.array([[1.0, 0.0]]), np.array([1]), ["a", "b"])
    assert evaluation["test_loss"] == pytest.approx(-np.log(1e-7))
    assert evaluation["num_misclassified"] == 1


def test_no_images_give_no_figures_and_valid_json():
    evaluation, predictions = evaluate_predictions(np.zeros((0, 2)), np.zeros(0), ["a", "b"])
    assert (evaluation["test_accuracy"], evaluation["test_loss"]) == (None, None)
    assert evaluation["num_test"] == 0 and predictions["predicted"].shape == (0,)
    json.dumps(evaluation, allow_nan=False)


def test_the_list_of_mistakes_is_capped_but_all_are_counted():
    count = MAX_MISCLASSIFIED + 50
    confidence = np.linspace(0.51, 0.99, count)
    probabilities = np.stack([confidence, 1 - confidence], axis=1)  # all predict class 0
    evaluation, _ = evaluate_predictions(probabilities, np.ones(count, np.int64), ["a", "b"])
    assert evaluation["num_misclassified"] == count
    listed = evaluation["misclassified"]
    assert len(listed) == MAX_MISCLASSIFIED
    assert [m["index"] for m in listed] == list(range(count - 1, count - 1 - MAX_MISCLASSIFIED, -1))
    assert listed[0] == {"index": count - 1, "true": 1, "predicted": 0, "confidence": 0.99}


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=2, max_value=5).flatmap(
        lambda classes: st.tuples(
            st.just(classes),
            st.lists(
                st.tuples(
                    st.lists(st.floats(0.01, 1.0), min_size=classes, max_size=classes, unique=True),
                    st.integers(0, classes - 1),
                ),
                min_size=1,
                max_size=30,
            ),
        )
    )
)
def test_the_figures_agree_with_a_loop_over_the_images(case):
    classes, rows = case
    scores = np.array([row for row, _ in rows])
    probabilities = scores / scores.sum(axis=1, keepdims=True)
    y_true = np.array([label for _, label in rows])
    names = [f"class {i}" for i in range(classes)]
    evaluation, predictions = evaluate_predictions(probabilities, y_true, names)

    confusion = [[0] * classes for _ in range(classes)]
    correct, loss = 0, 0.0
    for probability, label in zip(probabilities, y_true, strict=True):
        guess = max(range(classes), key=lambda c: probability[c])
        confusion[label][guess] += 1
        correct += guess == label
        loss -= np.log(max(probability[label], 1e-7))
    assert evaluation["confusion_matrix"] == confusion
    assert evaluation["test_accuracy"] == pytest.approx(correct / len(rows))
    assert evaluation["test_loss"] == pytest.approx(loss / len(rows))
    assert evaluation["num_misclassified"] == len(rows) - correct
    assert predictions["true"].tolist() == y_true.tolist()
    np.testing.assert_allclose(
        predictions["confidence"], probabilities.max(axis=1).astype(np.float32)
    )
    json.dumps(evaluation, allow_nan=False)
