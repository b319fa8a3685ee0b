"""Two app servers, one Redis: a student on server B follows a lecturer on server A
(a page change and a control change).

As behind a load balancer with sticky sessions, each browser stays on its own server; the
servers share only a real ``redis-server`` (``CONVSCOPE_REDIS_URL``) and the runs and models
folders. Each server is given a room file of its own, so the follow can only travel
through Redis.
"""

from __future__ import annotations

import pytest

from bench.follow_latency import (
    SIDEBAR,
    STRIDE_LABEL,
    input_value_is,
    join_room,
    open_lecture_room,
    set_number,
    title_is,
)
from core.jobs.redis_rooms import RedisRoomStore
from tests.browser_helpers import (
    EXCEPTION_SELECTOR,
    open_browser,
    running_app,
    screenshot,
)
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
    """Redis and two app servers on it: (Redis URL, server A's URL, server B's URL)."""
    folder = tmp_path_factory.mktemp("farm")
    with running_redis(folder / "redis") as redis_url:
        shared = {
            "CONVSCOPE_REDIS_URL": redis_url,
            "CONVSCOPE_RUNS_DIR": str(folder / "runs"),
            "CONVSCOPE_MODELS_DIR": str(folder / "models"),
        }
        rooms_a = {"CONVSCOPE_ROOMS_DB": str(folder / "a" / "rooms.sqlite3")}
        rooms_b = {"CONVSCOPE_ROOMS_DB": str(folder / "b" / "rooms.sqlite3")}
        with (
            running_app({**shared, **rooms_a}, timeout_s=180) as server_a,
            running_app({**shared, **rooms_b}, timeout_s=180) as server_b,
        ):
            yield redis_url, server_a.url, server_b.url


def test_a_student_on_server_b_follows_a_lecturer_on_server_a(farm):
    redis_url, server_a, server_b = farm
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

            set_number(lecturer, STRIDE_LABEL, "2")  # a control change follows too
            student.wait_for_function(
                f"() => {input_value_is(STRIDE_LABEL, '2')}", timeout=FOLLOW_TIMEOUT_MS
            )
            assert student.url.startswith(f"{server_b}/kernel_playground")
            screenshot(student, "two_servers_student_on_b")
            for page in pages:
                assert page.query_selector(EXCEPTION_SELECTOR) is None, page.url
        except BaseException:
            for index, page in enumerate(pages):
                screenshot(page, f"two_servers_failure_{index}")
            raise
