"""Fixtures of the data tests: no data sources but the bundled ones, a server image root."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data.builtin import DATA_DIR_ENV
from tests.core.data.fakes import pets


@pytest.fixture()
def no_sources(monkeypatch, tmp_path):
    """No data dir and an empty Keras home: only the bundled subsets are left."""
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return keras_home


@pytest.fixture()
def image_root(tmp_path) -> Path:
    root = tmp_path / "root"
    for name, content in pets().items():
        path = root / "pets" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root
