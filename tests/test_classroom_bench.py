"""The classroom benchmark's protocol client against a real ``streamlit run app.py``.

``bench/classroom.py`` drives the server through Streamlit's own websocket protocol
(``bench/streamlit_client.py``), not through a browser. These tests keep that client honest
when Streamlit changes: the server must answer its requests the way it answers a browser
(a kernel edit reruns the fragment, changes the output picture and the address; the page's
own widget values sent back change nothing), and a short run of the benchmark must measure
edits, steps and page opens without a single error. No time is asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from bench.classroom import (
    ARITHMETIC_PAGE,
    CELL_KEY,
    FORWARD_KEY,
    KERNEL_PAGE,
    VIEW_CELL_KEY,
    is_output,
)
from bench.classroom import output_url as output_of
from bench.streamlit_client import StreamlitSession
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.browser_helpers import running_app

    folder = tmp_path_factory.mktemp("classroom")
    env = {
        "CONVSCOPE_RUNS_DIR": str(folder / "runs"),
        "CONVSCOPE_MODELS_DIR": str(folder / "models"),
        "CONVSCOPE_ROOMS_DB": str(folder / "rooms.sqlite3"),
    }
    with running_app(env, timeout_s=120) as app:
        yield app


def test_the_client_drives_the_kernel_playground_as_a_browser_does(server):
    async def scenario():
        session = StreamlitSession(server.url, timeout=120)
        try:
            opened = await session.open(KERNEL_PAGE, watch=is_output)
            assert opened.exceptions == [] and opened.error_boxes == []
            assert session.find(CELL_KEY, "text_input") == []  # buttons until one is clicked
            shown = session.find(VIEW_CELL_KEY, "button")
            assert len(shown) == 9  # the default 3×3 kernel
            assert opened.media_failures == [] and output_of(opened) in opened.media
            clicked = await session.click(shown[0])  # the grid turns into text boxes
            assert clicked.exceptions == [] and clicked.fragment_id
            cells = session.find(CELL_KEY, "text_input")
            assert len(cells) == 9

            # Every widget's own value sent back: the same page, the same picture.
            again = await session._rerun(watch=is_output)
            assert output_of(again) == output_of(opened)
            assert again.exceptions == [] and again.error_boxes == []

            # A kernel edit reruns the page's fragment only, with a new output picture,
            # and the address follows the new kernel.
            centre = next(c for c in cells if c.key.endswith(".1.1"))
            edited = await session.set_value(centre, "5", watch=is_output)
            assert centre.fragment_id and edited.fragment_id == centre.fragment_id
            assert edited.status == 3  # FINISHED_FRAGMENT_RUN_SUCCESSFULLY
            assert edited.watched_at is not None
            assert output_of(edited) != output_of(opened)
            kernel = urllib.parse.parse_qs(session.query_string)["k"][0]
            assert kernel.split(";")[1].split(",")[1] == "5"
            assert session.value(centre) == "5"

            # The navigation, then a step button of Convolution Arithmetic.
            arithmetic = await session.navigate(ARITHMETIC_PAGE)
            assert arithmetic.exceptions == [] and arithmetic.status == 0
            forward = session.find(FORWARD_KEY, "button")[0]
            stepped = await session.click(forward)
            assert stepped.status == 3 and stepped.exceptions == []
            assert "step=1" in session.query_string
        finally:
            await session.close()

    asyncio.run(scenario())


def test_a_short_classroom_measures_edits_without_errors(server, tmp_path):
    figures = tmp_path / "classroom.json"
    finished = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "classroom.py"),
            *("--url", server.url, "--students", "2", "--seconds", "10", "--arrive", "1"),
            *("--interval", "0.5", "--edits", "4", "--steps", "3", "--json", str(figures)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    (row,) = json.loads(figures.read_text())["phases"]
    assert row["students"] == 2
    assert row["edits"] >= 2 and row["steps"] >= 1 and row["opens"] >= 2, row
    assert row["outputs_changed"] >= 1, row
    assert row["errors"] == 0, row["error_samples"]


def inotify_watches(pid: int) -> int:
    """How many files and folders the process watches through inotify (Linux)."""
    watches = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) != "anon_inode:inotify":
                continue
            watches += Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text().count("inotify wd:")
        except OSError:
            continue  # closed meanwhile
    return watches


def test_the_server_as_configured_watches_no_source_files(server):
    # Streamlit's file watcher, on by default, watches every module a session's run
    # imported, the packages of a virtual environment inside the app's folder included, and
    # delays every student's first page (bench/page_load.py --before-options).
    async def scenario():
        session = StreamlitSession(server.url, timeout=120)
        try:
            opened = await session.open(KERNEL_PAGE, watch=is_output)
            assert opened.exceptions == []
        finally:
            await session.close()

    asyncio.run(scenario())
    assert inotify_watches(server.pid) == 0
