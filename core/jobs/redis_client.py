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

import os
from collections.abc import Mapping

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
