"""Tests for core.jobs.room_questions: each right answer against core's own functions and an
independent reference (the size formula written out, a brute-force window maximum, scipy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import correlate2d

from core.imaging.seed_examples import CONV_EXAMPLES, POOL_EXAMPLES
from core.jobs import room_questions
from core.ops.convolution import conv2d
from core.ops.output_size import describe_output_size
from core.ops.pooling import max_pool_argmax, pool_output_shape


def reference_size(size: int, kernel: int, stride: int, padding, dilation: int) -> int:
    """The output-size rule written out independently of core."""
    effective = kernel + (kernel - 1) * (dilation - 1)
    if padding == "same":
        return math.ceil(size / stride)
    pad = {"valid": 0, "full": 2 * (effective - 1)}.get(padding, 2 * padding)
    return (size + pad - effective) // stride + 1


# ---------------------------------------------------------------- output size


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same", "full", 0, 1, 2]),
)
def test_output_size_answer_matches_core_and_the_formula(size, kernel, stride, dilation, padding):
    try:
        info = describe_output_size(
            size, kernel, strides=stride, padding=padding, dilation_rate=dilation
        )
    except ValueError:
        with pytest.raises(ValueError):
            room_questions.output_size_question(
                size, kernel, strides=stride, padding=padding, dilation_rate=dilation
            )
        return
    question = room_questions.output_size_question(
        (size, size + 3), kernel, strides=stride, padding=padding, dilation_rate=dilation
    )
    assert (
        question.answer
        == str(info.size)
        == str(reference_size(size, kernel, stride, padding, dilation))
    )
    assert question.is_correct(str(info.size)) and not question.is_correct(str(info.size + 1))


@pytest.mark.parametrize("key", list(CONV_EXAMPLES))
def test_output_size_of_every_worked_example(key):
    example = CONV_EXAMPLES[key]
    question = room_questions.output_size_question(
        example.image.shape,
        example.kernel.shape,
        strides=example.strides,
        padding=example.padding,
        dilation_rate=example.dilation_rate,
    )
    output = conv2d(
        example.image,
        example.kernel,
        strides=example.strides,
        padding=example.padding,
        dilation_rate=example.dilation_rate,
    )
    assert question.answer == str(output.shape[0])
    square = output.shape[0] == output.shape[1]
    assert ("square" in question.prompt) == square


def test_output_size_prompt_states_the_settings_in_words():
    question = room_questions.output_size_question((7, 9), (3, 3), strides=2, padding=1)
    assert question.prompt.startswith("Input 7 × 9, kernel 3 × 3, stride 2, padding 1, dilation 1.")
    assert question.prompt.endswith("How many rows does the output have?")
    assert question.explanation == "⌊(7 + 1 + 1 − 3) / 2⌋ + 1 = 4: the output is 4 × 5."


def test_output_size_refuses_a_kernel_larger_than_the_input():
    with pytest.raises(ValueError, match="larger than the padded input"):
        room_questions.output_size_question((2, 2), (3, 3))


# ---------------------------------------------------------------- max-pool winner


def brute_force_winner(x, out_row, out_col, pool, stride):
    """Input (row, col) of the first maximum of a 'valid' window, by looping."""
    best, where = -np.inf, None
    for i in range(pool[0]):
        for j in range(pool[1]):
            row, col = out_row * stride[0] + i, out_col * stride[1] + j
            if x[row, col] > best:
                best, where = x[row, col], (row, col)
    return where


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    shape=st.tuples(st.integers(2, 9), st.integers(2, 9)),
    pool=st.tuples(st.integers(1, 3), st.integers(2, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_pool_winner_matches_core_and_a_brute_force(data, shape, pool, stride):
    if pool[0] > shape[0] or pool[1] > shape[1]:
        return
    x = np.array(data.draw(st.lists(st.integers(0, 5), min_size=shape[0] * shape[1])))
    x = x[: shape[0] * shape[1]].reshape(shape).astype(float)
    rows, cols = pool_output_shape(shape, pool_size=pool, strides=stride)
    out_row, out_col = data.draw(st.integers(0, rows - 1)), data.draw(st.integers(0, cols - 1))
    question = room_questions.pool_winner_question(
        x, (out_row, out_col), pool_size=pool, strides=stride
    )
    winner = tuple(max_pool_argmax(x, pool_size=pool, strides=stride)[out_row, out_col])
    assert winner == brute_force_winner(x, out_row, out_col, pool, stride)
    # The answer names the winner's place in the window.
    place = (winner[0] - out_row * stride[0], winner[1] - out_col * stride[1])
    assert question.answer == room_questions.window_cell_label(*place, pool)
    assert len(question.choices) == pool[0] * pool[1]
    assert ("tie" in question.prompt) == (
        np.sum(
            x[
                out_row * stride[0] : out_row * stride[0] + pool[0],
                out_col * stride[1] : out_col * stride[1] + pool[1],
            ]
            == x[winner]
        )
        > 1
    )


@pytest.mark.parametrize("key", list(POOL_EXAMPLES))
def test_pool_winner_of_every_worked_example(key):
    example = POOL_EXAMPLES[key]
    options = dict(pool_size=example.pool_size, strides=example.strides, padding=example.padding)
    winners = max_pool_argmax(example.image, **options)
    for out_row in range(winners.shape[0]):
        for out_col in range(winners.shape[1]):
            try:
                question = room_questions.pool_winner_question(
                    example.image, (out_row, out_col), **options
                )
            except ValueError as error:
                assert "single input cell" in str(error)
                continue
            winner = tuple(winners[out_row, out_col])
            assert f"input row {winner[0]}, column {winner[1]}" in question.explanation


def test_pool_winner_slide_example():
    x = [[10, 12, 3, 4], [6, 8, 4, 5], [22, 12, 10, 7], [0, 9, 32, 4]]
    assert room_questions.pool_winner_question(x, (0, 0)).answer == "top right"
    assert room_questions.pool_winner_question(x, (1, 1)).answer == "bottom left"
    question = room_questions.pool_winner_question(x, (1, 1))
    assert "covers input rows 2–3 and columns 2–3" in question.prompt
    assert question.explanation == (
        "The maximum is 32, at input row 3, column 2: the window's bottom left cell."
    )


def test_pool_winner_leaves_padding_cells_out():
    x = np.arange(9.0).reshape(3, 3)
    # The bottom-right window covers one real cell and three padding cells.
    with pytest.raises(ValueError, match="single input cell"):
        room_questions.pool_winner_question(x, (1, 1), pool_size=(2, 2), strides=2, padding="same")
    question = room_questions.pool_winner_question(x, (0, 1), pool_size=2, padding="same")
    assert question.choices == ("top left", "bottom left")
    assert question.answer == "bottom left"


@pytest.mark.parametrize(
    "cell, window, label",
    [
        ((0, 0), (2, 2), "top left"),
        ((1, 2), (2, 3), "bottom right"),
        ((1, 0), (3, 3), "middle left"),
        ((0, 2), (1, 3), "right"),
        ((2, 3), (4, 4), "row 3, column 4"),
        ((0, 3), (2, 4), "top, column 4"),
    ],
)
def test_window_cell_labels(cell, window, label):
    assert room_questions.window_cell_label(*cell, window) == label


# ---------------------------------------------------------------- one output pixel


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"padding": "same"},
        {"strides": 2, "padding": "same", "mode": "reflect"},
        {"dilation_rate": 2},
        {"flip_kernel": True, "padding": "same"},
    ],
)
def test_pixel_value_matches_conv2d_and_scipy(options):
    rng = np.random.default_rng(3)
    image, kernel = rng.normal(size=(9, 9)) * 40, rng.normal(size=(3, 3))
    output = conv2d(image, kernel, **options)
    for row, col in [(0, 0), (output.shape[0] - 1, output.shape[1] - 1), (1, 2)]:
        question = room_questions.pixel_value_question(image, kernel, row, col, **options)
        assert question.is_correct(f"{output[row, col]:.2f}")
        assert abs(float(question.answer) - output[row, col]) <= 0.005 + 1e-9
        assert not question.is_correct(f"{output[row, col] + 2 * question.tolerance:.2f}")
    reference = correlate2d(image, kernel, mode="valid")
    if not options:
        question = room_questions.pixel_value_question(image, kernel, 4, 5)
        assert question.is_correct(f"{reference[4, 5]:.2f}")


def test_pixel_value_adds_the_bias_then_relu():
    image = np.array([[1.0, 2.0], [3.0, 4.0]])
    question = room_questions.pixel_value_question(image, [[-1.0]], 1, 1, bias=1.5)
    assert question.answer == "-2.5"
    question = room_questions.pixel_value_question(image, [[-1.0]], 1, 1, bias=1.5, relu=True)
    assert question.answer == "0"
    assert question.explanation.endswith("; plus the bias 1.5; after ReLU: 0.")


def test_pixel_value_refuses_a_pixel_outside_the_output():
    with pytest.raises(ValueError, match="row"):
        room_questions.pixel_value_question(np.zeros((4, 4)), np.ones((3, 3)), 2, 0)


# ---------------------------------------------------------------- predicted class


def test_predicted_class_is_the_argmax():
    probabilities = np.array([0.05, 0.1, 0.6, 0.25])
    question = room_questions.predicted_class_question(probabilities, ["0", "1", "2", "3"])
    assert question.answer == "2" and question.choices == ("0", "1", "2", "3")
    assert question.explanation.endswith("60%.")


def test_many_classes_offer_the_likeliest_ones_in_class_order():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(100))
    names = [f"class {index}" for index in range(100)]
    question = room_questions.predicted_class_question(probabilities, names)
    assert len(question.choices) == room_questions.CLASS_CHOICES
    assert question.answer == names[int(np.argmax(probabilities))]
    indices = [names.index(choice) for choice in question.choices]
    assert indices == sorted(indices)


def test_duplicate_class_names_are_told_apart():
    question = room_questions.predicted_class_question([0.2, 0.8], ["cat", "cat"])
    assert question.choices == ("cat (class 0)", "cat (class 1)")


def test_class_names_must_match_the_probabilities():
    with pytest.raises(ValueError, match="name each of the 3 classes"):
        room_questions.predicted_class_question([0.2, 0.3, 0.5], ["a", "b"])
