"""Adversarial examples: small, deliberate changes to an input that change the answer.

FGSM (Goodfellow et al., 2015) takes one step of size ε along the sign of the loss's
gradient with respect to the input: every pixel moves by exactly ε (or less at the ends of
[0, 1]). PGD (Madry et al., 2018) takes `steps` smaller steps of size α, each followed by a
projection back into the ε-ball around the original and into [0, 1]; by default
α = 2.5 ε / steps, so the steps can reach the ball's edge and move along it. Both raise the
cross-entropy of one class (the true one when known, else the predicted one): untargeted.

The attacks themselves (`fgsm_step`, `project`, `attack`) are plain numpy around a
`loss_gradient(image) → (loss, gradient, probabilities)` function; `model_loss_gradient`
makes one from the worker's forward pass, so the gradient comes from the same code path
as saliency and Grad-CAM.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.base.checks import as_choice, check_int, check_real
from core.jobs.inspection import (
    ATTACK_METHODS,
    MAX_ATTACK_STEPS,
    MAX_EPSILON,
    AdversarialExample,
    Attribution,
    nan_weights_message,
)

PGD_STEP_RATIO = 2.5  # α = 2.5 ε / steps (Madry et al.)

LossGradient = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


def fgsm_step(image: np.ndarray, gradient: np.ndarray, epsilon: float) -> np.ndarray:
    """`image + ε · sign(gradient)`, clipped to [0, 1].

    >>> fgsm_step(np.array([0.5, 0.5, 0.98]), np.array([2.0, -0.1, 3.0]), 0.05)
    array([0.55, 0.45, 1.  ])
    """
    return np.clip(image + epsilon * np.sign(gradient), 0.0, 1.0)


def project(candidate: np.ndarray, original: np.ndarray, epsilon: float) -> np.ndarray:
    """The nearest point to `candidate` within ±ε of `original` and inside [0, 1].

    >>> project(np.array([0.9, 0.0, -0.2]), np.array([0.5, 0.1, 0.05]), 0.1)
    array([0.6, 0. , 0. ])
    """
    return np.clip(np.clip(candidate, original - epsilon, original + epsilon), 0.0, 1.0)


def attack(
    loss_gradient: LossGradient,
    image: np.ndarray,
    *,
    method: str = "fgsm",
    epsilon: float = 8 / 255,
    steps: int = 10,
    step_size: float | None = None,
) -> tuple[np.ndarray, int, float]:
    """Raise `loss_gradient`'s loss within ±ε of `image`: `(adversarial, steps, step size)`.

    FGSM always takes one step of size ε. On a linear loss w·x the answer is known: every
    pixel moves by ε towards the sign of its weight, as far as [0, 1] allows.

    >>> weights = np.array([1.0, -2.0, 0.5])
    >>> linear = lambda x: (float(weights @ x), weights, None)
    >>> attack(linear, np.array([0.5, 0.5, 0.99]), method="fgsm", epsilon=0.1)[0]
    array([0.6, 0.4, 1. ])
    >>> attack(linear, np.array([0.5, 0.5, 0.99]), method="pgd", epsilon=0.1, steps=5)[0]
    array([0.6, 0.4, 1. ])
    """
    method = as_choice(method, "method", ATTACK_METHODS)
    epsilon = check_real(epsilon, "epsilon", minimum=0, maximum=MAX_EPSILON)
    steps = check_int(steps, "steps", minimum=1, maximum=MAX_ATTACK_STEPS)
    original = np.asarray(image, dtype=np.float64)
    if method == "fgsm":
        _, gradient, _ = loss_gradient(original)
        return fgsm_step(original, gradient, epsilon), 1, epsilon
    if step_size is None:
        step_size = PGD_STEP_RATIO * epsilon / steps
    step_size = check_real(step_size, "step_size", minimum=0)
    adversarial = original.copy()
    for _ in range(steps):
        _, gradient, _ = loss_gradient(adversarial)
        adversarial = project(adversarial + step_size * np.sign(gradient), original, epsilon)
    return adversarial, steps, step_size


def model_loss_gradient(tf, forward, class_index: int) -> LossGradient:
    """`image → (cross-entropy of class_index, ∂loss/∂image, probabilities)` for one model.

    `forward(batch, tape)` is the worker's forward pass: `(scores, what they are,
    probabilities)`, watching the batch; scores are logits when the model ends in softmax
    (the numerically stable loss), else the output probabilities.
    """

    def loss_gradient(image: np.ndarray):
        batch = tf.constant(np.asarray(image, dtype=np.float32)[np.newaxis])
        with tf.GradientTape() as tape:
            scores, score_name, probabilities = forward(batch, tape)
            if score_name == "logit":
                loss = tf.nn.sparse_softmax_cross_entropy_with_logits([class_index], scores)[0]
            else:
                loss = -tf.math.log(tf.maximum(scores[0, class_index], 1e-12))
        gradient = np.asarray(tape.gradient(loss, batch)[0], dtype=np.float64)
        return float(loss), gradient, np.asarray(probabilities[0], dtype=np.float32)

    return loss_gradient


def adversarial_example(
    loss_gradient: LossGradient,
    grad_cam: Callable[[np.ndarray, int], Attribution],
    image: np.ndarray,
    class_index: int,
    method: str = "fgsm",
    epsilon: float = 8 / 255,
    steps: int = 10,
) -> AdversarialExample:
    """Attack `image` and say what changed: probabilities, loss and Grad-CAM, before and after.

    Grad-CAM is of each input's predicted class (where the network looked for its answer);
    `grad_cam` raising `ValueError` or `TypeError` (a model without feature maps) leaves it None.

    Raises:
        ValueError: a bad method, ε or step count, or numbers that are not finite (NaN weights).
    """
    loss_before, _, before = loss_gradient(image)
    adversarial, taken, step_size = attack(
        loss_gradient, image, method=method, epsilon=epsilon, steps=steps
    )
    adversarial = adversarial.astype(np.float32)
    loss_after, _, after = loss_gradient(adversarial)
    if not (np.isfinite([loss_before, loss_after]).all() and np.isfinite(after).all()):
        raise ValueError(nan_weights_message("an adversarial example"))
    cams = []
    for picture, probabilities in ((image, before), (adversarial, after)):
        try:
            cams.append(grad_cam(picture, int(np.argmax(probabilities))))
        except (ValueError, TypeError):
            cams.append(None)
    return AdversarialExample(
        method=as_choice(method, "method", ATTACK_METHODS),
        epsilon=float(epsilon),
        steps=taken,
        step_size=float(step_size),
        class_index=int(class_index),
        image=adversarial,
        perturbation=(adversarial - np.asarray(image, dtype=np.float32)).astype(np.float32),
        probabilities_before=before,
        probabilities_after=after,
        loss_before=loss_before,
        loss_after=loss_after,
        cam_before=cams[0],
        cam_after=cams[1],
    )
