"""The link corpus: every query parameter of every page, mangled, through the page link.

Every entry is decided by its page's ``LINK.check`` (the same checks a first visit runs):
a refused parameter is named in a problem, an accepted one sets the page without any.
Every entry also opens its real page in AppTest: no exception, one warning naming the
parameter and the page otherwise at its defaults (refused), or no warning (accepted). One
AppTest per page takes the entries in turn through ``request_restore``, as a lecture room's
follower does; that sweep is slow, a first entry per page always runs.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl

import pytest

from tests.conftest import SHARED_DATA
from tests.corpus.links import ENTRIES, PAGES, page_link
from tests.link_helpers import controls, differing, link_warnings, open_page
from ui.widgets.link_params import warning_text
from ui.widgets.page_link import RESTORE_KEY


def split(entry) -> tuple[str, dict[str, list[str]]]:
    """The page and the parameters (each with every value given) of a link entry."""
    page, _, query = entry.text.partition("?")
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(name, []).append(value)
    return page, params


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.name)
def test_every_entry_is_decided_by_its_page_link(entry):
    page, params = split(entry)
    _, problems, _ = page_link(page).check(params)
    if entry.outcome == "refuse":
        text = warning_text(problems)
        assert entry.message in text, text
        assert "Received" not in text and "Traceback" not in text
    else:
        assert problems == [], [problem.text() for problem in problems]


def test_the_corpus_covers_every_parameter_of_every_page():
    for page in PAGES:
        named = {name for entry in ENTRIES if split(entry)[0] == page for name in split(entry)[1]}
        assert {item.name for item in page_link(page).fields} <= named, page
    assert len({entry.name for entry in ENTRIES}) == len(ENTRIES)


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    names = ("CONVSCOPE_DATA_DIR", "CONVSCOPE_MODELS_DIR", "CONVSCOPE_RUNS_DIR")
    saved = {key: os.environ.get(key) for key in names}
    os.environ["CONVSCOPE_DATA_DIR"] = str(SHARED_DATA)
    os.environ["CONVSCOPE_MODELS_DIR"] = str(tmp_path_factory.mktemp("models"))
    os.environ["CONVSCOPE_RUNS_DIR"] = str(tmp_path_factory.mktemp("runs"))
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def check_on_page(at, entry, defaults: dict) -> None:
    assert not at.exception, (entry.name, [e.value for e in at.exception])
    warnings = link_warnings(at)
    link = page_link(split(entry)[0])
    if entry.outcome == "refuse":
        assert len(warnings) == 1 and entry.message in warnings[0], (entry.name, warnings)
        changed = differing(controls(at, link), defaults)
        assert changed == [], (entry.name, changed)
    else:
        assert warnings == [], (entry.name, warnings)


def sweep(page: str, entries: list) -> None:
    """One AppTest for the page; each entry restored in turn as a follower would."""
    at = open_page(page, timeout=180)
    defaults = controls(at, page_link(page))
    for entry in entries:
        at.query_params.clear()
        at.query_params.update(split(entry)[1])
        at.session_state[RESTORE_KEY] = True
        at.run()
        check_on_page(at, entry, defaults)


# Inspect needs a real inference worker; every other page runs in this process.
QUICK = [page for page in PAGES if page != "inspect_network"]


@pytest.mark.parametrize("page", QUICK)
def test_a_first_bad_and_a_good_entry_per_page(page, environment):
    mine = [entry for entry in ENTRIES if entry.text.startswith(f"{page}?")]
    sample = [
        next(e for e in mine if e.outcome == "refuse"),
        next(e for e in mine if e.outcome == "accept"),
    ]
    sweep(page, sample)


@pytest.mark.slow
@pytest.mark.parametrize("page", list(PAGES))
def test_every_entry_on_its_page(page, environment):
    sweep(page, [entry for entry in ENTRIES if entry.text.startswith(f"{page}?")])
