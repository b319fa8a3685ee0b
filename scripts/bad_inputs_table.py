"""Write docs/bad-inputs.md, the table of what ConvScope does with each bad or unusual input.

The table is made from the test corpus (``tests/corpus``), the same entries the tests feed
to the app, so it says what the tests check. Run it after changing the corpus:

    .venv/bin/python scripts/bad_inputs_table.py          # rewrite docs/bad-inputs.md
    .venv/bin/python scripts/bad_inputs_table.py --check  # exit 1 if the file is out of date

``tests/test_bad_inputs_table.py`` runs the check, so the page never drifts from the corpus.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.corpus import KINDS, all_entries  # noqa: E402 (the repository root is added above)

DOC = ROOT / "docs" / "bad-inputs.md"

INTRO = """\
# What ConvScope does with bad inputs

People upload all sorts of files, type all sorts of text and share all sorts of links. This
page lists the unusual and broken inputs ConvScope is tested with, and what it does with each:

- **refused**: nothing is used; the page says what is wrong and what to do instead;
- **accepted, with a note**: the input is used after a change, and the page says what changed
  (only the first frame of an animation is used, missing values become 0, a photo is turned
  upright, 16-bit values are scaled);
- **accepted**: the input is used as it is.

No input should ever show a Python error, slow the page down for long, write a file outside
the app's own folders, or run code that came with it. The list comes from the test corpus in
`tests/corpus/`: every row is checked by the tests, and the browser test
(`tests/browser/test_browser_fuzz.py`) feeds every file and typed row to each distinct input
that takes it in the pages (a sample where a page repeats an input fed in full elsewhere) and
a spread of each page's links (every link is opened in `tests/corpus/test_links.py`). The
page is written by `scripts/bad_inputs_table.py`; do not edit it by hand.
"""

HEADINGS = {
    "image": "Images (every image upload: Pixels & Channels, Kernel Playground, Inspect a Network)",
    "zip": "Zips of class folders (Train a CNN, your own images)",
    "model": "Models (Inspect a Network, and the models folder on Train a CNN)",
    "kernel_cell": "Kernel cells (Kernel Playground)",
    "number": "Number boxes (every page)",
    "text": "Text boxes (the sidebar's room code)",
    "link": "Links (the address of a page, with its settings)",
}
OUTCOMES = {"refuse": "refused", "note": "accepted, with a note", "accept": "accepted"}


def cell(text: str) -> str:
    """Text fit for one Markdown table cell.

    >>> cell("a | b\\nc")
    'a \\\\| b c'
    """
    return " ".join(text.split()).replace("|", "\\|")


def input_cell(entry) -> str:
    """The input in words, and for typed text and links what exactly was typed (shortened).

    >>> from tests.corpus import Entry
    >>> input_cell(Entry("kernel_cell/f", "kernel_cell", "a fraction", "accept", "", text="1/9"))
    'a fraction: `1/9`'
    >>> input_cell(Entry("link/x", "link", "long", "refuse", "", text="pool?n=" + "9" * 99))[-9:]
    '9999999…`'
    """
    text = " ".join(entry.text.split()).replace("`", "'")
    if not text or text in entry.what:
        return cell(entry.what)
    if len(text) > 60:
        text = text[:59] + "…"
    return cell(f"{entry.what}: `{text}`")


def render(entries) -> str:
    """The whole page: the intro, then one table per kind of input, in the corpus' order."""
    parts = [INTRO]
    for kind in KINDS:
        mine = [entry for entry in entries if entry.kind == kind]
        if not mine:
            continue
        parts.append(f"## {HEADINGS[kind]}\n")
        rows = ["| input | what ConvScope does | outcome |", "| --- | --- | --- |"]
        rows += [
            f"| {input_cell(entry)} | {cell(entry.gets)} | {OUTCOMES[entry.outcome]} |"
            for entry in mine
        ]
        parts.append("\n".join(rows) + "\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if docs/bad-inputs.md is out of date"
    )
    args = parser.parse_args(argv)
    entries = all_entries()
    text = render(entries)
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.is_file() else ""
        if current != text:
            print(
                f"{DOC} is out of date with tests/corpus: run scripts/bad_inputs_table.py",
                file=sys.stderr,
            )
            return 1
        return 0
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}: {len(entries)} inputs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
