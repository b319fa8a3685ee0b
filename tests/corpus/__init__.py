"""ConvScope's own corpus of bad and unusual inputs, and what the app must do with each.

Every entry is generated at test time (nothing large is committed): a file a
person might upload (an image, a zip of class folders, a model), a text typed
into a box (a kernel cell, a number), or a link with query parameters. Each
says, in plain words, what it is and what the app must do with it:

- ``refuse``: a message in the page that says what is wrong and what to do;
- ``note``: accepted, with a note saying what was changed (first frame of an
  animation, NaN replaced, image rotated, 16-bit scaled);
- ``accept``: taken as it is.

The same entries feed the core-level tests (``tests/corpus/test_*.py``), the
browser fuzz test (``tests/browser/test_browser_fuzz.py``) and the table of
bad inputs in ``docs/bad-inputs.md`` (``scripts/bad_inputs_table.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["refuse", "note", "accept"]

# Which input takes an entry: an image uploader, the data-set zip uploader, a
# model uploader, a kernel cell, a number box, a free-text box, or the address bar.
KINDS = ("image", "zip", "model", "kernel_cell", "number", "text", "link")


@dataclass(frozen=True)
class Entry:
    """One input from the corpus and what the app must do with it."""

    name: str  # unique and stable, e.g. "image/empty-png"
    kind: str  # one of KINDS
    what: str  # the input in plain words, for the docs table
    outcome: Outcome
    gets: str  # what the app does or says, in plain words, for the docs table
    filename: str = ""  # the name a file entry is uploaded under
    make: Callable[[], bytes] | None = None  # a file entry's bytes, built on demand
    text: str = ""  # typed text, or for links "page_path?query"
    message: str = ""  # a case-insensitive fragment the page's message must contain
    slow: bool = False  # checking it needs a worker process (models)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}, not {self.kind!r}")
        if self.outcome not in ("refuse", "note", "accept"):
            raise ValueError(f"{self.name}: unknown outcome {self.outcome!r}")
        if self.kind in ("image", "zip", "model") and (self.make is None or not self.filename):
            raise ValueError(f"{self.name}: a file entry needs a filename and make()")


def all_entries() -> list[Entry]:
    """Every entry of every kind, in a stable order; names are unique."""
    import importlib

    entries: list[Entry] = []
    for module_name in (
        "images",
        "zips",
        "models",
        "legacy_models",
        "numbers",
        "texts",
        "links",
    ):
        entries.extend(importlib.import_module(f"tests.corpus.{module_name}").ENTRIES)
    names = [entry.name for entry in entries]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"corpus entries share names: {duplicates}")
    return entries
