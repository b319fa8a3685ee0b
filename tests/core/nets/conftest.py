"""Fixtures of the nets tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def keras():
    """Keras, imported once for this module (a few seconds on first use)."""
    import keras

    return keras
