"""ui.page_icon: the app's icon travels inline, byte for byte the bundled file."""

from __future__ import annotations

import base64
import io

from PIL import Image

from ui.page_icon import ICON_FILE, icon_address


def test_the_address_holds_the_bundled_icon_itself():
    head, _, data = icon_address().partition(",")
    assert head == "data:image/png;base64"
    assert base64.b64decode(data) == ICON_FILE.read_bytes()
    with Image.open(io.BytesIO(base64.b64decode(data))) as icon:
        assert icon.format == "PNG" and icon.size[0] == icon.size[1] >= 16


def test_the_file_is_read_once_per_process():
    assert icon_address() is icon_address()
