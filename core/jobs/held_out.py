"""A saved model's own test images: a small ``.npz`` beside it in the models store.

A model trained on an uploaded zip or folder would otherwise be inspected on digits: the
store keeps up to `MAX_TEST_IMAGES` of the test images its run held out (raw pixels, labels,
class names), so the Inspect page can offer them first and prepare them exactly as in
training (the sidecar's preprocessing). Built-in data sets need no copy: the sidecar names
them.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from core.jobs.files import atomic_write_bytes

# At most this many test images are kept (spread evenly over the held-out split): a
# 128×128 RGB image is 48 KB, so 500 are 24 MB at most, enough for a confusion matrix.
MAX_TEST_IMAGES = 500

# "<name>.keras" keeps its test images in "<name>.test.npz".
HELD_OUT_SUFFIX = ".test.npz"


def held_out_path(model_path: str | os.PathLike) -> Path:
    """Where a stored model's test images go.

    >>> held_out_path("/models/cats v dogs.keras").name
    'cats v dogs.test.npz'
    """
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + HELD_OUT_SUFFIX)


def write_held_out(
    dataset_npz: str | os.PathLike, target: str | os.PathLike, *, limit: int = MAX_TEST_IMAGES
) -> dict | None:
    """Copy up to ``limit`` test images of a data set ``.npz`` (``x_test``, ``y_test``,
    ``class_names``) to ``target``; None (nothing written) when it has no test split.

    Returns:
        ``{"count", "of"}``: the images kept and the split's size, for the sidecar (so a
        page can say "500 of 2,400 test images").
    """
    try:
        with np.load(dataset_npz, allow_pickle=False) as arrays:
            if not {"x_test", "y_test", "class_names"} <= set(arrays.files):
                return None
            x_test, y_test = arrays["x_test"], arrays["y_test"]
            class_names = arrays["class_names"]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    total = len(x_test)
    if total == 0 or len(y_test) != total:
        return None
    keep = np.unique(np.linspace(0, total - 1, min(limit, total)).round().astype(np.int64))
    buffer = io.BytesIO()
    np.savez(buffer, x_test=x_test[keep], y_test=y_test[keep], class_names=class_names, index=keep)
    atomic_write_bytes(target, buffer.getvalue())
    return {"count": int(len(keep)), "of": int(total)}


def read_held_out(path: str | os.PathLike) -> dict[str, np.ndarray] | None:
    """``{"x_test", "y_test", "class_names"}`` of a stored model's test images, or None when
    the file is missing or damaged."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            loaded = {key: arrays[key] for key in ("x_test", "y_test", "class_names")}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None
    if len(loaded["x_test"]) == 0 or len(loaded["x_test"]) != len(loaded["y_test"]):
        return None
    return loaded
