"""core.base.paths: the project's folders, and Keras' cache folder computed as Keras does."""

from __future__ import annotations

import os
from pathlib import Path

from core.base import paths


def test_project_root_holds_the_app_and_the_core_package():
    assert (paths.PROJECT_ROOT / "app.py").is_file()
    assert (paths.PROJECT_ROOT / "core" / "base" / "paths.py").is_file()


def test_asset_folders_sit_under_assets_and_exist():
    for folder in (paths.BUNDLED_DATA_DIR, paths.BUNDLED_MODELS_DIR, paths.SAMPLE_IMAGES_DIR):
        assert folder.parent == paths.ASSETS_DIR
        assert folder.is_dir(), folder
    assert paths.ASSETS_DIR == paths.PROJECT_ROOT / "assets"


def test_keras_home_follows_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "cache"))
    assert paths.keras_home() == tmp_path / "cache"
    monkeypatch.setenv("KERAS_HOME", "~/somewhere")
    assert paths.keras_home() == Path(os.path.expanduser("~/somewhere"))


def test_keras_home_defaults_to_dot_keras_in_a_writable_home(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.keras_home() == tmp_path / ".keras"


def test_keras_home_falls_back_to_tmp_when_home_is_not_writable(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(paths.os, "access", lambda path, mode: False)
    assert paths.keras_home() == Path("/tmp/.keras")
