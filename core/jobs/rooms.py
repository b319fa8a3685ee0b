"""A lecture room: what a lecturer's screen shows, the students who follow it, and questions.

The room's state lives in a store behind one small interface, ``RoomStore``, so that a
server farm can swap the embedded SQLite file (``core.jobs.room_store``) for a shared
store without touching the pages. This module holds what every store shares: the room
code and lecturer token, the question and how a student's answer is checked, and the
shapes a store returns.

Safety rules every store keeps:

- a room code is drawn at random from an alphabet without look-alikes (no 0/O, 1/I), so
  codes cannot be found by counting;
- only the holder of the lecturer token (kept as a hash) publishes, asks and reveals;
- a student only reports "I am here" and submits answers; answers are checked against
  the question and only ever counted, so nothing a student types reaches another page;
- a room expires ``ROOM_TTL_SECONDS`` after the lecturer's last action.

>>> question = Question.number("How many output rows?", 3, minimum=0, maximum=100)
>>> question.canonical(" 3 "), question.is_correct("3"), question.is_correct("4")
('3', True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import NamedTuple, Protocol

from core.base.checks import check_choice, check_int, check_real, check_string, received

# Letters and digits that cannot be misread: no 0/O, no 1/I.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


CODE_LENGTH = 6


# A room is purged this long after the lecturer's last action (publish, ask, reveal).
ROOM_TTL_SECONDS = 4 * 3600


# A student counts as present when their page reported within this many seconds.
FOLLOWER_WINDOW_SECONDS = 10.0


QUESTION_KINDS = ("number", "choice")


MAX_CHOICES = 30


MAX_PROMPT_CHARS = 500


MAX_ANSWER_CHARS = 40


MAX_PARAMS_CHARS = 64_000


_CODE_PATTERN = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")


_PAGE_PATTERN = re.compile(r"[A-Za-z0-9_\-]{0,80}")


class RoomNotFoundError(LookupError):
    """No open room has this code (never created, closed, or expired)."""


class NotLecturerError(PermissionError):
    """The lecturer token does not match the room's: only the lecturer may change the room."""


def new_room_code() -> str:
    """A fresh random room code: ``CODE_LENGTH`` characters of ``CODE_ALPHABET``.

    >>> code = new_room_code()
    >>> len(code), set(code) <= set(CODE_ALPHABET)
    (6, True)
    """
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_lecturer_token() -> str:
    """A secret the lecturer's session keeps; the store only sees its hash."""
    return secrets.token_urlsafe(24)


def token_digest(token: str) -> str:
    """The hash a store keeps instead of the lecturer token.

    >>> len(token_digest("secret"))
    64
    """
    return hashlib.sha256(check_string(token, "token").encode()).hexdigest()


def token_matches(token: str, digest: str) -> bool:
    """Whether ``token`` hashes to ``digest``, compared in constant time."""
    return isinstance(token, str) and hmac.compare_digest(token_digest(token), digest)


def normalize_code(text: str) -> str:
    """A room code as a person typed it: case, spaces and dashes do not matter.

    Raises:
        ValueError: the text is not a possible room code; the message says what a code is.

    >>> normalize_code(" abc-23k ")
    'ABC23K'
    >>> normalize_code("ABC0IK")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: A room code is 6 letters and digits, without 0, O, 1 or I ... code='ABC0IK'.
    """
    if not isinstance(text, str):
        raise TypeError(f"The room code must be text. {received('code', text)}")
    code = re.sub(r"[\s\-]", "", text).upper()
    if not _CODE_PATTERN.fullmatch(code):
        raise ValueError(
            f"A room code is {CODE_LENGTH} letters and digits, without 0, O, 1 or I "
            f"(e.g. K7XQ3M). {received('code', text)}"
        )
    return code


def check_page(page: str) -> str:
    """A page's address name (``kernel_playground``; ``""`` is the home page)."""
    return check_string(page, "page", pattern=_PAGE_PATTERN, expected="a page's address name")


def check_params(params) -> dict[str, str]:
    """Link parameters: a dict of text to text, at most ``MAX_PARAMS_CHARS`` as JSON."""
    if not isinstance(params, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in params.items()
    ):
        raise TypeError(
            f"`params` must be a dict of strings to strings. {received('params', params)}"
        )
    if len(json.dumps(params)) > MAX_PARAMS_CHARS:
        raise ValueError(f"`params` must be at most {MAX_PARAMS_CHARS} characters as JSON.")
    return dict(params)


