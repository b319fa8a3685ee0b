"""Text from users (file names, folder names) shown literally inside Streamlit markdown.

``st.error``, ``st.warning`` and ``st.caption`` render markdown: a zip folder called
``$x$`` would turn into maths, ``*cats*`` into italics and ``[a](b)`` into a link.
Escaping the characters markdown acts on shows every name as it was written.
"""

from __future__ import annotations

import re

# CommonMark lets any ASCII punctuation be escaped; these are the ones that act in
# Streamlit's markdown (emphasis, code, links, HTML, headings, tables, strikethrough, maths).
_ACTIVE = re.compile(r"([\\`*_\[\]<>#|~$])")


def markdown_literal(text: str) -> str:
    """``text`` with markdown's active characters escaped, so it shows as written.

    >>> markdown_literal("cats_*2*/[a](b).png costs $5")
    'cats\\\\_\\\\*2\\\\*/\\\\[a\\\\](b).png costs \\\\$5'
    """
    return _ACTIVE.sub(r"\\\1", str(text))
