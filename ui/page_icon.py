"""The app's icon, as a data address that Streamlit passes on unchanged.

Given a file, ``st.set_page_config`` reads it, hashes it and registers it with the media
manager on every run of every session (2–3 % of a follower's Kernel Playground run); an
address is sent as it is. The icon is our own small file, so the app stays offline.
"""

from __future__ import annotations

import base64
import functools

from core.base.paths import ASSETS_DIR

ICON_FILE = ASSETS_DIR / "icon.png"


@functools.cache
def icon_address() -> str:
    """``data:image/png;base64,…`` of ``ICON_FILE``, read once per process.

    >>> icon_address().startswith("data:image/png;base64,iVBORw0KGgo")
    True
    """
    return "data:image/png;base64," + base64.b64encode(ICON_FILE.read_bytes()).decode("ascii")
