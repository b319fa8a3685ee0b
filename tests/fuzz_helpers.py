"""Feeding the bad-input corpus (``tests/corpus``) to every input of every page in a real browser.

The inputs are found, not listed: the pages come from the sidebar, and on each page the
file uploaders, number boxes and kernel cells are read from the page itself, after choosing
each "Upload" option of its radios and select boxes (that is how an uploader appears). An
uploader's kind (image, zip, model) comes from the file types it says it takes.

Every entry of a kind goes to one input of that kind; every other input of the kind gets a
small sample. After each entry the page is checked (see ``Fuzzer.check``) and a problem is
recorded, never raised, so one run reports every failing entry at once.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import re
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.browser_helpers import ARTIFACTS, ROOT
from tests.fuzz_page_scripts import (
    _BUSY_JS,
    _INPUTS_JS,
    _RADIOS_JS,
    _RUNS_INIT,
    _STATE_JS,
    _TAB_JS,
)

# How many entries each input gets beyond the first of its kind (which gets them all). The
# number boxes are Streamlit's own, many and alike: one entry each; kernel cells, two.
SAMPLE_SIZE = {"number": 1, "kernel_cell": 2}
DEFAULT_SAMPLE_SIZE = 3
# Links open a whole page each (a new session): a spread of each page's links, every accepted
# one and one per parameter in turn. The full sweep of every link runs in AppTest
# (tests/corpus/test_links.py); ``FUZZ_EVERY_ENTRY=1`` feeds every entry everywhere here too.
LINKS_PER_PAGE = 5
# The input of a kind that gets every entry, when several pages have one (the others get a
# sample): Inspect answers a model upload by itself, Train needs a button and a worker per model.
PREFERRED_PAGE = {"model": "inspect_network"}
KERNEL_CELL_LABEL = re.compile(r"^Row \d+, column \d+$")
# What the repository tree and /tmp listings leave out: caches, test output, the browser's
# own profile folders and pytest's temporary folders (the app's folders live in one of those).
IGNORED_PARTS = {
    ".git",
    ".venv",
    "test-artifacts",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".import_linter_cache",
    ".hypothesis",
}
IGNORED_TMP_PREFIXES = (
    "playwright",
    ".org.chromium.",
    "org.chromium.",
    "pytest-of-",
    ".com.google.",
)
WRITTEN = "files written outside the app's folders"

_UPLOAD_OPTION = re.compile(r"upload", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """One input on one page, and the choice that makes it appear."""

    page: str  # URL path ("" for home)
    kind: str  # the corpus kind it takes
    label: str
    nth: int  # among inputs of the same sort and label on the page
    reveal: tuple[str, str, str] | None = None  # ("radio" | "select", widget label, option)
    sidebar: bool = False  # in the sidebar, on every page

    def __str__(self) -> str:
        where = f" (after choosing {self.reveal[2]!r} in {self.reveal[1]!r})" if self.reveal else ""
        return f"/{self.page} {self.kind} input {self.label!r}#{self.nth}{where}"


@dataclass
class Failure:
    entry: str
    target: str
    problems: list[str]

    def __str__(self) -> str:
        return f"{self.entry} → {self.target}:\n    " + "\n    ".join(self.problems)


def _exactly(text: str) -> re.Pattern:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def uploader_kind(hint: str, label: str = "") -> str:
    """The corpus kind of an uploader, from the file types its drop zone names, or from its
    label when it takes any file (so that a wrong file gets the app's own message).

    >>> uploader_kind("Limit 200MB per file • ZIP"), uploader_kind("Limit 200MB per file • KERAS")
    ('zip', 'model')
    >>> uploader_kind("Limit 20MB per file • PNG, JPG, JPEG, BMP")
    'image'
    >>> uploader_kind("Limit 200MB per file", "Upload a .keras model")
    'model'
    """
    types = {word.lower() for word in re.findall(r"[A-Za-z0-9]+", hint.split("•")[-1])}
    if "•" not in hint:
        types = {word.lower() for word in re.findall(r"[A-Za-z0-9]+", label)}
    if "zip" in types:
        return "zip"
    if types & {"keras", "model", "h5"}:
        return "model"
    if types & {"png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff", "webp", "image", "photo"}:
        return "image"
    return "file"


def input_kind(testid: str, label: str, hint: str) -> str:
    if testid == "stFileUploader":
        return uploader_kind(hint, label)
    if testid == "stNumberInput":
        return "number"
    return "kernel_cell" if KERNEL_CELL_LABEL.match(label) else "text"


def app_page_count() -> int:
    """How many pages app.py declares (the sidebar must list them all)."""
    return len(re.findall(r"st\.Page\(", (ROOT / "app.py").read_text()))


def tree_listing(tmp_root: Path = Path("/tmp")) -> set[str]:
    """Every file and folder of the repository tree and the top of /tmp (see IGNORED_*)."""
    found = set()
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in IGNORED_PARTS]
        for name in dirs + files:
            found.add(os.path.join(folder, name))
    for entry in os.scandir(tmp_root):
        if not entry.name.startswith(IGNORED_TMP_PREFIXES):
            found.add(entry.path)
    return found


def pick_sample(entries: list, size: int, turn: int = 0) -> list:
    """A few entries, one of each outcome when there is room (refuse, note, accept); ``turn``
    moves along each outcome's list so that the inputs of a kind get different entries.

    >>> from types import SimpleNamespace as E
    >>> pairs = [("a", "refuse"), ("b", "refuse"), ("c", "accept")]
    >>> entries = [E(name=n, outcome=o) for n, o in pairs]
    >>> [e.name for e in pick_sample(entries, 2)], [e.name for e in pick_sample(entries, 2, 1)]
    (['a', 'c'], ['b', 'c'])
    """
    chosen = []
    for outcome in ("refuse", "note", "accept"):
        group = [e for e in entries if e.outcome == outcome]
        chosen += [group[turn % len(group)]] if group else []
    chosen += [e for e in entries if e not in chosen]
    return chosen[:size]


def message_problems(entry, state: dict) -> list[str]:
    """What is wrong with the page's messages for this entry's outcome (empty when right)."""
    wanted = entry.message.lower()
    refusals = state["errors"] + state["warnings"] + state["chips"] + state["own"]
    if entry.outcome == "refuse":
        if not any(wanted in text.lower() for text in refusals):
            return [f"expected a refusal containing {entry.message!r}; saw {summary(state)}"]
    elif entry.outcome == "note":
        shown = state["errors"] + state["warnings"] + state["infos"] + state["captions"]
        if not any(wanted in text.lower() for text in shown):
            return [f"expected a note containing {entry.message!r}; saw {summary(state)}"]
    else:
        refused = state["errors"] + state["chips"]
        if refused:
            return [f"expected acceptance; saw refusal {refused}"]
    return []


def summary(state: dict) -> str:
    parts = []
    for key in ("errors", "warnings", "infos", "chips", "own"):
        if state[key]:
            parts.append(f"{key} {[text[:200] for text in state[key]]}")
    return "; ".join(parts) or "no message"


@dataclass
class Fuzzer:
    """Drives one browser page against one running app (``AppServer``)."""

    server: object
    page: object
    failures: list[Failure] = field(default_factory=list)
    fed: dict[str, int] = field(default_factory=dict)  # target → entries fed
    visited: set[str] = field(default_factory=set)  # the pages opened
    progress: object = None  # called with (entry name, target, seconds, problems) if set
    timeout_ms: int = 90_000

    def __post_init__(self):
        port = self.server.url.rsplit(":", 1)[1]
        self.log = ARTIFACTS / f"streamlit-{port}.log"
        self.log_handle = open(self.log, "rb")  # noqa: SIM115 - read while the app runs
        self.log_handle.seek(0, os.SEEK_END)
        self.listing = tree_listing()
        self.page.add_init_script(_RUNS_INIT)

    # -- waiting and reading -------------------------------------------------------------
    def runs(self) -> int:
        return self.page.evaluate("() => window.__runs || 0")

    def settle(self, timeout_ms: int | None = None, runs: int | None = None) -> None:
        """Wait until the script run has finished and the page is quiet for two looks; with
        ``runs`` (the count before a change), first for the change's run to begin (a second
        at most: a box that refuses a value starts none)."""
        page = self.page
        if runs is not None:  # no run within a second: the change started none
            with contextlib.suppress(Exception):
                page.wait_for_function(f"() => (window.__runs || 0) > {runs}", timeout=1_000)
        deadline = time.monotonic() + (timeout_ms or self.timeout_ms) / 1000
        quiet = 0
        page.wait_for_timeout(100)
        while quiet < 2:
            busy = page.evaluate(_BUSY_JS)
            quiet = 0 if busy else quiet + 1
            if time.monotonic() > deadline:
                raise TimeoutError("the page kept running")
            page.wait_for_timeout(100)

    def open(self, path: str) -> None:
        self.visited.add(path)
        self.page.goto(f"{self.server.url}/{path}")
        self.page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=self.timeout_ms)
        self.settle()

    def state(self, element=None) -> dict:
        """What the page shows; ``own`` is the text an input shows about itself (a number box
        says "outside the allowed range" under the box, not in an alert)."""
        state = self.page.evaluate(_STATE_JS)
        state["own"] = [element.inner_text().strip()] if element is not None else []
        return state

    # -- finding inputs -------------------------------------------------------------------
    def page_paths(self) -> list[str]:
        self.open("")
        links = self.page.locator('[data-testid="stSidebarNav"] a')
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        return [href.split("://", 1)[-1].partition("/")[2].split("?")[0] for href in hrefs]

    def _visible_targets(self, path: str, reveal) -> list[Target]:
        targets, seen = [], {}
        for item in self.page.evaluate(_INPUTS_JS):
            key = (item["testid"], item["label"])
            seen[key] = seen.get(key, -1) + 1
            kind = input_kind(item["testid"], item["label"], item["hint"])
            target = Target(path, kind, item["label"], seen[key], reveal, item["sidebar"])
            targets.append(target)
        return targets

    def _upload_choices(self) -> list[tuple[str, str, str]]:
        choices = [
            ("radio", radio["label"], option)
            for radio in self.page.evaluate(_RADIOS_JS)
            for option in radio["options"]
            if _UPLOAD_OPTION.search(option)
        ]
        boxes = self.page.locator('[data-testid="stSelectbox"]')
        for i in range(boxes.count()):
            box = boxes.nth(i)
            if not box.is_visible():  # in a closed popover or tab: its page shows it elsewhere
                continue
            label = box.locator("label").first.inner_text().strip()
            texts = self._options(box)
            choices += [("select", label, t) for t in texts if _UPLOAD_OPTION.search(t)]
        return choices

    def _options(self, box) -> list[str]:
        """The option texts of a select box (opened, read, closed)."""
        box.locator('button[aria-label="Open"], [role="combobox"]').first.click()
        options = self.page.locator('[role="option"]')
        try:
            options.first.wait_for(timeout=3_000)
            return [t.strip() for t in options.all_inner_texts()]
        except Exception:  # noqa: BLE001 - a box that does not open offers nothing to upload
            return []
        finally:
            self.page.keyboard.press("Escape")

    def choose(self, reveal: tuple[str, str, str]) -> None:
        """Pick ``option`` in the radio or select box labelled ``label``."""
        sort, label, option = reveal
        page = self.page
        testid = "stRadio" if sort == "radio" else "stSelectbox"
        widget = (
            page.locator(f'[data-testid="{testid}"]')
            .filter(has=page.locator("label", has_text=_exactly(label)))
            .first
        )
        if sort == "radio":
            widget.get_by_text(option, exact=True).click()
        else:
            choice = page.locator('[role="option"]', has_text=_exactly(option)).first
            for attempt in range(3):  # a page that redraws can close the list as it opens
                widget.locator('button[aria-label="Open"], [role="combobox"]').nth(
                    attempt % 2
                ).click()
                try:
                    choice.click(timeout=5_000)
                    break
                except Exception:  # noqa: BLE001 - tried again, then raised
                    page.keyboard.press("Escape")
                    if attempt == 2:
                        raise
        self.settle()

    def discover(self, path: str) -> list[Target]:
        """Every input of the page: the ones shown at first, then the ones each "Upload"
        choice brings up (only the new ones). The sidebar's inputs count on the home page."""
        self.open(path)
        self.check_page(path)
        targets = self._visible_targets(path, None)
        known = {(t.kind, t.label, t.nth) for t in targets}
        for i, reveal in enumerate(self._upload_choices()):
            try:
                if i:
                    self.open(path)
                self.choose(reveal)
            except Exception as error:  # noqa: BLE001 - recorded, the run goes on
                where = f"/{path} choosing {reveal[2]!r} in {reveal[1]!r}"
                self.failures.append(Failure("(finding the inputs)", where, [str(error)[:300]]))
                continue
            self.check_page(path, reveal)
            for target in self._visible_targets(path, reveal):
                if (target.kind, target.label, target.nth) not in known:
                    known.add((target.kind, target.label, target.nth))
                    targets.append(target)
        return [t for t in targets if not t.sidebar or not path]

    def check_page(self, path: str, reveal=None) -> None:
        """Opening a page, or choosing an upload option, must not break it either."""
        problems = [f"exception box: {text[:300]}" for text in self.state()["exceptions"]]
        if problems:
            where = f"/{path}" + (f" after choosing {reveal[2]!r}" if reveal else "")
            self.failures.append(Failure("(opening the page)", where, problems))

    # -- feeding --------------------------------------------------------------------------
    def reach(self, target: Target) -> None:
        self.open(target.page)
        if target.reveal:
            self.choose(target.reveal)
        element = self._locate(target)
        element.wait_for(state="attached", timeout=self.timeout_ms)
        tab = element.evaluate(_TAB_JS)
        if tab and not element.is_visible():  # in a tab not shown: click the tab
            self.page.locator(f'[id="{tab}"]').click()
            self.settle()
        if not element.is_visible():  # in a closed expander: open that one
            expander = self.page.locator('[data-testid="stExpander"]').filter(has=element)
            expander.last.locator("summary").first.click()
        element.wait_for(state="visible", timeout=10_000)

    def _locate(self, target: Target):
        testid = {"number": "stNumberInput"}.get(target.kind, "stTextInput")
        if target.kind in ("image", "zip", "model", "file"):
            testid = "stFileUploader"
        return (
            self.page.locator(f'[data-testid="{testid}"]')
            .filter(has=self.page.locator("label", has_text=_exactly(target.label)))
            .nth(target.nth)
        )

    def feed_all(self, target: Target, entries: list) -> None:
        """Give each entry to the input, check the page, and undo it before the next one."""
        self.fed[str(target)] = 0
        fresh = True
        for entry in entries:
            if fresh and target.kind != "link":
                try:
                    self.reach(target)
                except Exception as error:  # noqa: BLE001 - recorded, the run goes on
                    self.record(entry, target, [f"could not reach the input: {error}"])
                    continue
            problems: list[str] = []
            began = time.monotonic()
            try:
                state = self.feed(target, entry)
                problems += message_problems(entry, state)
                problems += self.common_problems(state)
                problems += self.undo(target)
                fresh = target.kind == "link"
            except Exception as error:  # noqa: BLE001 - recorded, the run goes on
                problems.append(f"{type(error).__name__}: {str(error).splitlines()[0][:300]}")
                problems += self.common_problems(None)
                fresh = True
            self.fed[str(target)] += 1
            if self.progress:
                self.progress(entry.name, target, time.monotonic() - began, problems)
            if problems:
                self.record(entry, target, problems)
                fresh = fresh or any(not p.startswith(WRITTEN) for p in problems)

    def record(self, entry, target, problems: list[str]) -> None:
        self.failures.append(Failure(entry.name, str(target), problems))

    def feed(self, target: Target, entry) -> dict:
        page = self.page
        if target.kind == "link":
            page.goto(f"{self.server.url}/{entry.text}")
            page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=self.timeout_ms)
            self.settle()
            return self.state()
        element = self._locate(target)
        if target.kind in ("image", "zip", "model", "file"):
            return self._upload(element, entry)
        field_ = element.locator("input")
        self.original = field_.input_value()
        runs = self.runs()
        field_.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        if entry.text:
            page.keyboard.insert_text(entry.text)
        page.keyboard.press("Enter")
        self.settle(runs=runs)
        return self.state(element)

    def _upload(self, element, entry) -> dict:
        page = self.page
        expander = page.locator('[data-testid="stExpander"]').filter(has=element)
        scope = expander.first if expander.count() else None
        before = set(scope.locator("button").all_inner_texts()) if scope else set()
        mime = mimetypes.guess_type(entry.filename)[0] or "application/octet-stream"
        element.locator('input[type="file"]').set_input_files(
            {"name": entry.filename, "mimeType": mime, "buffer": entry.make()}
        )
        # The page reruns once the file is up: wait for its chip, then for the run.
        chip = element.locator('[data-testid="stFileChip"]', has_text=entry.filename)
        chip.first.wait_for(timeout=self.timeout_ms)
        self.settle()
        if scope is not None:  # an upload that brings up a button to act on it (Train's store)
            for button in scope.locator("button").all():
                text = button.inner_text().strip()
                if text and text not in before and button.is_enabled():
                    button.click()
                    self.settle()
                    break
        return self.state()

    def undo(self, target: Target) -> list[str]:
        """Put the input back as it was: the later interaction that proves the page answers."""
        if target.kind == "link":
            return []
        element = self._locate(target)
        if target.kind in ("image", "zip", "model", "file"):
            delete = element.locator('[data-testid="stFileChipDeleteBtn"]')
            if delete.count():
                delete.first.click()
                self.settle()
            if element.locator('[data-testid="stFileChip"]').count():
                return ["the uploaded file could not be removed again"]
        else:
            field_ = element.locator("input")
            runs = self.runs()
            field_.click()
            self.page.keyboard.press("Control+A")
            self.page.keyboard.insert_text(self.original)
            self.page.keyboard.press("Enter")
            self.settle(runs=runs)
            if field_.input_value() != self.original:
                return [f"the box did not take its first value {self.original!r} back"]
        state = self.state()
        problems = [f"exception box after undoing: {text[:300]}" for text in state["exceptions"]]
        return problems + self.common_problems(None, check_files=False)

    # -- checking -------------------------------------------------------------------------
    def common_problems(self, state: dict | None, *, check_files: bool = True) -> list[str]:
        """No exception box or traceback, the server up and TF-free, nothing written outside."""
        problems = []
        if state is not None:
            problems += [f"exception box: {text[:300]}" for text in state["exceptions"]]
            if not state["headings"]:
                problems.append("the page shows no title")
        logged = self.log_handle.read().decode("utf-8", "replace")
        if "Traceback" in logged:
            problems.append("traceback in the server log: " + logged[-600:].strip())
        try:
            with urllib.request.urlopen(f"{self.server.url}/_stcore/health", timeout=10) as reply:
                healthy = reply.status == 200
        except OSError:
            healthy = False
        if not healthy:
            problems.append("the server stopped answering")
        elif "libtensorflow" in self.server.loaded_libraries():
            problems.append("the server process loaded TensorFlow")
        if check_files:
            listing = tree_listing()
            written = sorted(listing - self.listing)
            self.listing = listing
            if written:
                problems.append(f"{WRITTEN}: {written[:10]}")
        return problems


