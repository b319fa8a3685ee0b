"""Choosing a network of the gallery, and how the diagram is drawn."""

from __future__ import annotations

import re

import streamlit as st

from core.nets.gallery import GALLERY_KEYS, GalleryEntry, gallery_entry


def option_label(key: str) -> str:
    """The picker's text for a network: its name and year.

    >>> option_label("vgg16"), option_label("mnist_cnn_a")
    ('VGG16 (2014)', 'MNIST CNN A (course)')
    """
    entry = gallery_entry(key)
    year = re.search(r"\b(19|20)\d\d\b", entry.origin)
    return f"{entry.title} ({year.group(0) if year else 'course'})"


def network_picker() -> GalleryEntry:
    """The network select box (key "arch.network"; the page's link, ``ui.architectures.link``,
    puts `?network=` into it, so a lecturer can share a link to one network)."""
    key = st.selectbox(
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


DRAWING_KEY = "arch.drawing"  # the popover that holds the toggle


def drawing_label(folded: bool) -> str:
    """The drawing popover's label: how the diagram is drawn, without opening it.

    >>> drawing_label(True), drawing_label(False)
    ('Drawing: BatchNorm and ReLU folded', 'Drawing: one box per Keras layer')
    """
    return "Drawing: " + ("BatchNorm and ReLU folded" if folded else "one box per Keras layer")


def compact_toggle(*, foldable: bool = True) -> bool:
    """Whether batch normalisation and activations are drawn inside the layer before them
    (disabled, and False, for a network that has none).

    The toggle sits in a popover whose label says which way the diagram is drawn: closed,
    the browser does not build it (a first visit costs less, bench/page_load.py), while its
    value, key and link work the same.
    """
    st.session_state.setdefault("arch.compact", True)  # where a link can set it
    folded = bool(st.session_state["arch.compact"]) and foldable
    with st.popover(
        drawing_label(folded),
        icon=":material/tune:",
        key=DRAWING_KEY,
        wrap=True,  # a projector at 150 %: the whole label, never cut
        help="How the diagram draws batch normalisation and ReLU.",
    ):
        return _toggle(foldable) and foldable


def _toggle(foldable: bool) -> bool:
    return st.toggle(
        "Fold BatchNorm and ReLU",
        key="arch.compact",
        disabled=not foldable,
        help="On: a convolution, its batch normalisation and its ReLU share one box, so "
        "long networks such as ResNet fit on the screen. Off: one box per Keras layer."
        + ("" if foldable else " (This network has no separate BatchNorm or ReLU layers.)"),
    )
