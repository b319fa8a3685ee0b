"""Argument checks for every package of ``core``: one way to say what is wrong.

Keras' convention, followed everywhere: a value of the wrong *type* raises ``TypeError``, a
value of the right type but a bad *value* raises ``ValueError``, and every message names the
argument, says what is expected and ends with what was received, e.g.
``ValueError: `strides` must be >= 1. Received: strides=0.``

Each check returns the argument normalised (an ``int``, a ``float``, a choice as spelled in
the list of choices, a tuple), so a function checks an argument once, at the boundary of
``core``, and then trusts it.

>>> check_int(0, "strides", minimum=1)
Traceback (most recent call last):
ValueError: `strides` must be >= 1. Received: strides=0.
>>> as_pair(3, "kernel_size")
(3, 3)
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np

Pair = tuple[int, int]


PaddingPairs = tuple[tuple[int, int], tuple[int, int]]


_MAX_REPR = 80


def describe(value) -> str:
    """A short text for ``value`` in a message: arrays by shape and dtype, long reprs cut.

    >>> describe(np.zeros((2, 3)))
    'ndarray(shape=(2, 3), dtype=float64)'
    >>> describe("same")
    "'same'"
    """
    if isinstance(value, np.ndarray):
        return f"ndarray(shape={value.shape}, dtype={value.dtype})"
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def received(name: str, value) -> str:
    """The end of every message: ``Received: name=<value>.``

    >>> received("padding", "half")
    "Received: padding='half'."
    """
    return f"Received: {name}={describe(value)}."


def is_int(value) -> bool:
    """Whether ``value`` is a Python or numpy integer; ``True`` and ``False`` are not counts.

    >>> is_int(3), is_int(np.int64(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def is_real(value) -> bool:
    """Whether ``value`` is a real number (int or float, Python or numpy), not a bool.

    >>> is_real(0.5), is_real(2), is_real(True), is_real("1")
    (True, True, False, False)
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _number(value) -> str:
    return str(value) if is_int(value) else f"{value:g}"


def _bounds(
    minimum, maximum, *, open_min: bool = False, open_max: bool = False, integers: bool = False
) -> str:
    """``>= 1``, ``< 0.5``, ``between 1 and 99`` (ints) or ``in (0, 1]`` (real numbers)."""
    if minimum is not None and maximum is not None:
        if integers:
            return f"between {minimum} and {maximum}"
        left, right = "(" if open_min else "[", ")" if open_max else "]"
        return f"in {left}{_number(minimum)}, {_number(maximum)}{right}"
    if minimum is not None:
        return f"{'>' if open_min else '>='} {_number(minimum)}"
    return f"{'<' if open_max else '<='} {_number(maximum)}"


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Check that ``value`` is an int within ``[minimum, maximum]`` (either end optional).

    Raises:
        TypeError: not an int (a bool or a float such as ``2.0`` is refused too).
        ValueError: below ``minimum`` or above ``maximum``.

    >>> check_int(np.int64(5), "filters", minimum=1)
    5
    >>> check_int(100, "kernel_size", minimum=1, maximum=99)
    Traceback (most recent call last):
    ValueError: `kernel_size` must be between 1 and 99. Received: kernel_size=100.
    """
    if not is_int(value):
        raise TypeError(f"`{name}` must be an integer. {received(name, value)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = _bounds(minimum, maximum, integers=True)
        raise ValueError(f"`{name}` must be {bounds}. {received(name, value)}")
    return int(value)


def check_real(
    value,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    open_min: bool = False,
    open_max: bool = False,
) -> float:
    """Check that ``value`` is a finite real number within its bounds; return it as a float.

    ``open_min`` / ``open_max`` leave an end out of the range: ``minimum=0, open_min=True``
    means ``> 0``.

    Raises:
        TypeError: not a real number (bools and strings are refused).
        ValueError: NaN, ±inf, or outside the range.

    >>> check_real(1, "sigma", minimum=0, open_min=True)
    1.0
    >>> check_real(1.0, "rate", minimum=0, maximum=1, open_max=True)
    Traceback (most recent call last):
    ValueError: `rate` must be in [0, 1). Received: rate=1.0.
    """
    if not is_real(value):
        raise TypeError(f"`{name}` must be a number. {received(name, value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"`{name}` must be a finite number. {received(name, value)}")
    too_low = minimum is not None and (number <= minimum if open_min else number < minimum)
    too_high = maximum is not None and (number >= maximum if open_max else number > maximum)
    if too_low or too_high:
        bounds = _bounds(minimum, maximum, open_min=open_min, open_max=open_max)
        raise ValueError(f"`{name}` must be {bounds}. {received(name, value)}")
    return number


def check_bool(value, name: str) -> bool:
    """Check that ``value`` is True or False (numpy's bool too); 0 and 1 are refused.

    >>> check_bool(np.True_, "flip_kernel")
    True
    >>> check_bool(1, "flip_kernel")
    Traceback (most recent call last):
    TypeError: `flip_kernel` must be True or False. Received: flip_kernel=1.
    """
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False. {received(name, value)}")
    return bool(value)


def _listing(choices) -> str:
    return ", ".join(repr(choice) for choice in choices)


def check_choice(value, name: str, choices: tuple):
    """Check that ``value`` is exactly one of ``choices`` (case matters; None may be one).

    Raises:
        TypeError: ``value`` has none of the choices' types.
        ValueError: the right type, but not one of them.

    >>> check_choice(None, "weights", ("imagenet", None)) is None
    True
    >>> check_choice("ImageNet", "weights", ("imagenet", None))
    Traceback (most recent call last):
    ValueError: `weights` must be one of 'imagenet', None. Received: weights='ImageNet'.
    """
    message = f"`{name}` must be one of {_listing(choices)}. {received(name, value)}"
    if not isinstance(value, tuple({type(choice) for choice in choices})):
        raise TypeError(message)
    if value not in choices:
        raise ValueError(message)
    return value


def as_choice(value, name: str, choices: tuple[str, ...]) -> str:
    """A string matched to ``choices`` ignoring case, returned as spelled in ``choices``.

    Raises:
        TypeError: ``value`` is not a string.
        ValueError: it matches none of the choices.

    >>> as_choice("SAME", "padding", ("valid", "same"))
    'same'
    >>> as_choice("conv2d", "type", ("Conv2D", "Dense"))
    'Conv2D'
    """
    message = f"`{name}` must be one of {_listing(choices)}. {received(name, value)}"
    if not isinstance(value, str):
        raise TypeError(message)
    folded = value.lower()
    for choice in choices:
        if choice.lower() == folded:
            return choice
    raise ValueError(message)


def check_instance(value, name: str, types: type | tuple[type, ...], expected: str = ""):
    """Check that ``value`` is an instance of ``types``: a TypeError naming them when not.

    ``expected`` says it in words where the class names would read badly ("a numpy array").

    >>> check_instance([1], "layers", (tuple, list))
    [1]
    >>> check_instance("x", "spec", dict)
    Traceback (most recent call last):
    TypeError: `spec` must be a dict. Received: spec='x'.
    """
    if not isinstance(value, types):
        if not expected:
            kinds = types if isinstance(types, tuple) else (types,)
            names = " or ".join(kind.__name__ for kind in kinds)
            expected = f"{'an' if names[0].lower() in 'aeiou' else 'a'} {names}"
        raise TypeError(f"`{name}` must be {expected}. {received(name, value)}")
    return value


def check_string(value, name: str, *, pattern: re.Pattern | None = None, expected: str = "") -> str:
    """Check that ``value`` is a string, matching all of ``pattern`` when one is given.

    ``expected`` says in words what the pattern asks for.

    >>> check_string("conv2d_1", "name", pattern=re.compile(r"[a-z0-9_]+"), expected="snake_case")
    'conv2d_1'
    >>> check_string("Conv 1", "name", pattern=re.compile(r"[a-z0-9_]+"), expected="snake_case")
    Traceback (most recent call last):
    ValueError: `name` must be snake_case. Received: name='Conv 1'.
    """
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string. {received(name, value)}")
    if pattern is not None and not pattern.fullmatch(value):
        raise ValueError(f"`{name}` must be {expected or pattern.pattern}. {received(name, value)}")
    return value


def as_int_tuple(value, name: str, *, length: int, minimum: int | None = 1) -> tuple[int, ...]:
    """A sequence of ``length`` ints, each ``>= minimum`` (None: any sign), as a tuple.

    Raises:
        TypeError: not a sequence, or an entry that is not an int.
        ValueError: the wrong number of entries, or an entry below ``minimum``.

    >>> as_int_tuple([28, 28, 1], "input_shape", length=3)
    (28, 28, 1)
    >>> as_int_tuple((28, 28), "input_shape", length=3)
    Traceback (most recent call last):
    ValueError: `input_shape` must hold 3 ints. Received: input_shape=(28, 28).
    """
    what = f"{length} ints" + ("" if minimum is None else f", each >= {minimum}")
    if isinstance(value, str | bytes):
        raise TypeError(f"`{name}` must hold {what}. {received(name, value)}")
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"`{name}` must hold {what}. {received(name, value)}") from None
    if not all(is_int(item) for item in items):
        raise TypeError(f"`{name}` must hold {what}. {received(name, value)}")
    if len(items) != length:
        raise ValueError(f"`{name}` must hold {length} ints. {received(name, value)}")
    if minimum is not None and min(items, default=minimum) < minimum:
        raise ValueError(f"`{name}` values must be >= {minimum}. {received(name, value)}")
    return tuple(int(item) for item in items)


def as_pair(value, name: str, *, minimum: int | None = 1) -> Pair:
    """Turn an int or a 2-sequence of ints into ``(rows, cols)``, each ``>= minimum``.

    Keras' ``kernel_size``, ``strides``, ``pool_size`` and ``dilation_rate`` take either.

    Raises:
        TypeError: neither an int nor a pair of ints.
        ValueError: a pair of the wrong length, or a value below ``minimum``.

    >>> as_pair(2, "strides"), as_pair([1, 2], "strides")
    ((2, 2), (1, 2))
    >>> as_pair((1, 0), "strides")
    Traceback (most recent call last):
    ValueError: `strides` must be >= 1. Received: strides=(1, 0).
    """
    if is_int(value):
        pair = (int(value), int(value))
    else:
        if isinstance(value, str | bytes) or not _is_sequence(value):
            raise TypeError(f"`{name}` must be an int or a pair of ints. {received(name, value)}")
        items = tuple(value)
        if not all(is_int(item) for item in items):
            raise TypeError(f"`{name}` must be an int or a pair of ints. {received(name, value)}")
        if len(items) != 2:
            raise ValueError(f"`{name}` must be an int or a pair of ints. {received(name, value)}")
        pair = (int(items[0]), int(items[1]))
    if minimum is not None and min(pair) < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}. {received(name, value)}")
    return pair


def _is_sequence(value) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _as_array(value, name: str, *, ndims: tuple[int, ...], kinds: str, holding: str):
    """``value`` as an array whose dtype kind is in ``kinds`` and whose ndim is in ``ndims``."""
    array = np.asarray(value)
    if array.dtype.kind not in kinds:
        raise TypeError(f"`{name}` must hold {holding}. {received(name, array)}")
    if array.ndim not in ndims:
        dims = " or ".join(str(d) for d in ndims)
        raise ValueError(f"`{name}` must have {dims} dimensions. {received(name, array)}")
    return array


def as_real_array(
    value, name: str, *, ndims: tuple[int, ...], check_finite: bool = True
) -> np.ndarray:
    """Return ``value`` as an array after checking its dtype, dimensions, size and values.

    ``check_finite=False`` leaves the finiteness check to the caller (who may do it in
    parallel, while the data is in cache anyway; see ``check_all_finite``), or skips it
    where NaN has a meaning.

    Raises:
        TypeError: the values are not real numbers (strings, objects, complex).
        ValueError: a number of dimensions not in ``ndims``, no values at all, or NaN/±inf.

    >>> as_real_array([[1, 2]], "kernel", ndims=(2,)).shape
    (1, 2)
    >>> as_real_array([1, 2], "kernel", ndims=(2,))
    Traceback (most recent call last):
    ValueError: `kernel` must have 2 dimensions. Received: kernel=ndarray(shape=(2,), dtype=int64).
    """
    array = _as_array(value, name, ndims=ndims, kinds="biuf", holding="real numbers")
    if array.size == 0:
        raise ValueError(f"`{name}` must not be empty. {received(name, array)}")
    if check_finite:
        check_all_finite(array, name)
    return array


def check_all_finite(array: np.ndarray, name: str) -> None:
    """Raise ValueError naming ``name`` when a float array holds NaN or ±inf.

    >>> check_all_finite(np.array([1.0, np.nan]), "image")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: `image` contains NaN or infinite values; ... Received: image=ndarray(...).
    """
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(
            f"`{name}` contains NaN or infinite values; every value must be a finite number. "
            f"{received(name, array)}"
        )


def as_integer_array(
    value, name: str, *, ndims: tuple[int, ...], minimum: int | None = None
) -> np.ndarray:
    """Return ``value`` as an integer array (e.g. class labels); it may be empty.

    Raises:
        TypeError: the dtype is not an integer type.
        ValueError: a number of dimensions not in ``ndims``, or a value below ``minimum``.

    >>> as_integer_array([0, 2, 1], "y", ndims=(1,), minimum=0).tolist()
    [0, 2, 1]
    >>> as_integer_array([0, -1], "y", ndims=(1,), minimum=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: `y` values must be >= 0; the smallest is -1. Received: y=ndarray(...).
    """
    array = _as_array(value, name, ndims=ndims, kinds="iu", holding="integers")
    if minimum is not None and array.size and array.min() < minimum:
        raise ValueError(
            f"`{name}` values must be >= {minimum}; the smallest is {array.min()}. "
            f"{received(name, array)}"
        )
    return array
