"""The built-in data sets by name: their class names and how the app spells them.

Kept apart from the loaders so that anything describing a data set can name it without
pulling in the code that reads files.

>>> DISPLAY_NAMES["fashion_mnist"], CLASS_NAMES["fashion_mnist"][9]
('Fashion-MNIST', 'Ankle boot')
"""

from __future__ import annotations

BUILTIN_DATASETS: tuple[str, ...] = ("mnist", "fashion_mnist", "cifar10")


CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion_mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    "cifar10": (
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ),
}


DISPLAY_NAMES: dict[str, str] = {
    "mnist": "MNIST",
    "fashion_mnist": "Fashion-MNIST",
    "cifar10": "CIFAR-10",
}


def display_name(dataset: str) -> str:
    """How the app names data set ``dataset``: its display name, else the name as given.

    >>> display_name("cifar10"), display_name("my_photos")
    ('CIFAR-10', 'my_photos')
    """
    return DISPLAY_NAMES.get(dataset, dataset)
