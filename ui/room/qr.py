"""A room's join link and its QR code, drawn here (``segno``, pure Python): nothing is fetched.

>>> join_link("http://10.0.0.5:8501/pooling?pool=2", "pooling", "K7XQ3M")
'http://10.0.0.5:8501/?room=K7XQ3M'
>>> qr_png("http://10.0.0.5:8501/?room=K7XQ3M")[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import io
from urllib.parse import urlencode, urlsplit, urlunsplit

import segno

from ui.room.state import ROOM_PARAM


def join_link(page_url: str, page: str, code: str) -> str:
    """The app's home address with ``?room=CODE``, from the address of the page on screen.

    ``page`` is the url path of that page ("" for home); a prefix the app is served
    under (``/convscope/pooling``) is kept.

    >>> join_link("https://uni.example/convscope/", "", "K7XQ3M")
    'https://uni.example/convscope/?room=K7XQ3M'
    >>> join_link("", "", "K7XQ3M")
    '/?room=K7XQ3M'
    """
    parts = urlsplit(page_url or "/")
    path = parts.path or "/"
    if page and path.rstrip("/").endswith("/" + page):
        path = path.rstrip("/")[: -len(page)]
    if not path.endswith("/"):
        path += "/"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode({ROOM_PARAM: code}), ""))


def qr_png(link: str, *, scale: int = 8) -> bytes:
    """The QR code of ``link`` as PNG bytes (dark modules on white, a quiet border)."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()
