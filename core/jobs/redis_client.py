"""The shared Redis a server farm uses, when ``$CONVSCOPE_REDIS_URL`` names one.

Without the variable nothing here is used and the ``redis`` package need not be
installed: it is imported only when a store connects (``requirements-cluster.txt``).
Every key the app writes starts with ``KEY_PREFIX``, so one Redis can hold other data too.

>>> redis_url({"CONVSCOPE_REDIS_URL": " redis://cache:6379/0 "})
'redis://cache:6379/0'
>>> redis_url({}) is None
True
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping

from core.base.checks import check_string

REDIS_URL_ENV = "CONVSCOPE_REDIS_URL"


KEY_PREFIX = "convscope:"


def redis_url(environ: Mapping[str, str] | None = None) -> str | None:
    """``$CONVSCOPE_REDIS_URL`` without spaces, or None when unset or blank."""
    value = (os.environ if environ is None else environ).get(REDIS_URL_ENV, "").strip()
    return value or None


def connect(url: str):
    """A client for ``url`` (``redis://host:port/db``) that reads and writes text.

    Raises:
        RuntimeError: the ``redis`` package is not installed; the message says what to install.
    """
    check_string(url, "url")
    try:
        import redis  # only servers that share a Redis install it
    except ImportError:
        raise RuntimeError(
            f"{REDIS_URL_ENV} is set but the redis package is not installed: "
            "pip install -r requirements-cluster.txt"
        ) from None
    return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)


class StoreUnavailableError(ConnectionError):
    """The shared Redis cannot be reached or stays busy (an ``OSError``, as a full disk is)."""


def reports_outages(cls: type) -> type:
    """Class decorator: Redis' connection, timeout and lock errors in any public method
    become `StoreUnavailableError`, which pages already treat as a file system error."""
    for name, method in list(vars(cls).items()):
        if callable(method) and not name.startswith("_"):
            setattr(cls, name, _reporting(method))
    return cls


def _reporting(method: Callable) -> Callable:
    @functools.wraps(method)
    def call(*args, **kwargs):
        import redis

        try:
            return method(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise StoreUnavailableError(
                f"The shared store (Redis, {REDIS_URL_ENV}) cannot be reached: {error}. "
                "Check that Redis runs and the address is right."
            ) from error
        except redis.exceptions.LockError as error:
            raise StoreUnavailableError(
                "The shared store (Redis) stayed busy too long; try again in a moment."
            ) from error

    return call
