"""ui.room.offers: each page's question, built from what the page shows, against core."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from core.imaging.seed_examples import POOL_EXAMPLES
from core.jobs.room_questions import (
    output_size_question,
    pixel_value_question,
    pool_winner_question,
    predicted_class_question,
)
from core.ops.pooling import pool_output_shape


def offer_script(page: str) -> None:
    """Ask ``page``'s offer and build its question, as the lecturer's button would."""
    import streamlit as st

    from ui.room.offers import page_offer

    st.session_state["room.page"] = page
    offer = page_offer(page)
    st.session_state["label"] = offer and offer.label
    st.session_state["reason"] = offer and offer.reason
    try:
        st.session_state["question"] = offer.build() if offer and offer.build else None
    except ValueError as error:
        st.session_state["question"] = str(error)


def offer_of(page: str, state: dict) -> AppTest:
    app = AppTest.from_function(offer_script, default_timeout=30, args=(page,))
    for key, value in state.items():
        app.session_state[key] = value
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


ARITHMETIC = {
    "arith.mode": "Convolution",
    "arith.in_rows": 7,
    "arith.in_cols": 9,
    "arith.k_rows": 3,
    "arith.k_cols": 3,
    "arith.stride_rows": 2,
    "arith.stride_cols": 2,
    "arith.padding": "explicit",
    "arith.pad": 1,
    "arith.dilation": 1,
}


def test_arithmetic_asks_for_the_output_size_on_screen():
    app = offer_of("convolution_arithmetic", ARITHMETIC)
    assert app.session_state["label"] == "the output size"
    assert app.session_state["question"] == output_size_question(
        (7, 9), (3, 3), strides=2, padding=1
    )
    app = offer_of("convolution_arithmetic", {**ARITHMETIC, "arith.padding": "same"})
    assert app.session_state["question"].answer == "4"


def test_arithmetic_settings_that_do_not_fit_say_why():
    app = offer_of("convolution_arithmetic", {**ARITHMETIC, "arith.k_rows": 5, "arith.in_rows": 2})
    assert "larger than the padded input" in app.session_state["question"]
    app = offer_of("convolution_arithmetic", {**ARITHMETIC, "arith.stride_rows": 0})
    assert "strides" in app.session_state["question"]


def test_arithmetic_in_transposed_mode_has_no_size_question():
    app = offer_of("convolution_arithmetic", {**ARITHMETIC, "arith.mode": "Transposed convolution"})
    assert app.session_state["question"] is None
    assert "Switch to 'Convolution'" in app.session_state["reason"]


def pooling_state(image, *, step=0, edits=None, version=3) -> dict:
    example = next(iter(POOL_EXAMPLES.values()))
    state = {
        "pool.input.values": np.array(image, dtype=float),
        "pool.input.version": version,
        "pool.size_rows": example.pool_size[0],
        "pool.size_cols": example.pool_size[1],
        "pool.stride_rows": example.strides[0],
        "pool.stride_cols": example.strides[1],
        "pool.padding": example.padding,
        "pool.stepper.step": step,
    }
    if edits is not None:
        state[f"pool.input.editor.{version}"] = {"edited_rows": edits}
    return state


def test_pooling_asks_about_the_window_the_step_through_shows():
    example = next(iter(POOL_EXAMPLES.values()))
    options = dict(pool_size=example.pool_size, strides=example.strides, padding=example.padding)
    app = offer_of("pooling", pooling_state(example.image, step=3))
    _, cols = pool_output_shape(example.image.shape, **options)
    expected = pool_winner_question(example.image, divmod(3, cols), **options)
    assert app.session_state["label"] == "where the max-pool winner is"
    assert app.session_state["question"] == expected


def test_pooling_uses_the_cells_typed_into_the_grid():
    image = np.zeros((4, 4))
    app = offer_of("pooling", pooling_state(image, step=0, edits={1: {"0": 9.0}}))
    question = app.session_state["question"]
    assert question.answer == "bottom left"
    assert "The maximum is 9, at input row 1, column 0" in question.explanation


def test_a_step_beyond_the_output_is_pulled_inside():
    app = offer_of("pooling", pooling_state(np.arange(16.0).reshape(4, 4), step=99))
    assert "output row 1, column 1" in app.session_state["question"].prompt


def test_pages_hand_over_their_own_questions():
    def script():
        import numpy as np
        import streamlit as st

        from ui.kernel_playground.controls import Sliding
        from ui.room.offers import offer_class_question, offer_pixel_question, page_offer

        st.session_state["room.page"] = "kernel_playground"
        image = np.arange(25.0).reshape(5, 5)
        sliding = Sliding((1, 1), "valid", (0, 0), "constant", (1, 1), False, 1.0, False)
        offer_pixel_question(image, np.ones((3, 3)), sliding)
        st.session_state["pixel"] = page_offer("kernel_playground").build()
        offer_pixel_question(np.zeros((5, 5, 3)), np.ones((3, 3)), sliding)
        st.session_state["colour"] = page_offer("kernel_playground").reason
        st.session_state["room.page"] = "inspect_network"
        offer_class_question(np.array([0.1, 0.9]), ["cat", "dog"])
        st.session_state["class"] = page_offer("inspect_network").build()
        st.session_state["none"] = page_offer("architectures")

    app = AppTest.from_function(script, default_timeout=30)
    app.session_state["kernel.row"], app.session_state["kernel.col"] = 1, 2
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    image = np.arange(25.0).reshape(5, 5)
    assert app.session_state["pixel"] == pixel_value_question(
        image, np.ones((3, 3)), 1, 2, bias=1.0, padding="valid"
    )
    assert "grey" in app.session_state["colour"]
    assert app.session_state["class"] == predicted_class_question([0.1, 0.9], ["cat", "dog"])
    assert app.session_state["none"] is None
