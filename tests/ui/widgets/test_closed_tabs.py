"""ui.widgets.closed_tabs: a closed tab draws nothing and its controls keep their values."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def tabs_script():
    import streamlit as st

    from ui.widgets.closed_tabs import is_open, keep

    first, second = st.tabs(["First", "Second"], key="tab", on_change="rerun")
    with first:
        st.markdown("first tab")
    with second:
        if is_open(second):
            st.slider("Size", 1, 9, 3, key="size")
            st.markdown("second tab")
        else:
            keep(["size", "never set"])
    st.session_state["seen"] = st.session_state.get("size")


def test_a_closed_tab_draws_nothing_and_its_slider_keeps_its_value():
    at = AppTest.from_function(tabs_script).run()
    assert [m.value for m in at.markdown] == ["first tab"] and not at.slider
    at.session_state["tab"] = "Second"
    at.run()
    at.slider(key="size").set_value(7).run()
    assert "second tab" in [m.value for m in at.markdown]
    for _ in range(3):  # closed for several runs
        at.session_state["tab"] = "First"
        at.run()
        assert not at.slider and at.session_state["seen"] == 7
    at.session_state["tab"] = "Second"
    at.run()
    assert at.slider(key="size").value == 7
    assert "never set" not in at.session_state


def forgetful_script():
    import streamlit as st

    first, second = st.tabs(["First", "Second"], key="tab", on_change="rerun")
    with second:
        if second.open:
            st.slider("Size", 1, 9, 3, key="size")


def test_without_keep_streamlit_forgets_the_value():
    """Why ``keep`` exists: the same page without it loses the slider's value."""
    at = AppTest.from_function(forgetful_script).run()
    at.session_state["tab"] = "Second"
    at.run()
    at.slider(key="size").set_value(7).run()
    for _ in range(2):
        at.session_state["tab"] = "First"
        at.run()
    at.session_state["tab"] = "Second"
    at.run()
    assert at.slider(key="size").value == 3


def popover_script():
    import streamlit as st

    from ui.widgets.closed_tabs import folded_popover

    size = st.session_state.get("size", 3)
    popover = folded_popover(st, f"Size {size}", key="more", keeps=["size"])
    if popover is not None:
        with popover:
            st.slider("Size", 1, 9, 3, key="size")
    st.session_state["seen"] = st.session_state.get("size")


def test_a_folded_popover_draws_its_widgets_only_while_open_and_keeps_their_values():
    at = AppTest.from_function(popover_script).run()
    assert not at.slider
    at.session_state["more"] = True  # the visitor opens it
    at.run()
    at.slider(key="size").set_value(7).run()
    assert at.session_state["seen"] == 7
    assert at.session_state["more"]  # open still, though its label changed
    at.session_state["more"] = False
    for _ in range(3):  # shut for several runs
        at.run()
        assert not at.slider and at.session_state["seen"] == 7
    at.session_state["more"] = True
    at.run()
    assert at.slider(key="size").value == 7
