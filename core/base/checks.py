"""Argument normalisation shared by the numeric modules.

Keras normalises each argument once (``kernel_size`` → tuple, ``padding`` →
lower-case string) and then validates it; these helpers do the same so every
error names the argument and echoes what was received.
"""

from __future__ import annotations

import numbers

import numpy as np

Pair = tuple[int, int]


PaddingPairs = tuple[tuple[int, int], tuple[int, int]]


def as_pair(value, name: str, *, minimum: int = 1) -> Pair:
    """Turn an int or a 2-sequence of ints into ``(rows, cols)``, each ``>= minimum``.

    >>> as_pair(2, "strides")
    (2, 2)
    """
    if isinstance(value, bool):
        raise TypeError(f"`{name}` must be an int or a pair of ints. Received: {name}={value!r}")
    if isinstance(value, numbers.Integral):
        pair = (int(value), int(value))
    else:
        try:
            items = tuple(value)
        except TypeError:
            raise TypeError(
                f"`{name}` must be an int or a pair of ints. Received: {name}={value!r}"
            ) from None
        if len(items) != 2 or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items
        ):
            raise TypeError(
                f"`{name}` must be an int or a pair of ints. Received: {name}={value!r}"
            )
        pair = (int(items[0]), int(items[1]))
    if min(pair) < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}. Received: {name}={value!r}")
    return pair


def as_real_array(
    value, name: str, *, ndims: tuple[int, ...], check_finite: bool = True
) -> np.ndarray:
    """Return ``value`` as an array after checking dims, dtype, emptiness and finiteness.

    ``check_finite=False`` leaves the finiteness check to the caller (who may
    do it in parallel, while the data is in cache anyway); see ``check_finite``.
    """
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"`{name}` must hold real numbers. Received: {name} with dtype {array.dtype}"
        )
    if array.ndim not in ndims:
        dims = " or ".join(str(d) for d in ndims)
        raise ValueError(
            f"`{name}` must have {dims} dimensions. Received: {name} with shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError(f"`{name}` must not be empty. Received: {name} with shape {array.shape}")
    if check_finite:
        check_all_finite(array, name)
    return array


def check_all_finite(array: np.ndarray, name: str) -> None:
    """Raise ValueError naming ``name`` when a float array holds NaN or ±inf."""
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(
            f"`{name}` contains NaN or infinite values; every value must be a finite number."
        )


def as_choice(value, name: str, choices: tuple[str, ...]) -> str:
    """Lower-case ``value`` and check it is one of ``choices``."""
    if not isinstance(value, str) or value.lower() not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {allowed}. Received: {name}={value!r}")
    return value.lower()
