"""core.data.catalog: the names of the built-in data sets and of their classes."""

from __future__ import annotations

from core.data.catalog import BUILTIN_DATASETS, CLASS_NAMES, DISPLAY_NAMES


def test_builtin_names_are_the_contract():
    assert BUILTIN_DATASETS == ("mnist", "fashion_mnist", "cifar10")


def test_every_builtin_data_set_has_a_display_name_and_ten_distinct_classes():
    assert set(CLASS_NAMES) == set(DISPLAY_NAMES) == set(BUILTIN_DATASETS)
    for name in BUILTIN_DATASETS:
        assert len(CLASS_NAMES[name]) == len(set(CLASS_NAMES[name])) == 10


def test_class_names_follow_the_label_order_of_keras_datasets():
    # keras.datasets documents label i as these names, in this order
    assert CLASS_NAMES["mnist"] == tuple("0123456789")
    assert CLASS_NAMES["fashion_mnist"][0] == "T-shirt/top"
    assert CLASS_NAMES["fashion_mnist"][5] == "Sandal"
    assert CLASS_NAMES["cifar10"][0] == "airplane" and CLASS_NAMES["cifar10"][9] == "truck"
    assert CLASS_NAMES["cifar10"][3] == "cat" and CLASS_NAMES["cifar10"][5] == "dog"
    assert DISPLAY_NAMES == {
        "mnist": "MNIST",
        "fashion_mnist": "Fashion-MNIST",
        "cifar10": "CIFAR-10",
    }
