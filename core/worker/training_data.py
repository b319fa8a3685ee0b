"""The arrays a training run fits on: load the data set its config names, split off the
validation images, cap the training set and preprocess everything to float32.

`image_folder_dataset` turns the command line's ``--dataset FOLDER`` or ``--dataset
IMAGES.zip`` (one sub-folder per class) into the ``.npz`` a run trains on, exactly as the
Train page does with an uploaded zip or a server folder: the same reader with the same
safety checks, the same image size and the same held-back test set."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.base.checks import received
from core.data.builtin import load_builtin
from core.data.image_folders import ZipReport, load_image_folder, load_image_folder_zip
from core.data.preprocessing import Preprocessing, preprocess
from core.data.splits import hold_out_test_set, stratified_indices, train_validation_split
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import write_dataset_file

# The largest zip of class folders the command line reads: the page's upload limit
# (``maxUploadSize`` in .streamlit/config.toml).
MAX_ZIP_BYTES = 200 * 1024 * 1024


@dataclass
class TrainingData:
    """Arrays ready for ``model.fit``: float32 images (N, H, W, C) in [0, 1], int labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray | None
    y_validation: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    evaluated_on: str
    source: str
    test_image_indices: np.ndarray | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])


def load_training_data(config: dict) -> TrainingData:
    """Load, split, cap and preprocess the data set a run's ``config.json`` names."""
    train_config = TrainConfig.from_dict(config["train_config"])
    dataset = config["dataset"]
    if "npz_path" in dataset:
        with np.load(dataset["npz_path"], allow_pickle=False) as arrays:
            x_train, y_train = arrays["x_train"], arrays["y_train"]
            has_test = "x_test" in arrays.files and "y_test" in arrays.files
            if has_test and len(arrays["y_test"]) > 0:
                x_test, y_test = arrays["x_test"], arrays["y_test"]
            else:
                x_test = y_test = None  # e.g. an uploaded image-folder set
            names = (
                [str(n) for n in arrays["class_names"]] if "class_names" in arrays.files else None
            )
            source = str(arrays["source"]) if "source" in arrays.files else None
        source = source or f"file {Path(dataset['npz_path']).name}"
    else:
        loaded = load_builtin(dataset["name"])
        x_train, y_train = loaded.x_train, loaded.y_train
        x_test, y_test = loaded.x_test, loaded.y_test
        names = list(loaded.class_names)
        source = str(loaded.source)
    y_train = np.asarray(y_train).astype(np.int64).reshape(-1)
    num_classes = int(max(y_train.max(), -1 if y_test is None else np.max(y_test))) + 1
    class_names = names or [str(i) for i in range(num_classes)]

    # Split indices rather than images, so each evaluated image can be traced
    # back to its place in the data set the page shows.
    fit_indices, y_fit, validation_indices, y_validation = _split(
        np.arange(len(y_train)), y_train, train_config.validation_fraction, train_config.seed
    )
    x_fit = x_train[fit_indices]
    x_validation = None if validation_indices is None else x_train[validation_indices]
    if train_config.max_train_samples is not None and len(x_fit) > train_config.max_train_samples:
        keep = stratified_indices(y_fit, train_config.max_train_samples, seed=train_config.seed)
        x_fit, y_fit = x_fit[keep], y_fit[keep]
    evaluated_on = "test"
    test_image_indices = None if x_test is None else np.arange(len(x_test))
    if x_test is None:
        if x_validation is None:
            raise ValueError(
                "The data set has no test images and `validation_fraction` is 0, "
                "so there is nothing to evaluate on. Use a validation split."
            )
        x_test, y_test, evaluated_on = x_validation, y_validation, "validation"
        test_image_indices = validation_indices
    preprocessing = config.get("preprocessing")
    return TrainingData(
        x_train=_preprocess(x_fit, preprocessing),
        y_train=y_fit,
        x_validation=None if x_validation is None else _preprocess(x_validation, preprocessing),
        y_validation=y_validation,
        x_test=_preprocess(x_test, preprocessing),
        y_test=np.asarray(y_test).astype(np.int64).reshape(-1),
        class_names=class_names,
        evaluated_on=evaluated_on,
        source=source,
        test_image_indices=test_image_indices,
    )


def _split(x, y, validation_fraction: float, seed: int):
    """Stratified, seeded ``(x_fit, y_fit, x_validation, y_validation)``; no split at 0."""
    if validation_fraction <= 0:
        return x, y, None, None
    return train_validation_split(x, y, validation_fraction=validation_fraction, seed=seed)


def _preprocess(images: np.ndarray, settings: dict | None) -> np.ndarray:
    if settings:
        return np.asarray(preprocess(images, Preprocessing(**settings)), dtype=np.float32)
    scaled = np.asarray(images, dtype=np.float32)
    if np.issubdtype(np.asarray(images).dtype, np.integer):
        scaled = scaled / np.float32(255.0)
    if scaled.ndim == 3:
        scaled = scaled[..., np.newaxis]
    return scaled


@dataclass(frozen=True)
class FolderDataset:
    """An image-folder data set written for training: the ``.npz`` path, its colour mode
    ("rgb" or "grayscale") and what reading it skipped."""

    path: str
    color_mode: str
    report: ZipReport


def image_folder_dataset(
    value: str | os.PathLike, *, datasets_dir: str | os.PathLike | None = None
) -> FolderDataset | None:
    """Read ``value`` as a folder or a ``.zip`` of class folders and write it for training.

    The folder is read with `load_image_folder` rooted at itself (nothing outside it, no
    symbolic links), the zip with `load_image_folder_zip` (no absolute or ``..`` paths, no
    links, no encryption, size and decompression-bomb limits); then `hold_out_test_set`
    keeps the page's test images apart and `write_dataset_file` writes the ``.npz``.

    Args:
        value: the ``--dataset`` text.
        datasets_dir: where the ``.npz`` goes (default: ``datasets/`` in the runs folder).

    Returns:
        The `FolderDataset`, or None when ``value`` is neither a folder nor a ``.zip`` (a
        built-in name or an ``.npz``).

    Raises:
        ValueError: a missing or too large zip, or images that cannot be used (the message
            says why).
    """
    path = Path(value).expanduser()
    if path.suffix.lower() == ".zip":
        if not path.is_file():
            raise ValueError(
                f"`--dataset` names a zip that does not exist. {received('--dataset', str(value))}"
            )
        size = path.stat().st_size
        if size > MAX_ZIP_BYTES:
            raise ValueError(
                f"The zip is {size / 1e6:,.0f} MB; zips of class folders are limited to "
                f"{MAX_ZIP_BYTES / 1e6:,.0f} MB, as on the Train page."
            )
        dataset, report = load_image_folder_zip(path.read_bytes(), name=path.stem)
    elif path.is_dir():
        dataset, report = load_image_folder(".", data_root=path, name=path.resolve().name)
    else:
        return None
    written = write_dataset_file(hold_out_test_set(dataset), folder=datasets_dir)
    color_mode = "rgb" if dataset.x_train.ndim == 4 else "grayscale"
    return FolderDataset(os.fspath(written.resolve()), color_mode, report)
