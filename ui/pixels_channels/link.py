"""The Pixels & Channels page's link: the image, the open tab and every tab's controls
(see ``ui.widgets.page_link``)."""

from __future__ import annotations

import streamlit as st

from ui.pixels_channels.views import NETWORK_SIZES, TAB_NAMES, WINDOW_SIZES
from ui.widgets.image_input import digit_count
from ui.widgets.link_fields import image_link, tab_link
from ui.widgets.link_params import LinkField, choice
from ui.widgets.page_link import PageLink

SOURCES = ("photo", "digit", "upload", "camera")


TAB_SLUGS = ("numbers", "channels", "histogram", "resize")


CHANNEL_SLUGS = {"grey": "Grey (luma)", "red": "Red", "green": "Green", "blue": "Blue"}


CENTRE = -1  # the row or column slider at the image's centre (its own default)


def _centre(name: str, key: str) -> LinkField:
    """A centre slider; its default is the image's middle, which the slider finds itself."""

    def put(value: int) -> None:
        if value == CENTRE:
            st.session_state.pop(key, None)
        else:
            st.session_state[key] = value

    return LinkField(
        name,
        CENTRE,
        "int",
        (key,),
        low=0,
        high=100_000,
        get=lambda state: (
            CENTRE
            if state.get(key, CENTRE) == state.get(f"{key}_centre")
            else state.get(key, CENTRE)
        ),
        put=put,
    )


def _put_window(value: int) -> None:
    # The numbers tab widens the window for a new small image; a linked window is kept.
    state = st.session_state
    state["pixels.window"] = value
    state["pixels.window_for"] = LINK.by_name["img"].get(state)


def _channel() -> LinkField:
    labels = {label: slug for slug, label in CHANNEL_SLUGS.items()}

    def parse(text: str) -> str:
        slug = text.strip().lower()
        if slug not in CHANNEL_SLUGS:
            raise ValueError(f"must be one of {', '.join(CHANNEL_SLUGS)}")
        return CHANNEL_SLUGS[slug]

    def format_(label: str) -> str:
        return labels.get(label, "grey")  # "Grey" of a grey image is the grey too

    return LinkField(
        "channel", "Grey (luma)", "choice", ("pixels.channel",), parse=parse, format=format_
    )


def _fields() -> list[LinkField]:
    image = image_link("pixels", sources=SOURCES, digits=digit_count())
    return [
        image,
        tab_link("tab", "pixels.tab", TAB_NAMES, TAB_SLUGS),
        LinkField("window", 16, "choice", ("pixels.window",), tuple(WINDOW_SIZES), put=_put_window),
        _centre("row", "pixels.row"),
        _centre("col", "pixels.col"),
        _channel(),
        choice("space", "pixels.space", "ycrcb", ("ycrcb", "lab")),
        choice("size", "pixels.target", 64, NETWORK_SIZES),
    ]


LINK = PageLink(
    "pixels",
    _fields(),
    css_keys={"img": ("pixels.source", "pixels.photo", "pixels.digit", "pixels.upload")},
)
