"""Tests for core.jobs.rooms: room codes, lecturer tokens and how answers are checked."""

from __future__ import annotations

import collections

import pytest

from core.jobs import rooms
from core.jobs.rooms import Question


def test_codes_use_only_the_unambiguous_alphabet():
    codes = [rooms.new_room_code() for _ in range(2000)]
    assert all(len(code) == rooms.CODE_LENGTH for code in codes)
    assert set("".join(codes)) <= set(rooms.CODE_ALPHABET)
    assert not set("".join(codes)) & set("01OI")


def test_codes_are_random_not_counted():
    codes = [rooms.new_room_code() for _ in range(2000)]
    assert len(set(codes)) == len(codes)
    # Every position uses (nearly) the whole alphabet, evenly: nothing to count up from.
    for position in range(rooms.CODE_LENGTH):
        counts = collections.Counter(code[position] for code in codes)
        assert len(counts) == len(rooms.CODE_ALPHABET)
        assert max(counts.values()) < 3 * len(codes) / len(rooms.CODE_ALPHABET)


@pytest.mark.parametrize(
    "typed, code", [("k7xq3m", "K7XQ3M"), (" K7X-Q3M ", "K7XQ3M"), ("k7x q3m", "K7XQ3M")]
)
def test_typed_codes_are_normalised(typed, code):
    assert rooms.normalize_code(typed) == code


@pytest.mark.parametrize("typed", ["", "K7XQ3", "K7XQ3MM", "K7XQ0M", "K7XQIM", "K7XQ3!", "ÄBCDEF"])
def test_impossible_codes_are_refused_in_plain_words(typed):
    with pytest.raises(ValueError, match="A room code is 6 letters and digits"):
        rooms.normalize_code(typed)


def test_token_is_checked_by_its_digest():
    token = rooms.new_lecturer_token()
    digest = rooms.token_digest(token)
    assert token not in digest
    assert rooms.token_matches(token, digest)
    assert not rooms.token_matches(token + "x", digest)
    assert not rooms.token_matches(None, digest)


@pytest.mark.parametrize(
    "value, decimals, text",
    [(3, 0, "3"), (2.5, 2, "2.5"), (2.0, 2, "2"), (-0.004, 2, "0"), (1234.567, 1, "1234.6")],
)
def test_format_answer(value, decimals, text):
    assert rooms.format_answer(value, decimals) == text


def test_number_question_checks_answers():
    question = Question.number("Size?", 4, minimum=0, maximum=50)
    assert question.canonical("4") == "4"
    assert question.canonical(" 4.0 ") == "4"
    assert question.canonical(4) == "4"
    for bad, message in [
        ("four", "Type a number"),
        ("4.5", "whole number"),
        ("-1", "from 0 to 50"),
        ("51", "from 0 to 50"),
        ("nan", "finite"),
        ("inf", "finite"),
        ("", "Type a number"),
        ("1" * 100, "Type a number"),
        (True, "Type a number"),
        (None, "Type a number"),
    ]:
        with pytest.raises(ValueError, match=message):
            question.canonical(bad)


def test_number_question_tolerance():
    question = Question.number("Pixel?", 2.333, tolerance=0.05, decimals=2)
    assert question.answer == "2.33"
    assert question.canonical("2,3") == "2.3"  # a decimal comma
    assert question.is_correct("2.3") and question.is_correct("2.38")
    assert not question.is_correct("2.39") and not question.is_correct("2")


def test_choice_question_accepts_only_its_choices():
    question = Question.choice("Where?", ["top left", "top right"], "top right")
    assert question.canonical("top right") == "top right"
    for bad in ["Top right", "<script>", "", None, 1]:
        with pytest.raises(ValueError, match="Pick one of the answers offered"):
            question.canonical(bad)
    assert question.is_correct("top right") and not question.is_correct("top left")


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kind="essay", prompt="Why?", answer="x"),
        dict(kind="choice", prompt="", answer="a", choices=("a", "b")),
        dict(kind="choice", prompt="?", answer="c", choices=("a", "b")),
        dict(kind="choice", prompt="?", answer="a", choices=("a",)),
        dict(kind="choice", prompt="?", answer="a", choices=("a", "a")),
        dict(kind="number", prompt="?", answer="5", maximum=4.0),
        dict(kind="number", prompt="?", answer="2.50", decimals=2),
    ],
)
def test_malformed_questions_are_refused(kwargs):
    with pytest.raises((TypeError, ValueError)):
        Question(**kwargs)


def test_question_round_trips_through_json():
    for question in [
        Question.number("Pixel?", 2.5, tolerance=0.05, decimals=2, explanation="because"),
        Question.choice("Which?", ["a", "b", "c"], "b"),
    ]:
        assert Question.from_json(question.to_json()) == question


def test_room_keys_do_not_print_the_token():
    keys = rooms.RoomKeys(code="K7XQ3M", token="very-secret")
    assert "very-secret" not in repr(keys)
