"""Formulas drawn as plain HTML, not typeset by KaTeX.

Why: the first typeset formula on a page makes the browser load and run KaTeX, which cost
Convolution Arithmetic about 0.06× of a bare page on a first visit (README, "How fast a first
visit is"), and MathML, which browsers draw themselves, comes out poorly without a maths
font. The formulas shown are few and simple (``core.ops.arithmetic``'s output-size rules:
fractions under a floor or ceiling, products, ``max``), so this module turns exactly that
LaTeX into HTML: a fraction is a numerator over a rule over a denominator, variables are
italic, minus signs are true minus signs. ``aria-label`` holds the formula as one line of
text, for screen readers and tests.
"""

from __future__ import annotations

import html
import re

import streamlit as st

_FENCES = {"floor": ("⌊", "⌋"), "ceil": ("⌈", "⌉")}
_FENCED_FRACTION = re.compile(
    r"\\left\\l(floor|ceil) \\frac\{([^{}]*)\}\{([^{}]*)\} \\right\\r(?:floor|ceil)"
)
_FENCED = re.compile(r"\\l(floor|ceil) (.*?) \\r(?:floor|ceil)")
_TEXT = re.compile(r"\\text\{([^{}]*)\}")
_SYMBOLS = {
    r"\quad\Rightarrow\quad": "\u2003⇒\u2003",
    r"\cdot": "·",
    " - ": " − ",
    "'": "′",
}
_VARIABLE = re.compile(r"(?<![A-Za-z_])([a-z])(?![A-Za-z_])")

_FRACTION_STYLE = (
    "display:inline-flex;flex-direction:column;vertical-align:middle;text-align:center;"
    "margin:0.15em 0.1em;line-height:1.3"
)
_NUMERATOR_STYLE = "border-bottom:1px solid currentColor;padding:0 0.25em"
_BRACKET_STYLE = "font-size:2em;line-height:1;vertical-align:middle"
_BLOCK_STYLE = (
    "font-family:'Latin Modern Math','STIX Two Math','Cambria Math','Times New Roman',serif;"
    "font-size:1.2rem;text-align:center;line-height:1.8;margin:0.3rem 0"
)


def _words(tex: str, *, markup: bool) -> str:
    """Everything but fractions: symbols, fenced terms, upright words and italic variables.

    >>> _words(r"o' = i' s + \\max(k - s, 0)", markup=False)
    'o′ = i′ s + max(k − s, 0)'
    >>> _words(r"\\lfloor 3.5 \\rfloor + 1", markup=True)
    '⌊3.5⌋ + 1'
    """
    upright: list[str] = []

    def keep(text: str) -> str:  # out of reach of the italic rule until the end
        upright.append(text)
        return f"\0{len(upright) - 1}\0"

    tex = _TEXT.sub(lambda m: keep(m.group(1).replace(r"\_", "_")), tex)
    if r"\max" in tex:
        tex = tex.replace(r"\max", keep("max"))
    for command, symbol in _SYMBOLS.items():
        tex = tex.replace(command, symbol)
    tex = _FENCED.sub(lambda m: "{0}{2}{1}".format(*_FENCES[m.group(1)], m.group(2)), tex)
    tex = html.escape(tex, quote=False)
    if markup:
        tex = _VARIABLE.sub(r"<i>\1</i>", tex)
    return re.sub("\0(\\d+)\0", lambda m: html.escape(upright[int(m.group(1))]), tex)


def _line(tex: str, *, markup: bool) -> str:
    """One line of LaTeX as HTML (``markup``) or as plain text.

    >>> _line(r"\\left\\lfloor \\frac{10 - 3}{2} \\right\\rfloor + 1 = 4", markup=False)
    '⌊(10 − 3) / 2⌋ + 1 = 4'
    """
    out, end = [], 0
    for match in _FENCED_FRACTION.finditer(tex):
        out.append(_words(tex[end : match.start()], markup=markup))
        opening, closing = _FENCES[match.group(1)]
        top, bottom = (_words(part, markup=markup) for part in match.group(2, 3))
        if markup:
            out.append(
                f'<span style="{_BRACKET_STYLE}">{opening}</span>'
                f'<span style="{_FRACTION_STYLE}"><span style="{_NUMERATOR_STYLE}">{top}</span>'
                f'<span style="padding:0 0.25em">{bottom}</span></span>'
                f'<span style="{_BRACKET_STYLE}">{closing}</span>'
            )
        else:
            out.append(f"{opening}({top}) / {bottom}{closing}")
        end = match.end()
    out.append(_words(tex[end:], markup=markup))
    return "".join(out)


def formula_html(*lines: str) -> str:
    """Lines of LaTeX (as ``core.ops.arithmetic`` writes them) as one HTML block, one per line.

    >>> block = formula_html(r"o = (i - k) + 1", "(5 - 3) + 1 = 3")
    >>> 'aria-label="o = (i − k) + 1; (5 − 3) + 1 = 3"' in block, "<i>k</i>" in block
    (True, True)
    """
    label = html.escape("; ".join(_line(line, markup=False) for line in lines))
    rows = "".join(f"<div>{_line(line, markup=True)}</div>" for line in lines)
    return (
        f'<div class="cs-formula" role="math" aria-label="{label}" style="{_BLOCK_STYLE}">'
        f"{rows}</div>"
    )


def show_formula(*lines: str) -> None:
    """Draw ``formula_html(*lines)`` in the current container."""
    st.html(formula_html(*lines))
