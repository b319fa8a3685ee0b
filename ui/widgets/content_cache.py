"""Results every session shares, keyed by what their arguments hold.

Why: the students of a lecture room draw the lecturer's page with the same numbers at
once. ``by_content`` works each result out once per process (a page's small tables, a
photo, an output) and hands every later caller the very same object. ``st.cache_data``
would hash the arguments with its own hasher and unpickle a copy on every call, for every
session; here an array's key is its bytes, and a name stands for a large argument.

Use it for what every run of a page needs, for functions whose result depends on nothing
but their arguments: strings, tuples, arrays (made read-only, so nobody can change what
the others see). What only an opened tab or a click needs may stay with ``st.cache_data``.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np


class _Unkeyable(Exception):
    """An argument that cannot stand for its content (the call is then not kept)."""


def content_key(value: Any) -> Any:
    """A hashable stand-in for ``value``: arrays and nested lists by their content.

    Scalars keep their type (1, 1.0 and True may print differently); a function counts by
    itself, but one made for a single call (a lambda, a closure) cannot be a key.

    >>> content_key([[1, 2]]) == content_key(np.array([[1, 2]]))
    True
    >>> content_key(1) == content_key(1.0), content_key(np.array([["a", 2]], dtype=object))
    (False, ('O', (1, 2), ("'a'", '2')))
    >>> content_key(("photo:a.png", (4, 4)))  # a tuple's parts keep their types
    ('T', ('photo:a.png', ('T', (('int', 4), ('int', 4)))))
    """
    if value is None or isinstance(value, str | bytes):
        return value
    if isinstance(value, tuple):  # a key made of parts: each part by its content
        return "T", tuple(map(content_key, value))
    if isinstance(value, bool | int | float | np.generic):
        return type(value).__name__, value
    if callable(value):
        if getattr(value, "__closure__", None) or getattr(value, "__name__", "") == "<lambda>":
            raise _Unkeyable(value)
        return value
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged lists: the function says what is wrong
        raise _Unkeyable(value) from error
    if array.dtype == object:
        return "O", array.shape, tuple(repr(item) for item in array.ravel().tolist())
    return array.dtype.str, array.shape, array.tobytes()


class SharedStore:
    """The last ``maxsize`` results made under their keys, for every thread of the process.

    The one store behind ``by_content`` and the pictures of ``image_view``: a key seen
    again gets the very object first made (nobody may change it), the least recently
    used result goes when more than ``maxsize`` are kept.

    >>> store, made = SharedStore(2), []
    >>> def make(name):
    ...     made.append(name)
    ...     return name.upper()
    >>> [store.get_or_make(k, lambda k=k: make(k)) for k in ("a", "b", "a", "c", "b")]
    ['A', 'B', 'A', 'C', 'B']
    >>> made, len(store)  # "b" was the least recently used when "c" came
    (['a', 'b', 'c', 'b'], 2)
    """

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._kept: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        """Forget every result (tests start from an empty store)."""
        with self._lock:
            self._kept.clear()

    def get_or_make(self, key: Any, make: Callable[[], Any]) -> Any:
        """The result kept under ``key``, else ``make()``'s, kept from now on.

        ``make`` runs outside the lock: two threads missing the same key at once both
        work it out, and the later one's result is kept (both are equal).
        """
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        made = make()
        with self._lock:
            self._kept[key] = made
            while len(self._kept) > self.maxsize:
                self._kept.popitem(last=False)
        return made


def frozen(result: Any) -> Any:
    """``result`` with its arrays (or those of a tuple result) made read-only.

    Every session gets the very object kept: one that changed it would change what the
    others see, so a write raises instead.

    >>> kept = frozen((np.zeros(2), "note"))
    >>> kept[0].flags.writeable, kept[1]
    (False, 'note')
    """
    for value in result if isinstance(result, tuple) else (result,):
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return result


def by_content(maxsize: int) -> Callable[[Callable], Callable]:
    """Keep the last ``maxsize`` results of the decorated function, keyed by content.

    Parameters whose names start with an underscore are left out of the key, as with
    ``st.cache_data``: the others must name what they hold (a photo's name for its pixels).
    Arrays in a result are made read-only (``frozen``); ``clear()`` forgets every result.

    >>> calls = []
    >>> @by_content(2)
    ... def total(values, *, scale=1):
    ...     calls.append(1)
    ...     return float(np.sum(values)) * scale
    >>> total([1, 2]), total(np.array([1, 2])), total([1, 2], scale=2), len(calls)
    (3.0, 3.0, 6.0, 2)
    >>> @by_content(2)
    ... def twice(make):
    ...     calls.append(1)
    ...     return make() * 2
    >>> twice(lambda: 1), twice(lambda: 1), len(calls)  # a lambda: worked out, never kept
    (2, 2, 4)
    >>> @by_content(2)
    ... def scaled(name, _pixels):
    ...     calls.append(1)
    ...     return _pixels * 2
    >>> scaled("a", np.ones(2)) is scaled("a", np.zeros(2)), len(calls)  # named by "a"
    (True, 5)
    """

    def decorate(function: Callable) -> Callable:
        store = SharedStore(maxsize)
        signature = inspect.signature(function)
        keyed = [name for name in signature.parameters if not name.startswith("_")]
        plain = len(keyed) == len(signature.parameters)

        def key_of(args: tuple, kwargs: dict) -> tuple:
            if plain:
                return (
                    tuple(map(content_key, args)),
                    tuple((name, content_key(value)) for name, value in sorted(kwargs.items())),
                )
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return tuple(content_key(bound.arguments[name]) for name in keyed)

        @functools.wraps(function)
        def cached(*args, **kwargs):
            try:
                key = key_of(args, kwargs)
            except _Unkeyable:
                return function(*args, **kwargs)
            return store.get_or_make(key, lambda: frozen(function(*args, **kwargs)))

        cached.clear = store.clear
        return cached

    return decorate
