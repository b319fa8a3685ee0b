"""core.jobs.run_epochs: which epochs a run keeps, reading them back, and a model's run."""

from __future__ import annotations

import json

import pytest

from core.jobs import run_epochs
from core.jobs.run_epochs import SavedEpoch, epochs_to_keep, read_epochs, run_dir_of_model


def test_a_short_run_keeps_every_epoch():
    assert epochs_to_keep([3, 1, 2], limit=12) == [1, 2, 3]


@pytest.mark.parametrize("total", [13, 20, 50, 100, 1000])
def test_epochs_kept_one_by_one_stay_bounded_and_spread_with_first_and_latest(total):
    kept: list[int] = []
    for epoch in range(1, total + 1):
        kept = epochs_to_keep([*kept, epoch], limit=12)
        assert len(kept) == min(epoch, 12)
        assert kept[0] == 1 and kept[-1] == epoch
    gaps = [b - a for a, b in zip(kept, kept[1:], strict=False)]
    assert max(gaps) <= 4 * total / 11  # no stretch of the run left without an epoch


def test_a_limit_below_two_is_refused_naming_it():
    with pytest.raises(ValueError, match="`limit` must be >= 2. Received: limit=1"):
        epochs_to_keep([1, 2, 3], limit=1)


def write_index(run_dir, entries, *, files=None):
    folder = run_dir / run_epochs.EPOCHS_DIR
    folder.mkdir(parents=True)
    (folder / run_epochs.EPOCH_INDEX_FILE).write_text(
        json.dumps({"epochs": entries, "epochs_seen": 9})
    )
    for epoch in files if files is not None else [e["epoch"] for e in entries]:
        (folder / run_epochs.epoch_file_name(epoch)).write_bytes(b"model")
    return folder


def test_kept_epochs_are_read_oldest_first_with_their_metrics(tmp_path):
    folder = write_index(
        tmp_path,
        [
            {"epoch": 9, "accuracy": 0.9, "val_accuracy": 0.85, "loss": 0.3, "val_loss": 0.4},
            {"epoch": 1, "accuracy": 0.5, "loss": 1.2},
        ],
    )
    assert read_epochs(tmp_path) == [
        SavedEpoch(1, folder / "epoch-0001.keras", loss=1.2, accuracy=0.5),
        SavedEpoch(9, folder / "epoch-0009.keras", 0.3, 0.9, 0.4, 0.85),
    ]
    assert run_epochs.epochs_seen(tmp_path) == 9


def test_missing_files_and_damaged_entries_are_left_out(tmp_path):
    write_index(
        tmp_path,
        [
            {"epoch": 1, "val_accuracy": "high"},
            {"epoch": 2},
            {"epoch": True},
            {"epoch": -1},
            "epoch 3",
            {"epoch": 4, "file": "../../etc/passwd"},
        ],
        files=[1, 4],
    )
    epochs = read_epochs(tmp_path)
    assert [e.epoch for e in epochs] == [1, 4]
    assert epochs[0].val_accuracy is None  # not a number
    assert epochs[1].path.parent == tmp_path / run_epochs.EPOCHS_DIR  # never the named file


def test_a_run_without_an_archive_or_with_a_damaged_index_has_no_epochs(tmp_path):
    assert read_epochs(tmp_path) == [] and run_epochs.epochs_seen(tmp_path) == 0
    (tmp_path / run_epochs.EPOCHS_DIR).mkdir()
    (tmp_path / run_epochs.EPOCHS_DIR / run_epochs.EPOCH_INDEX_FILE).write_text("{not json")
    assert read_epochs(tmp_path) == []


def test_a_saved_models_run_is_found_by_its_run_id(tmp_path):
    (tmp_path / "20260101-run-abc").mkdir()
    found = run_dir_of_model({"run_id": "20260101-run-abc"}, runs_root_dir=tmp_path)
    assert found == tmp_path / "20260101-run-abc"
    assert run_dir_of_model({"run_id": "deleted-run"}, runs_root_dir=tmp_path) is None
    assert run_dir_of_model({"run_id": "../outside"}, runs_root_dir=tmp_path) is None
    assert run_dir_of_model({"run_id": None}, runs_root_dir=tmp_path) is None
    assert run_dir_of_model("not a sidecar", runs_root_dir=tmp_path) is None
