"""What "plain words" means for a message the page shows: checked by every corpus test."""

from __future__ import annotations

import re

# Signs of text written for programmers: exception class names, tracebacks, code names in
# backticks, module paths, Python reprs of bytes, and raw floats such as 3.331e-16.
_NOT_PLAIN = (
    (re.compile(r"Traceback|File \""), "a traceback"),
    (
        re.compile(r"\b(\w*(Error|Exception|Warning)|BadZipFile|LargeZipFile|StopIteration)\b"),
        "an exception class name",
    ),
    (re.compile(r"\[Errno \d+\]"), "an operating-system error number"),
    (re.compile(r"`"), "a code name in backticks"),
    (re.compile(r"\b(core|ui|app_pages|zipfile|PIL|cv2|numpy)\.\w"), "a module name"),
    (re.compile(r"\bb'|\bb\""), "a Python bytes value"),
    (re.compile(r"\d\.\d+e[-+]?\d+", re.IGNORECASE), "a raw float"),
    (re.compile(r"<[\w.]+ object at 0x"), "a Python object"),
)


def plain_words_problem(text: str) -> str | None:
    """Why ``text`` is not plain words for a person, or None.

    >>> plain_words_problem("The file is empty. Choose an image file.") is None
    True
    >>> plain_words_problem("BadZipFile: File is not a zip file")
    'an exception class name: BadZipFile'
    """
    if not text.strip():
        return "no words at all"
    for pattern, what in _NOT_PLAIN:
        found = pattern.search(text)
        if found:
            return f"{what}: {found.group(0)}"
    return None


def assert_plain_words(text: str) -> None:
    """Fail with the offending part when ``text`` is not plain words."""
    problem = plain_words_problem(text)
    assert problem is None, f"not plain words ({problem}): {text!r}"
