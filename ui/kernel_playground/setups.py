"""Putting the whole Kernel Playground to one setup: from a shared link, or a worked example.

Both write every control's session-state entry before the widgets are drawn
(``apply_setup``): the image, the kernel, the sliding options, the explained
pixel, and the open tab.
"""

from __future__ import annotations

import streamlit as st

from core.imaging.synthetic_images import SYNTHETIC_IMAGES
from ui.kernel_playground import kernel_editor
from ui.kernel_playground.link_state import (
    LECTURE_EXAMPLES,
    PlaygroundState,
    decode_state,
    widget_values,
)
from ui.kernel_playground.tabs import TAB_NAMES
from ui.widgets.image_input import photo_names, set_image

EXAMPLE_COLUMNS = 4


def shareable_image_names() -> tuple[str, ...]:
    """Every image a link may name: "photo:<file>" and "synthetic:<key>"."""
    photos = tuple(f"photo:{name}" for name in photo_names())
    return photos + tuple(f"synthetic:{key}" for key in SYNTHETIC_IMAGES)


def apply_setup(setup: PlaygroundState) -> None:
    """Put every control of the page to ``setup`` (before the widgets are drawn)."""
    state = st.session_state
    set_image("kernel", setup.image, setup.synthetic_size)
    kernel_editor.set_kernel("kernel", setup.kernel_array(), setup.preset)
    state.update(widget_values(setup))
    state["kernel.tab"] = TAB_NAMES[0]


def restore_setup() -> tuple[str, ...]:
    """Set the page up on its first run; return what was wrong with the link, if anything.

    The first run reads the address bar's query (a shared link). Coming back
    from another page, Streamlit has forgotten the widgets, so each missing
    entry starts from its default; the kernel editor keeps its own state.
    """
    state = st.session_state
    if "kernel.initialised" not in state:
        decoded = decode_state(
            st.query_params.to_dict(),
            image_names=shareable_image_names(),
            preset_names=tuple(kernel_editor.preset_options()),
        )
        apply_setup(decoded.state)
        state.update({"kernel.initialised": True, "kernel.link_messages": decoded.messages})
    else:
        for key, value in widget_values(PlaygroundState()).items():
            state.setdefault(key, value)
    return tuple(state.get("kernel.link_messages", ()))


def lecture_example_buttons() -> None:
    """An expander with one button per worked example of the lecture notes."""
    with st.expander("Worked examples from the lecture notes"):
        st.caption("Each button loads the image, kernel and settings of one example.")
        rows = -(-len(LECTURE_EXAMPLES) // EXAMPLE_COLUMNS)
        columns = [column for _ in range(rows) for column in st.columns(EXAMPLE_COLUMNS)]
        for column, (key, (label, setup)) in zip(columns, LECTURE_EXAMPLES.items(), strict=False):
            column.button(
                label,
                key=f"kernel.example.{key}",
                on_click=apply_setup,
                args=(setup,),
                help="Load this example; its numbers match the lecture notes.",
                width="stretch",
            )
