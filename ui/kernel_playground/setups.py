"""Putting the whole Kernel Playground to one setup: from a shared link, or a worked example.

Both write every control's session-state entry before the widgets are drawn: a
link through ``ui.kernel_playground.link.LINK`` (``restore_setup``), a worked
example through ``apply_setup`` (the image, the kernel, the sliding options, the
explained pixel, and the open tab).
"""

from __future__ import annotations

from typing import NamedTuple

import streamlit as st

from ui.kernel_playground import kernel_editor
from ui.kernel_playground.link import LINK, image_names, widget_defaults
from ui.kernel_playground.link_state import LECTURE_EXAMPLES, PlaygroundState, widget_values
from ui.kernel_playground.tabs import TAB_NAMES
from ui.widgets.image_input import set_image
from ui.widgets.window_steps import example_picker


def shareable_image_names() -> tuple[str, ...]:
    """Every image a link may name: "photo:<file>" and "synthetic:<key>"."""
    return image_names()


def apply_setup(setup: PlaygroundState) -> None:
    """Put every control of the page to ``setup`` (before the widgets are drawn)."""
    state = st.session_state
    set_image("kernel", setup.image, setup.synthetic_size)
    kernel_editor.set_kernel("kernel", setup.kernel_array(), setup.preset)
    state.update(widget_values(setup))
    state["kernel.tab"] = TAB_NAMES[0]


def restore_setup() -> None:
    """Set the page up from its link on the first run (``LINK.start``, which warns about
    bad parameters and keeps the address current).

    Coming back from another page, Streamlit has forgotten the widgets, so each
    missing entry starts from its default; the kernel editor keeps its own state.
    """
    LINK.start()
    for key, value in widget_defaults().items():
        st.session_state.setdefault(key, value)


class LectureExample(NamedTuple):
    """One worked example of the lecture notes, as ``example_picker`` lists it."""

    title: str
    setup: PlaygroundState


EXAMPLES = {key: LectureExample(label, setup) for key, (label, setup) in LECTURE_EXAMPLES.items()}
"""The worked examples by key, in the notes' order (keys 1–9 load them in this order)."""


def load_example(key: str) -> None:
    """Callback of an example's button (or key): put the page to its setup."""
    apply_setup(EXAMPLES[key].setup)


def lecture_example_buttons() -> None:
    """One button per worked example of the lecture notes, in a row: one click loads one."""
    example_picker(
        "kernel",
        EXAMPLES,
        load_example,
        label="Worked examples from the lecture notes:",
        with_list=False,
    )
