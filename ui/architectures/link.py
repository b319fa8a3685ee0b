"""The Famous Architectures page's link: the network (``?network=vgg16``, as before), the
fold toggle and the open tab (see ``ui.widgets.page_link``)."""

from __future__ import annotations

from core.nets.gallery import GALLERY_KEYS
from ui.widgets.link_fields import tab_link
from ui.widgets.link_params import choice, flag
from ui.widgets.page_link import PageLink

TAB_NAMES = ("Layer by layer", "As Keras code")


TAB_SLUGS = ("layers", "code")


LINK = PageLink(
    "arch",
    [
        choice("network", "arch.network", GALLERY_KEYS[0], GALLERY_KEYS),
        flag("fold", "arch.compact", True),
        tab_link("tab", "arch.tab", TAB_NAMES, TAB_SLUGS),
    ],
)
