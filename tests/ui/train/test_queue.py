"""ui.train.queue: the wait in words, this browser's id, its runs from another tab, and the
queue view with Cancel. Run folders are real (`prepare_run`); no worker process starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.jobs.job_queue import default_job_queue
from core.jobs.training_job import TrainingJob
from tests.ui.train.run_files import new_run, write_status
from ui.train.queue import BROWSER_ID_KEY, about


@pytest.fixture(autouse=True)
def runs_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    monkeypatch.setenv("CONVSCOPE_RUNS_DIR", str(root))
    monkeypatch.setenv("CONVSCOPE_MAX_JOBS", "1")
    return root


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "in less than a minute"),
        (44, "in less than a minute"),
        (80, "in about a minute"),
        (100, "in about 2 minutes"),
        (150, "in about 3 minutes"),
        (59 * 60, "in about 59 minutes"),
        (3600, "in about 1 hour"),
        (2 * 3600 + 20 * 60, "in about 2 hours 20 minutes"),
        (None, "when a running job can say how long it needs"),
    ],
)
def test_a_wait_reads_in_plain_words(seconds, words):
    assert about(seconds) == words


def id_script():
    import streamlit as st

    from ui.train.queue import browser_id, own_live_run

    st.text(browser_id())
    job = own_live_run()
    st.text(job.run_id if job else "none")


def test_a_browser_id_is_made_once_and_written_to_a_cookie():
    at = AppTest.from_function(id_script).run()
    first = at.text[0].value
    assert first.startswith("b-") and len(first) == 26
    [html] = at.get("html")
    assert f"convscope_browser={first}; path=/" in html.proto.body
    at.run()
    assert at.text[0].value == first  # the same for the whole session


def test_another_tab_of_the_browser_finds_its_live_run(runs_root):
    mine = new_run(runs_root)
    write_status(mine, state="running")
    config_path = mine / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "owner": "b-" + "1" * 24}))
    at = AppTest.from_function(id_script)
    at.session_state[BROWSER_ID_KEY] = "b-" + "1" * 24
    at.run()
    assert at.text[1].value == mine.name
    stranger = AppTest.from_function(id_script).run()
    assert stranger.text[1].value == "none"
    write_status(mine, state="finished")
    at.run()
    assert at.text[1].value == "none"  # an ended run is not brought back by itself


def queue_script():
    import streamlit as st

    from ui.train.live import current_job
    from ui.train.queue import queue_view, show_cancel_message

    show_cancel_message()
    job = current_job()
    if job is not None:
        queue_view(job, on_cancelled=lambda: st.session_state.pop("train.run_dir"))


def test_the_queue_view_shows_the_place_and_cancels(runs_root):
    busy = new_run(runs_root)
    write_status(busy, state="running", eta_seconds=600.0, elapsed_seconds=60.0)
    owner = "b-" + "2" * 24
    job = TrainingJob.submit("mlp", "mnist", runs_root_dir=runs_root, owner=owner)
    at = AppTest.from_function(queue_script)
    at.session_state[BROWSER_ID_KEY] = owner
    at.run()
    [info] = [i.value for i in at.info]
    assert "place 1 of 1" in info and "should start in about 10 minutes" in info
    assert "1 job runs now" in info
    at.button(key="train.cancel").click().run()
    assert [i.value for i in at.info] == ["Your job left the queue; nothing was trained."]
    assert not job.run_dir.exists() and default_job_queue(runs_root).list() == []


def test_cancel_after_the_job_started_says_so(runs_root):
    busy = new_run(runs_root)
    write_status(busy, state="running", eta_seconds=30.0)
    owner = "b-" + "3" * 24
    job = TrainingJob.submit("mlp", "mnist", runs_root_dir=runs_root, owner=owner)
    at = AppTest.from_function(queue_script)
    at.session_state[BROWSER_ID_KEY] = owner
    at.run()
    # As a promoter does when it takes the job first: out of the queue, status 'queued'.
    default_job_queue(runs_root).cancel(job.run_id)
    write_status(job.run_dir, state="queued")
    at.button(key="train.cancel").click().run()
    assert "had already started" in at.info[0].value
    assert job.run_dir.exists()


def test_a_job_that_lost_its_place_says_so_instead_of_waiting_for_ever(runs_root):
    busy = new_run(runs_root)
    write_status(busy, state="running", eta_seconds=30.0)
    owner = "b-" + "4" * 24
    job = TrainingJob.submit("mlp", "mnist", runs_root_dir=runs_root, owner=owner)
    default_job_queue(runs_root).cancel(job.run_id)  # the queue's file lost it
    at = AppTest.from_function(queue_script)
    at.session_state[BROWSER_ID_KEY] = owner
    at.run()
    assert not at.exception
    assert job.status().state == "failed" and "lost its place" in job.status().error
