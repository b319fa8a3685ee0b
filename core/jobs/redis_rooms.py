"""Rooms in a shared Redis, so several app servers behind a load balancer act as one.

``RedisRoomStore`` implements ``core.jobs.rooms.RoomStore`` with the meaning of
``core.jobs.room_store.SqliteRoomStore``; ``core.jobs.stores.open_room_store`` picks it when
``$CONVSCOPE_REDIS_URL`` is set. Each change is one Lua script, which Redis runs
atomically, so concurrent lecturers' and students' writes from any server never
interleave. A room's keys carry a Redis TTL: every lecturer action renews it to
``ttl_seconds``; students' actions never do, so a room expires that long after the
lecturer's last action, and Redis deletes it by itself.

Keys (``KEY_PREFIX`` first; the room code in braces keeps a room's keys together):
``room:{CODE}`` a hash (token hash, page, params, version, open question, revealed),
``room:{CODE}:following`` and ``:exploring`` sorted sets of follower → last seen,
``room:{CODE}:questions`` a hash of question id → question, ``room:{CODE}:answers:ID``
a hash of follower → answer (one per follower: HSETNX), and ``question_ids``, a counter.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Callable

from core.jobs.redis_client import KEY_PREFIX, connect, reports_outages
from core.jobs.room_store import FORGET_FOLLOWER_SECONDS
from core.jobs.rooms import (
    FOLLOWER_WINDOW_SECONDS,
    ROOM_TTL_SECONDS,
    Followers,
    NotLecturerError,
    Question,
    RoomKeys,
    RoomNotFoundError,
    RoomPulse,
    RoomState,
    check_page,
    check_params,
    new_lecturer_token,
    new_room_code,
    normalize_code,
    token_digest,
)

# What the scripts return besides a result.
_OK, _NO_ROOM, _NOT_LECTURER, _NO_QUESTION, _CLOSED, _REVEALED, _UNKNOWN = 0, -1, -2, -3, -4, -5, -6


# KEYS: room, following, exploring, questions. ARGV[1] token hash, ARGV[2] TTL in ms.
_LECTURER = """
local function lecturer()
  local digest = redis.call('HGET', KEYS[1], 'token_hash')
  if not digest then return -1 end
  if digest ~= ARGV[1] then return -2 end
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
  for _, id in ipairs(redis.call('HKEYS', KEYS[4])) do
    redis.call('PEXPIRE', KEYS[1] .. ':answers:' .. id, ARGV[2])
  end
  return 0
end
local function delete_room()
  for _, id in ipairs(redis.call('HKEYS', KEYS[4])) do
    redis.call('DEL', KEYS[1] .. ':answers:' .. id)
  end
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
end
"""


_CREATE = (
    _LECTURER
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
delete_room()  -- leftovers of an expired room with this code
redis.call('HSET', KEYS[1], 'token_hash', ARGV[1], 'page', '', 'params', '{}',
           'version', 0, 'question_id', '', 'revealed', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
)


# ARGV[3] page, ARGV[4] params as JSON.
_PUBLISH = (
    _LECTURER
    + """
local status = lecturer()
if status ~= 0 then return {status, 0} end
local now = redis.call('HMGET', KEYS[1], 'page', 'params', 'version')
if now[1] == ARGV[3] and now[2] == ARGV[4] then return {0, tonumber(now[3])} end
redis.call('HSET', KEYS[1], 'page', ARGV[3], 'params', ARGV[4])
return {0, redis.call('HINCRBY', KEYS[1], 'version', 1)}
"""
)


# KEYS[5] the question counter; ARGV[3] the action, ARGV[4] the question as JSON.
_LECTURE = (
    _LECTURER
    + """
local status = lecturer()
if status ~= 0 then return {status, 0} end
local action = ARGV[3]
if action == 'close_room' then
  delete_room()
elseif action == 'ask' then
  local id = redis.call('INCR', KEYS[5])
  redis.call('HSET', KEYS[4], id, ARGV[4])
  redis.call('PEXPIRE', KEYS[4], ARGV[2])
  redis.call('HSET', KEYS[1], 'question_id', id, 'revealed', 0)
  return {0, id}
elseif action == 'reveal' then
  if redis.call('HGET', KEYS[1], 'question_id') == '' then return {-3, 0} end
  redis.call('HSET', KEYS[1], 'revealed', 1)
elseif action == 'close_question' then
  redis.call('HSET', KEYS[1], 'question_id', '', 'revealed', 0)