def app_environment(folder: Path) -> dict[str, str]:
    """Environment for an app whose every writable place is inside ``folder``: home, temporary
    files, Keras' cache, the models and runs folders. Anything else written is a finding."""
    places = {
        "HOME": "home",
        "TMPDIR": "tmp",
        "KERAS_HOME": "home/.keras",
        "MPLCONFIGDIR": "home/.matplotlib",
        "XDG_CACHE_HOME": "home/.cache",
        "CONVSCOPE_MODELS_DIR": "models",
        "CONVSCOPE_RUNS_DIR": "runs",
    }
    env = {}
    for name, sub in places.items():
        (folder / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(folder / sub)
    return env


def spread(entries: list, size: int) -> list:
    """Up to ``size`` entries, as varied as the list allows: one accepted first, then one per
    parameter in turn (an entry's parameter is the third part of its name, as in
    ``link/pooling/stride/huge``), so a sample still touches every field it can.

    >>> from types import SimpleNamespace as E
    >>> names = ["link/p/a/x", "link/p/a/y", "link/p/b/x", "link/p/c/x", "link/p/a/ok"]
    >>> entries = [E(name=n, outcome="accept" if n.endswith("ok") else "refuse") for n in names]
    >>> [e.name for e in spread(entries, 3)]
    ['link/p/a/ok', 'link/p/a/x', 'link/p/b/x']
    """
    chosen = [e for e in entries if e.outcome == "accept"][:1]
    groups: dict[str, list] = {}
    for entry in entries:
        if entry not in chosen:
            parts = entry.name.split("/")
            groups.setdefault(parts[2] if len(parts) > 3 else "", []).append(entry)
    while len(chosen) < size and any(groups.values()):
        for group in groups.values():
            if group and len(chosen) < size:
                chosen.append(group.pop(0))
    return chosen


def plan(targets: list[Target], entries: list, *, every: bool = False) -> list[tuple[Target, list]]:
    """Which entries each input gets: all of its kind for one input, a sample for the others
    (``every``: all of them everywhere, for a thorough run). Links are opened on their own
    page's address: a spread of each page's links (every one with ``every``)."""
    by_kind: dict[str, list] = {}
    for entry in entries:
        by_kind.setdefault(entry.kind, []).append(entry)
    work = []
    for kind, kind_entries in by_kind.items():
        if kind == "link":
            by_page: dict[str, list] = {}
            for entry in kind_entries:
                by_page.setdefault(entry.text.split("?")[0], []).append(entry)
            for page, page_entries in by_page.items():
                chosen = page_entries if every else spread(page_entries, LINKS_PER_PAGE)
                work.append((Target(page, "link", "address", 0), chosen))
            continue
        mine = [t for t in targets if t.kind == kind]
        preferred = [t for t in mine if t.page == PREFERRED_PAGE.get(kind)]
        mine = preferred[:1] + [t for t in mine if t not in preferred[:1]]
        size = SAMPLE_SIZE.get(kind, DEFAULT_SAMPLE_SIZE)
        for i, target in enumerate(mine):
            chosen = kind_entries if i == 0 or every else pick_sample(kind_entries, size, i)
            work.append((target, chosen))
    return work
