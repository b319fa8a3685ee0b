"""Every input of every page, fed the bad-input corpus in a real browser (issue 14).

The pages come from the sidebar and their inputs from the pages themselves
(``tests/fuzz_helpers.py``): every image, zip and model uploader, every number box, every
kernel cell, and the address bar for links. After each entry: no exception box, no traceback
in the server's log, the message the corpus expects (a refusal that says what is wrong, a
note, or none), the page still answering (the input is put back as it was), the server still
free of TensorFlow, and no file written outside the app's folders (the app runs with its home,
temporary, models and runs folders in a temporary folder). Every failing entry is listed at
the end, all at once; the list is also saved in ``test-artifacts/fuzz-report.txt``.

One input of each kind gets every entry of its kind, the others a sample, and each page's
links a spread (see ``tests/fuzz_helpers.py``), to keep the test near five minutes;
``FUZZ_EVERY_ENTRY=1`` feeds every entry to every input (much longer).
"""

from __future__ import annotations

import os
import time

import pytest

from tests.browser_helpers import ARTIFACTS, open_browser, running_app
from tests.corpus import KINDS, all_entries
from tests.fuzz_helpers import Fuzzer, app_environment, app_page_count, plan

pytestmark = [pytest.mark.browser, pytest.mark.slow]

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


def test_every_input_of_every_page_survives_the_bad_input_corpus(tmp_path):
    entries = all_entries()
    started = time.monotonic()
    with (
        running_app(extra_env=app_environment(tmp_path)) as server,
        open_browser() as browser,
    ):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        fuzzer = Fuzzer(server, page)
        if os.environ.get("FUZZ_PROGRESS") == "1":  # with -s: a line per entry as it goes
            fuzzer.progress = lambda name, target, seconds, problems: print(
                f"{seconds:5.1f} s {'FAIL' if problems else 'ok  '} {name} → {target}", flush=True
            )
        paths = fuzzer.page_paths()
        assert len(paths) == app_page_count(), paths
        targets = []
        for path in paths:
            targets += fuzzer.discover(path)
        assert set(paths) <= fuzzer.visited
        assert {(t.page, t.kind) for t in targets} >= KNOWN_UPLOADERS
        kinds = {entry.kind for entry in entries} - {"link"}
        assert kinds <= {t.kind for t in targets}, "a kind of input no page has"

        work = plan(targets, entries, every=os.environ.get("FUZZ_EVERY_ENTRY") == "1")
        for target, chosen in work:
            fuzzer.feed_all(target, chosen)
        assert {entry.kind for entry in entries} <= {t.kind for t, chosen in work if chosen}

    minutes = (time.monotonic() - started) / 60
    report = [
        f"{len(entries)} corpus entries, {len(targets)} inputs on {len(paths)} pages, "
        f"{sum(fuzzer.fed.values())} entries fed in {minutes:.1f} min",
        "inputs not fed (no corpus kind for them): "
        + (", ".join(str(t) for t in targets if t.kind not in KINDS) or "none"),
        f"{len(fuzzer.failures)} failing:",
        *(str(failure) for failure in fuzzer.failures),
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fuzz-report.txt").write_text("\n".join(report) + "\n")
    assert not fuzzer.failures, "\n".join(report)
