"""The zip corpus through ``load_image_folder_zip``, what the Train page's zip upload uses.

Each entry gets what it declares: refused with a plain-words message, accepted with a
note of what was left out, or accepted as it is; nothing is ever written to disk (a
traversal or absolute name cannot land anywhere). Hostile zips are refused faster than
an ordinary zip of the same size is read, without unpacking what they claim.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.data.image_folders import load_image_folder_zip
from core.imaging.images import decode_image, resize_and_pad
from tests.corpus.plain_words import assert_plain_words
from tests.corpus.zips import ENTRIES, _png, _zip

BY_NAME = {entry.name: entry for entry in ENTRIES}


HOSTILE = [
    BY_NAME[name]
    for name in ("zip/claims-too-much", "zip/real-bomb", "zip/too-many-files", "zip/encrypted")
]


def _files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*")}


@pytest.fixture()
def sandbox(tmp_path, monkeypatch):
    """A working folder and temporary folder of their own, to see anything written."""
    work = tmp_path / "upload" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "upload"))
    return tmp_path


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.name)
def test_entry_gets_its_declared_outcome_and_writes_nothing(entry, sandbox):
    data = entry.make()
    before = _files_under(sandbox)
    escaped = [Path("/tmp/evil.png"), sandbox / "evil.png", sandbox.parent / "evil.png"]
    existed = [path.exists() for path in escaped]
    if entry.outcome == "refuse":
        with pytest.raises(ValueError) as caught:
            load_image_folder_zip(data, name="upload", image_size=16)
        message = str(caught.value)
        assert entry.message.lower() in message.lower(), message
        assert_plain_words(message)
    else:
        dataset, report = load_image_folder_zip(data, name="upload", image_size=16)
        assert len(report.class_names) >= 2 and min(report.class_counts) >= 2
        assert dataset.x_train.dtype == np.uint8
        assert dataset.x_train.shape[1:3] == (16, 16)
        assert len(dataset.x_train) == report.num_images == sum(report.class_counts)
        if entry.outcome == "note":
            assert entry.message.lower() in " ".join(report.notes).lower(), report.notes
            for note in report.notes:
                assert_plain_words(note)
            assert dataset.note == " ".join(report.notes)
        else:
            assert report.notes == () and report.num_skipped == 0, report.notes
    assert _files_under(sandbox) == before
    assert [path.exists() for path in escaped] == existed


def test_every_entry_is_described_in_plain_words():
    assert len(BY_NAME) == len(ENTRIES)
    for entry in ENTRIES:
        assert entry.kind == "zip" and entry.name.startswith("zip/")
        assert entry.filename.endswith(".zip")
        assert_plain_words(entry.what)
        assert_plain_words(entry.gets)
        assert (entry.outcome == "accept") == (entry.message == ""), entry.name


@pytest.mark.parametrize(
    ("name", "classes"),
    [
        ("zip/utf8-names-without-flag", ("chats_été", "chiens")),
        ("zip/legacy-encoded-names", ("chats_été", "chiens")),
        ("zip/backslash-names", ("cats", "dogs")),
        ("zip/enclosing-folder", ("cats", "dogs")),
        ("zip/nested-two-levels", ("cats", "dogs")),
        ("zip/markdown-names", ("$dogs$", "*cats*")),
    ],
)
def test_names_are_read_as_the_person_wrote_them(name, classes):
    _, report = load_image_folder_zip(BY_NAME[name].make(), image_size=16)
    assert report.class_names == classes
    assert report.class_counts == (3, 3)


def test_a_repeated_name_uses_its_last_copy():
    dataset, report = load_image_folder_zip(BY_NAME["zip/duplicate-names"].make(), image_size=16)
    assert report.class_counts == (3, 3) and report.skipped_duplicates == 1
    last_copy = decode_image(_png(77)).pixels.astype(np.uint8)
    np.testing.assert_array_equal(dataset.x_train[0], resize_and_pad(last_copy, 16))


def test_an_empty_folder_is_named_in_the_note():
    _, report = load_image_folder_zip(BY_NAME["zip/empty-class-folder"].make(), image_size=16)
    assert report.notes == ("Left out 1 folder holding no images: 'birds'.",)


def _ordinary_zip(num_bytes: int) -> bytes:
    """Noisy colour PNGs (hardly compressible) in two class folders, about ``num_bytes``."""
    side = 16 if num_bytes < 50_000 else 64
    image_bytes = side * side * 3 + 100
    rng = np.random.default_rng(0)
    files = {
        f"{'ab'[index % 2]}/{index}.png": cv2.imencode(
            ".png", rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        )[1].tobytes()
        for index in range(max(4, num_bytes // image_bytes))
    }
    return _zip(files)


def _fastest(action, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def _refuse(data: bytes) -> None:
    with pytest.raises(ValueError):
        load_image_folder_zip(data, image_size=16)


@pytest.mark.parametrize("entry", HOSTILE, ids=lambda entry: entry.name)
def test_hostile_zips_are_refused_faster_than_an_ordinary_zip_of_their_size_is_read(entry):
    data = entry.make()
    reference = _ordinary_zip(len(data))
    assert abs(len(reference) - len(data)) < max(0.3 * len(data), 4_000), len(reference)
    refusal = _fastest(lambda: _refuse(data))
    ordinary = _fastest(lambda: load_image_folder_zip(reference, image_size=16))
    assert refusal < ordinary / 2, (refusal, ordinary)


@pytest.mark.parametrize(
    "entry",
    [*HOSTILE, BY_NAME["zip/understated-size"], BY_NAME["zip/image-bomb-inside"]],
    ids=lambda entry: entry.name,
)
def test_hostile_zips_never_unpack_what_they_claim(entry):
    data = entry.make()
    tracemalloc.start()
    try:
        with contextlib.suppress(ValueError):
            load_image_folder_zip(data, image_size=16)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Every claim here is 50 MB or more (the image bomb decodes to 100 MB).
    assert peak < 4 * len(data) + 8_000_000, peak


def test_the_sandbox_sees_writes(sandbox):
    """The check above would catch a file written in the working or temporary folder."""
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        before = _files_under(sandbox)
        (folder / "written.txt").write_text("x")
        assert _files_under(sandbox) - before == {folder / "written.txt"}
        os.remove(folder / "written.txt")
