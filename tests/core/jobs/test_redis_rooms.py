"""core.jobs.redis_rooms: the same room tests against the SQLite store and a real redis-server.

The ``store`` fixture runs every contract test twice, once on each store. Time passes
through ``time_passes``: the fake clock moves (students' last-seen times, SQLite's
expiry), and on Redis every key's TTL is shortened by as much, as Redis would count it.
"""

from __future__ import annotations

import multiprocessing
import threading

import pytest
import redis

from core.jobs.redis_client import StoreUnavailableError
from core.jobs.redis_rooms import RedisRoomStore
from core.jobs.room_store import SqliteRoomStore
from core.jobs.rooms import (
    FOLLOWER_WINDOW_SECONDS,
    ROOM_TTL_SECONDS,
    NotLecturerError,
    Question,
    RoomNotFoundError,
)
from tests.redis_helpers import flushed, redis_server_url  # noqa: F401 (a fixture)

SIZE = Question.number("How many rows?", 3, minimum=0, maximum=100)


WHERE = Question.choice("Where?", ["top left", "top right", "bottom left"], "top right")


class FakeClock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock():
    return FakeClock()


@pytest.fixture()
def redis_url(redis_server_url):  # noqa: F811 (the fixture imported above)
    return flushed(redis_server_url)


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path, clock):
    if request.param == "sqlite":
        return SqliteRoomStore(tmp_path / "rooms.sqlite3", clock=clock)
    return RedisRoomStore(request.getfixturevalue("redis_url"), clock=clock)


@pytest.fixture()
def time_passes(store, clock):
    """A function that moves time on by some seconds, for the store as for its clock."""

    def advance(seconds: float) -> None:
        clock.now += seconds
        if isinstance(store, RedisRoomStore):
            client = store.redis
            for key in client.scan_iter(f"{store.prefix}*"):
                left = client.pttl(key)
                if left > 0:
                    remaining = left - round(seconds * 1000)
                    client.pexpire(key, remaining) if remaining > 0 else client.delete(key)

    return advance


def all_values(client: redis.Redis) -> str:
    """Every key and value in the Redis, as one text."""
    parts = []
    for key in client.scan_iter("*"):
        kind = client.type(key)
        if kind == "hash":
            parts.append(str(client.hgetall(key)))
        elif kind == "zset":
            parts.append(str(client.zrange(key, 0, -1, withscores=True)))
        elif kind == "string":
            parts.append(client.get(key))
        parts.append(key)
    return "\n".join(parts)


# ---------------------------------------------------------------- rooms and tokens


def test_a_new_room_is_empty(store):
    keys = store.create_room()
    state = store.read_room(keys.code)
    assert (state.code, state.page, state.params, state.version) == (keys.code, "", {}, 0)
    assert state.question is None and state.question_id is None and not state.revealed


def test_read_room_accepts_a_typed_code_and_refuses_the_impossible(store):
    keys = store.create_room()
    assert store.read_room(f" {keys.code.lower()[:3]}-{keys.code[3:]} ").code == keys.code
    assert store.read_room("ZZZZZZ") is None
    assert store.read_room("not a code") is None
    assert store.read_room(None) is None


def test_codes_are_drawn_at_random_and_never_shared(store):
    codes = {store.create_room().code for _ in range(40)}
    assert len(codes) == 40
    assert len({code[:3] for code in codes}) > 20  # not counted up


def test_the_pulse_follows_the_version_and_the_question(store):
    keys = store.create_room()
    assert store.room_version(keys.code) == (0, None, False)
    store.publish(keys.code, keys.token, page="pooling", params={"a": "1"})
    question_id = store.ask(keys.code, keys.token, SIZE)
    assert store.room_version(keys.code) == (1, question_id, False)
    store.reveal(keys.code, keys.token)
    assert store.room_version(keys.code.lower()) == (1, question_id, True)
    store.close_question(keys.code, keys.token)
    assert store.room_version(keys.code) == (1, None, False)
    assert store.room_version("ZZZZZZ") is None
    assert store.room_version("not a code") is None
    store.close_room(keys.code, keys.token)
    assert store.room_version(keys.code) is None


def test_publish_bumps_the_version_only_on_a_change(store):
    keys = store.create_room()
    assert store.publish(keys.code, keys.token, page="pooling", params={"a": "1"}) == 1
    assert store.publish(keys.code, keys.token, page="pooling", params={"a": "1"}) == 1
    assert store.publish(keys.code, keys.token, page="pooling", params={"a": "2"}) == 2
    assert store.publish(keys.code, keys.token, page="kernel_playground", params={}) == 3
    state = store.read_room(keys.code)
    assert (state.page, state.params, state.version) == ("kernel_playground", {}, 3)


