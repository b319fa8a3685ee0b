"""Choosing a network of the gallery, and how the diagram is drawn."""

from __future__ import annotations

import re

import streamlit as st

from core.nets.gallery import GALLERY_KEYS, GalleryEntry, gallery_entry
from ui.widgets.short_choice import choose_one


def option_label(key: str) -> str:
    """The picker's text for a network: its name and year.

    >>> option_label("vgg16"), option_label("mnist_cnn_a")
    ('VGG16 (2014)', 'MNIST CNN A (course)')
    """
    entry = gallery_entry(key)
    year = re.search(r"\b(19|20)\d\d\b", entry.origin)
    return f"{entry.title} ({year.group(0) if year else 'course'})"


def network_picker() -> GalleryEntry:
    """The network, stepped through in the order they appeared (key "arch.network"; the page's
    link, ``ui.architectures.link``, puts `?network=` into it, so a lecturer can share a link
    to one network)."""
    key = choose_one(
        "Network",
        GALLERY_KEYS,
        format_func=option_label,
        key="arch.network",
        help="The famous networks in the order they appeared, then the course's own ones.",
    )
    return gallery_entry(key)


# Checkbox, toggle and metric labels end in "…" where a column is narrow (a laptop at 150 %
# leaves 853 pixels): on these pages they wrap onto a second line instead.
WRAP_LABELS = (
    '<style>[data-testid="stMain"] :is([data-testid="stCheckbox"], '
    '[data-testid="stMetricLabel"]) :is(.stMarkdownEllipsis, .stMarkdownEllipsis p)'
    "{white-space:normal;overflow:visible;text-overflow:clip}</style>"
)


def wrap_labels() -> None:
    """Let this page's checkbox, toggle and metric labels wrap rather than be cut."""
    st.html(WRAP_LABELS)


def compact_toggle(*, foldable: bool = True) -> bool:
    """Whether batch normalisation and activations are drawn inside the layer before them
    (disabled, and False, for a network that has none)."""
    st.session_state.setdefault("arch.compact", True)  # where a link can set it
    value = st.toggle(
        "Fold BatchNorm and ReLU",
        key="arch.compact",
        disabled=not foldable,
        help="On: a convolution, its batch normalisation and its ReLU share one box, so "
        "long networks such as ResNet fit on the screen. Off: one box per Keras layer."
        + ("" if foldable else " (This network has no separate BatchNorm or ReLU layers.)"),
    )
    return value and foldable
