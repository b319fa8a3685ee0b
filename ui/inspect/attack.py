"""Inspect page, "Attack" tab: an adversarial example of the current input (FGSM or PGD,
`core.worker.adversarial`): the change magnified, the new prediction, Grad-CAM before and
after."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.jobs.inspection import (
    ATTACK_METHODS,
    PIXEL_LEVELS,
    AdversarialExample,
    FeatureMaps,
    ModelInfo,
)
from core.jobs.worker_client import WorkerClient, model_key
from ui.inspect import views
from ui.inspect.inputs import InputSample
from ui.inspect.layer_sections import not_numbers, reported_errors
from ui.widgets.figure_export import export_button
from ui.widgets.link_params import choice, number
from ui.widgets.tab_charts import charts_shown

METHOD_NAMES = {"fgsm": "FGSM (one step)", "pgd": "PGD (several small steps)"}
MAX_LEVELS = 64  # ε up to 64 / 255: already plainly visible on a digit
DEFAULT_LEVELS = 8
MAX_SHOWN_STEPS = 40
SIDE = 200
DEFAULT_STEPS = 10
LINK_FIELDS = (  # in the page's link (`ui.inspect.link`)
    choice("attack", "inspect.attack_method", ATTACK_METHODS[0], ATTACK_METHODS),
    number("eps", "inspect.attack_levels", DEFAULT_LEVELS, low=1, high=MAX_LEVELS),
    number("asteps", "inspect.attack_steps", DEFAULT_STEPS, low=1, high=MAX_SHOWN_STEPS),
)


@st.cache_data(max_entries=32, show_spinner=False)
def _attack(key: tuple, image: np.ndarray, class_index: int, method: str, levels: int, steps, _c):
    """One attack per model file, input, class and settings (a rerun reuses it)."""
    epsilon = levels / PIXEL_LEVELS
    return _c.adversarial_example(
        key[0], image, class_index, method=method, epsilon=epsilon, steps=steps
    )


def perturbation_rgb(perturbation: np.ndarray, epsilon: float) -> np.ndarray:
    """The change as uint8 RGB: grey 128 = unchanged, white = +ε, black = −ε (each channel).

    >>> perturbation_rgb(np.array([[[0.1], [-0.1], [0.0]]]), 0.1)[0, :, 0].tolist()
    [255, 0, 128]
    """
    scaled = 0.5 + 0.5 * perturbation / epsilon if epsilon > 0 else np.full_like(perturbation, 0.5)
    pixels = np.round(np.clip(scaled, 0, 1) * 255).astype(np.uint8)
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels[:, :, :3]


def magnification(epsilon: float) -> str:
    """How much the shown change is enlarged: ±ε spans the full grey range.

    >>> magnification(8 / 255)
    '16'
    """
    return f"{0.5 / epsilon:.0f}" if epsilon > 0 else "1"


def verdict(result: AdversarialExample, class_names: list[str]) -> str:
    """Before → after, in words.

    >>> r = AdversarialExample("fgsm", 0.1, 1, 0.1, 7, None, None, np.array([0.1, 0.9]),
    ...                        np.array([0.6, 0.4]), 0.1, 0.9, None, None)
    >>> verdict(r, ["cat", "dog"])
    'The network said **dog** (90.0%); now it says **cat** (60.0%): the attack changed its answer.'
    """
    before = int(np.argmax(result.probabilities_before))
    after = int(np.argmax(result.probabilities_after))
    outcome = (
        "the attack changed its answer."
        if before != after
        else f"still {class_names[after]}; try a larger ε or PGD."
    )
    return (
        f"The network said **{class_names[before]}** "
        f"({result.probabilities_before[before]:.1%}); now it says **{class_names[after]}** "
        f"({result.probabilities_after[after]:.1%}): {outcome}"
    )


def _controls() -> tuple[str, int, int]:
    left, middle, right = st.columns(3)
    method = left.radio(
        "Attack",
        ATTACK_METHODS,
        format_func=METHOD_NAMES.get,
        key="inspect.attack_method",
        horizontal=True,
        help="FGSM moves every pixel by ε at once, along the sign of the loss's gradient. "
        "PGD takes several smaller steps, each kept within ±ε of the original.",
    )
    levels = middle.slider(
        "ε: how far each pixel may move",
        1,
        MAX_LEVELS,
        DEFAULT_LEVELS,
        key="inspect.attack_levels",
        format="%d / 255",
        help="In grey levels of 255: 8 / 255 is barely visible to people.",
    )
    steps = right.slider(
        "PGD steps",
        1,
        MAX_SHOWN_STEPS,
        DEFAULT_STEPS,
        key="inspect.attack_steps",
        disabled=method != "pgd",
        help="Each step moves pixels by 2.5 ε / steps, then back within ±ε and 0–1.",
    )
    return method, int(levels), int(steps)


def attack_section(
    client: WorkerClient,
    path: str,
    info: ModelInfo,
    sample: InputSample,
    maps: FeatureMaps,
    class_names: list[str],
) -> None:
    """Controls, then original, change, adversarial image, prediction and Grad-CAM."""
    method, levels, steps = _controls()
    if not charts_shown():
        return  # a closed tab asks the worker for nothing
    if not_numbers(maps.probabilities):
        return  # the prediction above already says why
    predicted = int(np.argmax(maps.probabilities))
    known = sample.true_class is not None and 0 <= sample.true_class < info.num_classes
    target = int(sample.true_class) if known else predicted
    epsilon = levels / PIXEL_LEVELS
    with st.spinner("Attacking…"):
        result = reported_errors(
            lambda: _attack(model_key(path), sample.image, target, method, levels, steps, client)
        )
    if result is None:
        return
    st.markdown(verdict(result, class_names))
    pictures = [
        ("Original", views.input_rgb(sample.image)),
        (f"Change × {magnification(epsilon)}", perturbation_rgb(result.perturbation, epsilon)),
        ("Adversarial", views.input_rgb(result.image)),
    ]
    for title, cam, image in (
        ("Grad-CAM before", result.cam_before, sample.image),
        ("Grad-CAM after", result.cam_after, result.image),
    ):
        if cam is not None:
            pictures.append(
                (f"{title}: {class_names[cam.class_index]}", views.overlay(image, cam.heatmap))
            )
    columns = st.columns(len(pictures))
    for column, (title, rgb) in zip(columns, pictures, strict=True):
        column.markdown(f"**{title}**")
        enlarged = views.enlarge(rgb, SIDE)
        column.image(enlarged, width="stretch")
        export_button(enlarged, title, container=column)
    how = (
        "one step of ε along the sign of the loss's gradient"
        if method == "fgsm"
        else f"{result.steps} steps of {levels * 2.5 / result.steps:.2g} / 255, each kept within ±ε"
    )
    whose = "the true class" if known else "the prediction"
    st.caption(
        f"ε = {levels} / 255 per pixel, {how}, raising the loss of "
        f"**{class_names[target]}** ({whose}) "
        f"from {result.loss_before:.2f} to {result.loss_after:.2f}. The change is shown "
        f"{magnification(epsilon)} times larger: grey = unchanged, white = +ε, black = −ε. "
        "Grad-CAM shows where the network looked for each answer."
    )