def test_only_the_lecturer_token_changes_the_room(store):
    keys = store.create_room()
    other = store.create_room()
    store.publish(keys.code, keys.token, page="pooling", params={"a": "1"})
    for token in ["", "guess", other.token, keys.token + "x", None]:
        with pytest.raises(NotLecturerError):
            store.publish(keys.code, token, page="home", params={"evil": "1"})
        with pytest.raises(NotLecturerError):
            store.ask(keys.code, token, SIZE)
        with pytest.raises(NotLecturerError):
            store.close_room(keys.code, token)
    question_id = store.ask(keys.code, keys.token, SIZE)
    for action in (store.reveal, store.close_question):
        with pytest.raises(NotLecturerError):
            action(keys.code, other.token)
    state = store.read_room(keys.code)
    assert (state.page, state.params, state.version) == ("pooling", {"a": "1"}, 1)
    assert state.question_id == question_id and not state.revealed


@pytest.mark.parametrize(
    "page, params",
    [("../etc/passwd", {}), ("pooling", {"a": 1}), ("pooling", ["a"]), ("p", {"a": "x" * 70_000})],
)
def test_bad_publications_are_refused(store, page, params):
    keys = store.create_room()
    with pytest.raises((TypeError, ValueError)):
        store.publish(keys.code, keys.token, page=page, params=params)
    assert store.read_room(keys.code).version == 0


def test_actions_on_a_room_that_does_not_exist(store):
    keys = store.create_room()
    for action in (store.close_room, store.reveal, store.close_question):
        with pytest.raises(RoomNotFoundError):
            action("ZZZZZZ", keys.token)
    with pytest.raises(RoomNotFoundError):
        store.publish("ZZZZZZ", keys.token, page="pooling", params={})
    for action in (store.join, store.count_followers):
        with pytest.raises(RoomNotFoundError):
            action("ZZZZZZ")
    with pytest.raises(RoomNotFoundError):
        store.answer_counts("ZZZZZZ", 1)
    with pytest.raises(ValueError, match="A room code is 6"):
        store.join("0000")


def test_closing_a_room_ends_it_for_everyone(store):
    keys = store.create_room()
    follower = store.join(keys.code)
    store.close_room(keys.code, keys.token)
    assert store.read_room(keys.code) is None
    with pytest.raises(RoomNotFoundError):
        store.heartbeat(keys.code, follower)
    with pytest.raises(RoomNotFoundError):
        store.join(keys.code)
    with pytest.raises(RoomNotFoundError):
        store.publish(keys.code, keys.token, page="pooling", params={})


# ---------------------------------------------------------------- expiry


def test_rooms_expire_after_the_lecturers_last_action(store, time_passes):
    keys = store.create_room()
    time_passes(ROOM_TTL_SECONDS - 60)
    store.publish(keys.code, keys.token, page="pooling", params={})  # the lecturer is active
    time_passes(ROOM_TTL_SECONDS - 120)
    assert store.read_room(keys.code) is not None
    follower = store.join(keys.code)
    time_passes(61)
    store.heartbeat(keys.code, follower)  # students do not keep a room alive
    time_passes(60)
    assert store.read_room(keys.code) is None
    with pytest.raises(RoomNotFoundError):
        store.publish(keys.code, keys.token, page="home", params={})
    store.purge_expired()
    assert store.read_room(keys.code) is None


def test_asking_and_revealing_keep_the_room_open(store, time_passes):
    keys = store.create_room()
    student = store.join(keys.code)
    time_passes(ROOM_TTL_SECONDS - 10)
    question_id = store.ask(keys.code, keys.token, SIZE)
    time_passes(ROOM_TTL_SECONDS - 10)
    store.heartbeat(keys.code, student)
    assert store.submit_answer(keys.code, question_id, student, "3")
    store.reveal(keys.code, keys.token)
    time_passes(ROOM_TTL_SECONDS - 10)
    assert store.read_room(keys.code).revealed
    assert store.answer_counts(keys.code, question_id) == {"3": 1}  # the answers lived on too


# ---------------------------------------------------------------- followers


