"""Every input of every page, fed the bad-input corpus in a real browser (issue 14).

The pages come from the sidebar and their inputs from the pages themselves
(``tests/fuzz_helpers.py``): every image, zip and model uploader, every number box, every
kernel cell, and the address bar for links. After each entry: no exception box, no traceback
in the server's log, the message the corpus expects (a refusal that says what is wrong, a
note, or none), the page still answering (the input is put back as it was), the server still
free of TensorFlow, and no file written outside the app's folders (the app and its workers
run with their home, temporary, models and runs folders in a private temporary folder).

One test per page (``-k pooling`` runs one); each lists every failing entry of its page at
once, and all of them go to ``test-artifacts/fuzz-report.txt`` (``FUZZ_REPORT=name`` names
another file, for runs of some pages side by side). Which entries each input
gets is ``tests/fuzz_plan.plan``: the whole corpus of its kind for every distinct uploader,
a sample where an input repeats one fed in full; ``FUZZ_EVERY_ENTRY=1`` feeds every entry
to every input (much longer).
"""

from __future__ import annotations

import os
import re
import time

import pytest

from tests.browser_helpers import ARTIFACTS, ROOT, open_browser, running_app
from tests.corpus import KINDS, all_entries
from tests.fuzz_helpers import Fuzzer
from tests.fuzz_plan import app_environment, leftover_problems, plan

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The pages as navigation.py declares them, by their address ("" for home).
PAGES = [
    "" if stem == "home" else stem
    for stem in re.findall(
        r'st\.Page\(\s*"app_pages/(\w+)\.py"', (ROOT / "navigation.py").read_text()
    )
]
# A floor for the discovery: the uploaders the app is known to have, by page and kind. One that
# the discovery misses fails the test instead of going unfuzzed.
KNOWN_UPLOADERS = {
    ("pixels_channels", "image"),
    ("kernel_playground", "image"),
    ("inspect_network", "image"),
    ("inspect_network", "model"),
    ("train_cnn", "zip"),
    ("train_cnn", "model"),
}
# What each page's test found, for the report (in the order the pages ran).
RESULTS: dict[str, dict] = {}


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory):
    """One app, one browser and one browser page for all the pages."""
    folder = tmp_path_factory.mktemp("fuzz-app")
    with running_app(extra_env=app_environment(folder)) as server, open_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        driver = Fuzzer(server, page, app_folder=folder)
        if os.environ.get("FUZZ_PROGRESS") == "1":  # with -s: a line per entry as it goes
            driver.progress = lambda name, target, seconds, problems: print(
                f"{seconds:5.1f} s {'FAIL' if problems else 'ok  '} {name} → {target}",
                *(f"\n      {problem[:300]}" for problem in problems),
                flush=True,
            )
        yield driver


def test_the_sidebar_lists_every_page(fuzzer):
    assert sorted(fuzzer.page_paths()) == sorted(PAGES)


# A page takes a minute or two on an idle machine; the suite's 15 minutes per test are too
# few for Train or Inspect on a loaded one (each zip or model upload reruns the whole page).
@pytest.mark.timeout(2400)
@pytest.mark.parametrize("path", PAGES, ids=[path or "home" for path in PAGES])
def test_every_input_of_the_page_survives_the_bad_input_corpus(fuzzer, path):
    entries = all_entries()
    started = time.monotonic()
    failures_before, skipped_before = len(fuzzer.failures), len(fuzzer.skipped)
    targets = fuzzer.discover(path)
    assert path in fuzzer.visited
    known = {kind for page, kind in KNOWN_UPLOADERS if page == path}
    assert known <= {t.kind for t in targets}, f"uploaders not found on /{path}"

    work = plan(path, targets, entries, every=os.environ.get("FUZZ_EVERY_ENTRY") == "1")
    for target, chosen in work:
        fuzzer.feed_all(target, chosen)

    failures = fuzzer.failures[failures_before:]
    RESULTS[path] = {
        "targets": targets,
        "fed": sum(len(chosen) for _, chosen in work),
        "unfed": [str(t) for t in targets if t.kind not in KINDS],
        "skipped": fuzzer.skipped[skipped_before:],
        "failures": failures,
        "minutes": (time.monotonic() - started) / 60,
    }
    write_report()
    assert not failures, f"{len(failures)} failing on /{path}:\n" + "\n".join(map(str, failures))


def test_every_kind_was_fed_and_the_app_cleaned_up(fuzzer):
    """After all the pages (when they all ran): every kind of entry reached an input, and the
    app's temporary folder holds nothing it should have removed."""
    if set(RESULTS) != set(PAGES):
        pytest.skip("only some pages ran")
    fed_kinds = {t.kind for result in RESULTS.values() for t in result["targets"]} | {"link"}
    assert {entry.kind for entry in all_entries()} <= fed_kinds
    assert leftover_problems(fuzzer.app_folder) == []


def write_report() -> None:
    entries = all_entries()
    failures = [f for result in RESULTS.values() for f in result["failures"]]
    inputs = sum(len(result["targets"]) for result in RESULTS.values())
    fed = sum(result["fed"] for result in RESULTS.values())
    minutes = sum(result["minutes"] for result in RESULTS.values())
    unfed = [name for result in RESULTS.values() for name in result["unfed"]]
    skipped = [name for result in RESULTS.values() for name in result["skipped"]]
    load = os.getloadavg()[0]
    report = [
        f"{len(entries)} corpus entries, {inputs} inputs on {len(RESULTS)} of {len(PAGES)} pages,"
        f" {fed} entries fed in {minutes:.1f} min (load average at the end {load:.1f})",
        *(f"  /{page}: {r['fed']} fed in {r['minutes']:.1f} min" for page, r in RESULTS.items()),
        "inputs not fed (no corpus kind for them): " + (", ".join(unfed) or "none"),
        "inputs not fed (not usable as the page opens): " + (", ".join(skipped) or "none"),
        f"{len(failures)} failing:",
        *(str(failure) for failure in failures),
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / os.environ.get("FUZZ_REPORT", "fuzz-report.txt")).write_text(
        "\n".join(report) + "\n"
    )
