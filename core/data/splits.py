"""Stratified sampling and train/validation splits, class counts and example grids."""

from __future__ import annotations

import dataclasses

import numpy as np

from core.base.checks import (
    as_integer_array,
    check_choice,
    check_instance,
    check_int,
    check_real,
    received,
)
from core.data.image_dataset import SPLITS, ImageDataset


def _check_labels(y) -> np.ndarray:
    """Class labels: a 1-D integer array, every label >= 0."""
    return as_integer_array(y, "y", ndims=(1,), minimum=0)


def stratified_indices(y, count: int, *, seed: int = 0) -> np.ndarray:
    """Pick `count` indices of `y` keeping the class proportions, in ascending order.

    Each class gets its share of `count` (largest remainders break ties), chosen at random
    with `numpy.random.default_rng(seed)`.

    >>> stratified_indices(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 4).size
    4
    """
    labels = _check_labels(y)
    count = check_int(count, "count", minimum=0, maximum=labels.size)
    rng = np.random.default_rng(seed)
    shares = _allocate(np.bincount(labels), count)
    picked = [
        rng.choice(np.flatnonzero(labels == label), size=share, replace=False)
        for label, share in enumerate(shares)
        if share
    ]
    return np.sort(np.concatenate(picked)) if picked else np.empty(0, dtype=np.int64)


def _allocate(class_sizes: np.ndarray, total: int) -> np.ndarray:
    """Split `total` over classes in proportion to `class_sizes` (largest remainder method)."""
    exact = class_sizes * (total / class_sizes.sum())
    shares = np.floor(exact).astype(np.int64)
    remainders = exact - shares
    for label in np.argsort(-remainders, kind="stable")[: total - shares.sum()]:
        shares[label] += 1
    return np.minimum(shares, class_sizes)


def train_validation_split(
    x: np.ndarray, y: np.ndarray, *, validation_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split off a stratified, seeded validation set; both parts come back shuffled.

    Every class keeps (to the nearest image) the same share in both parts; the validation
    set has `round(N * validation_fraction)` images. Same `seed`, same split.

    Args:
        x: array with the images along the first axis, `(N, ...)`.
        y: int labels, shape `(N,)`.
        validation_fraction: share of images for validation, in (0, 1).
        seed: seed for `numpy.random.default_rng`.

    Returns:
        `(x_train, y_train, x_val, y_val)`.

    Example:

    >>> x, y = np.arange(10), np.array([0] * 5 + [1] * 5)
    >>> x_train, y_train, x_val, y_val = train_validation_split(x, y, validation_fraction=0.2)
    >>> sorted(y_val.tolist())
    [0, 1]
    """
    labels = _check_labels(y)
    if len(x) != len(labels):
        raise ValueError(
            f"`y` must hold one label per image of `x` ({len(x)}). {received('y', labels)}"
        )
    validation_fraction = check_real(
        validation_fraction,
        "validation_fraction",
        minimum=0.0,
        maximum=1.0,
        open_min=True,
        open_max=True,
    )
    num_validation = round(len(labels) * validation_fraction)
    if not 1 <= num_validation < len(labels):
        raise ValueError(
            f"`validation_fraction`={validation_fraction} of {len(labels)} images leaves "
            f"{num_validation} for validation and {len(labels) - num_validation} for training; "
            "both need at least one."
        )
    validation = stratified_indices(labels, num_validation, seed=seed)
    is_validation = np.zeros(len(labels), dtype=bool)
    is_validation[validation] = True
    rng = np.random.default_rng([seed, 1])
    train_order = rng.permutation(np.flatnonzero(~is_validation))
    validation_order = rng.permutation(validation)
    return x[train_order], labels[train_order], x[validation_order], labels[validation_order]


# The share of an image-folder data set (a zip or a folder of class folders) held back as its
# test set, stratified with seed 0: the Train page and the command line hold back the same.
FOLDER_TEST_FRACTION = 0.2


def hold_out_test_set(
    dataset: ImageDataset, *, fraction: float = FOLDER_TEST_FRACTION
) -> ImageDataset:
    """``dataset`` with a stratified, seeded share of its training images moved to the test set.

    An image folder comes with no test split; this one is never trained on, so the accuracy
    measured on it is that of photos the model has not seen.

    >>> images, labels = np.zeros((10, 2, 2), np.uint8), np.array([0] * 5 + [1] * 5)
    >>> folder = ImageDataset("pets", ("cat", "dog"), images, labels, images[:0], labels[:0], "")
    >>> split = hold_out_test_set(folder)
    >>> len(split.y_train), sorted(split.y_test.tolist())
    (8, [0, 1])
    """
    check_instance(dataset, "dataset", ImageDataset)
    x_train, y_train, x_test, y_test = train_validation_split(
        dataset.x_train, dataset.y_train, validation_fraction=fraction, seed=0
    )
    return dataclasses.replace(
        dataset, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test
    )


def class_counts(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Number of images per class, int64 array of shape `(num_classes,)`.

    >>> class_counts(np.array([0, 2, 2]), 3).tolist()
    [1, 0, 2]
    """
    labels = _check_labels(y)
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    if labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"`y` labels must be < num_classes={num_classes}; the largest is {labels.max()}. "
            f"{received('y', labels)}"
        )
    return np.bincount(labels, minlength=num_classes).astype(np.int64)


def sample_grid(
    dataset: ImageDataset, *, per_class: int = 8, split: str = "train", seed: int = 0
) -> tuple[np.ndarray, ...]:
    """Indices of random example images for each class, for a grid with one row per class.

    Args:
        dataset: the `ImageDataset`.
        per_class: images per class (fewer when a class has fewer).
        split: `"train"` or `"test"`: which arrays the indices point into.
        seed: seed for `numpy.random.default_rng`.

    Returns:
        A tuple with one int64 array per class (row `c` holds indices of class `c`).

    Example:

    >>> from core.data.builtin import load_builtin
    >>> rows = sample_grid(load_builtin("mnist"), per_class=4)
    >>> len(rows), rows[3].shape
    (10, (4,))
    """
    check_instance(dataset, "dataset", ImageDataset)
    per_class = check_int(per_class, "per_class", minimum=1)
    split = check_choice(split, "split", SPLITS)
    labels = dataset.y_train if split == "train" else dataset.y_test
    rng = np.random.default_rng(seed)
    rows = []
    for label in range(dataset.num_classes):
        members = np.flatnonzero(labels == label)
        take = min(per_class, members.size)
        rows.append(np.sort(rng.choice(members, size=take, replace=False)).astype(np.int64))
    return tuple(rows)
