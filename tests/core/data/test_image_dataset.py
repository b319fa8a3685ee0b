"""core.data.image_dataset: ImageDataset checks its arrays once, when it is made."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.image_dataset import ImageDataset
from tests.core.data.fakes import toy_dataset


def make(**changes) -> ImageDataset:
    arrays = dict(
        name="toy",
        class_names=("a", "b"),
        x_train=np.zeros((3, 4, 4, 3), np.uint8),
        y_train=np.array([0, 1, 1]),
        x_test=np.zeros((2, 4, 4, 3), np.uint8),
        y_test=np.array([1, 0]),
        source="test",
    )
    return ImageDataset(**(arrays | changes))


def test_image_dataset_reports_grayscale_as_one_channel():
    assert toy_dataset([0, 1, 2]).image_shape == (4, 4, 1)


def test_properties_of_a_colour_data_set():
    dataset = make()
    assert dataset.image_shape == (4, 4, 3)
    assert dataset.num_classes == 2
    assert dataset.display_name == "toy"
    assert make(name="cifar10").display_name == "CIFAR-10"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"x_train": [[0]]}, r"^`x_train` must be a numpy array\. Received: x_train=\[\[0\]\]\.$"),
        ({"x_test": np.zeros((2, 4, 4, 3))}, r"^`x_test` must hold uint8 pixels\. Received"),
        ({"y_train": (0, 1, 1)}, r"^`y_train` must be a numpy array\."),
        ({"y_test": np.array([1.0, 0.0])}, r"^`y_test` must hold integers\."),
    ],
)
def test_wrong_types_are_type_errors(changes, message):
    with pytest.raises(TypeError, match=message):
        make(**changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"x_train": np.zeros((3, 4, 4, 2), np.uint8)}, r"`x_train` must have shape \(N, H, W\)"),
        ({"x_train": np.zeros((3, 4), np.uint8)}, r"`x_train` must have shape"),
        (
            {"y_train": np.array([0, 1])},
            r"`y_train` must hold one label per image of `x_train` \(3\)",
        ),
        ({"y_train": np.array([0, 1, 2])}, r"`y_train` labels must be < 2, the number of classes"),
        ({"y_test": np.array([0, -1])}, r"`y_test` values must be >= 0; the smallest is -1"),
        (
            {"x_test": np.zeros((2, 5, 4, 3), np.uint8)},
            r"`x_test` must hold images of the same shape",
        ),
        ({"y_train": np.zeros((3, 1), np.int64)}, r"`y_train` must have 1 dimensions"),
    ],
)
def test_bad_values_are_value_errors(changes, message):
    with pytest.raises(ValueError, match=message):
        make(**changes)


def test_an_empty_test_split_is_allowed():
    dataset = make(x_test=np.zeros((0, 4, 4, 3), np.uint8), y_test=np.zeros(0, np.int64))
    assert len(dataset.x_test) == 0