end
return {0, 0}
"""
)


# KEYS: room, questions. Returns page, params, version, question id, revealed, question.
_READ = """
local room = redis.call('HMGET', KEYS[1], 'page', 'params', 'version', 'question_id', 'revealed')
if not room[1] then return false end
local body = ''
if room[4] ~= '' then body = redis.call('HGET', KEYS[2], room[4]) or '' end
room[6] = body
return room
"""


# KEYS: room, following, exploring. ARGV: follower, now, 1 = following, forget before.
# The follower's keys live as long as the room.
_BEAT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local into, out = KEYS[2], KEYS[3]
if ARGV[3] ~= '1' then into, out = KEYS[3], KEYS[2] end
redis.call('ZREM', out, ARGV[1])
redis.call('ZADD', into, ARGV[2], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
for i = 2, 3 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. ARGV[4])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 0
"""


# KEYS: room, following, exploring, answers of the question.
# ARGV: question id, follower, 'check' (the checks alone) or 'count', the counted answer.
_ANSWER = """
local room = redis.call('HMGET', KEYS[1], 'question_id', 'revealed')
if not room[1] then return {-1, ''} end
if room[1] ~= ARGV[1] then return {-4, ''} end
if room[2] == '1' then return {-5, ''} end
if not redis.call('ZSCORE', KEYS[2], ARGV[2]) and not redis.call('ZSCORE', KEYS[3], ARGV[2]) then
  return {-6, ''}
end
if ARGV[3] == 'check' then return {0, ''} end
local added = redis.call('HSETNX', KEYS[4], ARGV[2], ARGV[4])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[4], ttl) end
return {added, ''}
"""


