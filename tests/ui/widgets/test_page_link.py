"""ui.widgets.page_link through AppTest: a link restores a page, bad parameters give one
warning, the address follows every change at once, hide/lock strip controls, and the
contract a lecture room relies on (request_restore, current_link) holds."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def demo_page():
    import streamlit as st

    from ui.widgets.link_params import choice, flag, ints, number
    from ui.widgets.page_link import PageLink, current_link, request_restore

    link = PageLink(
        "demo",
        [
            number("n", "demo.n", 3, low=1, high=9),
            choice("c", "demo.c", "a", ("a", "b")),
            flag("f", "demo.f"),
            ints("s", ("demo.s0", "demo.s1"), (1, 1), low=1, high=5),
            number("x", "demo.x", 0.5, low=0.0, high=1.0),
        ],
        keep=("run",),
    )
    link.start()
    st.number_input("n", 1, 9, key="demo.n", disabled=link.locked("n"))
    st.selectbox("c", ["a", "b"], key="demo.c", disabled=link.locked("c"))
    st.checkbox("f", key="demo.f")
    st.number_input("s0", 1, 5, key="demo.s0")
    st.number_input("s1", 1, 5, key="demo.s1")
    st.slider("x", 0.0, 1.0, key="demo.x")
    st.session_state["demo.current"] = current_link()
    if st.button("follow", key="demo.follow"):
        st.query_params.from_dict(st.session_state["demo.wanted"])
        request_restore()
        st.rerun()
    link.sync()


def open_page(**params) -> AppTest:
    at = AppTest.from_function(demo_page, default_timeout=30)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at: AppTest) -> tuple:
    return (
        at.number_input(key="demo.n").value,
        at.selectbox(key="demo.c").value,
        at.checkbox(key="demo.f").value,
        at.number_input(key="demo.s0").value,
        at.number_input(key="demo.s1").value,
        at.slider(key="demo.x").value,
    )


def test_a_plain_visit_keeps_the_defaults_and_an_empty_address():
    at = open_page()
    assert shown(at) == (3, "a", False, 1, 1, 0.5)
    assert at.query_params == {} and not at.warning


def test_a_link_restores_every_control_and_the_address_keeps_it():
    at = open_page(n="7", c="b", f="1", s="2,4", x="0.25")
    assert shown(at) == (7, "b", True, 2, 4, 0.25)
    assert not at.warning
    assert at.query_params == {"n": "7", "c": "b", "f": "1", "s": "2,4", "x": "0.25"}


def test_the_address_follows_each_change_in_the_same_run():
    at = open_page()
    at.number_input(key="demo.s1").set_value(3).run()
    assert at.query_params == {"s": "1,3"}
    at.slider(key="demo.x").set_value(0.75).run()
    assert at.query_params == {"s": "1,3", "x": "0.75"}
    at.number_input(key="demo.s1").set_value(1).run()
    assert at.query_params == {"x": "0.75"}
    # what the address shows opens the same page in a fresh session
    again = open_page(**at.query_params)
    assert shown(again) == shown(at)


def test_bad_parameters_give_one_warning_naming_each_and_fall_back():
    at = open_page(n="0", c="zz", x="nan", s="1,2", junk="1", run="abc")
    assert shown(at) == (3, "a", False, 1, 2, 0.5)
    (warning,) = at.warning
    for fragment in ('"n=0"', '"c=zz"', '"x=nan"', '"junk=1"', "using 3 instead"):
        assert fragment in warning.value
    assert "run" not in warning.value
    # the bad parameters leave the address; a parameter another feature owns stays
    assert at.query_params == {"s": "1,2", "run": "abc"}
    # the warning stays while the page shows what the link set, and goes at the first change
    at.run()
    assert len(at.warning) == 1
    at.checkbox(key="demo.f").check().run()
    assert not at.warning


def test_lock_disables_hide_keeps_working_and_both_stay_in_the_address():
    at = open_page(n="5", lock="n,c", hide="x", x="0.2")
    assert at.number_input(key="demo.n").disabled and at.selectbox(key="demo.c").disabled
    assert not at.checkbox(key="demo.f").disabled
    assert at.slider(key="demo.x").value == 0.2  # hidden by CSS, still computing
    css = "\n".join(element.proto.body for element in at.get("html"))
    assert ".st-key-demo-x, .st-key-demo-x__row {display: none" in css
    assert ".st-key-demo-n, .st-key-demo-n__row {pointer-events" in css
    assert at.query_params == {"n": "5", "x": "0.2", "hide": "x", "lock": "n,c"}
    # a locked value changed behind the page's back is put back on the next run
    at.session_state["demo.n"] = 8
    at.run()
    assert at.number_input(key="demo.n").value == 5


def test_hiding_an_unknown_control_is_reported():
    at = open_page(hide="n,nothing")
    (warning,) = at.warning
    assert '"hide=nothing"' in warning.value
    assert at.query_params == {"hide": "n"}


def test_current_link_is_what_the_address_shows():
    at = open_page(n="4")
    at.number_input(key="demo.s0").set_value(2).run()
    assert at.session_state["demo.current"] == {"n": "4", "s": "2,1"} == at.query_params


def test_request_restore_rereads_the_address_like_a_first_visit():
    at = open_page(n="4", f="1")
    at.session_state["demo.wanted"] = {"c": "b", "x": "0.9"}
    at.button(key="demo.follow").click().run()
    assert not at.exception
    # every control follows the new address: the ones it does not name go to their defaults
    assert shown(at) == (3, "b", False, 1, 1, 0.9)
    assert at.query_params == {"c": "b", "x": "0.9"}
    # without a request, a changed address is not read again (the page owns its state)
    at.query_params["n"] = "9"
    at.run()
    assert at.number_input(key="demo.n").value == 3


def test_the_home_page_has_an_empty_link_and_names_unknown_parameters():
    from core.base.paths import PROJECT_ROOT

    at = AppTest.from_file(str(PROJECT_ROOT / "navigation.py"), default_timeout=60)
    at.query_params.update({"zz": "1", "hide": "x"})
    at.run()
    assert not at.exception
    (warning,) = at.warning
    assert '"zz=1"' in warning.value and '"hide=x"' in warning.value
    assert at.query_params == {}
    assert at.session_state["_link.active"].page == "home"  # current_link() is home's: {}


def test_remembered_texts_never_mix_up_values():
    """The memo of a value's text tells 1 from True and two long arrays apart."""
    import numpy as np

    from ui.widgets.link_params import LinkField
    from ui.widgets.page_link import PageLink

    def text_of(value) -> str:
        return ";".join(",".join(str(v) for v in np.ravel(part)) for part in value)

    grid = LinkField("g", (), "text", ("demo.g",), format=text_of)
    flag_field = LinkField("b", False, "bool", ("demo.b",))
    link = PageLink("demo", [grid, flag_field])
    first, second = np.zeros(2000), np.zeros(2000)
    second[1000] = 7  # ``repr`` of both arrays reads the same ("...")
    assert link._encoded(grid, (first,)) != link._encoded(grid, (second,))
    assert link._encoded(grid, (second,))["g"].count("7") == 1
    assert link._encoded(flag_field, True) == {"b": "1"}
    assert link._encoded(flag_field, 0) == {}
    assert link._encoded(flag_field, 1) == {"b": "1"}


def reader_page():
    import streamlit as st

    from ui.widgets.page_link import state_reader

    st.number_input("n", 1, 9, key="r.n")
    st.selectbox("c", ["a", "b"], key="r.c")
    st.session_state.setdefault("r.plain", [1, 2])
    reader = state_reader()
    keys = ["r.n", "r.c", "r.plain", "r.none"]
    st.session_state["r.seen"] = {
        "reader": [reader.get(k, "missing") for k in keys] + [k in reader for k in keys],
        "proxy": [st.session_state.get(k, "missing") for k in keys]
        + [k in st.session_state for k in keys],
        "kind": type(reader).__name__,
    }


def test_the_state_reader_reads_what_session_state_holds():
    at = AppTest.from_function(reader_page, default_timeout=30)
    at.run()
    at.number_input(key="r.n").set_value(7)
    at.selectbox(key="r.c").set_value("b")
    at.run()
    seen = at.session_state["r.seen"]
    assert seen["reader"] == seen["proxy"]
    assert seen["reader"] == [7, "b", [1, 2], "missing", True, True, True, False]
    assert seen["kind"] == "_StoreReader"  # this Streamlit's own store is read directly
