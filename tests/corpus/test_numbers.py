"""The kernel-cell corpus through ``parse_kernel_cell``, what the Kernel Playground's grid uses.

An accepted cell reads as the value a person means; a refused one raises ``ValueError``
with a plain-words message, which the page shows as "Row r, column c: <message>."
"""

from __future__ import annotations

import math

import pytest

from tests.corpus.numbers import ENTRIES, VALUES
from tests.corpus.plain_words import assert_plain_words
from ui.kernel_playground.link_state import parse_kernel_cell

CELLS = [entry for entry in ENTRIES if entry.kind == "kernel_cell"]


@pytest.mark.parametrize("entry", CELLS, ids=lambda entry: entry.name)
def test_cell_gets_its_declared_outcome(entry):
    if entry.outcome == "refuse":
        with pytest.raises(ValueError) as caught:
            parse_kernel_cell(entry.text)
        message = str(caught.value)
        assert entry.message.lower() in message.lower(), message
        assert_plain_words(f"Row 0, column 0: {message}.")
    else:
        assert entry.outcome == "accept", "a cell has no notes: it is used or refused"
        value = parse_kernel_cell(entry.text)
        assert math.isfinite(value)
        assert value == pytest.approx(VALUES[entry.name], rel=1e-12, abs=0.0)


def test_every_accepted_cell_has_its_value_and_every_entry_plain_words():
    accepted = {entry.name for entry in CELLS if entry.outcome == "accept"}
    assert accepted == set(VALUES)
    assert len({entry.name for entry in ENTRIES}) == len(ENTRIES)
    for entry in ENTRIES:
        assert entry.kind in ("kernel_cell", "number")
        assert entry.name.startswith(f"{entry.kind}/")
        assert entry.what and entry.gets and (entry.text or entry.message == "empty")
        assert_plain_words(entry.what)
        assert_plain_words(entry.gets)
        assert (entry.outcome == "accept") == (entry.message == ""), entry.name
