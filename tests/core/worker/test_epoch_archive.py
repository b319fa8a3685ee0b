"""core.worker.epoch_archive: a real training run keeps its epochs, each one a model the
inference worker loads, with no optimizer state; a long run keeps a bounded, spread few."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from core.base.paths import PROJECT_ROOT
from core.jobs import run_epochs, runs
from core.jobs.model_store import has_optimizer_state
from tests.helpers_training import write_tiny_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A 4-epoch run of the course's CNN A on the tiny data set, through the command line."""
    folder = tmp_path_factory.mktemp("archive")
    dataset = write_tiny_dataset(folder / "tiny.npz")
    completed = subprocess.run(
        [sys.executable, "-m", "core.worker.cli", "--model", "mnist_cnn_a"]
        + ["--dataset", str(dataset), "--epochs", "4", "--batch-size", "32"]
        + ["--learning-rate", "0.01", "--runs-dir", str(folder / "runs")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    [run] = runs.list_runs(folder / "runs")
    return run.run_dir


def test_every_epoch_of_a_short_run_is_kept_with_its_metrics(trained_run):
    epochs = run_epochs.read_epochs(trained_run)
    assert [saved.epoch for saved in epochs] == [1, 2, 3, 4]
    history = json.loads((trained_run / runs.MODEL_SIDECAR_FILE).read_text())["history"]
    for saved, record in zip(epochs, history, strict=True):
        assert saved.val_accuracy == pytest.approx(record["val_accuracy"])
        assert saved.loss == pytest.approx(record["loss"])
    assert run_epochs.epochs_seen(trained_run) == 4
    names = sorted(path.name for path in (trained_run / run_epochs.EPOCHS_DIR).iterdir())
    assert names == [f"epoch-000{i}.keras" for i in range(1, 5)] + ["index.json"]


def test_a_kept_epoch_has_no_optimizer_state_and_is_smaller_than_the_checkpoint(trained_run):
    last = run_epochs.read_epochs(trained_run)[-1].path
    assert has_optimizer_state(trained_run / runs.MODEL_FILE)
    assert not has_optimizer_state(last)
    assert last.stat().st_size < (trained_run / runs.MODEL_FILE).stat().st_size


def test_the_worker_inspects_each_epoch_and_the_last_equals_the_final_model(trained_run, client):
    epochs = run_epochs.read_epochs(trained_run)
    image = np.zeros((8, 8, 1), np.float32)
    image[:4] = 0.9  # a bright top half: class "top"
    first = client.filters(epochs[0].path)
    last = client.filters(epochs[-1].path)
    assert first.layer == last.layer and not np.allclose(first.kernels, last.kernels)
    final = client.feature_maps(trained_run / runs.MODEL_FILE, image).probabilities
    np.testing.assert_allclose(
        client.feature_maps(epochs[-1].path, image).probabilities, final, atol=1e-6
    )


def test_a_long_run_keeps_a_bounded_spread_of_epochs(tmp_path, monkeypatch):
    from core.worker import epoch_archive
    from core.worker.environment import import_keras

    keras = import_keras()
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3)])
    monkeypatch.setattr(epoch_archive, "MAX_KEPT_EPOCHS", 4)
    (tmp_path / run_epochs.EPOCHS_DIR).mkdir()
    leftover = tmp_path / run_epochs.EPOCHS_DIR / ".full-epoch-0007.keras"
    leftover.write_bytes(b"half a model")  # a worker killed while saving, in an earlier try
    for epoch in range(1, 10):
        assert epoch_archive.keep_epoch(model, tmp_path, {"epoch": epoch, "loss": 1.0 / epoch})
    expected: list[int] = []
    for epoch in range(1, 10):  # thinned as the run goes, one epoch at a time
        expected = run_epochs.epochs_to_keep([*expected, epoch], limit=4)
    kept = [saved.epoch for saved in run_epochs.read_epochs(tmp_path)]
    assert kept == expected and kept[0] == 1 and kept[-1] == 9
    files = sorted((tmp_path / run_epochs.EPOCHS_DIR).glob("*.keras"))
    assert [path.name for path in files] == [run_epochs.epoch_file_name(e) for e in kept]
    assert not leftover.exists()


def test_an_epoch_that_cannot_be_written_is_skipped_not_raised(tmp_path):
    from core.worker import epoch_archive
    from core.worker.environment import import_keras

    keras = import_keras()
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3)])
    (tmp_path / run_epochs.EPOCHS_DIR).write_text("a file where the folder should be")
    assert not epoch_archive.keep_epoch(model, tmp_path, {"epoch": 1})
    assert run_epochs.read_epochs(tmp_path) == []