def format_answer(value: float, decimals: int) -> str:
    """A number as answers are counted: rounded to ``decimals`` places, no trailing zeros.

    >>> format_answer(2.3333, 2), format_answer(4.0, 0), format_answer(-0.001, 2)
    ('2.33', '4', '0')
    """
    text = f"{round(float(value), decimals):.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Question:
    """A question the room answers: a number (with a tolerance and a range) or a choice.

    ``answer`` is the right answer as students' answers are counted (``canonical``).
    ``explanation`` is shown with it at the reveal. Build one with ``Question.number``
    or ``Question.choice``; a question checks itself when made.
    """

    kind: str
    prompt: str
    answer: str
    choices: tuple[str, ...] = ()
    tolerance: float = 0.0
    minimum: float = -1e9
    maximum: float = 1e9
    decimals: int = 0
    explanation: str = ""

    def __post_init__(self):
        check_choice(self.kind, "kind", QUESTION_KINDS)
        check_string(self.prompt, "prompt")
        if not 0 < len(self.prompt) <= MAX_PROMPT_CHARS:
            raise ValueError(f"`prompt` must be 1 to {MAX_PROMPT_CHARS} characters.")
        if self.kind == "choice":
            choices = tuple(self.choices)
            if not 2 <= len(choices) <= MAX_CHOICES or len(set(choices)) != len(choices):
                raise ValueError(
                    f"`choices` must be 2 to {MAX_CHOICES} different texts. "
                    f"{received('choices', self.choices)}"
                )
            for choice in choices:
                check_string(choice, "choice")
            if self.answer not in choices:
                raise ValueError(
                    f"`answer` must be one of the choices. {received('answer', self.answer)}"
                )
            object.__setattr__(self, "choices", choices)
        else:
            check_int(self.decimals, "decimals", minimum=0, maximum=6)
            check_real(self.tolerance, "tolerance", minimum=0)
            check_real(self.minimum, "minimum")
            check_real(self.maximum, "maximum", minimum=self.minimum)
            if self.canonical(self.answer) != self.answer:
                raise ValueError(
                    f"`answer` must be a number in the question's range, as `format_answer` "
                    f"writes it. {received('answer', self.answer)}"
                )

    @classmethod
    def number(
        cls,
        prompt: str,
        answer: float,
        *,
        tolerance: float = 0.0,
        minimum: float = -1e9,
        maximum: float = 1e9,
        decimals: int = 0,
        explanation: str = "",
    ) -> Question:
        """A numeric question; answers within ``tolerance`` of ``answer`` count as right."""
        return cls(
            kind="number",
            prompt=prompt,
            answer=format_answer(answer, decimals),
            tolerance=float(tolerance),
            minimum=float(minimum),
            maximum=float(maximum),
            decimals=decimals,
            explanation=explanation,
        )

    @classmethod
    def choice(cls, prompt: str, choices, answer: str, *, explanation: str = "") -> Question:
        """A question with a list of answers to pick from; ``answer`` is one of them."""
        return cls(
            kind="choice",
            prompt=prompt,
            answer=answer,
            choices=tuple(choices),
            explanation=explanation,
        )

    def canonical(self, raw) -> str:
        """A student's answer checked and written as it is counted.

        Raises:
            ValueError: not an answer to this question, with a message for the student.

        >>> Question.choice("Which?", ["a", "b"], "a").canonical("c")
        Traceback (most recent call last):
        ValueError: Pick one of the answers offered.
        >>> Question.number("Size?", 3, minimum=1, maximum=10).canonical("2.5")
        Traceback (most recent call last):
        ValueError: Type a whole number.
        """
        if self.kind == "choice":
            if raw not in self.choices:
                raise ValueError("Pick one of the answers offered.")
            return raw
        if isinstance(raw, bool):
            raise ValueError("Type a number.")
        if isinstance(raw, str):
            text = raw.strip().replace("−", "-").replace(",", ".")
            if not text or len(text) > MAX_ANSWER_CHARS:
                raise ValueError("Type a number.")
            try:
                value = float(text)
            except ValueError:
                raise ValueError("Type a number, e.g. 4 or 2.5.") from None
        elif isinstance(raw, int | float):
            value = float(raw)
        else:
            raise ValueError("Type a number.")
        if not math.isfinite(value):
            raise ValueError("Type a finite number.")
        if self.decimals == 0 and value != round(value):
            raise ValueError("Type a whole number.")
        if not self.minimum <= value <= self.maximum:
            low, high = format_answer(self.minimum, 6), format_answer(self.maximum, 6)
            raise ValueError(f"Type a number from {low} to {high}.")
        return format_answer(value, self.decimals)

    def is_correct(self, canonical: str) -> bool:
        """Whether a counted answer is right (numbers: within the tolerance)."""
        if self.kind == "choice":
            return canonical == self.answer
        return abs(float(canonical) - float(self.answer)) <= self.tolerance + 1e-9

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Question:
        values = json.loads(text)
        values["choices"] = tuple(values.get("choices", ()))
        return cls(**values)


