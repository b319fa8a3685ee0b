"""A page's linked fields and their text in the address: parse, check, format (no Streamlit).

A page declares each control that belongs in its link as a ``LinkField``: the query
parameter's name, where its value lives in session state, its type, default and allowed
values. ``decode`` reads query parameters field by field: a value that is missing keeps the
default, one that is wrong (bad type, out of range, NaN, too long, given twice) falls back
to the default with a ``Problem`` naming the parameter, and unknown parameter names are
problems too. ``encode`` writes the fields that differ from their defaults, so a link
stays short and restores exactly. The checks are ``core.base.checks``'; their messages
are turned into plain words here.

>>> fields = (number("s", "stride", 1, low=1, high=5), choice("pad", "padding", "valid",
...           ("valid", "same")))
>>> decoded = decode(fields, {"s": "9", "pad": "same", "x": "1"})
>>> decoded.values
{'pad': 'same'}
>>> [problem.name for problem in decoded.problems]
['s', 'x']
>>> encode(fields, {"s": 2, "pad": "valid"})
{'s': '2'}
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.base.checks import check_choice, check_int, check_real

KINDS = ("int", "float", "bool", "choice", "ints", "matrix", "text")


MAX_VALUE_CHARS = 4000  # longer values are refused before they are parsed


SHOWN_CHARS = 40  # a bad value is quoted up to this many characters


# A free number a page takes (a fill value, a bias): its box and its link stay within ±this, so
# that 1e999 or -1e999 typed in is refused by the box instead of turning into infinity.
VALUE_LIMIT = 1e6


TRUE_WORDS = ("1", "true", "yes", "on")


FALSE_WORDS = ("0", "false", "no", "off")


@dataclass(frozen=True)
class LinkField:
    """One linked control: query name, session-state key(s), type, default, allowed values.

    ``keys`` holds one session-state key, or one per element for ``ints`` (e.g. the rows
    and columns of a stride). ``get``/``put`` replace plain session-state access for state
    that is not one widget (a kernel grid, an image choice). ``parse``/``format`` replace
    the built-in text forms of ``kind`` (a custom ``parse`` raises ``ValueError``).
    """

    name: str
    default: Any
    kind: str = "choice"
    keys: tuple[str, ...] = ()
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    max_shape: tuple[int, int] = (12, 12)
    parse: Callable[[str], Any] | None = field(default=None, compare=False)
    format: Callable[[Any], str] | None = field(default=None, compare=False)
    get: Callable[[Mapping], Any] | None = field(default=None, compare=False)
    put: Callable[[Any], None] | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}, not {self.kind!r}")


def number(name: str, key: str, default, *, low=None, high=None, **options) -> LinkField:
    """A whole number (``int`` default) or a real one (``float`` default) in [low, high]."""
    kind = "float" if isinstance(default, float) else "int"
    return LinkField(name, default, kind, (key,), low=low, high=high, **options)


def choice(name: str, key: str, default, choices, **options) -> LinkField:
    """One of ``choices`` (strings or numbers), written as its text."""
    return LinkField(name, default, "choice", (key,), tuple(choices), **options)


def flag(name: str, key: str, default: bool = False, **options) -> LinkField:
    """On or off, written 1 or 0."""
    return LinkField(name, bool(default), "bool", (key,), **options)


def ints(name: str, keys: tuple[str, ...], default, *, low=None, high=None) -> LinkField:
    """One whole number per key, written "2,3"; a single "2" means 2 for every key."""
    return LinkField(name, tuple(default), "ints", tuple(keys), low=low, high=high)


def matrix(name: str, default, *, get, put, max_shape=(12, 12), limit=1e6) -> LinkField:
    """A small matrix of finite numbers, written "1,2;3,4" (rows by ';', cells by ',')."""
    default = np.asarray(default, dtype=np.float64)
    return LinkField(
        name, default, "matrix", (), low=-limit, high=limit, max_shape=max_shape, get=get, put=put
    )


@dataclass(frozen=True)
class Problem:
    """A parameter of the link that could not be used, and what the page used instead."""

    name: str
    shown: str  # the value as given (cut), "" when there was none
    reason: str
    fallback: str  # what the page uses instead, "" for a parameter the page does not know

    def text(self) -> str:
        """One line for the warning.

        >>> print(Problem("s", "abc", "is not a whole number", "1").text())
        "s=abc": is not a whole number; using 1 instead.
        """
        given = f'"{self.name}={self.shown}"'
        end = f"; using {self.fallback} instead." if self.fallback else "; ignored."
        return f"{given}: {self.reason}{end}"


@dataclass(frozen=True)
class Decoded:
    """The values a link sets (valid parameters only) and one problem per bad parameter."""

    values: dict[str, Any]
    problems: tuple[Problem, ...]


def plain_reason(error: Exception) -> str:
    """A check's message without the developer parts (the backticked name, "Received: …").

    >>> plain_reason(ValueError("`stride` must be between 1 and 5. Received: stride=9."))
    'must be between 1 and 5'
    """
    text = str(error).split(" Received:")[0].strip().rstrip(".")
    text = re.sub(r"^`[^`]*`\s*", "", text)
    if text.startswith(("invalid literal", "could not convert")):
        return "is not a number"
    return text or "could not be read"


def _shown(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _int(text: str, item: LinkField) -> int:
    raw = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,12}", raw):
        raise ValueError("is not a whole number")
    return check_int(int(raw), item.name, minimum=item.low, maximum=item.high)


def _float(text: str, item: LinkField) -> float:
    raw = text.strip()
    if len(raw) > 40 or not raw.isascii():  # float() would take full-width digits
        raise ValueError("is not a number")
    value = float(raw)  # ValueError: not a number
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return check_real(value, item.name, minimum=item.low, maximum=item.high)


def _bool(text: str) -> bool:
    raw = text.strip().lower()
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ValueError("must be 1 (on) or 0 (off)")


def _choice(text: str, item: LinkField):
    by_text = {str(option): option for option in item.choices}
    raw = text.strip()
    if raw not in by_text:
        lowered = {str(option).lower(): option for option in item.choices}
        if raw.lower() not in lowered:
            listing = ", ".join(map(str, item.choices))
            if len(listing) > 160:
                listing = listing[:159] + "…"
            raise ValueError(f"must be one of {listing}")
        raw = str(lowered[raw.lower()])
    return check_choice(by_text[raw], item.name, item.choices)


def _ints(text: str, item: LinkField) -> tuple[int, ...]:
    parts = text.split(",")
    if len(parts) == 1:
        parts = parts * len(item.keys)
    if len(parts) != len(item.keys):
        raise ValueError(f"must be {len(item.keys)} whole numbers separated by commas")
    return tuple(_int(part, item) for part in parts)


def _matrix(text: str, item: LinkField) -> np.ndarray:
    rows = [row.split(",") for row in text.strip().strip(";").split(";")]
    if len({len(row) for row in rows}) != 1:
        raise ValueError("has rows of different lengths")
    max_rows, max_cols = item.max_shape
    if len(rows) > max_rows or len(rows[0]) > max_cols:
        raise ValueError(f"must be at most {max_rows}×{max_cols}")
    values = np.empty((len(rows), len(rows[0])))
    cell = LinkField(item.name, 0.0, "float", low=item.low, high=item.high)
    for r, row in enumerate(rows):
        for c, raw in enumerate(row):
            try:
                values[r, c] = _float(raw, cell)
            except ValueError as error:
                raise ValueError(
                    f"cell (row {r + 1}, column {c + 1}) {plain_reason(error)}"
                ) from None
    return values


def parse(item: LinkField, text: str):
    """The value ``text`` gives ``item``; ``ValueError`` (plain words) when it cannot be used.

    >>> parse(ints("s", ("a", "b"), (1, 1), low=1, high=5), "2")
    (2, 2)
    >>> parse(number("bias", "b", 0.0, low=-10, high=10), "nan")
    Traceback (most recent call last):
    ValueError: must be a finite number
    """
    if len(text) > MAX_VALUE_CHARS:
        raise ValueError(f"is too long ({len(text):,} characters)")
    if text.strip() == "":
        if format_value(item, item.default) == "":  # a field whose default is written as ""
            return item.default
        raise ValueError("is empty")
    try:
        if item.parse is not None:
            return item.parse(text)
        if item.kind == "int":
            return _int(text, item)
        if item.kind == "float":
            return _float(text, item)
        if item.kind == "bool":
            return _bool(text)
        if item.kind == "ints":
            return _ints(text, item)
        if item.kind == "matrix":
            return _matrix(text, item)
        if item.kind == "text":
            return text.strip()
        return _choice(text, item)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(plain_reason(error)) from None


def _number_text(value) -> str:
    """The shortest text that reads back as exactly ``value`` (Python's float repr).

    >>> _number_text(2.0), _number_text(-0.0), _number_text(0.1 + 0.2), _number_text(1e-7)
    ('2', '0', '0.30000000000000004', '1e-07')
    """
    value = float(value)
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def format_value(item: LinkField, value) -> str:
    """The text of ``value`` in the address (what ``parse`` reads back).

    >>> format_value(matrix("k", [[0]], get=None, put=None), [[1, 0.5], [-2, 0]])
    '1,0.5;-2,0'
    """
    if item.format is not None:
        return item.format(value)
    if item.kind == "bool":
        return "1" if value else "0"
    if item.kind == "float":
        return _number_text(value)
    if item.kind == "int":
        return str(int(value))
    if item.kind == "ints":
        return ",".join(str(int(v)) for v in value)
    if item.kind == "matrix":
        rows = np.atleast_2d(np.asarray(value, dtype=np.float64))
        return ";".join(",".join(_number_text(v) for v in row) for row in rows)
    return str(value)


def is_default(item: LinkField, value) -> bool:
    """Whether ``value`` reads as the field's default (compared as address text)."""
    try:
        return format_value(item, value) == format_value(item, item.default)
    except (TypeError, ValueError):
        return False


def encode(fields: Iterable[LinkField], values: Mapping[str, Any]) -> dict[str, str]:
    """``{name: text}`` of every field whose value differs from its default, in field order."""
    return {
        item.name: format_value(item, values[item.name])
        for item in fields
        if item.name in values and not is_default(item, values[item.name])
    }


def _as_list(raw) -> list[str]:
    if isinstance(raw, list | tuple):
        return [str(v) for v in raw]
    return [str(raw)]


def decode(
    fields: Iterable[LinkField],
    params: Mapping[str, str | list[str]],
    *,
    known: Iterable[str] = (),
) -> Decoded:
    """Read every field from ``params``; bad values and unknown names become problems.

    ``params`` maps names to a value or the list of values given (a repeated parameter
    is a problem: which one was meant cannot be told). ``known`` are names that other
    parts of the app own (``run``, ``hide``): neither read nor reported.
    """
    fields = tuple(fields)
    by_name = {item.name: item for item in fields}
    known = set(known)
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, raw in params.items():
        given = _as_list(raw)
        if name in known:
            continue
        item = by_name.get(name)
        if item is None:
            reason = "is not a setting of this page"
            problems.append(Problem(_shown(name), _shown(given[-1] if given else ""), reason, ""))
            continue
        fallback = _shown(format_value(item, item.default))
        if len(given) != 1:
            reason = f"is given {len(given)} times"
            problems.append(Problem(name, _shown(given[-1] if given else ""), reason, fallback))
            continue
        try:
            values[name] = parse(item, given[0])
        except ValueError as error:
            problems.append(Problem(name, _shown(given[0]), str(error), fallback))
    ordered = {item.name: values[item.name] for item in fields if item.name in values}
    return Decoded(ordered, tuple(problems))


def parse_names(text: str, names: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names listed in ``text`` ("a,b") that are in ``names``, and the ones that are not.

    >>> parse_names("s, pad,zz", ("s", "pad"))
    (('s', 'pad'), ('zz',))
    """
    allowed = set(names)
    listed = [part.strip() for part in text.split(",") if part.strip()]
    good = tuple(dict.fromkeys(name for name in listed if name in allowed))
    bad = tuple(dict.fromkeys(_shown(name) for name in listed if name not in allowed))
    return good, bad


def warning_text(problems: Iterable[Problem]) -> str:
    """The one warning a page shows for its link's problems (Markdown).

    >>> print(warning_text([Problem("s", "0", "must be between 1 and 5", "1")]))
    Part of this link could not be used, so those settings start from their defaults:
    <BLANKLINE>
    - "s=0": must be between 1 and 5; using 1 instead.
    <BLANKLINE>
    Check the link, or carry on from here.
    """
    lines = [f"- {problem.text()}" for problem in problems]
    return (
        "Part of this link could not be used, so those settings start from their defaults:\n\n"
        + "\n".join(lines)
        + "\n\nCheck the link, or carry on from here."
    )
