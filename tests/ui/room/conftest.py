"""Fixtures for the lecture room's UI tests: a room file of the test's own."""

from __future__ import annotations

import pytest

from core.jobs.room_store import ROOMS_DB_ENV, SqliteRoomStore
from ui.room.state import room_store


@pytest.fixture(autouse=True)
def rooms(tmp_path, monkeypatch) -> SqliteRoomStore:
    """The store the app under test uses (a fresh file), opened here too."""
    path = tmp_path / "rooms.sqlite3"
    monkeypatch.setenv(ROOMS_DB_ENV, str(path))
    room_store.clear()
    yield SqliteRoomStore(path)
    room_store.clear()
