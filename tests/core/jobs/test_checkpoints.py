"""Tests for core.jobs.checkpoints: which model a run folder keeps and what is known of it, also
when the worker was killed between writing the model file and its sidecar."""

from __future__ import annotations

import json
import os

from core.jobs.checkpoints import (
    FINGERPRINT_KEY,
    KeptModel,
    kept_model,
    kept_model_message,
    model_fingerprint,
)

EPOCHS = [{"type": "epoch", "epoch": 1, "accuracy": 0.6}, {"type": "epoch", "epoch": 2}]


def _checkpoint(folder, content: bytes, epochs: int) -> None:
    """What the worker writes: the model file, then its sidecar naming that file."""
    (folder / "model.keras").write_bytes(content)
    sidecar = {
        "class_names": ["cats", "dogs"],
        "epochs_completed": epochs,
        "metrics": {"val_accuracy": 0.7},
        "end_reason": None,
        FINGERPRINT_KEY: model_fingerprint(folder / "model.keras"),
    }
    (folder / "model.json").write_text(json.dumps(sidecar))


def test_no_model_file_keeps_nothing(tmp_path):
    (tmp_path / "model.json").write_text('{"epochs_completed": 3}')
    assert kept_model(tmp_path / "model.keras", tmp_path / "model.json", EPOCHS) is None


def test_a_whole_checkpoint_is_described_by_its_sidecar(tmp_path):
    _checkpoint(tmp_path, b"PK model 2", epochs=2)
    kept = kept_model(tmp_path / "model.keras", tmp_path / "model.json", EPOCHS[:1])
    assert (kept.described, kept.epochs) == (True, 2)
    assert kept.metadata["metrics"] == {"val_accuracy": 0.7}


def test_a_sidecar_from_before_fingerprints_still_describes_its_model(tmp_path):
    (tmp_path / "model.keras").write_bytes(b"PK")
    (tmp_path / "model.json").write_text('{"epochs_completed": 4}')
    kept = kept_model(tmp_path / "model.keras", tmp_path / "model.json", [])
    assert (kept.described, kept.epochs) == (True, 4)


def test_a_model_newer_than_its_sidecar_is_kept_with_what_the_progress_says(tmp_path):
    _checkpoint(tmp_path, b"PK model 1", epochs=1)
    # Killed after epoch 2's model file, before its sidecar: same size, a later write.
    (tmp_path / "model.keras").write_bytes(b"PK model 2")
    stat = (tmp_path / "model.keras").stat()
    os.utime(tmp_path / "model.keras", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    kept = kept_model(tmp_path / "model.keras", tmp_path / "model.json", EPOCHS)
    assert (kept.described, kept.epochs) == (False, 2)
    assert kept.metadata["class_names"] == ["cats", "dogs"]  # what lasts from the old sidecar
    assert kept.metadata["epochs_completed"] == 2
    assert kept.metadata["history"] == EPOCHS
    assert kept.metadata["metrics"] == {}  # the old epoch's figures are not this model's
    assert kept.metadata[FINGERPRINT_KEY] == model_fingerprint(tmp_path / "model.keras")


def test_a_model_without_any_sidecar_is_kept(tmp_path):
    (tmp_path / "model.keras").write_bytes(b"PK")
    kept = kept_model(tmp_path / "model.keras", tmp_path / "model.json", EPOCHS[:1])
    assert (kept.described, kept.epochs) == (False, 1)
    assert kept_model_message(kept) == (
        "The model saved after epoch 1 is kept: you can save or inspect it."
    )


def test_the_message_without_a_known_epoch():
    kept = KeptModel(path=None, metadata={}, epochs=None, described=False)
    assert kept_model_message(kept) == (
        "The last model it saved is kept: you can save or inspect it."
    )
