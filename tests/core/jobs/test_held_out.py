"""Tests for core.jobs.held_out: a stored model keeps a bounded, evenly spread copy of its
run's test images, and a missing or damaged copy reads as None."""

from __future__ import annotations

import numpy as np

from core.jobs import model_store
from core.jobs.held_out import held_out_path, read_held_out, write_held_out
from tests.helpers_training import write_tiny_dataset


def test_at_most_the_limit_is_kept_spread_over_the_split(tmp_path):
    dataset = write_tiny_dataset(tmp_path / "tiny.npz", num_images=400)  # 100 test images
    info = write_held_out(dataset, tmp_path / "m.test.npz", limit=30)
    assert info == {"count": 30, "of": 100}
    kept = read_held_out(tmp_path / "m.test.npz")
    with np.load(dataset) as arrays:
        index = np.load(tmp_path / "m.test.npz")["index"]
        assert index[0] == 0 and index[-1] == 99 and len(np.unique(index)) == 30
        np.testing.assert_array_equal(kept["x_test"], arrays["x_test"][index])
        np.testing.assert_array_equal(kept["y_test"], arrays["y_test"][index])
    assert list(kept["class_names"]) == ["top", "bottom"]


def test_a_small_split_is_kept_whole(tmp_path):
    dataset = write_tiny_dataset(tmp_path / "tiny.npz", num_images=40)
    assert write_held_out(dataset, tmp_path / "m.test.npz") == {"count": 10, "of": 10}


def test_no_test_split_or_a_damaged_file_writes_and_reads_nothing(tmp_path):
    np.savez(tmp_path / "train_only.npz", x_train=np.zeros((4, 2, 2)), y_train=np.zeros(4))
    assert write_held_out(tmp_path / "train_only.npz", tmp_path / "a.test.npz") is None
    (tmp_path / "bad.npz").write_bytes(b"PK not really")
    assert write_held_out(tmp_path / "bad.npz", tmp_path / "b.test.npz") is None
    assert not list(tmp_path.glob("*.test.npz"))
    assert read_held_out(tmp_path / "bad.npz") is None
    assert read_held_out(tmp_path / "missing.test.npz") is None


def test_the_store_keeps_moves_and_deletes_the_test_images_with_the_model(tmp_path):
    dataset = write_tiny_dataset(tmp_path / "tiny.npz", num_images=40)
    source = tmp_path / "model.keras"
    source.write_bytes(b"PK\x03\x04 stand-in")
    store = tmp_path / "store"
    saved = model_store.save_model_file(source, "pets", models_dir=store, test_split=dataset)
    assert saved.metadata["test_images"] == {"count": 10, "of": 10}
    assert read_held_out(held_out_path(saved.path)) is not None
    renamed = model_store.rename_model("pets", "my pets", models_dir=store)
    assert read_held_out(held_out_path(renamed.path)) is not None
    assert sorted(p.name for p in store.iterdir()) == [
        "my pets.json",
        "my pets.keras",
        "my pets.test.npz",
    ]
    assert [m.name for m in model_store.list_models(models_dir=store)] == ["my pets"]
    model_store.delete_model("my pets", models_dir=store)
    assert list(store.iterdir()) == []
