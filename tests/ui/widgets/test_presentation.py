"""Presentation mode's switch, its link parameter, the folding CSS and the keys' script.

The real browser (folding, fitting, keys) is tests/browser/test_browser_presentation.py.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from ui.widgets import presentation
from ui.widgets.page_link import reserved_params


def app_script():
    import streamlit as st

    from ui.widgets.presentation import main_picture, presentation_switch

    presentation_switch()
    st.title("A page")
    main_picture(".st-key-demo-picture")


def open_app(params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_function(app_script, default_timeout=30)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def html_bodies(at: AppTest) -> str:
    return " ".join(element.proto.body for element in at.get("html"))


def test_off_by_default_with_the_switch_in_the_sidebar():
    at = open_app()
    assert at.sidebar.button(key=presentation.SWITCH_ON_KEY).label == "Presentation mode"
    assert "present" not in at.query_params
    assert "display: none" not in html_bodies(at)  # nothing folded
    assert "__convscopeKeys" in html_bodies(at)  # the keys work outside the mode too
    assert at.sidebar.get("html")  # the script lives in the sidebar


def test_the_switch_turns_it_on_and_the_address_keeps_it():
    at = open_app()
    at.sidebar.button(key=presentation.SWITCH_ON_KEY).click().run()
    assert at.session_state[presentation.ON_KEY] is True
    assert at.query_params["present"] == "1"
    css = html_bodies(at)
    assert "stSidebar" in css and ":has(~ .st-key-demo-picture" in css  # closed, folded
    at.button(key=presentation.SWITCH_OFF_KEY).click().run()
    assert at.session_state[presentation.ON_KEY] is False
    assert "present" not in at.query_params


def test_a_link_with_present_1_opens_in_presentation_mode():
    at = open_app({"present": "1"})
    assert at.session_state[presentation.ON_KEY] is True
    assert at.button(key=presentation.SWITCH_OFF_KEY).label == "Leave presentation"
    assert not at.warning


def test_show_controls_unfolds_the_page():
    at = open_app({"present": "1"})
    at.toggle(key=presentation.CONTROLS_KEY).set_value(True).run()
    assert ":has(~ .st-key-demo-picture" not in html_bodies(at)
    assert "stSidebar" in html_bodies(at)  # still presenting


def slot_script():
    import streamlit as st

    from ui.widgets.presentation import presentation_switch, room_slot

    presentation_switch()
    st.title("A page")
    slot = room_slot()
    if slot is not None:  # as the lecture room does after the page has run
        with slot.container():
            st.button("Ask the room", key="demo.ask")


def test_presenting_keeps_a_place_in_the_bar_for_the_room_and_only_then():
    at = AppTest.from_function(slot_script, default_timeout=30)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.button(key="demo.ask").label == "Ask the room"
    # drawn after the page, shown in the bar: before the page's title, after the switch
    order = [getattr(node, "key", None) or getattr(node, "value", None) for node in at.main]
    assert order.index(presentation.SWITCH_OFF_KEY) < order.index("demo.ask")
    assert order.index("demo.ask") < order.index("A page")
    at.button(key=presentation.SWITCH_OFF_KEY).click().run()
    assert not [b for b in at.button if b.key == "demo.ask"]  # the sidebar has its own
    assert presentation.ROOM_SLOT_KEY not in at.session_state


def test_a_bad_present_value_is_named_and_the_mode_stays_off():
    at = open_app({"present": "yes"})
    assert at.session_state[presentation.ON_KEY] is False
    assert "present=yes" in at.warning[0].value and "present=1" in at.warning[0].value
    assert "present" not in at.query_params


def test_pages_keep_present_in_their_address():
    assert presentation.PARAM in reserved_params()


def test_every_example_key_is_one_the_digits_press():
    mark = "-example-"
    for prefix, name in (("arith", "ex1"), ("pool", "pool_a_stride2"), ("kernel", "example1")):
        key = presentation.example_key(prefix, name)
        assert mark in presentation.key_class(key)
    assert f"press('{mark}', Number(event.key) - 1)" in presentation.keyboard_script()


def test_fold_css_hides_only_what_comes_before_the_picture_and_keeps_the_bar():
    css = presentation.fold_css(".st-key-a")
    assert css.count("display: none") == 1
    assert ":not(:has(> .st-key-present-bar))" in css  # the bar stays
    assert ':not(:has(> [class*="st-key-room-"]))' in css  # and the room's question
    assert ":has(~ .st-key-a, ~ * .st-key-a)" in css


def test_the_key_list_names_every_key_of_the_issue():
    keys = [key for key, _ in presentation.KEYS]
    assert keys == ["← / →", "space", "1 – 9", "p"]


def test_the_list_of_keys_is_drawn_only_while_it_is_open():
    """The sidebar is on every page's first paint: a closed list costs it nothing."""
    at = open_app()
    assert not at.sidebar.markdown
    assert [e.label for e in at.sidebar.expander] == ["Keys"]
    at.session_state[presentation.KEYS_OPEN_KEY] = True  # as a click on "Keys"
    at.run()
    table = at.sidebar.markdown[0].value
    assert all(f"**{key}**" in table for key, _ in presentation.KEYS)


def test_the_bar_s_list_of_keys_is_drawn_only_while_it_is_open():
    at = open_app({"present": "1"})
    assert not at.markdown
    at.session_state[presentation.KEYS_BAR_OPEN_KEY] = True
    at.run()
    assert "**space**" in at.markdown[0].value