def test_followers_are_counted_while_their_pages_report(store, time_passes):
    keys = store.create_room()
    students = [store.join(keys.code) for _ in range(3)]
    assert store.count_followers(keys.code) == (3, 0)
    store.heartbeat(keys.code, students[0], following=False)
    assert store.count_followers(keys.code) == (2, 1)
    store.heartbeat(keys.code, students[0], following=True)
    store.heartbeat(keys.code, students[0], following=False)
    assert store.count_followers(keys.code) == (2, 1)  # counted once, where it is now
    time_passes(FOLLOWER_WINDOW_SECONDS - 1)
    store.heartbeat(keys.code, students[1])
    time_passes(2)
    assert store.count_followers(keys.code) == (1, 0)  # two pages went quiet
    store.leave(keys.code, students[1])
    assert store.count_followers(keys.code) == (0, 0)


def test_followers_of_other_rooms_do_not_count(store):
    first, second = store.create_room(), store.create_room()
    store.join(first.code)
    assert store.count_followers(second.code) == (0, 0)


# ---------------------------------------------------------------- questions


def test_one_answer_per_student_per_question(store):
    keys = store.create_room()
    students = [store.join(keys.code) for _ in range(4)]
    question_id = store.ask(keys.code, keys.token, SIZE)
    assert store.read_room(keys.code).question == SIZE
    for student, answer in zip(students, ["3", "3.0", "4", " 3 "], strict=True):
        assert store.submit_answer(keys.code, question_id, student, answer) is True
    assert store.submit_answer(keys.code, question_id, students[2], "3") is False
    assert store.answer_counts(keys.code, question_id) == {"3": 3, "4": 1}
    assert list(store.answer_counts(keys.code, question_id)) == ["3", "4"]  # most first


def test_answers_are_checked_against_the_question(store):
    keys = store.create_room()
    student = store.join(keys.code)
    question_id = store.ask(keys.code, keys.token, WHERE)
    for bad in ["<b>hello everyone</b>", "Top right", "3"]:
        with pytest.raises(ValueError, match="Pick one of the answers"):
            store.submit_answer(keys.code, question_id, student, bad)
    assert store.answer_counts(keys.code, question_id) == {}
    store.submit_answer(keys.code, question_id, student, "bottom left")
    assert store.answer_counts(keys.code, question_id) == {"bottom left": 1}


def test_only_students_of_the_room_answer_the_open_question(store):
    keys, other = store.create_room(), store.create_room()
    student, stranger = store.join(keys.code), store.join(other.code)
    first = store.ask(keys.code, keys.token, SIZE)
    with pytest.raises(ValueError, match="Join the room"):
        store.submit_answer(keys.code, first, stranger, "3")
    with pytest.raises(ValueError, match="Join the room"):
        store.submit_answer(keys.code, first, "made-up-id", "not even a number")
    second = store.ask(keys.code, keys.token, WHERE)
    assert second != first
    with pytest.raises(ValueError, match="closed"):
        store.submit_answer(keys.code, first, student, "3")
    store.reveal(keys.code, keys.token)
    assert store.read_room(keys.code).revealed
    with pytest.raises(ValueError, match="revealed"):
        store.submit_answer(keys.code, second, student, "top right")
    store.close_question(keys.code, keys.token)
    state = store.read_room(keys.code)
    assert state.question is None and state.question_id is None and not state.revealed
    with pytest.raises(ValueError, match="no open question"):
        store.reveal(keys.code, keys.token)


def test_counts_of_one_room_are_not_read_through_another(store):
    keys, other = store.create_room(), store.create_room()
    question_id = store.ask(keys.code, keys.token, SIZE)
    store.submit_answer(keys.code, question_id, store.join(keys.code), "3")
    assert store.answer_counts(other.code, question_id) == {}


def test_a_new_question_hides_the_previous_reveal(store):
    keys = store.create_room()
    store.ask(keys.code, keys.token, SIZE)
    store.reveal(keys.code, keys.token)
    store.ask(keys.code, keys.token, WHERE)
    state = store.read_room(keys.code)
    assert state.question == WHERE and not state.revealed


# ---------------------------------------------------------------- many threads and processes


def test_many_threads_publish_join_and_answer(store):
    keys = store.create_room()
    question_id = store.ask(keys.code, keys.token, SIZE)
    errors = []

    def lecturer(worker: int) -> None:
        try:
            for step in range(25):
                store.publish(
                    keys.code, keys.token, page="pooling", params={"w": f"{worker}.{step}"}
                )
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    def students(worker: int) -> None:
        try:
            for step in range(10):
                follower = store.join(keys.code)
                store.heartbeat(keys.code, follower)
                store.read_room(keys.code)
                store.submit_answer(keys.code, question_id, follower, str(worker % 3 + step % 2))
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=lecturer, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=students, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.read_room(keys.code).version == 4 * 25
    assert sum(store.answer_counts(keys.code, question_id).values()) == 8 * 10
    assert store.count_followers(keys.code).following == 8 * 10


