"""Choosing a network of the gallery (also from the address: `?network=vgg16`), and how the
diagram is drawn."""

from __future__ import annotations

import re

import streamlit as st

from core.nets.gallery import GALLERY_KEYS, GalleryEntry, gallery_entry

QUERY_KEY = "network"


def option_label(key: str) -> str:
    """The picker's text for a network: its name and year.

    >>> option_label("vgg16"), option_label("mnist_cnn_a")
    ('VGG16 (2014)', 'MNIST CNN A (course)')
    """
    entry = gallery_entry(key)
    year = re.search(r"\b(19|20)\d\d\b", entry.origin)
    return f"{entry.title} ({year.group(0) if year else 'course'})"


def network_picker() -> GalleryEntry:
    """The network select box; a valid `?network=` in the address picks the first one shown,
    and the address follows the choice, so a lecturer can share a link to one network."""
    wanted = st.query_params.get(QUERY_KEY)
    if wanted in GALLERY_KEYS and "arch.network" not in st.session_state:
        st.session_state["arch.network"] = wanted
    key = st.selectbox(
        "Network",
        GALLERY_KEYS,
        format_func=option_label,
        key="arch.network",
        help="The famous networks in the order they appeared, then the course's own ones.",
    )
    st.query_params[QUERY_KEY] = key
    return gallery_entry(key)


def compact_toggle(*, foldable: bool = True) -> bool:
    """Whether batch normalisation and activations are drawn inside the layer before them
    (disabled, and False, for a network that has none)."""
    value = st.toggle(
        "Fold BatchNorm and ReLU",
        value=True,
        key="arch.compact",
        disabled=not foldable,
        help="On: a convolution, its batch normalisation and its ReLU share one box, so "
        "long networks such as ResNet fit on the screen. Off: one box per Keras layer."
        + ("" if foldable else " (This network has no separate BatchNorm or ReLU layers.)"),
    )
    return value and foldable
