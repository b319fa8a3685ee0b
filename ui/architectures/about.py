"""What makes a network special, in plain words, and the button that trains it here."""

from __future__ import annotations

import streamlit as st

from core.data.catalog import DISPLAY_NAMES
from core.nets.gallery import GalleryEntry
from core.nets.summary import ModelSummary


def train_label(entry: GalleryEntry) -> str | None:
    """The "Train this on …" text of an entry, or None when it is too big to train here.

    >>> from core.nets.gallery import gallery_entry
    >>> train_label(gallery_entry("lenet5")), train_label(gallery_entry("vgg16"))
    ('Train this on MNIST', None)
    >>> train_label(gallery_entry("dogs_vs_cats_cnn"))
    'Train this on your own photos'
    """
    if entry.train_on is None:
        return None
    return f"Train this on {DISPLAY_NAMES.get(entry.train_on, 'your own photos')}"


def show_about(entry: GalleryEntry) -> None:
    """Who made it, what is special about it, and what this version leaves out."""
    st.caption(entry.origin)
    st.markdown("\n".join(f"- {sentence}" for sentence in entry.special))
    if entry.left_out:
        st.caption(f"**Here:** {entry.left_out}")


def train_button(entry: GalleryEntry, summary: ModelSummary) -> bool:
    """A button that opens the Train page with this network chosen; True when clicked.

    Networks too big for this machine get a sentence saying so instead.
    """
    label = train_label(entry)
    if label is None:
        st.caption(
            f"Too big to train here: {summary.total_params / 1e6:.1f} million parameters on "
            f"{'×'.join(map(str, summary.input_shape))} photos take graphics cards and days of "
            "ImageNet. Networks like it are reused pretrained instead: see transfer learning "
            "on the Train a CNN page."
        )
        return False
    target = "your photos (a zip of class folders)" if entry.train_on == "zip" else label[14:]
    return st.button(
        label,
        key="arch.train",
        type="primary",
        icon=":material/model_training:",
        help=f"Opens Train a CNN with {entry.title} chosen and {target} as the data, adapted "
        "to its image size and number of classes.",
    )
