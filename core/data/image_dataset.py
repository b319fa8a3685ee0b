"""`ImageDataset`: images, labels and class names, however they were loaded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.base.checks import as_integer_array, check_instance, received
from core.data.catalog import display_name

SPLITS = ("train", "test")


ARRAY = "a numpy array"


class DatasetUnavailableError(RuntimeError):
    """A built-in data set is in no local source and cannot be downloaded right now."""


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A labelled image data set, arrays as stored (uint8 pixels, int64 labels).

    Attributes:
        name: short identifier, e.g. `"mnist"` or the name of an uploaded zip.
        class_names: one name per label, label `i` is `class_names[i]`.
        x_train: uint8 images, shape `(N, H, W)` for grayscale or `(N, H, W, 3)` for RGB.
        y_train: int64 labels, shape `(N,)`, values in `[0, num_classes)`.
        x_test: uint8 images, same layout as `x_train` (may hold zero images).
        y_test: int64 labels, shape `(M,)`.
        source: where the arrays came from, in words, for the page.
        note: why a fallback source was used, or other caveats; empty when there are none.

    Example:

    >>> from core.data.builtin import load_builtin
    >>> dataset = load_builtin("cifar10")
    >>> dataset.image_shape
    (32, 32, 3)
    """

    name: str
    class_names: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    note: str = ""

    def __post_init__(self):
        for split in SPLITS:
            x = check_instance(getattr(self, f"x_{split}"), f"x_{split}", np.ndarray, ARRAY)
            y = check_instance(getattr(self, f"y_{split}"), f"y_{split}", np.ndarray, ARRAY)
            if x.dtype != np.uint8:
                raise TypeError(f"`x_{split}` must hold uint8 pixels. {received(f'x_{split}', x)}")
            if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] != 3):
                raise ValueError(
                    f"`x_{split}` must have shape (N, H, W) or (N, H, W, 3). "
                    f"{received(f'x_{split}', x)}"
                )
            as_integer_array(y, f"y_{split}", ndims=(1,), minimum=0)
            if len(y) != len(x):
                raise ValueError(
                    f"`y_{split}` must hold one label per image of `x_{split}` ({len(x)}). "
                    f"{received(f'y_{split}', y)}"
                )
            if len(y) and y.max() >= len(self.class_names):
                raise ValueError(
                    f"`y_{split}` labels must be < {len(self.class_names)}, the number of "
                    f"classes; the largest is {y.max()}. {received(f'y_{split}', y)}"
                )
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                "`x_test` must hold images of the same shape as `x_train` "
                f"{self.x_train.shape[1:]}. {received('x_test', self.x_test)}"
            )

    @property
    def num_classes(self) -> int:
        """Number of classes, `len(class_names)`."""
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """`(H, W, C)` of one image, with `C=1` for grayscale."""
        height, width = self.x_train.shape[1:3]
        channels = self.x_train.shape[3] if self.x_train.ndim == 4 else 1
        return (int(height), int(width), int(channels))

    @property
    def display_name(self) -> str:
        """Human-readable name, e.g. `"Fashion-MNIST"`."""
        return display_name(self.name)