@dataclass(frozen=True)
class RoomKeys:
    """What creating a room gives the lecturer: the code to show, the token to keep."""

    code: str
    token: str = field(repr=False)


class Followers(NamedTuple):
    """Students seen in the last ``FOLLOWER_WINDOW_SECONDS``: following, or exploring alone."""

    following: int
    exploring: int


@dataclass(frozen=True)
class RoomState:
    """What a student's page polls: the lecturer's page and link, and the open question.

    ``version`` grows by one with every change the lecturer publishes; ``question_id`` is
    None when no question is open. A student's page shows ``question.answer`` only once
    ``revealed``.
    """

    code: str
    page: str
    params: dict[str, str]
    version: int
    question_id: int | None = None
    question: Question | None = None
    revealed: bool = False


class RoomPulse(NamedTuple):
    """What a student's page checks several times a second: cheap to read and compare.

    >>> RoomPulse(3, None, False).version
    3
    """

    version: int
    question_id: int | None
    revealed: bool


class RoomStore(Protocol):
    """Where rooms live. Every method is safe to call from many threads and processes.

    Methods that change what the room shows take the lecturer ``token`` and raise
    ``NotLecturerError`` when it is wrong; every method but ``create_room``,
    ``read_room``, ``room_version`` and ``purge_expired`` raises ``RoomNotFoundError``
    for a code with no open room.
    """

    def create_room(self) -> RoomKeys:
        """Open a room with a fresh code; the lecturer keeps the returned token."""

    def read_room(self, code: str) -> RoomState | None:
        """The room's current state, or None when there is no such open room."""

    def room_version(self, code: str) -> RoomPulse | None:
        """The room's version and question, or None when there is no such open room.

        Students' pages poll this several times a second: one small read, no JSON, so a
        room of 30 idle followers keeps the server cheap; ``read_room`` only on a change.
        """

    def publish(self, code: str, token: str, *, page: str, params: dict[str, str]) -> int:
        """Set the page and link students follow; returns the version (bumped on a change)."""

    def close_room(self, code: str, token: str) -> None:
        """End the room now: students' pages say so and stop following."""

    def join(self, code: str) -> str:
        """Add a student; returns their anonymous follower id."""

    def heartbeat(self, code: str, follower: str, *, following: bool = True) -> None:
        """A student's page is still open (following the lecturer, or exploring alone)."""

    def leave(self, code: str, follower: str) -> None:
        """A student left the room."""

    def count_followers(self, code: str) -> Followers:
        """Students seen in the last ``FOLLOWER_WINDOW_SECONDS``."""

    def ask(self, code: str, token: str, question: Question) -> int:
        """Open a question (replacing any open one); returns its id."""

    def reveal(self, code: str, token: str) -> None:
        """Show the open question's right answer to everyone."""

    def close_question(self, code: str, token: str) -> None:
        """Take the open question off every screen."""

    def submit_answer(self, code: str, question_id: int, follower: str, answer) -> bool:
        """Count a student's answer (checked against the question); False if already counted.

        Raises ``ValueError`` for an answer the question does not accept, for a question
        that is no longer open or already revealed, or for an unknown follower.
        """

    def answer_counts(self, code: str, question_id: int) -> dict[str, int]:
        """How many students gave each answer, most frequent first."""

    def purge_expired(self) -> int:
        """Delete rooms past their expiry; returns how many."""
