"""The room-code corpus through what the sidebar's "Join a room" uses: ``normalize_code``,
then a lookup in a real (empty) room store. Nothing in it may join a room."""

from __future__ import annotations

import pytest

from core.jobs.room_store import SqliteRoomStore
from core.jobs.rooms import normalize_code
from tests.corpus.plain_words import assert_plain_words
from tests.corpus.texts import ENTRIES

BOX_KEEPS = 12  # the Room code box's max_chars (ui/room/hook.py)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return SqliteRoomStore(tmp_path_factory.mktemp("rooms") / "rooms.sqlite3")


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.name)
def test_room_code_gets_its_declared_refusal(entry, store):
    assert entry.outcome == "refuse"
    typed = entry.text[:BOX_KEEPS]
    try:
        code = normalize_code(typed)
    except ValueError as error:
        message = str(error).split(" Received:")[0]
        assert entry.message.lower() in message.lower(), message
        assert_plain_words(message)
        return
    assert store.read_room(code) is None, "the corpus must not name an open room"
    assert entry.message == "There is no open room", f"{typed!r} reads as the code {code}"


def test_every_entry_is_typed_text_with_a_unique_name():
    assert len({entry.name for entry in ENTRIES}) == len(ENTRIES)
    assert {entry.kind for entry in ENTRIES} == {"text"}
