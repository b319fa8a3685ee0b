"""What the browser fuzz test feeds where, and where the app may write (issue 14).

``plan`` gives each input its entries: every entry of its kind to each distinct uploader
and to one input of each other kind, a sample to inputs that repeat one already fed in
full. ``tree_listing``, ``stray_writes`` and ``leftover_problems`` tell the app's own files
from writes outside its folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.jobs.room_store import ROOMS_DB_FILE
from tests.browser_helpers import ROOT

FILE_KINDS = ("image", "zip", "model", "file")


class Unreachable(Exception):
    """An input that cannot be used as the page opens (not a failure: it is listed)."""


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


# Every entry of a kind goes to each distinct input of that kind (the first of it on the page):
# Pixels & Channels' image uploader is the shared one (ui/widgets/image_input), which Kernel
# Playground shows too (a sample there); Inspect's photo uploader and its model uploader are
# its own, as is Train's zip uploader. The kernel cells of every page are one matrix editor
# (ui/widgets/matrix_editor): the Playground's first cell gets them all, the other cells a
# sample. Number boxes are Streamlit's own: the first of each page gets every entry.
FULL_CORPUS = {
    ("pixels_channels", "image"),
    ("inspect_network", "image"),
    ("inspect_network", "model"),
    ("train_cnn", "zip"),
    ("kernel_playground", "kernel_cell"),
    ("", "text"),  # the sidebar's room code, fed on the home page
}
EVERY_PAGE_IN_FULL = {"number"}
# Inspect's test images of one's own are read as Train reads a zip (a sample there), but their
# folders must be the model's classes: a zip Train takes is refused there, saying why (the
# corpus' class folders are cats and dogs). That refusal stands for its acceptance.
REFUSED_INSTEAD = {("inspect_network", "zip"): "not classes of this model"}
# Train's model store checks an upload as Inspect does (core.jobs.model_store.upload_model,
# the same checks and the same worker): every entry refused before the worker, and one
# entry per outcome of those the worker checks (each needs a button and a worker's load).
SERVER_CHECKS_ONLY = {("train_cnn", "model")}
# How many entries every other input gets: one per outcome when there is room.
SAMPLE_SIZE = {"number": 1, "kernel_cell": 2}
DEFAULT_SAMPLE_SIZE = 3
# Links open a whole page each (a new session): a spread of each page's links, every accepted
# one and one per parameter in turn. The full sweep of every link runs in AppTest
# (tests/corpus/test_links.py); ``FUZZ_EVERY_ENTRY=1`` feeds every entry everywhere here too.
LINKS_PER_PAGE = 5


# What the repository tree's listing leaves out: caches and test output, and source files and
# docs (the app never writes those; people editing the checkout while the test runs do).
IGNORED_PARTS = {
    "docs",
    ".git",
    ".venv",
    "test-artifacts",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".import_linter_cache",
    ".hypothesis",
}
SOURCE_SUFFIXES = (".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".yml", ".yaml", ".json")
# The app's folders (``app_environment``): what it writes there is its own, except in its
# temporary folder, where only its own names may appear (workers' logs, the model uploads,
# .h5 conversions), and those must be gone or few at the end (``leftover_problems``).
APP_FOLDERS = ("home", "models", "runs")
APP_TMP = "tmp"
APP_TMP_PREFIX = "convscope-"
# The shared /tmp is not the app's (other programs write there), but the corpus' hostile
# names aim at it ("/tmp/evil.png", "../../evil.png"): those must never appear.
HOSTILE_NAME = "evil"
# The app's own temporary files allowed at the end: a worker's log per live worker
# (inference, model checks, training) and the uploads folder, which prunes itself.
MAX_WORKER_LOGS = 4


def tree_listing(app_folder: Path | None = None, tmp_root: Path = Path("/tmp")) -> set[str]:
    """Every file and folder where the app could write: the repository tree (no source files,
    see IGNORED_PARTS), all of ``app_folder``, and hostile names at the top of ``tmp_root``."""
    found = set()
    roots = [ROOT] + ([app_folder] if app_folder is not None else [])
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in IGNORED_PARTS]
            for name in dirs + files:
                if root != ROOT or not name.endswith(SOURCE_SUFFIXES):
                    found.add(os.path.join(folder, name))
    for entry in os.scandir(tmp_root):
        if entry.name.startswith(HOSTILE_NAME):
            found.add(entry.path)
    return found


def stray_writes(written: list[str], app_folder: Path | None) -> list[str]:
    """The written paths that are not the app's own (see APP_FOLDERS and APP_TMP).

    >>> folder = Path("/x")
    >>> stray_writes(["/x/runs/a", "/x/tmp/convscope-worker-1.log", "/x/tmp/t", "/x/e"], folder)
    ['/x/tmp/t', '/x/e']
    >>> stray_writes(["/x/rooms.sqlite3", "/x/rooms.sqlite3-wal", "/x/rooms.txt"], folder)
    ['/x/rooms.txt']
    """
    stray = []
    for path in written:
        if app_folder is None or not Path(path).is_relative_to(app_folder):
            stray.append(path)
            continue
        parts = Path(path).relative_to(app_folder).parts
        if parts[0] in APP_FOLDERS:
            continue
        if len(parts) == 1 and parts[0].startswith(ROOMS_DB_FILE):  # beside the runs folder
            continue
        if parts[0] == APP_TMP and len(parts) > 1 and parts[1].startswith(APP_TMP_PREFIX):
            continue
        if parts == (APP_TMP,):
            continue
        stray.append(path)
    return stray


def leftover_problems(app_folder: Path) -> list[str]:
    """What the app left in its temporary folder that it should have cleaned: conversions
    not removed, more worker logs than workers, an uploads folder past its limit."""
    from core.jobs.uploads import UPLOAD_DIR_NAME, UPLOADS_KEPT

    tmp = app_folder / APP_TMP
    kept = sorted(e.name for e in os.scandir(tmp) if e.name.startswith(APP_TMP_PREFIX))
    logs = [name for name in kept if name.startswith("convscope-worker-")]
    problems = []
    if len(logs) > MAX_WORKER_LOGS:
        problems.append(f"{len(logs)} worker logs left in the temporary folder: {logs[:10]}")
    uploads = tmp / UPLOAD_DIR_NAME
    if uploads.is_dir() and len(list(uploads.iterdir())) > UPLOADS_KEPT:
        problems.append(f"more than {UPLOADS_KEPT} uploads kept in {uploads}")
    others = [name for name in kept if name not in logs and name != UPLOAD_DIR_NAME]
    if others:
        problems.append(f"temporary files left behind: {others[:10]}")
    return problems


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


def plan(path: str, targets: list[Target], entries: list, *, every: bool = False) -> list:
    """Which entries each input of the page ``path`` gets, as ``(target, entries)``: all of
    its kind for an input in FULL_CORPUS (the first of its kind on the page), the entries
    its server refuses and a sample of the rest for SERVER_CHECKS_ONLY, a sample for the
    others (``every``: all of them everywhere); then a spread of the page's links."""
    by_kind: dict[str, list] = {}
    for entry in entries:
        by_kind.setdefault(entry.kind, []).append(entry)
    work, firsts = [], set()
    for i, target in enumerate(t for t in targets if t.kind in by_kind and t.kind != "link"):
        mine = by_kind[target.kind]
        first = target.kind not in firsts
        firsts.add(target.kind)
        full = (path, target.kind) in FULL_CORPUS or target.kind in EVERY_PAGE_IN_FULL
        if every or (first and full):
            chosen = mine
        elif first and (path, target.kind) in SERVER_CHECKS_ONLY:
            slow = [e for e in mine if e.slow]
            chosen = [e for e in mine if not e.slow] + pick_sample(slow, DEFAULT_SAMPLE_SIZE)
        else:
            chosen = pick_sample(mine, SAMPLE_SIZE.get(target.kind, DEFAULT_SAMPLE_SIZE), i)
        work.append((target, chosen))
    links = [e for e in by_kind.get("link", []) if e.text.split("?")[0] == path]
    if links:
        chosen = links if every else spread(links, LINKS_PER_PAGE)
        work.append((Target(path, "link", "address", 0), chosen))
    return work
