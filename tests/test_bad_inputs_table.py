"""docs/bad-inputs.md says what the test corpus checks: written from it, never out of date."""

import importlib.util

from tests.browser_helpers import ROOT
from tests.corpus import Entry, all_entries

SCRIPT = ROOT / "scripts" / "bad_inputs_table.py"


def _script():
    spec = importlib.util.spec_from_file_location("bad_inputs_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_table_matches_the_corpus(capsys):
    assert _script().main(["--check"]) == 0, capsys.readouterr().err


def test_every_entry_is_a_row_of_its_kinds_table():
    script = _script()
    entries = all_entries()
    text = script.render(entries)
    sections = text.split("\n## ")[1:]
    for entry in entries:
        heading = script.HEADINGS[entry.kind]
        (section,) = [s for s in sections if s.startswith(heading)]
        row = f"| {script.input_cell(entry)} | {script.cell(entry.gets)} |"
        assert row in section, entry.name


def test_the_check_fails_when_the_corpus_changes(monkeypatch, tmp_path):
    script = _script()
    extra = Entry("link/new", "link", "a new | link", "refuse", "refused", text="pooling?x=1")
    monkeypatch.setattr(script, "all_entries", lambda: [*all_entries(), extra])
    assert script.main(["--check"]) == 1
    monkeypatch.setattr(script, "DOC", tmp_path / "bad-inputs.md")
    assert script.main([]) == 0
    assert "| a new \\| link: `pooling?x=1` | refused | refused |" in script.DOC.read_text()
    assert script.main(["--check"]) == 0
