"""Text typed into the pages' free-text boxes: today the one is the sidebar's "Room code".

A room code is read by ``core.jobs.rooms.normalize_code`` (case, spaces and dashes do not
matter) and then looked up in the room store. Every entry here is refused, each with a
message that says what a room code is or that no such room is open; none may join a room,
and none may reach another page as markup. The box keeps at most 12 characters, so longer
text arrives cut (still refused).
"""

from __future__ import annotations

from tests.corpus import Entry

_WHAT_A_CODE_IS = "6 letters and digits"
_NO_ROOM = "There is no open room"


def _code(name: str, text: str, what: str, message: str = _WHAT_A_CODE_IS) -> Entry:
    gets = (
        "refused: no open room has that code (check it with the lecturer)"
        if message == _NO_ROOM
        else "refused: a room code is 6 letters and digits, without 0, O, 1 or I"
    )
    return Entry(f"text/{name}", "text", what, "refuse", gets, text=text, message=message)


ENTRIES = [
    _code("empty", "", "nothing"),
    _code("spaces", "      ", "only spaces"),
    _code("too-short", "K7X", "3 characters"),
    _code("too-long", "K7XQ3MK7XQ3M", "12 characters"),
    _code("look-alike-letters", "ABC0IK", "the easily confused 0 and I"),
    _code("markup", "<b>K7X</b>", "HTML markup"),
    _code("sql", "' OR 1=1 --", "an SQL injection"),
    _code("full-width", "Ｋ７ＸＱ３Ｍ", "full-width letters and digits"),
    _code("emoji", "🙂🙂🙂🙂🙂🙂", "six emoji"),
    _code("zero-width-space", "K7X\u200bQ3M", "a code with a zero-width space inside"),
    _code("right-to-left", "\u202eK7XQ3M", "a code behind a right-to-left mark"),
    _code("very-long", "K" * 400, "400 characters (the box keeps 12)"),
    _code("unknown-code", "K7XQ3M", "a well-formed code of no open room", _NO_ROOM),
    _code(
        "unknown-code-lower-dashed",
        "k7x-q3m",
        "a well-formed code typed in lower case with a dash",
        _NO_ROOM,
    ),
]