@reports_outages
class RedisRoomStore:
    """``RoomStore`` in a shared Redis (any number of threads, processes and servers).

    Args:
        redis: a ``redis://`` URL, or a client made with ``decode_responses=True``.
        clock: seconds since the epoch for students' last-seen times (tests pass a fake one).
        ttl_seconds: how long a room lives after the lecturer's last action (a Redis TTL).
        prefix: the start of every key this store writes.
    """

    def __init__(
        self,
        redis,
        *,
        clock: Callable[[], float] = time.time,
        ttl_seconds: float = ROOM_TTL_SECONDS,
        prefix: str = KEY_PREFIX,
    ):
        self.redis = connect(redis) if isinstance(redis, str) else redis
        self.clock = clock
        self.ttl_seconds = float(ttl_seconds)
        self.prefix = prefix
        register = self.redis.register_script
        self._create, self._publish, self._lecture = (
            register(_CREATE),
            register(_PUBLISH),
            register(_LECTURE),
        )
        self._read, self._beat, self._answer = (
            register(_READ),
            register(_BEAT),
            register(_ANSWER),
        )

    # ------------------------------------------------------------ keys
    def _keys(self, code: str) -> list[str]:
        """The room's hash, its following and exploring sets, and its questions."""
        room = f"{self.prefix}room:{{{code}}}"
        return [room, f"{room}:following", f"{room}:exploring", f"{room}:questions"]

    def _ttl_ms(self) -> int:
        return max(1, round(self.ttl_seconds * 1000))

    def _as_lecturer(self, code: str, token: str) -> tuple[str, list[str], str]:
        """The normalised code, its keys, and the token's hash (the store keeps only that)."""
        code = normalize_code(code)
        digest = token_digest(token) if isinstance(token, str) else ""
        return code, self._keys(code), digest

    @staticmethod
    def _raise_for(status: int, code: str) -> None:
        if status == _NO_ROOM:
            raise RoomNotFoundError(f"There is no open room {code}.")
        if status == _NOT_LECTURER:
            raise NotLecturerError(f"Only the lecturer of room {code} can change it.")
        if status == _NO_QUESTION:
            raise ValueError("There is no open question to reveal.")
        if status == _CLOSED:
            raise ValueError("This question is closed: the lecturer has moved on.")
        if status == _REVEALED:
            raise ValueError("The answer has been revealed: no more answers are counted.")
        if status == _UNKNOWN:
            raise ValueError("Join the room before answering.")

    def _lecturer_action(self, code: str, token: str, action: str, body: str = "") -> int:
        code, keys, digest = self._as_lecturer(code, token)
        status, result = self._lecture(
            keys=[*keys, f"{self.prefix}question_ids"],
            args=[digest, self._ttl_ms(), action, body],
        )
        self._raise_for(int(status), code)
        return int(result)

    # ------------------------------------------------------------ lecturer
    def create_room(self) -> RoomKeys:
        token = new_lecturer_token()
        while True:
            code = new_room_code()
            if self._create(keys=self._keys(code), args=[token_digest(token), self._ttl_ms()]):
                return RoomKeys(code=code, token=token)
            # the code is taken: draw another

    def publish(self, code: str, token: str, *, page: str, params: dict[str, str]) -> int:
        page, params = check_page(page), check_params(params)
        code, keys, digest = self._as_lecturer(code, token)
        status, version = self._publish(
            keys=keys, args=[digest, self._ttl_ms(), page, json.dumps(params, sort_keys=True)]
        )
        self._raise_for(int(status), code)
        return int(version)

    def close_room(self, code: str, token: str) -> None:
        self._lecturer_action(code, token, "close_room")

    def ask(self, code: str, token: str, question: Question) -> int:
        if not isinstance(question, Question):
            raise TypeError("`question` must be a Question.")
        return self._lecturer_action(code, token, "ask", question.to_json())

    def reveal(self, code: str, token: str) -> None:
        self._lecturer_action(code, token, "reveal")

    def close_question(self, code: str, token: str) -> None:
        self._lecturer_action(code, token, "close_question")

    # ------------------------------------------------------------ everyone
    def read_room(self, code: str) -> RoomState | None:
        try:
            code = normalize_code(code)
        except (TypeError, ValueError):
            return None
        keys = self._keys(code)
        row = self._read(keys=[keys[0], keys[3]])
        if not row:
            return None
        page, params, version, question_id, revealed, body = row
        return RoomState(
            code=code,
            page=page,
            params=json.loads(params),
            version=int(version),
            question_id=int(question_id) if question_id else None,
            question=Question.from_json(body) if body else None,
            revealed=revealed == "1",
        )

    def room_version(self, code: str) -> RoomPulse | None:
        try:
            code = normalize_code(code)
        except (TypeError, ValueError):
            return None
        version, question_id, revealed = self.redis.hmget(
            self._keys(code)[0], "version", "question_id", "revealed"
        )
        if version is None:
            return None
        return RoomPulse(int(version), int(question_id) if question_id else None, revealed == "1")

    def _report(self, code: str, follower: str, following: bool) -> None:
        code = normalize_code(code)
        now = self.clock()
        status = self._beat(
            keys=self._keys(code)[:3],
            args=[str(follower), repr(now), int(bool(following)), now - FORGET_FOLLOWER_SECONDS],
        )
        self._raise_for(int(status), code)

    def join(self, code: str) -> str:
        follower = secrets.token_urlsafe(12)
        self._report(code, follower, True)
        return follower

    def heartbeat(self, code: str, follower: str, *, following: bool = True) -> None:
        self._report(code, follower, following)

    def leave(self, code: str, follower: str) -> None:
        keys = self._keys(normalize_code(code))
        self.redis.zrem(keys[1], str(follower))
        self.redis.zrem(keys[2], str(follower))

    def count_followers(self, code: str) -> Followers:
        code = normalize_code(code)
        keys = self._keys(code)
        since = f"({self.clock() - FOLLOWER_WINDOW_SECONDS!r}"
        pipeline = self.redis.pipeline(transaction=True)
        pipeline.exists(keys[0])
        pipeline.zcount(keys[1], since, "+inf")
        pipeline.zcount(keys[2], since, "+inf")
        exists, following, exploring = pipeline.execute()
        if not exists:
            self._raise_for(_NO_ROOM, code)
        return Followers(following=int(following), exploring=int(exploring))

    def _answers_key(self, code: str, question_id: int) -> str:
        return f"{self._keys(code)[0]}:answers:{int(question_id)}"

    def submit_answer(self, code: str, question_id: int, follower: str, answer) -> bool:
        code = normalize_code(code)
        keys = [*self._keys(code)[:3], self._answers_key(code, question_id)]
        args = [int(question_id), str(follower)]
        status, _ = self._answer(
            keys=keys, args=[*args, "check", ""]
        )  # checked first, as in SQLite
        self._raise_for(int(status), code)
        body = self.redis.hget(self._keys(code)[3], str(int(question_id)))
        canonical = Question.from_json(body).canonical(answer)
        status, _ = self._answer(keys=keys, args=[*args, "count", canonical])
        self._raise_for(int(status), code)
        return int(status) == 1

    def answer_counts(self, code: str, question_id: int) -> dict[str, int]:
        code = normalize_code(code)
        pipeline = self.redis.pipeline(transaction=True)
        pipeline.exists(self._keys(code)[0])
        pipeline.hvals(self._answers_key(code, question_id))
        exists, answers = pipeline.execute()
        if not exists:
            self._raise_for(_NO_ROOM, code)
        ranked = sorted(Counter(answers).items(), key=lambda item: (-item[1], item[0]))
        return dict(ranked)

    # ------------------------------------------------------------ housekeeping
    def purge_expired(self) -> int:
        """Redis deletes expired rooms by itself (their TTL), so there is never one to purge."""
        return 0
