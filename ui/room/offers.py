"""The question the current page can check, offered to the lecturer's "Ask the room" button.

Convolution Arithmetic and Pooling are read from their controls' session state (the
settings on screen, the pooling window the step-through shows). Pages that compute
their answer themselves (the Kernel Playground's picked pixel, Inspect's prediction)
hand it over with one call (``offer_pixel_question``, ``offer_class_question``) each time
they run. The question is built only when the lecturer asks, from the state then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.jobs.room_questions import (
    output_size_question,
    pixel_value_question,
    pool_winner_question,
    predicted_class_question,
)
from core.jobs.rooms import Question
from core.ops.pooling import pool_output_shape
from ui.room.state import current_page

OFFERS = "room.offers"  # page url path → Offer handed over by that page


@dataclass(frozen=True)
class Offer:
    """What the lecturer can ask on a page: ``label`` names it ("the output size");
    ``build`` makes the question from the page's state now, or is None with ``reason``."""

    label: str
    build: Callable[[], Question] | None = None
    reason: str = ""


def offer_question(label: str, build: Callable[[], Question]) -> None:
    """Let the lecturer ask this page's question (pages call it each time they run)."""
    st.session_state.setdefault(OFFERS, {})[current_page()] = Offer(label, build)


def offer_unavailable(label: str, reason: str) -> None:
    """Say why this page's question cannot be asked with what is on screen now."""
    st.session_state.setdefault(OFFERS, {})[current_page()] = Offer(label, None, reason)


def offer_pixel_question(image, weights, sliding) -> None:
    """The Kernel Playground: the value of the output pixel its step-by-step has picked.

    ``sliding`` is the page's settings: ``conv_options()``, ``bias`` and ``relu``.
    """
    label = "the value of the picked pixel"
    options, bias, relu = sliding.conv_options(), sliding.bias, sliding.relu
    if np.ndim(image) != 2 or np.ndim(weights) != 2:
        offer_unavailable(label, "Show the image in grey to ask for a pixel's value.")
        return
    state = st.session_state

    def build() -> Question:
        row, col = int(state.get("kernel.row", 0)), int(state.get("kernel.col", 0))
        return pixel_value_question(image, weights, row, col, bias=bias, relu=relu, **options)

    offer_question(label, build)


def offer_class_question(probabilities, class_names) -> None:
    """Inspect a Network: which class the network picks (its prediction, already computed)."""
    probabilities, names = np.array(probabilities), list(class_names)
    offer_question(
        "which class the network picks",
        lambda: predicted_class_question(probabilities, names),
    )


# ---------------------------------------------------------------- pages read from their state


def _arithmetic_question() -> Question:
    state = st.session_state
    padding = state.get("arith.padding", "valid")
    if padding == "explicit":
        padding = int(state.get("arith.pad", 1))
    return output_size_question(
        (int(state["arith.in_rows"]), int(state["arith.in_cols"])),
        (int(state["arith.k_rows"]), int(state["arith.k_cols"])),
        strides=(int(state["arith.stride_rows"]), int(state["arith.stride_cols"])),
        padding=padding,
        dilation_rate=int(state.get("arith.dilation", 1)),
    )


def arithmetic_offer() -> Offer:
    """Convolution Arithmetic: the output size for the settings on screen."""
    label = "the output size"
    state = st.session_state
    if "arith.in_rows" not in state:
        return Offer(label, None, "The question appears once the page has loaded.")
    if state.get("arith.mode", "Convolution") != "Convolution":
        return Offer(label, None, "Switch to 'Convolution' to ask for the output size.")
    return Offer(label, _arithmetic_question)


def edited_matrix(key: str) -> np.ndarray:
    """A ``ui.widgets.matrix_editor`` matrix with the cells typed into its grid applied."""
    state = st.session_state
    matrix = np.array(state[f"{key}.values"], dtype=np.float64)
    editor = state.get(f"{key}.editor.{state.get(f'{key}.version', 0)}") or {}
    for row, cells in dict(editor.get("edited_rows", {})).items():
        for col, value in cells.items():
            if value is None:
                raise ValueError(f"Cell (row {row}, column {col}) of the input is empty.")
            matrix[int(row), int(col)] = float(value)
    return matrix


def _pooling_question() -> Question:
    state = st.session_state
    image = edited_matrix("pool.input")
    options = dict(
        pool_size=(int(state["pool.size_rows"]), int(state["pool.size_cols"])),
        strides=(int(state["pool.stride_rows"]), int(state["pool.stride_cols"])),
        padding=state.get("pool.padding", "valid"),
    )
    rows, cols = pool_output_shape(image.shape, **options)
    step = min(max(int(state.get("pool.stepper.step", 0)), 0), rows * cols - 1)
    return pool_winner_question(image, divmod(step, cols), **options)


def pooling_offer() -> Offer:
    """Pooling: which cell wins the max-pooling window the step-through shows."""
    label = "where the max-pool winner is"
    if "pool.input.values" not in st.session_state:
        return Offer(label, None, "The question appears once the page has loaded.")
    return Offer(label, _pooling_question)


BUILT_IN: dict[str, Callable[[], Offer]] = {
    "convolution_arithmetic": arithmetic_offer,
    "pooling": pooling_offer,
}


def page_offer(page: str) -> Offer | None:
    """The question page ``page`` (a url path) offers now, or None when it has none."""
    if page in BUILT_IN:
        return BUILT_IN[page]()
    return st.session_state.get(OFFERS, {}).get(page)
