"""The one number formatter: what a person reads for float noise, fractions, counts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.base.numbers import plural, readable, readable_all


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.3306690738754696e-16, "0"),  # the Kernel Playground's "sum of the weights"
        (-0.0, "0"),
        (-1e-17, "0"),
        (1.0, "1"),
        (-2.9999999999, "-3"),
        (0.1 + 0.2, "0.3"),
        (1 / 3, "0.333"),
        (-0.44444, "-0.444"),
        (2 / 3 * 100, "66.7"),
        (99.96, "100"),
        (123.456, "123"),
        (14714688.0, "14714688"),
        (0.0244, "0.0244"),
        (1e-5, "0.00001"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (float("nan"), "?"),
        (np.float32(0.1), "0.1"),
    ],
)
def test_readable(value, text):
    assert readable(value) == text


def test_tiny_values_that_are_not_noise_keep_their_size():
    assert readable(1.5e-7, scale=1e-6) == "1.5×10⁻⁷"
    assert readable(-2.25e-8, scale=1e-7) == "-2.25×10⁻⁸"
    assert readable(-2.254e-8, scale=1e-7) == "-2.25×10⁻⁸"


def test_noise_is_judged_against_the_scale_around_it():
    assert readable(1e-7, scale=1e-3) == "1×10⁻⁷"  # not below max(1e-3, 1) × 1e-9
    assert readable(1e-7, scale=1e3) == "0"  # below 1e3 × 1e-9: noise
    fmt = readable_all(np.array([[1e-10, 5000.0], [np.nan, np.inf]]))
    assert fmt(1e-10) == "0" and fmt(5000.0) == "5000"


@pytest.mark.parametrize("value", [0.123456, 1.23456, 12.3456, 0.000123456, -9.87654])
def test_readable_never_prints_more_than_three_significant_digits(value):
    text = readable(value)
    digits = text.lstrip("-0.").replace(".", "")
    assert len(digits) <= 3
    assert math.isclose(float(text), value, rel_tol=5e-3)


def test_readable_never_writes_e_notation():
    for exponent in range(-12, 12):
        for mantissa in (1.0, -3.3306690738754696, 9.99):
            assert "e" not in readable(mantissa * 10.0**exponent, scale=10.0**exponent)


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 columns"),
        (1, "1 column"),
        (2, "2 columns"),
        (-1, "-1 columns"),
        (1000, "1,000 columns"),
    ],
)
def test_plural(count, text):
    assert plural(count, "column") == text


def test_plural_irregular_noun():
    assert plural(1, "class", "classes") == "1 class"
    assert plural(10, "class", "classes") == "10 classes"
