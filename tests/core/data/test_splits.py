"""core.data.splits: stratified, seeded splits, class counts and example grids."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.splits import class_counts, sample_grid, stratified_indices, train_validation_split
from tests.core.data.fakes import (
    toy_dataset,
)


def test_stratified_indices_is_seeded_and_proportional():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    first = stratified_indices(labels, 10, seed=3)
    assert np.array_equal(first, stratified_indices(labels, 10, seed=3))
    assert np.bincount(labels[first]).tolist() == [6, 3, 1]


def test_split_is_stratified():
    y = np.array([0] * 100 + [1] * 50)
    _, y_train, _, y_val = train_validation_split(np.arange(150), y, validation_fraction=0.2)
    assert np.bincount(y_val).tolist() == [20, 10]
    assert np.bincount(y_train).tolist() == [80, 40]


def test_split_partitions_the_images():
    x = np.arange(100)
    y = x % 3
    x_train, y_train, x_val, y_val = train_validation_split(x, y, validation_fraction=0.3)
    assert sorted(np.concatenate([x_train, x_val]).tolist()) == list(range(100))
    np.testing.assert_array_equal(y_train, x_train % 3)
    np.testing.assert_array_equal(y_val, x_val % 3)


def test_split_is_seeded():
    x, y = np.arange(200), np.arange(200) % 4
    first = train_validation_split(x, y, seed=7)
    again = train_validation_split(x, y, seed=7)
    other = train_validation_split(x, y, seed=8)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[2], other[2])


def test_split_rejects_a_fraction_outside_zero_one():
    with pytest.raises(ValueError) as error:
        train_validation_split(np.arange(10), np.arange(10) % 2, validation_fraction=1.5)
    assert str(error.value) == (
        "`validation_fraction` must be in (0, 1). Received: validation_fraction=1.5."
    )


def test_split_rejects_mismatched_lengths():
    with pytest.raises(
        ValueError, match=r"one label per image of `x` \(3\)\. Received: y=ndarray\(shape=\(4,\)"
    ):
        train_validation_split(np.arange(3), np.arange(4))


def test_class_counts_counts_every_class():
    assert class_counts(np.array([0, 2, 2, 2]), 4).tolist() == [1, 0, 3, 0]


def test_class_counts_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match="< num_classes=3; the largest is 5"):
        class_counts(np.array([0, 5]), 3)


def test_sample_grid_gives_indices_of_each_class():
    dataset = toy_dataset([0, 1, 2] * 10 + [2] * 5)
    rows = sample_grid(dataset, per_class=4, seed=1)
    assert [row.size for row in rows] == [4, 4, 4]
    for label, row in enumerate(rows):
        assert (dataset.y_train[row] == label).all()
    assert all(
        np.array_equal(a, b)
        for a, b in zip(rows, sample_grid(dataset, per_class=4, seed=1), strict=True)
    )


def test_sample_grid_returns_fewer_for_a_small_class():
    rows = sample_grid(toy_dataset([0] * 9 + [1] * 2 + [2] * 9), per_class=5)
    assert [row.size for row in rows] == [5, 2, 5]


def test_stratified_indices_allocates_by_largest_remainder():
    # exact shares of 4 from sizes 5, 3, 2 are 2.0, 1.2, 0.8: the 0.8 gets the last one
    labels = np.array([0] * 5 + [1] * 3 + [2] * 2)
    assert np.bincount(labels[stratified_indices(labels, 4)], minlength=3).tolist() == [2, 1, 1]
    assert stratified_indices(labels, 0).size == 0
    assert stratified_indices(labels, 10).tolist() == list(range(10))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: stratified_indices(np.array([0, 1]), 3),
            ValueError,
            r"^`count` must be between 0 and 2\. Received: count=3\.$",
        ),
        (
            lambda: stratified_indices(np.array([0, 1]), 1.0),
            TypeError,
            r"^`count` must be an integer\.",
        ),
        (
            lambda: stratified_indices(np.array([0.0, 1.0]), 1),
            TypeError,
            r"^`y` must hold integers\.",
        ),
        (
            lambda: stratified_indices(np.array([[0, 1]]), 1),
            ValueError,
            r"^`y` must have 1 dimensions\.",
        ),
        (lambda: class_counts(np.array([0, 1]), 0), ValueError, r"^`num_classes` must be >= 1\."),
        (
            lambda: class_counts(np.array([0, 1]), "2"),
            TypeError,
            r"^`num_classes` must be an integer\.",
        ),
        (
            lambda: train_validation_split(np.arange(4), np.arange(4) % 2, validation_fraction=0),
            ValueError,
            r"must be in \(0, 1\)",
        ),
        (
            lambda: train_validation_split(
                np.arange(4), np.arange(4) % 2, validation_fraction="0.5"
            ),
            TypeError,
            r"must be a number",
        ),
        (
            lambda: sample_grid(toy_dataset([0, 1, 2]), per_class=0),
            ValueError,
            r"^`per_class` must be >= 1\.",
        ),
        (
            lambda: sample_grid(toy_dataset([0, 1, 2]), split="validation"),
            ValueError,
            r"^`split` must be one of 'train', 'test'\.",
        ),
        (
            lambda: sample_grid("mnist"),
            TypeError,
            r"^`dataset` must be an ImageDataset\. Received: dataset='mnist'\.$",
        ),
    ],
)
def test_argument_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_split_that_leaves_no_training_image_is_refused():
    with pytest.raises(ValueError, match="both need at least one"):
        train_validation_split(np.arange(2), np.array([0, 1]), validation_fraction=0.9)


def test_sample_grid_of_the_test_split_points_into_the_test_arrays():
    dataset = toy_dataset([0, 1, 2])
    rows = sample_grid(dataset, split="test")
    assert [row.size for row in rows] == [0, 0, 0]  # the toy data set has no test images


def test_an_image_folder_keeps_its_held_back_test_set_apart():
    from core.data.image_dataset import ImageDataset
    from core.data.splits import FOLDER_TEST_FRACTION, hold_out_test_set

    images = np.arange(40 * 4, dtype=np.uint8).reshape(40, 2, 2)
    labels = np.array([0] * 30 + [1] * 10)
    folder = ImageDataset("pets", ("cat", "dog"), images, labels, images[:0], labels[:0], "zip")
    split = hold_out_test_set(folder)
    assert len(split.y_test) == round(40 * FOLDER_TEST_FRACTION) == 8
    assert np.bincount(split.y_test).tolist() == [6, 2]  # the class shares kept
    seen = {image.tobytes() for image in split.x_train}
    assert not any(image.tobytes() in seen for image in split.x_test)  # no image in both
    assert len(seen) + len(split.x_test) == 40
    again = hold_out_test_set(folder)
    np.testing.assert_array_equal(again.x_test, split.x_test)  # the page and CLI agree
    assert split.class_names == folder.class_names and split.name == "pets"
