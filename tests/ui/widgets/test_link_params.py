"""ui.widgets.link_params: each linked value is read on its own, bad ones fall back with a
problem that names the parameter, and what is written reads back the same."""

from __future__ import annotations

import numpy as np
import pytest

from ui.widgets.link_params import (
    MAX_VALUE_CHARS,
    LinkField,
    Problem,
    choice,
    decode,
    encode,
    flag,
    format_value,
    ints,
    matrix,
    number,
    parse,
    parse_names,
    plain_reason,
    warning_text,
)

FIELDS = (
    number("n", "t.n", 3, low=1, high=9),
    number("x", "t.x", 0.5, low=0.0, high=1.0),
    choice("pad", "t.pad", "valid", ("valid", "same")),
    choice("size", "t.size", 16, (8, 16, 32)),
    flag("f", "t.f"),
    ints("s", ("t.s0", "t.s1"), (1, 1), low=1, high=5),
    matrix("m", [[0.0]], get=None, put=None, max_shape=(3, 3), limit=100),
)


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("n", "7", 7),
        ("n", " +2 ", 2),
        ("x", "0.25", 0.25),
        ("x", "1e-1", 0.1),
        ("pad", "same", "same"),
        ("pad", "SAME", "same"),
        ("size", "32", 32),
        ("f", "1", True),
        ("f", "off", False),
        ("s", "2,3", (2, 3)),
        ("s", "4", (4, 4)),
    ],
)
def test_good_values_are_read(name, text, value):
    assert decode(FIELDS, {name: text}) == decode(FIELDS, {name: text})
    decoded = decode(FIELDS, {name: text})
    assert decoded.values == {name: value} and decoded.problems == ()


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("n", "abc", "not a whole number"),
        ("n", "2.5", "not a whole number"),
        ("n", "0", "between 1 and 9"),
        ("n", "-3", "between 1 and 9"),
        ("n", "9" * 40, "not a whole number"),
        ("n", "", "empty"),
        ("n", "７", "not a whole number"),
        ("x", "nan", "finite"),
        ("x", "inf", "finite"),
        ("x", "1e999", "finite"),
        ("x", "2", "in [0, 1]"),
        ("x", "zero", "not a number"),
        ("pad", "sideways", "one of valid, same"),
        ("size", "17", "one of 8, 16, 32"),
        ("f", "maybe", "1 (on) or 0 (off)"),
        ("s", "1,2,3", "2 whole numbers"),
        ("s", "1,9", "between 1 and 5"),
        ("m", "1,2;3", "rows of different lengths"),
        ("m", "1,2,3,4", "at most 3×3"),
        ("m", "1,nan", "cell (row 1, column 2) must be a finite number"),
        ("m", "1,1000", "cell (row 1, column 2) must be in [-100, 100]"),
        ("n", "1" * (MAX_VALUE_CHARS + 1), "too long"),
    ],
)
def test_bad_values_fall_back_with_a_problem_naming_the_parameter(name, text, reason):
    decoded = decode(FIELDS, {name: text})
    assert decoded.values == {}
    (problem,) = decoded.problems
    assert problem.name == name and reason in problem.reason
    item = next(item for item in FIELDS if item.name == name)
    assert problem.fallback == format_value(item, item.default)
    assert len(problem.shown) <= 40
    assert "Received" not in problem.reason and '"' not in problem.reason


def test_unknown_and_repeated_parameters_are_problems_and_known_ones_are_left_alone():
    decoded = decode(
        FIELDS, {"zz": "1", "n": ["2", "3"], "run": "abc", "pad": "same"}, known={"run"}
    )
    assert decoded.values == {"pad": "same"}
    by_name = {problem.name: problem for problem in decoded.problems}
    assert set(by_name) == {"zz", "n"}
    assert "not a setting" in by_name["zz"].reason and by_name["zz"].fallback == ""
    assert "given 2 times" in by_name["n"].reason


def test_a_very_long_unknown_name_is_cut_in_the_message():
    (problem,) = decode(FIELDS, {"é" * 500: "x"}).problems
    assert len(problem.name) <= 40 and problem.name.endswith("…")


def test_encode_writes_only_non_defaults_and_decode_reads_them_back_exactly():
    values = {
        "n": 3,
        "x": 0.1 + 0.2,
        "pad": "same",
        "size": 16,
        "f": True,
        "s": (1, 4),
        "m": np.array([[1 / 3, -2.0], [0.0, 1e-7]]),
    }
    encoded = encode(FIELDS, values)
    assert set(encoded) == {"x", "pad", "f", "s", "m"}
    decoded = decode(FIELDS, encoded)
    assert decoded.problems == ()
    assert decoded.values["x"] == values["x"]  # exactly: a link restores the same numbers
    np.testing.assert_array_equal(decoded.values["m"], values["m"])
    assert encode(FIELDS, decoded.values) == encoded


def test_custom_parse_and_format_are_used():
    item = LinkField("img", "a", "text", ("k",), parse=lambda t: t.upper(), format=str.lower)
    assert parse(item, "b") == "B" and format_value(item, "B") == "b"
    bad = LinkField("img", "a", "text", ("k",), parse=lambda t: int(t))
    with pytest.raises(ValueError, match="is not a number"):
        parse(bad, "x")


def test_plain_reason_drops_developer_words():
    assert plain_reason(ValueError("`n` must be >= 1. Received: n=0.")) == "must be >= 1"
    assert plain_reason(ValueError("")) == "could not be read"


def test_names_for_hide_and_lock():
    assert parse_names("", ("a",)) == ((), ())
    assert parse_names("a,a,b", ("a", "b")) == (("a", "b"), ())
    assert parse_names("a,<script>", ("a",)) == (("a",), ("<script>",))


def test_the_warning_names_every_problem_once():
    text = warning_text(
        [
            Problem("n", "0", "must be between 1 and 9", "3"),
            Problem("zz", "1", "is not a setting of this page", ""),
        ]
    )
    assert '"n=0"' in text and "using 3 instead" in text and '"zz=1"' in text and "ignored" in text
    assert text.count("\n- ") == 2


def test_a_field_needs_a_known_kind():
    with pytest.raises(ValueError, match="kind"):
        LinkField("a", 0, "colour")


def test_an_empty_value_is_the_default_only_where_the_default_is_written_empty():
    patch = LinkField("in", (), "text", ("demo.patch",), parse=lambda t: (t,), format="".join)
    assert parse(patch, "") == () and parse(patch, "  ") == ()  # "in=" is the default
    with pytest.raises(ValueError, match="is empty"):
        parse(number("bias", "b", 0.0, low=-10, high=10), "")
