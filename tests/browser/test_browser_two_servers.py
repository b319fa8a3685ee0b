"""Two app servers, one Redis: a student on server B follows a lecturer on server A
(a page change and a control change), and a job queued on A shows its place on B.

As behind a load balancer with sticky sessions, each browser stays on its own server; the
servers share only a real ``redis-server`` (``CONVSCOPE_REDIS_URL``) and the runs and models
folders. Each server is given a room file of its own, so the follow can only travel
through Redis; the training queue is in Redis too (no queue file appears).
"""

from __future__ import annotations

import pytest

from bench.follow_latency import (
    SIDEBAR,
    join_room,
    open_lecture_room,
    set_stride,
    stride_shown,
    title_is,
)
from core.jobs.redis_queue import RedisJobQueue
from core.jobs.redis_rooms import RedisRoomStore
from tests.browser_helpers import (
    EXCEPTION_SELECTOR,
    open_browser,
    running_app,
    screenshot,
)
from tests.helpers_training import start_endless, write_tiny_dataset
from tests.redis_helpers import running_redis

pytestmark = [pytest.mark.browser, pytest.mark.slow]


FOLLOW_TIMEOUT_MS = 120_000  # two servers and two browsers on a loaded 2-core machine


def go_to_page(page, title: str) -> None:
    """The lecturer clicks ``title`` in the sidebar and the page's title shows."""
    link = page.locator(f'{SIDEBAR} [data-testid="stSidebarNav"] a', has_text=title).first
    link.click(timeout=FOLLOW_TIMEOUT_MS)
    page.wait_for_function(f"() => {title_is(title)}", timeout=FOLLOW_TIMEOUT_MS)


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    """Redis and two app servers on it, one training job at a time between them:
    (Redis URL, server A's URL, server B's URL, the shared runs folder)."""
    folder = tmp_path_factory.mktemp("farm")
    with running_redis(folder / "redis") as redis_url:
        shared = {
            "CONVSCOPE_REDIS_URL": redis_url,
            "CONVSCOPE_RUNS_DIR": str(folder / "runs"),
            "CONVSCOPE_MODELS_DIR": str(folder / "models"),
            "CONVSCOPE_MAX_JOBS": "1",
        }
        rooms_a = {"CONVSCOPE_ROOMS_DB": str(folder / "a" / "rooms.sqlite3")}
        rooms_b = {"CONVSCOPE_ROOMS_DB": str(folder / "b" / "rooms.sqlite3")}
        with (
            running_app({**shared, **rooms_a}, timeout_s=180) as server_a,
            running_app({**shared, **rooms_b}, timeout_s=180) as server_b,
        ):
            yield redis_url, server_a.url, server_b.url, folder / "runs"


def test_a_student_on_server_b_follows_a_lecturer_on_server_a(farm):
    redis_url, server_a, server_b, _ = farm
    assert server_a != server_b
    with open_browser() as browser:
        pages = []
        try:
            lecturer = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            pages.append(lecturer)
            code = open_lecture_room(lecturer, server_a)
            rooms = RedisRoomStore(redis_url)
            assert rooms.read_room(code) is not None  # the room lives in Redis

            student = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            pages.append(student)
            join_room(student, server_b, code)
            assert student.url.startswith(server_b)
            lecturer.get_by_text("1 student follows").wait_for(timeout=FOLLOW_TIMEOUT_MS)

            go_to_page(lecturer, "Kernel Playground")
            lecturer.get_by_role("heading", name="Sliding").wait_for(timeout=FOLLOW_TIMEOUT_MS)
            student.wait_for_function(
                f"() => {title_is('Kernel Playground')}", timeout=FOLLOW_TIMEOUT_MS
            )
            assert student.url.startswith(f"{server_b}/kernel_playground")
            assert rooms.read_room(code).page == "kernel_playground"

            set_stride(lecturer, "2")  # a control change follows too
            student.wait_for_function(f"() => {stride_shown('2')}", timeout=FOLLOW_TIMEOUT_MS)
            assert student.url.startswith(f"{server_b}/kernel_playground")
            screenshot(student, "two_servers_student_on_b")
            for page in pages:
                assert page.query_selector(EXCEPTION_SELECTOR) is None, page.url
        except BaseException:
            for index, page in enumerate(pages):
                screenshot(page, f"two_servers_failure_{index}")
            raise


QUEUED = "Waiting in the queue: place 1 of 1"


def test_a_job_queued_on_server_a_shows_its_place_on_server_b(farm, monkeypatch, tmp_path):
    redis_url, server_a, server_b, runs = farm
    monkeypatch.setenv("CONVSCOPE_REDIS_URL", redis_url)
    # A tiny endless job takes the farm's one slot, so the next job must wait.
    holder = start_endless(write_tiny_dataset(tmp_path / "tiny.npz"), runs)
    try:
        with open_browser() as browser:
            pages = []
            try:
                student = browser.new_context(viewport={"width": 1280, "height": 900})
                on_a = student.new_page()
                pages.append(on_a)
                on_a.goto(f"{server_a}/train_cnn", timeout=FOLLOW_TIMEOUT_MS)
                start = on_a.get_by_role("button", name="Start", exact=True)
                start.wait_for(timeout=FOLLOW_TIMEOUT_MS)
                on_a.wait_for_function(
                    "() => [...document.querySelectorAll('button')].some("
                    "b => b.innerText.trim() === 'Start' && !b.disabled)",
                    timeout=FOLLOW_TIMEOUT_MS,
                )
                start.click()
                on_a.get_by_text(QUEUED).wait_for(timeout=FOLLOW_TIMEOUT_MS)
                queue = RedisJobQueue(redis_url)
                [entry] = queue.list()
                assert not (runs / ".queue.sqlite3").exists()  # the queue is in Redis

                # The same student's browser (its cookie) on the other server.
                on_b = student.new_page()
                pages.append(on_b)
                on_b.goto(f"{server_b}/train_cnn", timeout=FOLLOW_TIMEOUT_MS)
                on_b.get_by_text(QUEUED).wait_for(timeout=FOLLOW_TIMEOUT_MS)
                on_b.get_by_role("button", name="Cancel", exact=True).click(
                    timeout=FOLLOW_TIMEOUT_MS
                )
                on_b.get_by_text("Your job left the queue").wait_for(timeout=FOLLOW_TIMEOUT_MS)
                assert queue.list() == [] and queue.position(entry.run_id) is None
                for page in pages:
                    assert page.query_selector(EXCEPTION_SELECTOR) is None, page.url
            except BaseException:
                for index, page in enumerate(pages):
                    screenshot(page, f"two_servers_queue_failure_{index}")
                raise
    finally:
        for entry in RedisJobQueue(redis_url).list():  # nothing may start once the slot frees
            RedisJobQueue(redis_url).cancel(entry.run_id)
        holder.kill()
