"""ui.kernel_playground.setups: a shared link or a worked example sets every control."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from core.imaging.synthetic_images import SYNTHETIC_IMAGES
from ui.kernel_playground.link_state import LECTURE_EXAMPLES, PlaygroundState, widget_values
from ui.kernel_playground.setups import shareable_image_names
from ui.widgets.image_input import photo_names


def test_links_may_name_every_bundled_photo_and_test_pattern():
    names = shareable_image_names()
    assert names[: len(photo_names())] == tuple(f"photo:{n}" for n in photo_names())
    assert set(names[len(photo_names()) :]) == {f"synthetic:{k}" for k in SYNTHETIC_IMAGES}


def setup_script():

    from ui.kernel_playground.setups import lecture_example_buttons, restore_setup

    restore_setup()
    lecture_example_buttons()


def open_setup(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_function(setup_script, default_timeout=30)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_first_visit_without_a_link_gets_the_defaults():
    at = open_setup()
    assert not at.warning
    for key, value in widget_values(PlaygroundState()).items():
        assert at.session_state[key] == value, key
    assert at.session_state["kernel.tab"] == "Step by step"
    assert at.session_state["kernel.photo"] == "camera.png"


def test_a_link_sets_the_image_the_kernel_and_the_sliding():
    at = open_setup({"img": "synthetic:disk", "k": "1,2;3,4", "s": "2,3", "pad": "full"})
    assert not at.warning
    assert at.session_state["kernel.synthetic"] == "disk"
    np.testing.assert_array_equal(at.session_state["kernel.last_good"], [[1, 2], [3, 4]])
    assert (at.session_state["kernel.stride_rows"], at.session_state["kernel.stride_cols"]) == (
        2,
        3,
    )
    assert at.session_state["kernel.padding"] == "full"


def test_a_garbled_link_keeps_what_parses_and_says_what_did_not():
    at = open_setup({"pad": "sideways", "s": "2"})
    (message,) = [w.value for w in at.warning]
    assert '"pad=sideways"' in message and '"s=' not in message
    assert at.session_state["kernel.padding"] == PlaygroundState().padding
    assert at.session_state["kernel.stride_rows"] == 2


def test_the_message_stays_until_something_changes_and_the_controls_are_kept():
    at = open_setup({"pad": "sideways"})
    at.run()
    assert len(at.warning) == 1
    at.session_state["kernel.stride_cols"] = 5
    at.run()
    assert at.session_state["kernel.stride_cols"] == 5
    assert not at.warning


def test_each_example_button_loads_its_setup():
    at = open_setup()
    assert [b.key for b in at.button] == [f"kernel.example.{k}" for k in LECTURE_EXAMPLES]
    # one row of short buttons, as the other pages' examples; the notes' 4 has three variants
    assert [b.label for b in at.button] == ["1", "2", "3", "4a", "4b", "4c", "5"]
    assert at.button[4].help == "Load 4 · strides (1, 2). Key: 5."
    assert not at.expander and not at.selectbox  # one click, no list to open first
    at.session_state["kernel.tab"] = "Shift test"
    at.button(key="kernel.example.example5").click().run()
    _, setup = LECTURE_EXAMPLES["example5"]
    assert at.session_state["kernel.synthetic"] == "example5"
    np.testing.assert_array_equal(at.session_state["kernel.last_good"], setup.kernel_array())
    assert at.session_state["kernel.stride_rows"] == 2
    assert at.session_state["kernel.tab"] == "Step by step"