def _students_in_a_process(url: str, code: str, question_id: int, count: int) -> None:
    store = RedisRoomStore(url)  # a server of its own: its own connections
    for index in range(count):
        follower = store.join(code)
        store.heartbeat(code, follower, following=index % 2 == 0)
        store.submit_answer(code, question_id, follower, "3" if index % 4 else "4")


def test_many_processes_share_one_redis(redis_url):
    store = RedisRoomStore(redis_url)
    keys = store.create_room()
    question_id = store.ask(keys.code, keys.token, SIZE)
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_students_in_a_process, args=(redis_url, keys.code, question_id, 12))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    for step in range(20):  # the lecturer keeps publishing meanwhile
        store.publish(keys.code, keys.token, page="pooling", params={"step": str(step)})
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert store.answer_counts(keys.code, question_id) == {"3": 36, "4": 12}
    assert store.count_followers(keys.code) == (24, 24)
    assert store.read_room(keys.code).version == 20


# ---------------------------------------------------------------- Redis itself


def test_the_token_is_never_stored(redis_url):
    store = RedisRoomStore(redis_url)
    keys = store.create_room()
    store.publish(keys.code, keys.token, page="pooling", params={})
    store.ask(keys.code, keys.token, SIZE)
    text = all_values(store.redis)
    assert keys.code in text and keys.token not in text


def test_every_room_key_carries_the_rooms_ttl(redis_url):
    store = RedisRoomStore(redis_url, ttl_seconds=1000)
    keys = store.create_room()
    student = store.join(keys.code)
    store.heartbeat(store.create_room().code, store.join(keys.code), following=False)
    question_id = store.ask(keys.code, keys.token, SIZE)
    store.submit_answer(keys.code, question_id, student, "3")
    client = store.redis
    room_keys = [key for key in client.scan_iter(f"{store.prefix}room:*")]
    assert len(room_keys) >= 5
    for key in room_keys:
        assert 0 < client.pttl(key) <= 1_000_000, key
    counter = f"{store.prefix}question_ids"
    assert client.pttl(counter) == -1  # ids are never reused


def test_a_students_report_never_renews_the_room(redis_url):
    store = RedisRoomStore(redis_url, ttl_seconds=1000)
    keys = store.create_room()
    room = store._keys(keys.code)[0]
    store.redis.pexpire(room, 50_000)
    follower = store.join(keys.code)
    store.heartbeat(keys.code, follower, following=False)
    assert store.redis.pttl(room) <= 50_000
    assert store.redis.pttl(f"{room}:exploring") <= 50_000  # dies with the room
    store.publish(keys.code, keys.token, page="pooling", params={})
    assert store.redis.pttl(room) > 900_000
    assert store.redis.pttl(f"{room}:exploring") > 900_000


def test_closing_a_room_deletes_all_its_keys(redis_url):
    store = RedisRoomStore(redis_url)
    keys, other = store.create_room(), store.create_room()
    student = store.join(keys.code)
    question_id = store.ask(keys.code, keys.token, SIZE)
    store.submit_answer(keys.code, question_id, student, "3")
    store.close_room(keys.code, keys.token)
    left = list(store.redis.scan_iter(f"{store.prefix}room:*"))
    assert left and all(other.code in key for key in left)


def test_two_apps_share_one_redis_through_their_prefixes(redis_url):
    first = RedisRoomStore(redis_url, prefix="course-a:")
    second = RedisRoomStore(redis_url, prefix="course-b:")
    keys = first.create_room()
    assert first.read_room(keys.code) is not None
    assert second.read_room(keys.code) is None


def test_an_unreachable_redis_is_an_os_error_that_says_what_to_check():
    store = RedisRoomStore("redis://127.0.0.1:1/0")
    for action in (lambda: store.read_room("K7XQ3M"), store.create_room):
        with pytest.raises(StoreUnavailableError, match="Check that Redis runs") as caught:
            action()
        assert isinstance(caught.value, OSError)  # pages treat it as a file system error
        assert isinstance(caught.value.__cause__, redis.ConnectionError)


def test_the_redis_store_has_every_method_of_the_interface_and_the_sqlite_store():
    from core.jobs.rooms import RoomStore

    def public(kind) -> set[str]:
        return {name for name in dir(kind) if not name.startswith("_")}

    missing = (public(RoomStore) | public(SqliteRoomStore)) - public(RedisRoomStore)
    assert missing <= {"path"}, missing  # the SQLite file's path has no Redis counterpart
