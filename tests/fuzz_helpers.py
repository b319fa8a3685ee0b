"""Feeding the bad-input corpus (``tests/corpus``) to every input of every page in a real browser.

The inputs are found, not listed: the pages come from the sidebar, and on each page the
file uploaders, number boxes and kernel cells are read from the page itself, after choosing
each "Upload" option of its radios and select boxes (that is how an uploader appears) and
after opening each popover of the main area (a closed popover's inputs are not in the page). An
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
    _FOLDED_SIDEBAR_JS,
    _INPUTS_JS,
    _POPOVERS_JS,
    _RADIOS_JS,
    _RUNS_INIT,
    _STATE_JS,
    _TAB_JS,
)
from tests.fuzz_plan import (
    FILE_KINDS,
    REFUSED_INSTEAD,
    Failure,
    Target,
    Unreachable,
    stray_writes,
    tree_listing,
)

KERNEL_CELL_LABEL = re.compile(r"^Row \d+, column \d+$")
WRITTEN = "files written outside the app's folders"

_UPLOAD_OPTION = re.compile(r"upload", re.IGNORECASE)


CLICK_TO_EDIT = ".st-key-kernel-grid button"  # cells shown as buttons until one is clicked


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
    """How many pages navigation.py declares (the sidebar must list them all)."""
    return len(re.findall(r"st\.Page\(", (ROOT / "navigation.py").read_text()))


def message_problems(entry, state: dict, refused_instead: str | None = None) -> list[str]:
    """What is wrong with the page's messages for this entry's outcome (empty when right);
    ``refused_instead``: a refusal that stands for acceptance here (see REFUSED_INSTEAD)."""
    wanted = entry.message.lower()
    refusals = state["errors"] + state["warnings"] + state["chips"] + state["own"]
    stands_for_acceptance = refused_instead and entry.outcome != "refuse"
    if stands_for_acceptance and any(refused_instead in text for text in refusals):
        return []
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
    app_folder: Path | None = None  # the app's writable folders (``app_environment``)
    skipped: list[str] = field(default_factory=list)  # inputs hidden or disabled, and why
    # The page open as it opened (nothing fed, or all put back): the next input of that page
    # is reached without loading it again.
    as_opened: str | None = None
    timeout_ms: int = 180_000  # a run (a model loaded in a worker that starts under load)
    action_ms: int = 10_000  # a click or a key: the element is there, or it will not be
    # How long a change that must start a run is given to start one: a loaded machine starts
    # it within seconds; now and then the page's count misses one (two runs merged into one).
    run_start_ms: int = 20_000

    def __post_init__(self):
        port = self.server.url.rsplit(":", 1)[1]
        self.log = ARTIFACTS / f"streamlit-{port}.log"
        self.log_handle = open(self.log, "rb")  # noqa: SIM115 - read while the app runs
        self.log_handle.seek(0, os.SEEK_END)
        self.listing = tree_listing(self.app_folder)
        self.page.add_init_script(_RUNS_INIT)
        self.page.set_default_timeout(self.action_ms)
        self.page.set_default_navigation_timeout(self.timeout_ms)

    # -- waiting and reading -------------------------------------------------------------
    def runs(self) -> int:
        return self.page.evaluate("() => window.__runs || 0")

    def settle(
        self, timeout_ms: int | None = None, runs: int | None = None, *, must_run: bool = False
    ) -> None:
        """Wait until the script run has finished and the page is quiet for two looks; with
        ``runs`` (the count before a change), first for the change's run to begin: a second
        at most (a box that refuses a value starts none), or ``run_start_ms`` when the change
        ``must_run`` (an upload always starts one)."""
        page = self.page
        if runs is not None:  # no run within a second: the change started none
            wait_ms = self.run_start_ms if must_run else 1_000
            with contextlib.suppress(Exception):
                page.wait_for_function(f"() => (window.__runs || 0) > {runs}", timeout=wait_ms)
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
        self.as_opened = path

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

    def _upload_choices(self, path: str) -> list[tuple[str, str, str]]:
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
        # a long choice (``ui.widgets.short_choice``) lists its options in its "All" popover
        for selector in self._closed_popovers():
            if selector.startswith(".st-key-") and selector.endswith("_all"):
                texts = self._list_options(selector)
                choices += [("list", selector, t) for t in texts if _UPLOAD_OPTION.search(t)]
        # a folded section that builds its uploader only once it is open (Train's models folder)
        summaries = self.page.locator('[data-testid="stExpander"] summary')
        for i in range(summaries.count()):
            label = summaries.nth(i).inner_text().strip().splitlines()[-1].strip()
            if _UPLOAD_OPTION.search(label):
                choices.append(("expander", label, "open"))
        # a closed popover: its inputs are built in the page only once it is open
        choices += [("popover", label, "open") for label in self._closed_popovers()]
        # buttons that turn into text boxes once one is clicked (the Kernel Playground's grid)
        if self.page.locator(CLICK_TO_EDIT).count():
            choices.append(("click", CLICK_TO_EDIT, "edit"))
        if not path:  # the sidebar's folded sections (the lecture room's join form) count here
            choices += [("expander", label, "open") for label in self._folded_sidebar_sections()]
        return choices

    def _closed_popovers(self) -> list[str]:
        """The main area's popovers (but the worked examples' list), each as the CSS selector
        of its key's class, or its button's text when it has no key."""
        found = self.page.evaluate(_POPOVERS_JS)
        return [f".{item['key']}" if item["key"] else item["text"] for item in found]

    def open_popover(self, label: str) -> None:
        """Open the popover ``label`` (see ``_closed_popovers``) unless it is open; opening
        one starts no run."""
        page = self.page
        if label.startswith(".st-key-"):
            popover = page.locator(label).first
        else:
            popover = (
                page.locator('[data-testid="stMain"] [data-testid="stPopover"]')
                .filter(has=page.locator("button", has_text=_exactly(label)))
                .first
            )
        if page.locator('[data-testid="stPopoverBody"]').count():  # one is open: this one
            return
        popover.locator("button").first.click()
        page.locator('[data-testid="stPopoverBody"]').first.wait_for(state="visible")

    def _folded_sidebar_sections(self) -> list[str]:
        """The labels of the sidebar's folded sections: they build their inputs only once open."""
        return self.page.evaluate(_FOLDED_SIDEBAR_JS)

    def _list_options(self, selector: str) -> list[str]:
        """The options of a long choice's list (its popover opened, read, shut)."""
        self.open_popover(selector)
        self.settle()
        labels = self.page.locator('[data-testid="stPopoverBody"] [data-testid="stRadio"] label')
        texts = [t.strip() for t in labels.all_inner_texts()][1:]  # the first: the radio's label
        runs = self.runs()
        self.page.keyboard.press("Escape")
        self.settle(runs=runs)
        return texts

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
        """Pick ``option`` in the radio, select box or long list labelled ``label``."""
        sort, label, option = reveal
        page = self.page
        self.as_opened = None
        runs = self.runs()
        if sort == "expander":
            page.locator('[data-testid="stExpander"] summary', has_text=label).first.click()
            self.settle(runs=runs)
            return
        if sort == "list":  # a long choice: open its list, pick, shut it
            self.open_popover(label)
            self.settle(runs=runs)
            runs = self.runs()
            body = page.locator('[data-testid="stPopoverBody"]')
            body.get_by_text(option, exact=True).first.click()
            self.settle(runs=runs)
            runs = self.runs()
            page.keyboard.press("Escape")
            self.settle(runs=runs)
            return
        if sort == "popover":  # one drawn only while open starts a run as it opens
            self.open_popover(label)
            self.settle(runs=runs)
            return
        if sort == "click":  # once clicked, the session keeps the text boxes
            if page.locator(label).count():
                page.locator(label).first.click()
                self.settle(runs=runs)
            return
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
        self.settle(runs=runs)

    def discover(self, path: str) -> list[Target]:
        """Every input of the page: the ones shown at first, then the ones each "Upload"
        choice brings up (only the new ones). The sidebar's inputs count on the home page."""
        self.open(path)
        self.check_page(path)
        targets = self._visible_targets(path, None)
        known = {(t.kind, t.label, t.nth) for t in targets}
        for i, reveal in enumerate(self._upload_choices(path)):
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
        """Open the page and bring the input into view: choose what reveals it, click the
        tabs that hide it, open its expander. Raises ``Unreachable`` for an input the page
        shows but does not let anyone use now (disabled, as a locked link leaves it)."""
        if target.reveal or self.as_opened != target.page:
            self.open(target.page)
        if target.reveal:
            self.choose(target.reveal)
        element = self._locate(target)
        element.wait_for(state="attached", timeout=self.timeout_ms)
        for _ in range(3):  # tabs inside tabs: the outermost hidden one first
            if element.is_visible() or not element.evaluate(_TAB_JS):
                break
            self.page.locator('[data-fuzz-tab="1"]').click()
            self.settle()
        if not element.is_visible():  # in a closed expander: open that one
            expander = self.page.locator('[data-testid="stExpander"]').filter(has=element)
            if expander.count():
                expander.last.locator("summary").first.click()
        element.wait_for(state="visible")
        if target.kind not in FILE_KINDS and element.locator("input").is_disabled():
            raise Unreachable("disabled when the page opens")

    def _locate(self, target: Target):
        testid = {"number": "stNumberInput"}.get(target.kind, "stTextInput")
        if target.kind in FILE_KINDS:
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
        for number, entry in enumerate(entries):
            if fresh and target.kind != "link":
                try:
                    self.reach(target)
                except Unreachable as why:
                    self.skipped.append(f"{target}: {why}")
                    return
                except Exception as error:  # noqa: BLE001 - recorded, the run goes on
                    # Reaching it again for each entry would only wait as long again.
                    left = ", ".join(e.name for e in entries[number:])
                    problem = f"could not reach the input: {str(error)[:300]}"
                    self.record(entry, target, [problem, f"so these were not fed: {left}"])
                    return
            problems: list[str] = []
            began = time.monotonic()
            try:
                self.as_opened = None
                state = self.feed(target, entry)
                instead = REFUSED_INSTEAD.get((target.page, target.kind))
                problems += message_problems(entry, state, instead)
                problems += self.common_problems(state)
                problems += self.undo(target)
                fresh = target.kind == "link"
                if not problems and not target.reveal and target.kind != "link":
                    self.as_opened = target.page
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
        if target.kind in FILE_KINDS:
            return self._upload(element, entry)
        field_ = element.locator("input")
        self.original = field_.input_value()
        runs = self.runs()
        field_.focus()
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
        buttons = '[data-testid="stButton"] button'  # not the file chip's own delete button
        before = set(scope.locator(buttons).all_inner_texts()) if scope else set()
        mime = mimetypes.guess_type(entry.filename)[0] or "application/octet-stream"
        runs = self.runs()
        element.locator('input[type="file"]').set_input_files(
            {"name": entry.filename, "mimeType": mime, "buffer": entry.make()}
        )
        # The page reruns once the file is up: wait for its chip (the input had none: a long
        # name shows shortened, "foreig...ights.keras"), then for the run.
        chip = element.locator('[data-testid="stFileChip"]')
        chip.first.wait_for(timeout=self.timeout_ms)
        refused = element.locator('[data-testid="stFileChipIconError"]').count() > 0
        self.settle(runs=runs, must_run=not refused)  # a file the uploader refused starts none
        if scope is not None:  # an upload that brings up a button to act on it (Train's store)
            for button in scope.locator(buttons).all():
                text = button.inner_text().strip()
                if text and text not in before and button.is_enabled():
                    runs = self.runs()
                    button.click()
                    self.settle(runs=runs, must_run=True)
                    break
        return self.state()

    def undo(self, target: Target) -> list[str]:
        """Put the input back as it was: the later interaction that proves the page answers."""
        if target.kind == "link":
            return []
        if target.reveal and target.reveal[0] == "popover":  # a run may have closed it
            runs = self.runs()
            self.open_popover(target.reveal[1])
            self.settle(runs=runs)
        element = self._locate(target)
        if target.kind in FILE_KINDS:
            delete = element.locator('[data-testid="stFileChipDeleteBtn"]')
            if delete.count():
                runs = self.runs()
                refused = element.locator('[data-testid="stFileChipIconError"]').count() > 0
                delete.first.click()
                self.settle(runs=runs, must_run=not refused)
            if element.locator('[data-testid="stFileChip"]').count():
                return ["the uploaded file could not be removed again"]
        elif element.locator("input").input_value() != self.original:
            field_ = element.locator("input")
            runs = self.runs()
            field_.focus()
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
            listing = tree_listing(self.app_folder)
            written = stray_writes(sorted(listing - self.listing), self.app_folder)
            self.listing = listing
            if written:
                problems.append(f"{WRITTEN}: {written[:10]}")
        return problems
