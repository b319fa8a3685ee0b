"""ui.kernel_playground.tabs: each analysis tab gets its part of the page's numbers."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui.kernel_playground.tabs import TAB_NAMES


def test_seven_tabs_step_by_step_first():
    assert TAB_NAMES[0] == "Step by step" and len(set(TAB_NAMES)) == 7


def tabs_script(tab):
    import numpy as np
    import streamlit as st

    from core.imaging.synthetic_images import WORKED_EXAMPLES
    from core.ops.convolution import conv2d
    from core.ops.kernels import kernel
    from ui.kernel_playground.controls import Sliding
    from ui.kernel_playground.kernel_editor import KernelChoice
    from ui.kernel_playground.tabs import show_tabs
    from ui.widgets.image_input import ImageChoice

    st.session_state["kernel.tab"] = tab
    image = WORKED_EXAMPLES["example4"].astype(np.float64)
    choice = ImageChoice(image, "synthetic:example4", "Worked example 4")
    chosen = KernelChoice(kernel("sobel_bottom"), "sobel_bottom", "Sobel")
    sliding = Sliding((1, 1), "valid", (0, 0), "constant", (1, 1), False, 0.0, False)
    output = conv2d(image, chosen.values, **sliding.conv_options())
    show_tabs(choice, image, chosen, chosen.values, output, sliding, "auto", {"pad": "valid"})


def open_tab(tab: str) -> AppTest:
    at = AppTest.from_function(tabs_script, args=(tab,)).run(timeout=30)
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize(
    ("tab", "shows"),
    [
        ("Step by step", lambda at: any(m.value.endswith("= **19**") for m in at.markdown)),
        ("Frequency response", lambda at: at.markdown[0].value.startswith("**Band-pass")),
        ("Separable?", lambda at: "rank 1" in at.success[0].value),
        ("Shift test", lambda at: at.success[0].value.startswith("Identical")),
        ("Compare kernels", lambda at: at.selectbox(key="kernel.compare").value == "box_blur"),
        ("Noise & sharpening", lambda at: at.radio(key="kernel.noise_kind").value == "gaussian"),
        ("Share & download", lambda at: at.code[0].value.endswith("?pad=valid")),
    ],
)
def test_only_the_open_tab_runs(tab, shows):
    at = open_tab(tab)
    assert shows(at)
    assert at.tabs[0].label == TAB_NAMES[0] and len(at.tabs) == len(TAB_NAMES)
    others_ran = {
        "Step by step": bool([b for b in at.button if b.key == "kernel.row_next"]),
        "Shift test": bool([s for s in at.slider if s.key == "kernel.shift_rows"]),
        "Share & download": any(  # its own buttons: every picture has a "PNG" one
            b.proto.id.endswith("kernel.download_png") for b in at.get("download_button")
        ),
    }
    assert [name for name, ran in others_ran.items() if ran] == ([tab] if tab in others_ran else [])
