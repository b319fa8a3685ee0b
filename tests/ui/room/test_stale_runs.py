"""A request to rerun a fragment of a page the browser has left is dropped, on a real server.

The browser-level scenario (a lecturer's popover shut by a click on another page's link)
is in tests/browser/test_browser_room.py; a late student poll in test_student.py.
"""

from __future__ import annotations

import asyncio

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.runtime.app_session import AppSession

from bench.streamlit_client import StreamlitSession
from ui.room import stale_runs


def test_install_wraps_streamlit_once():
    assert stale_runs.install()
    wrapped = AppSession.request_rerun
    assert getattr(wrapped, stale_runs.MARK, False)
    assert stale_runs.install()
    assert AppSession.request_rerun is wrapped  # not wrapped twice


def test_the_drop_can_be_turned_off(monkeypatch):
    monkeypatch.setenv(stale_runs.DROP_ENV, "0")
    assert not stale_runs.install()
    monkeypatch.setenv(stale_runs.DROP_ENV, " 1 ")
    assert stale_runs.install()


class PageWatch(StreamlitSession):
    """Notes the page each run's first message names, in order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.run_pages: list[str] = []

    def _handle(self, msg, now: float) -> None:
        if msg.WhichOneof("type") == "new_session":
            self.run_pages.append(msg.new_session.page_script_hash)
        super()._handle(msg, now)


async def leave_with_a_stale_fragment_run(url: str) -> tuple[str, str, list[str]]:
    """Open the Kernel Playground, click another page and, as its run starts, ask for a run
    of the Kernel Playground's fragment (what a popover shut by that click sends)."""
    session = PageWatch(url, fetch_media=False, timeout=120)
    try:
        await session.open("kernel_playground")
        playground = session.page_hash
        fragment = next(w.fragment_id for w in session.widgets.values() if w.fragment_id)
        session.run_pages.clear()
        leaving = asyncio.create_task(session.navigate("convolution_arithmetic"))
        await asyncio.sleep(0.02)  # the new page's request has gone out first
        stale = BackMsg()
        stale.rerun_script.page_script_hash = playground
        stale.rerun_script.fragment_id = fragment
        stale.rerun_script.widget_states.widgets.extend(session.states.values())
        await session._ws.send(stale.SerializeToString())
        await leaving
        await asyncio.sleep(3)  # a stale run comes well within this
        return playground, session.pages["convolution_arithmetic"], session.run_pages
    finally:
        await session.close()


@pytest.mark.slow
def test_a_fragment_run_of_the_page_left_behind_is_dropped():
    from tests.browser_helpers import running_app

    with running_app() as server:
        playground, arithmetic, run_pages = asyncio.run(leave_with_a_stale_fragment_run(server.url))
    assert run_pages, "the new page did not run"
    assert run_pages[-1] == arithmetic  # the last run the browser hears of is the new page's
    assert playground not in run_pages  # no run named the page left behind


def test_an_ended_runner_is_told_from_streamlits_own_request_queue():
    """``runner_has_ended`` reads Streamlit's internal request state: a runner whose run
    ended with nothing more to do refuses requests (then a new runner would drop the events
    it still has on the loop); a running one takes them."""
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

    requests = ScriptRequests()
    runner = type("Runner", (), {"_requests": requests})()
    session = type("Session", (), {"_scriptrunner": runner})()
    assert not stale_runs.runner_has_ended(session)  # running
    requests.on_scriptrunner_ready()  # the run ended, nothing asked since
    assert stale_runs.runner_has_ended(session)
    assert not requests.request_rerun(RerunData())  # what makes Streamlit start a new runner
    session._scriptrunner = None  # shut down: a request starts a new runner at once
    assert not stale_runs.runner_has_ended(session)
