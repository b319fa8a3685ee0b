"""Text typed into a Kernel Playground kernel cell, and into the pages' number boxes.

Kernel cells are free text, read by ``ui.kernel_playground.link_state.parse_kernel_cell``:
``accept`` means the cell takes the value in ``VALUES`` below (checked by
``tests/corpus/test_numbers.py``); ``refuse`` means the grid is outlined in red and the
page lists "Row r, column c: <message>", keeping the last good kernel.

Every other number on every page is a Streamlit number box (``st.number_input``): the
browser only sends numbers, and a number outside the box's limits is refused by Streamlit
itself with "Number is outside the allowed range..." under the box (every box has limits,
the JavaScript ones when the page sets none). Only entries whose outcome is the same for
whole-number and decimal boxes are listed.
"""

from __future__ import annotations

from tests.corpus import Entry


def _cell(name: str, text: str, what: str, outcome: str, gets: str, message: str = "") -> Entry:
    return Entry(
        f"kernel_cell/{name}", "kernel_cell", what, outcome, gets, text=text, message=message
    )


_NOT_A_NUMBER = "is not a number"
_TOO_LARGE = "too large"


# What each accepted cell reads as.
VALUES = {
    "kernel_cell/integer": 2.0,
    "kernel_cell/negative-decimal": -0.5,
    "kernel_cell/fraction": 1 / 9,
    "kernel_cell/negative-fraction": -1 / 16,
    "kernel_cell/spaces-around": 3.0,
    "kernel_cell/exponent": 0.001,
    "kernel_cell/unicode-minus": -1.0,
    "kernel_cell/en-dash-minus": -2.0,
    "kernel_cell/full-width-digits": 12.0,
    "kernel_cell/full-width-fraction": 1 / 9,
    "kernel_cell/vulgar-fraction": 0.5,
    "kernel_cell/arabic-indic-digits": 12.0,
    "kernel_cell/plus-sign": 0.5,
    "kernel_cell/tiny": 1e-300,
    "kernel_cell/underflow": 0.0,
    "kernel_cell/at-the-limit": 1e6,
    "kernel_cell/fraction-of-exponents": 1e6,
    "kernel_cell/negative-zero": 0.0,
}


