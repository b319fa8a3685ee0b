"""Links with query parameters a person might open (or paste, edit or mangle) on any page.

Generated from each page's linked fields (``ui.<page>.link.LINK``): for every parameter
of every page, values of the wrong type, out of range or huge, negative, NaN and infinite,
empty, repeated, very long and unicode, plus unknown names and other pages' parameters.
Each must be refused with the one link warning naming the parameter (``message`` is
'"name=', how the warning quotes it) and the page at its defaults; a valid value (the
default written out, the other choice) is ``accept``ed with no warning.
``text`` is "<page url path>?<query>", what ``tests/browser/test_browser_fuzz.py`` opens.
"""

from __future__ import annotations

import importlib
from urllib.parse import urlencode

from tests.corpus import Entry
from ui.widgets.link_params import LinkField, format_value

PAGES = {
    "pixels_channels": "ui.pixels_channels.link",
    "kernel_playground": "ui.kernel_playground.link",
    "convolution_arithmetic": "ui.arithmetic.link",
    "pooling": "ui.pooling.link",
    "backpropagation": "ui.backpropagation.link",
    "train_cnn": "ui.train.link",
    "inspect_network": "ui.inspect.link",
    "architectures": "ui.architectures.link",
}
"""Each page's url path and the module holding its ``LINK``."""


LONG = "9" * 5000


def page_link(page: str):
    """The ``PageLink`` of the page at url path ``page``."""
    return importlib.import_module(PAGES[page]).LINK


def _bad_values(item: LinkField) -> list[tuple[str, str]]:
    """(what it is, text) pairs of the field's type that it must refuse."""
    if item.kind == "int":
        bad = [("not a number", "abc"), ("a fraction", "2.5"), ("huge", "1" * 30)]
        bad += [("NaN", "nan"), ("full-width digits", "７")]
        if item.low is not None:
            bad.append(("below the range", str(int(item.low) - 1)))
        if item.high is not None:
            bad.append(("above the range", str(int(item.high) + 1)))
    elif item.kind == "float":
        bad = [("NaN", "nan"), ("infinite", "-inf"), ("huge", "1e999"), ("not a number", "abc")]
        if item.low is not None:
            bad.append(("below the range", repr(float(item.low) - 1.0)))
        if item.high is not None:
            bad.append(("above the range", repr(float(item.high) * 10 + 1.0)))
    elif item.kind == "bool":
        bad = [("not 1 or 0", "2"), ("a word", "maybe")]
    elif item.kind == "ints":
        bad = [("three numbers", "1,1,1"), ("not numbers", "a,b"), ("NaN", "nan,1")]
        if item.high is not None:
            bad.append(("above the range", f"{int(item.high) + 1},1"))
        if item.low is not None:
            bad.append(
                ("negative" if item.low == 0 else "below the range", f"{int(item.low) - 1},1")
            )
    elif item.kind == "matrix":
        bad = [("ragged rows", "1,2;3"), ("NaN cell", "nan,1"), ("huge cell", "1e999")]
        bad += [("too large", ";".join([",".join(["1"] * 16)] * 16)), ("a word", "abc")]
    else:  # choices and names
        bad = [("not one of the choices", "zzz<script>"), ("a path", "../../etc/passwd")]
        if item.parse is None:  # a pick among a model's layers may be -1 (the predicted class)
            bad.append(("negative", "-1"))
    return bad


def _good_value(item: LinkField) -> tuple[str, str]:
    """A valid value the page takes as it is: another choice, or the default written out."""
    if item.kind == "bool":
        return "switched", "0" if item.default else "1"
    if item.kind == "choice" and item.parse is None and len(item.choices) > 1:
        return "another choice", str(next(c for c in item.choices if str(c) != str(item.default)))
    return "the default written out", format_value(item, item.default)


def _entry(page: str, label: str, params, outcome: str, message: str, what: str) -> Entry:
    query = urlencode(params, doseq=True)
    return Entry(
        name=f"link/{page}/{label}",
        kind="link",
        what=what,
        outcome=outcome,
        gets=(
            "one warning naming the parameter; the page at its defaults"
            if outcome == "refuse"
            else "the page set to it, no warning"
        ),
        text=f"{page}?{query}",
        message=message,
    )


def _page_entries(page: str) -> list[Entry]:
    """One bad value per parameter (its type's cases taken in turn), one good one for the
    first few, and the cases every page shares."""
    link = page_link(page)
    entries = []
    turns: dict[str, int] = {}
    for item in link.fields:
        cases = _bad_values(item)
        what, text = cases[turns.get(item.kind, 0) % len(cases)]
        turns[item.kind] = turns.get(item.kind, 0) + 1
        label = f"{item.name}/{what.replace(' ', '-')}"
        entries.append(
            _entry(
                page, label, {item.name: text}, "refuse", f'"{item.name}=', f"{what} in {item.name}"
            )
        )
    for item in link.fields[:3]:
        what, text = _good_value(item)
        label = f"{item.name}/ok-{what.replace(' ', '-')}"
        entries.append(
            _entry(page, label, {item.name: text}, "accept", "", f"{what} in {item.name}")
        )
    first, last = link.fields[0], link.fields[-1]
    value = format_value(first, first.default)
    shared = [
        ("empty", {last.name: ""}, f'"{last.name}=', "an empty value"),
        ("very-long", {last.name: LONG}, f'"{last.name}=', "a 5,000-character value"),
        ("unicode", {first.name: "ĉu ĝi? 🙂"}, f'"{first.name}=', "a unicode value"),
        ("repeated", [(first.name, value)] * 2, f'"{first.name}=', "a parameter given twice"),
        ("unknown-name", {"zzz_not_a_setting": "1"}, '"zzz_not_a_setting=', "an unknown name"),
        ("unicode-name", {"ĉambro": "1"}, '"ĉambro=', "a unicode name"),
        ("long-name", {"n" * 300: "1"}, '"' + "n" * 30, "a 300-letter name"),
        ("hide-unknown", {"hide": "zzz"}, '"hide=zzz', "hiding a control the page lacks"),
    ]
    for label, params, message, what in shared:
        entries.append(_entry(page, label, params, "refuse", message, what))
    entries.append(
        _entry(
            page,
            "hide-and-lock",
            {"hide": first.name, "lock": last.name},
            "accept",
            "",
            "hiding one control and locking another",
        )
    )
    other = next(p for p in PAGES if p != page)
    foreign = next(item.name for item in page_link(other).fields if item.name not in link.by_name)
    entries.append(
        _entry(
            page,
            "other-page-parameter",
            {foreign: "1"},
            "refuse",
            f'"{foreign}=',
            "another page's parameter",
        )
    )
    return entries


ENTRIES = [entry for page in PAGES for entry in _page_entries(page)]
