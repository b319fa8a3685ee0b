"""A trained classifier's test figures: accuracy, loss, confusion matrix, per-class accuracy and
the most confident mistakes."""

from __future__ import annotations

import numpy as np

MAX_MISCLASSIFIED = 200


def evaluate_predictions(
    probabilities: np.ndarray, y_true: np.ndarray, class_names: list[str]
) -> tuple[dict, dict]:
    """Summarise a classifier's outputs on labelled images.

    Args:
        probabilities: (N, num_classes) softmax outputs.
        y_true: (N,) true class indices.
        class_names: One name per class.

    Returns:
        ``(evaluation, predictions)``: the JSON-safe summary described in
        ``core.jobs.runs.read_evaluation`` and the per-image arrays
        ``{"true", "predicted", "confidence"}``.

    >>> evaluation, _ = evaluate_predictions(
    ...     np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), np.array([0, 1, 1]), ["a", "b"])
    >>> evaluation["confusion_matrix"], evaluation["per_class_accuracy"]
    ([[1, 0], [1, 1]], [1.0, 0.5])
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    y_true = np.asarray(y_true).astype(np.int64).reshape(-1)
    num_classes = len(class_names)
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities[np.arange(len(predicted)), predicted]
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (y_true, predicted), 1)
    per_class_total = confusion.sum(axis=1)
    per_class = [
        None if total == 0 else float(confusion[i, i] / total)
        for i, total in enumerate(per_class_total)
    ]
    true_probability = np.clip(probabilities[np.arange(len(y_true)), y_true], 1e-7, 1.0)
    wrong = np.flatnonzero(predicted != y_true)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")][:MAX_MISCLASSIFIED]
    evaluation = {
        "num_test": int(len(y_true)),
        "test_accuracy": float(np.mean(predicted == y_true)) if len(y_true) else None,
        "test_loss": float(-np.mean(np.log(true_probability))) if len(y_true) else None,
        "class_names": list(class_names),
        "confusion_matrix": confusion.tolist(),
        "per_class_accuracy": per_class,
        "num_misclassified": int(np.sum(predicted != y_true)),
        "misclassified": [
            {
                "index": int(i),
                "true": int(y_true[i]),
                "predicted": int(predicted[i]),
                "confidence": float(confidence[i]),
            }
            for i in wrong
        ],
    }
    predictions = {
        "true": y_true.astype(np.int32),
        "predicted": predicted.astype(np.int32),
        "confidence": confidence.astype(np.float32),
    }
    return evaluation, predictions