ENTRIES = [
    _cell("integer", "2", "a whole number", "accept", "used: 2"),
    _cell("negative-decimal", "-0.5", "a negative decimal", "accept", "used: −0.5"),
    _cell("fraction", "1/9", "a fraction", "accept", "used: 1/9 = 0.111…"),
    _cell(
        "negative-fraction", "-1 / 16", "a negative fraction with spaces", "accept", "used: −1/16"
    ),
    _cell(
        "spaces-around", "  3\t", "a number with spaces and a tab around it", "accept", "used: 3"
    ),
    _cell("exponent", "1e-3", "a number in scientific notation (1e-3)", "accept", "used: 0.001"),
    _cell(
        "unicode-minus",
        "\u22121",
        "a typographic minus sign pasted from a document (−1)",
        "accept",
        "used: −1",
    ),
    _cell(
        "en-dash-minus",
        "\u20132",
        "an en dash used as a minus sign (–2), as word processors make it",
        "accept",
        "used: −2",
    ),
    _cell(
        "full-width-digits",
        "１２",
        "full-width digits typed with a Japanese or Chinese keyboard (１２)",
        "accept",
        "used: 12",
    ),
    _cell(
        "full-width-fraction",
        "１／９",
        "a fraction in full-width characters (１／９)",
        "accept",
        "used: 1/9",
    ),
    _cell("vulgar-fraction", "½", "a fraction character (½)", "accept", "used: 0.5"),
    _cell(
        "arabic-indic-digits",
        "١٢",
        "digits of the Arabic script (١٢)",
        "accept",
        "used: 12",
    ),
    _cell("plus-sign", "+.5", "a plus sign and no leading zero (+.5)", "accept", "used: 0.5"),
    _cell("tiny", "1e-300", "a tiny number (1e-300)", "accept", "used as it is"),
    _cell(
        "underflow",
        "1e-999",
        "a number too small for the computer (1e-999)",
        "accept",
        "used as 0",
    ),
    _cell(
        "at-the-limit",
        "1000000",
        "the largest value allowed (one million)",
        "accept",
        "used: 1000000",
    ),
    _cell(
        "fraction-of-exponents",
        "1e3/1e-3",
        "a fraction of two numbers in scientific notation",
        "accept",
        "used: one million",
    ),
    _cell("negative-zero", "-0", "minus zero", "accept", "used as 0"),
    # Refused: the cell is outlined in red and the message names it.
    _cell("empty", "", "an empty cell", "refuse", "refused: the cell is empty, type 0", "empty"),
    _cell("only-spaces", "   ", "a cell holding only spaces", "refuse", "refused: empty", "empty"),
    _cell("nan", "nan", "NaN (not a number)", "refuse", "refused: NaN is not a value", "NaN"),
    _cell(
        "nan-capitals",
        "NaN",
        "NaN written with capitals",
        "refuse",
        "refused: NaN is not a value",
        "NaN",
    ),
    _cell("inf", "inf", "infinity (inf)", "refuse", "refused: type a finite value", "infinite"),
    _cell(
        "minus-infinity",
        "-Infinity",
        "minus infinity spelled out",
        "refuse",
        "refused: type a finite value",
        "infinite",
    ),
    _cell(
        "overflow",
        "1e999",
        "a number too large for the computer (1e999)",
        "refuse",
        "refused: too large, with the largest value allowed",
        _TOO_LARGE,
    ),
    _cell(
        "huge",
        "1e300",
        "a huge number (1e300)",
        "refuse",
        "refused: too large, with the largest value allowed",
        _TOO_LARGE,
    ),
    _cell(
        "just-over-the-limit",
        "1000001",
        "one more than the largest value allowed",
        "refuse",
        "refused: too large",
        _TOO_LARGE,
    ),
    _cell(
        "fraction-overflow",
        "1e300/1e-300",
        "a fraction whose value is too large for the computer",
        "refuse",
        "refused: too large",
        _TOO_LARGE,
    ),
    _cell(
        "many-digits",
        "9" * 400,
        "a number with 400 digits",
        "refuse",
        "refused: too long for a number",
        "too long",
    ),
    _cell(
        "divide-by-zero",
        "1/0",
        "a fraction dividing by zero",
        "refuse",
        "refused: divides by zero",
        "divides by zero",
    ),
    _cell(
        "zero-over-zero",
        "0/0",
        "zero divided by zero",
        "refuse",
        "refused: divides by zero",
        "divides by zero",
    ),
    _cell(
        "decimal-comma",
        "1,5",
        "a decimal comma (1,5), as written in much of Europe",
        "refuse",
        "refused with a hint: write decimals with a dot (1.5)",
        "with a dot, e.g. 1.5",
    ),
    _cell(
        "thousands-separator",
        "1,000,000",
        "a number with thousands separators",
        "refuse",
        "refused: not a number, with examples of what is",
        _NOT_A_NUMBER,
    ),
    _cell(
        "hex",
        "0x1F",
        "a hexadecimal number (0x1F)",
        "refuse",
        "refused: not a number",
        _NOT_A_NUMBER,
    ),
    _cell("word", "abc", "a word", "refuse", "refused: not a number, with examples", _NOT_A_NUMBER),
    _cell(
        "two-numbers",
        "3 4",
        "two numbers in one cell",
        "refuse",
        "refused: not a number",
        _NOT_A_NUMBER,
    ),
    _cell(
        "double-fraction",
        "1/9/2",
        "a fraction of a fraction (1/9/2)",
        "refuse",
        "refused: not a number",
        _NOT_A_NUMBER,
    ),
    _cell(
        "formula",
        "=1/9",
        "a spreadsheet formula (=1/9)",
        "refuse",
        "refused: not a number",
        _NOT_A_NUMBER,
    ),
    _cell(
        "two-points",
        "0.1.2",
        "a number with two decimal points",
        "refuse",
        "refused: not a number",
        _NOT_A_NUMBER,
    ),
    _cell(
        "markup",
        "<b>1</b>",
        "HTML markup",
        "refuse",
        "refused: not a number, shown as text (never as markup)",
        _NOT_A_NUMBER,
    ),
    # Number boxes (st.number_input): Streamlit's own range check.
    Entry(
        "number/huge",
        "number",
        "a huge number (99999999999999999999) in any number box",
        "refuse",
        "refused by the box: outside the allowed range, with the range",
        text="99999999999999999999",
        message="allowed range",
    ),
    Entry(
        "number/huge-negative",
        "number",
        "a huge negative number (-99999999999999999999) in any number box",
        "refuse",
        "refused by the box: outside the allowed range, with the range",
        text="-99999999999999999999",
        message="allowed range",
    ),
]
