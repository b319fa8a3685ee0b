"""Numbers and counts as people read them on screen: the one formatter of the project.

A lecture hall reads ``0`` where float arithmetic left ``3.331e-16``, ``-0.444`` where
it left ``-0.44444444``, and "1 column" (not "1 columns"). Every page, table and caption
that prints a computed number goes through ``readable``; every count with its noun
through ``plural``.

>>> readable(3.3306690738754696e-16), readable(-0.44444), readable(12.0), readable(2 / 3 * 100)
('0', '-0.444', '12', '66.7')
>>> plural(1, "column"), plural(3, "column"), plural(2, "pixel", "pixels wide")
('1 column', '3 columns', '2 pixels wide')
"""

from __future__ import annotations

import math

import numpy as np

NOISE = 1e-9  # below this fraction of the largest value around, a number is float noise


SIGNIFICANT_DIGITS = 3


_SMALLEST_POSITIONAL = 1e-5  # smaller numbers (not noise) are written as a × 10ⁿ


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def readable(value: float, scale: float = 1.0, *, digits: int = SIGNIFICANT_DIGITS) -> str:
    """A number as a person reads it: whole numbers plainly, else ``digits`` significant digits.

    Args:
        value: any real number (numpy scalars too).
        scale: the largest magnitude around it (e.g. in the same matrix); anything below
            ``max(scale, 1) × 1e-9`` is float noise and prints as ``0``.
        digits: significant digits of a fraction (3 by default).

    Returns:
        ``"0"`` for noise and −0, the integer for (almost) whole numbers, the number
        rounded to ``digits`` significant digits (at least the integer part above 100),
        ``"1.5×10⁻⁷"`` for tiny ones that are not noise, ``"inf"``/``"-inf"``, ``"?"`` for NaN.
        Minus signs are ASCII hyphens (``signed`` in the pages turns them into "−").

    >>> readable(-0.0), readable(1 / 3), readable(1e-5), readable(123.456), readable(-2.9999999999)
    ('0', '0.333', '0.00001', '123', '-3')
    >>> readable(1.5e-7, scale=1e-6), readable(0.126, digits=2), readable(float("nan"))
    ('1.5×10⁻⁷', '0.13', '?')
    """
    value = float(value)
    if math.isnan(value):
        return "?"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if abs(value) <= NOISE * max(abs(float(scale)), 1.0):
        return "0"
    if abs(value - round(value)) <= NOISE * max(abs(value), 1.0):
        return str(int(round(value)))
    if abs(value) >= 10 ** max(digits - 1, 1):
        return str(int(round(value)))
    if abs(value) < _SMALLEST_POSITIONAL:
        mantissa, exponent = f"{value:.{max(digits - 1, 0)}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPTS)}"
    text = f"{value:.{digits}g}"
    if "e" in text:  # e.g. 1e-05 from the "g" format: write it out
        text = f"{value:.{digits - 1 - math.floor(math.log10(abs(value)))}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def readable_all(values, *, digits: int = SIGNIFICANT_DIGITS):
    """A formatter for a whole matrix: ``readable`` with the matrix's largest value as scale.

    >>> fmt = readable_all([1e-17, 0.5, 2.0])
    >>> fmt(1e-17), fmt(0.5)
    ('0', '0.5')
    """
    flat = np.asarray(values, dtype=np.float64).ravel()
    finite = np.abs(flat[np.isfinite(flat)])
    scale = float(finite.max()) if finite.size else 1.0
    return lambda value: readable(value, scale, digits=digits)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` with its noun in the right number: "1 column", "0 columns", "1,200 images".

    ``plural_form`` for irregular nouns (default: ``singular + "s"``).

    >>> plural(0, "column"), plural(1, "class", "classes"), plural(1200, "image")
    ('0 columns', '1 class', '1,200 images')
    """
    count = int(count)
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {noun}"
