"""ui.widgets.plain_text: user text shown literally in Streamlit markdown."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui.widgets.plain_text import markdown_literal


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("cats", "cats"),
        ("my_cats", "my\\_cats"),
        ("*bold*", "\\*bold\\*"),
        ("[click](http://x)", "\\[click\\](http://x)"),
        ("$x$", "\\$x\\$"),
        ("<b>", "\\<b\\>"),
        ("a\\b", "a\\\\b"),
        ("`code`", "\\`code\\`"),
        ("# heading | table ~strike~", "\\# heading \\| table \\~strike\\~"),
    ],
)
def test_active_characters_are_escaped(text, escaped):
    assert markdown_literal(text) == escaped


def _page(name: str) -> None:
    import streamlit as st

    from ui.widgets.plain_text import markdown_literal

    st.error(f"Folder {markdown_literal(name)} was left out.")


def test_a_hostile_name_renders_as_written():
    """Streamlit's markdown turns the escaped text back into exactly the name."""
    markdown_it = pytest.importorskip("markdown_it")  # CommonMark, installed with Keras' rich

    name = "*cats*_[a](b)_$x$"
    at = AppTest.from_function(_page, args=(name,)).run()
    assert not at.exception
    rendered = markdown_it.MarkdownIt().render(at.error[0].value)
    assert f"Folder {name} was left out." in rendered.replace("&lt;", "<")
