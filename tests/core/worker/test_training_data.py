"""Tests for core.worker.training_data.load_training_data: the arrays a run fits on, from the
``config.json`` that `prepare_run` writes (no Keras needed)."""

from __future__ import annotations

import numpy as np
import pytest

from core.jobs import runs
from core.jobs.files import read_json
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import prepare_run
from core.worker.training_data import load_training_data
from tests.helpers_training import tiny_spec_dict


def run_config(dataset, runs_root, config: TrainConfig, preprocessing=None) -> dict:
    run_dir = prepare_run(
        tiny_spec_dict(), dataset, config, preprocessing=preprocessing, runs_root_dir=runs_root
    )
    return read_json(run_dir / runs.CONFIG_FILE)


def without_test_images(tiny_dataset, folder):
    """The tiny set as an image-folder upload gives it: training images only."""
    with np.load(tiny_dataset) as arrays:
        path = folder / "uploaded.npz"
        np.savez(
            path,
            x_train=arrays["x_train"],
            y_train=arrays["y_train"],
            x_test=np.empty((0, 8, 8), np.uint8),
            y_test=np.empty(0, np.uint8),
            class_names=arrays["class_names"],
            source=np.asarray("image folders (256 images)"),
        )
    return path


def test_an_npz_is_split_scaled_and_given_a_channel_axis(tiny_dataset, runs_root):
    config = run_config(tiny_dataset, runs_root, TrainConfig(validation_fraction=0.25))
    data = load_training_data(config)
    assert data.x_train.shape == (192, 8, 8, 1) and data.x_train.dtype == np.float32
    assert data.x_validation.shape == (64, 8, 8, 1)
    assert data.x_test.shape == (64, 8, 8, 1)
    assert data.input_shape == (8, 8, 1)
    assert data.class_names == ["top", "bottom"]
    assert (data.evaluated_on, data.source) == ("test", "file tiny.npz")
    with np.load(tiny_dataset) as arrays:
        np.testing.assert_allclose(data.x_test[..., 0], arrays["x_test"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.test_image_indices, np.arange(64))
    assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0


def test_the_validation_split_keeps_the_class_shares_and_the_seed(tiny_dataset, runs_root):
    config = run_config(tiny_dataset, runs_root, TrainConfig(validation_fraction=0.25, seed=3))
    data = load_training_data(config)
    assert np.bincount(data.y_validation).tolist() == [32, 32]
    assert np.bincount(data.y_train).tolist() == [96, 96]
    again = load_training_data(config)
    np.testing.assert_array_equal(again.x_validation, data.x_validation)
    other = load_training_data(
        run_config(tiny_dataset, runs_root, TrainConfig(validation_fraction=0.25, seed=4))
    )
    assert not np.array_equal(other.x_validation, data.x_validation)


def test_no_validation_split_at_zero(tiny_dataset, runs_root):
    data = load_training_data(
        run_config(tiny_dataset, runs_root, TrainConfig(validation_fraction=0))
    )
    assert data.x_validation is None and data.y_validation is None
    assert len(data.x_train) == 256


def test_a_set_without_test_images_is_evaluated_on_its_validation_images(tiny_dataset, tmp_path):
    uploaded = without_test_images(tiny_dataset, tmp_path)
    config = run_config(uploaded, tmp_path / "runs", TrainConfig(validation_fraction=0.25))
    data = load_training_data(config)
    assert data.evaluated_on == "validation"
    assert data.source == "image folders (256 images)"
    np.testing.assert_array_equal(data.x_test, data.x_validation)
    # Each evaluated image is traced back to its place in the uploaded x_train.
    with np.load(uploaded) as arrays:
        originals = arrays["x_train"][data.test_image_indices] / 255.0
        np.testing.assert_allclose(data.x_test[..., 0], originals, rtol=1e-6)
        np.testing.assert_array_equal(arrays["y_train"][data.test_image_indices], data.y_test)


def test_a_set_without_test_images_needs_a_validation_split(tiny_dataset, tmp_path):
    uploaded = without_test_images(tiny_dataset, tmp_path)
    config = run_config(uploaded, tmp_path / "runs", TrainConfig(validation_fraction=0))
    with pytest.raises(ValueError, match="nothing to evaluate on"):
        load_training_data(config)


def test_max_train_samples_caps_the_training_images_keeping_the_class_shares(
    tiny_dataset, runs_root
):
    config = TrainConfig(validation_fraction=0.25, max_train_samples=50)
    data = load_training_data(run_config(tiny_dataset, runs_root, config))
    assert np.bincount(data.y_train).tolist() == [25, 25]
    assert len(data.x_validation) == 64  # the cap is on the training images only
    assert len(data.x_test) == 64


def test_preprocessing_resizes_and_colours_every_split(tiny_dataset, runs_root):
    config = run_config(
        tiny_dataset,
        runs_root,
        TrainConfig(validation_fraction=0.25),
        preprocessing={"target_size": 16, "color_mode": "rgb"},
    )
    data = load_training_data(config)
    assert data.x_train.shape[1:] == data.x_validation.shape[1:] == (16, 16, 3)
    assert data.x_test.shape == (64, 16, 16, 3)
    assert data.x_train.dtype == np.float32


def test_a_built_in_set_brings_its_class_names(runs_root, monkeypatch, tmp_path):
    monkeypatch.delenv("CONVSCOPE_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))  # the bundled subset
    config = run_config("mnist", runs_root, TrainConfig(validation_fraction=0.1))
    data = load_training_data(config)
    assert data.class_names == [str(digit) for digit in range(10)]
    assert data.input_shape == (28, 28, 1)
    assert set(np.unique(data.y_test)) == set(range(10))
    assert len(data.x_train) + len(data.x_validation) > 0 and data.evaluated_on == "test"


# ---------------------------------------------------------------------------
# --dataset as a folder or a zip of class folders (the command line)
# ---------------------------------------------------------------------------

PER_CLASS = 12


@pytest.fixture(scope="module")
def pets_folder(tmp_path_factory, shared_data):
    """12 cat and 12 dog photos from the shared data, in class folders."""
    import shutil

    folder = tmp_path_factory.mktemp("pets") / "pets"
    for name in ("cats", "dogs"):
        (folder / name).mkdir(parents=True)
        photos = sorted((shared_data / "cats_vs_dogs" / "train" / name).glob("*.jpg"))
        for photo in photos[:PER_CLASS]:
            shutil.copy(photo, folder / name / photo.name)
    return folder


def zip_of(folder, target, extra: dict[str, bytes] | None = None):
    import zipfile

    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*.jpg")):
            archive.write(path, f"{folder.name}/{path.relative_to(folder)}")
        for member, data in (extra or {}).items():
            archive.writestr(member, data)
    return target


def test_a_folder_of_class_folders_is_written_with_the_pages_test_set(pets_folder, tmp_path):
    from core.data.splits import FOLDER_TEST_FRACTION
    from core.worker.training_data import image_folder_dataset

    folder = image_folder_dataset(pets_folder, datasets_dir=tmp_path)
    assert folder.color_mode == "rgb" and folder.report.class_names == ("cats", "dogs")
    with np.load(folder.path) as arrays:
        assert arrays["x_train"].shape[1:] == (128, 128, 3)
        assert len(arrays["y_test"]) == round(2 * PER_CLASS * FOLDER_TEST_FRACTION)
        assert sorted(np.bincount(arrays["y_test"]).tolist()) == [2, 3]
        assert list(arrays["class_names"]) == ["cats", "dogs"]


def test_a_zip_gives_the_same_images_as_the_folder(pets_folder, tmp_path):
    from core.worker.training_data import image_folder_dataset

    from_folder = image_folder_dataset(pets_folder, datasets_dir=tmp_path / "a")
    from_zip = image_folder_dataset(
        zip_of(pets_folder, tmp_path / "pets.zip"), datasets_dir=tmp_path / "b"
    )
    with np.load(from_folder.path) as first, np.load(from_zip.path) as second:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            np.testing.assert_array_equal(first[key], second[key])


def test_the_zip_checks_of_the_page_apply(pets_folder, tmp_path):
    from core.worker.training_data import image_folder_dataset

    escaping = zip_of(pets_folder, tmp_path / "bad.zip", {"../outside/evil.jpg": b"x"})
    with pytest.raises(ValueError, match=r"\.\."):
        image_folder_dataset(escaping, datasets_dir=tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        image_folder_dataset(tmp_path / "missing.zip")


def test_a_link_out_of_the_folder_is_not_followed(pets_folder, tmp_path):
    import shutil

    from core.worker.training_data import image_folder_dataset

    folder = tmp_path / "linked"
    shutil.copytree(pets_folder, folder)
    outside = tmp_path / "secret.jpg"
    shutil.copy(next((pets_folder / "cats").glob("*.jpg")), outside)
    (folder / "cats" / "link.jpg").symlink_to(outside)
    assert image_folder_dataset(folder, datasets_dir=tmp_path).report.class_counts == (
        PER_CLASS,
        PER_CLASS,
    )


def test_names_that_are_not_folders_or_zips_are_left_to_the_other_readers(tmp_path):
    from core.worker.training_data import image_folder_dataset

    assert image_folder_dataset("mnist") is None
    assert image_folder_dataset(tmp_path / "data.npz") is None
