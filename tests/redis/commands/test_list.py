"""The list group (lists, blocking pops included) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from canned import assert_refused_alike, assert_refused_before_sending, assert_same_results
from commands_executor import Keys, SocketRedis, t
from wire import assert_sends_same

from greenpool.errors import ReplyError
from greenpool.testing import RedisServer

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def test_push_pop(r: SocketRedis, k: Keys) -> None:
    assert r.lpushx(k("l"), "x") == 0
    assert r.rpushx(k("l"), "x") == 0
    assert r.rpush(k("l"), "b", "c") == 2
    assert r.lpush(k("l"), "a", 0) == 4
    assert r.rpushx(k("l"), "d") == 5
    assert r.lpushx(k("l"), "z") == 6
    assert r.lrange(k("l"), 0, -1) == t(r, ["z", "0", "a", "b", "c", "d"])
    assert r.lpop(k("l")) == t(r, "z")
    assert r.rpop(k("l")) == t(r, "d")
    assert r.lpop(k("l"), 2) == t(r, ["0", "a"])
    assert r.rpop(k("l"), 1) == t(r, ["c"])
    assert r.rpop(k("l"), 5) == t(r, ["b"])
    assert r.lpop(k("l")) is None
    assert r.rpop(k("l")) is None
    assert r.lpop(k("l"), 3) is None
    assert r.rpop(k("l"), 3) is None

def test_list_reads_and_edits(r: SocketRedis, k: Keys) -> None:
    r.rpush(k("l"), "a", "b", "a", "c", "a")
    assert r.llen(k("l")) == 5
    assert r.llen(k("missing")) == 0
    assert r.lindex(k("l"), 1) == t(r, "b")
    assert r.lindex(k("l"), -1) == t(r, "a")
    assert r.lindex(k("l"), 99) is None
    assert r.lset(k("l"), 1, "B") is True
    with pytest.raises(ReplyError):
        r.lset(k("l"), 99, "x")
    assert r.lrem(k("l"), -1, "a") == 1
    assert r.lrange(k("l"), 0, -1) == t(r, ["a", "B", "a", "c"])
    assert r.lrem(k("l"), 0, "a") == 2
    assert r.linsert(k("l"), "before", "c", "b") == 3
    assert r.linsert(k("l"), "AFTER", "c", "d") == 4
    assert r.linsert(k("l"), "AFTER", "nope", "d") == -1
    assert r.lrange(k("l"), 0, -1) == t(r, ["B", "b", "c", "d"])
    assert r.ltrim(k("l"), 1, 2) is True
    assert r.lrange(k("l"), 0, -1) == t(r, ["b", "c"])
    assert r.lrange(k("missing"), 0, -1) == []

def test_lpos(r: SocketRedis, k: Keys) -> None:
    r.rpush(k("l"), "a", "b", "c", "b", "b")
    assert r.lpos(k("l"), "b") == 1
    assert r.lpos(k("l"), "zz") is None
    assert r.lpos(k("l"), "b", rank=2) == 3
    assert r.lpos(k("l"), "b", rank=-1) == 4
    assert r.lpos(k("l"), "b", count=2) == [1, 3]
    assert r.lpos(k("l"), "b", count=0) == [1, 3, 4]
    assert r.lpos(k("l"), "zz", count=2) == []
    assert r.lpos(k("l"), "b", rank=-1, count=2) == [4, 3]
    assert r.lpos(k("l"), "b", count=0, maxlen=4) == [1, 3]
    assert r.lpos(k("missing"), "b") is None

def test_lmove_rpoplpush(r: SocketRedis, k: Keys) -> None:
    r.rpush(k("a"), "1", "2", "3")
    assert r.lmove(k("a"), k("b")) == t(r, "1")
    assert r.lmove(k("a"), k("b"), "right", "left") == t(r, "3")
    assert r.lrange(k("b"), 0, -1) == t(r, ["3", "1"])
    assert r.rpoplpush(k("a"), k("b")) == t(r, "2")
    assert r.lrange(k("b"), 0, -1) == t(r, ["2", "3", "1"])
    assert r.rpoplpush(k("a"), k("b")) is None
    assert r.lmove(k("a"), k("b")) is None

def test_blocking_pops_with_data_ready(r: SocketRedis, k: Keys) -> None:
    r.rpush(k("l1"), "a", "b")
    sent = len(r.sent)
    assert r.blpop([k("l0"), k("l1")], timeout=1) == t(r, (k("l1"), "a"))
    assert r.brpop(k("l1")) == t(r, (k("l1"), "b"))
    r.rpush(k("l1"), "c", "d")
    assert r.brpoplpush(k("l1"), k("l2"), timeout=2.5) == t(r, "d")
    assert r.blmove(k("l1"), k("l2"), 0, "LEFT", "LEFT") == t(r, "c")
    assert r.lrange(k("l2"), 0, -1) == t(r, ["c", "d"])
    r.zadd(k("z"), {"m1": 1, "m2": 2.5})
    assert r.bzpopmin(k("z"), timeout=1) == t(r, (k("z"), "m1", 1.0))
    assert r.bzpopmax([k("none"), k("z")]) == t(r, (k("z"), "m2", 2.5))
    assert [args[0] for args, _ in r.blocking] == [
        "BLPOP",
        "BRPOP",
        "BRPOPLPUSH",
        "BLMOVE",
        "BZPOPMIN",
        "BZPOPMAX",
    ]
    assert [timeout for _, timeout in r.blocking] == [1, None, 2.5, None, 1, None]
    assert r.blocking[0][0] == ("BLPOP", k("l0"), k("l1"), 1)
    assert r.blocking[1][0] == ("BRPOP", k("l1"), 0)
    # The blocking ones never went through execute_command.
    assert len(r.sent) - sent == 6 + 2 + 1  # the 6 above, 2 rpush/lrange, 1 zadd

def test_blocking_pops_time_out(r: SocketRedis, k: Keys) -> None:
    start = time.monotonic()
    assert r.blpop(k("l"), timeout=0.05) is None
    assert r.brpop([k("l"), k("m")], timeout=0.05) is None
    assert r.brpoplpush(k("l"), k("m"), timeout=0.05) is None
    assert r.blmove(k("l"), k("m"), 0.05) is None
    assert r.bzpopmin(k("z"), timeout=0.05) is None
    assert r.bzpopmax(k("z"), timeout=0.05) is None
    assert time.monotonic() - start >= 0.25
    assert [timeout for _, timeout in r.blocking] == [0.05] * 6

def test_blpop_waits_for_a_push(r: SocketRedis, k: Keys, redis_server: RedisServer) -> None:
    pusher = SocketRedis(redis_server.host, redis_server.port)

    def push() -> None:
        time.sleep(0.1)
        pusher.rpush(k("l"), "late")

    thread = threading.Thread(target=push)
    thread.start()
    try:
        assert r.blpop(k("l")) == t(r, (k("l"), "late"))
        assert r.blocking[-1][1] is None
    finally:
        thread.join()
        pusher.close()

def test_lmpop_blmpop(r: SocketRedis, k: Keys) -> None:
    r.rpush(k("b"), "1", "2", "3", "4")
    assert r.lmpop(2, k("a"), k("b"), direction="LEFT") == [t(r, k("b")), t(r, ["1"])]
    assert r.lmpop(1, k("b"), direction="RIGHT", count=2) == [t(r, k("b")), t(r, ["4", "3"])]
    assert r.lmpop(1, k("a"), direction="LEFT") is None
    assert r.blmpop(1, 2, k("a"), k("b"), direction="LEFT", count=5) == [
        t(r, k("b")), t(r, ["2"])
    ]
    start = time.monotonic()
    assert r.blmpop(0.05, 1, k("b"), direction="LEFT") is None
    assert time.monotonic() - start >= 0.05
    assert r.blocking == [
        (("BLMPOP", 1, 2, k("a"), k("b"), "LEFT", "COUNT", 5), 1),
        (("BLMPOP", 0.05, 1, k("b"), "LEFT", "COUNT", 1), 0.05),
    ]


def test_blmpop_waits_for_a_push(r: SocketRedis, k: Keys, redis_server: RedisServer) -> None:
    pusher = SocketRedis(redis_server.host, redis_server.port)
    thread = threading.Thread(target=lambda: (time.sleep(0.1), pusher.rpush(k("l"), "late")))
    thread.start()
    try:
        assert r.blmpop(0, 1, k("l"), direction="RIGHT") == [t(r, k("l")), t(r, ["late"])]
        assert r.blocking[-1][1] is None  # 0: it may wait forever
    finally:
        thread.join()
        pusher.close()


# ============================================================================
# The same calls through redis-py


def lists_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["lpushx missing"] = c.lpushx(k("l"), "a")
    out["rpush"] = c.rpush(k("l"), "a", "b", "a", "c", "a")
    out["lpush"] = c.lpush(k("l"), "z", 1)
    out["rpushx"] = c.rpushx(k("l"), "end")
    out["lpushx"] = c.lpushx(k("l"), "start")
    out["lrange"] = c.lrange(k("l"), 0, -1)
    out["llen"] = c.llen(k("l"))
    out["lindex"] = c.lindex(k("l"), 2)
    out["lindex missing"] = c.lindex(k("l"), 99)
    out["lset"] = c.lset(k("l"), 0, "START")
    out["lrem"] = c.lrem(k("l"), 2, "a")
    out["linsert"] = c.linsert(k("l"), "BEFORE", "c", "b2")
    out["linsert missing ref"] = c.linsert(k("l"), "AFTER", "nope", "x")
    out["lpos"] = c.lpos(k("l"), "a")
    out["lpos missing"] = c.lpos(k("l"), "nope")
    out["lpos rank count"] = c.lpos(k("l"), "b", rank=1, count=0, maxlen=100)
    out["lpos count none"] = c.lpos(k("l"), "nope", count=2)
    out["ltrim"] = c.ltrim(k("l"), 1, -2)
    out["lrange trimmed"] = c.lrange(k("l"), 0, -1)
    out["lpop"] = c.lpop(k("l"))
    out["rpop"] = c.rpop(k("l"))
    out["lpop count"] = c.lpop(k("l"), 2)
    out["rpop count"] = c.rpop(k("l"), 1)
    out["lmove"] = c.lmove(k("l"), k("m"))
    out["lmove sides"] = c.lmove(k("l"), k("m"), "RIGHT", "LEFT")
    out["rpoplpush"] = c.rpoplpush(k("m"), k("n"))
    out["rpoplpush missing"] = c.rpoplpush(k("zz"), k("n"))
    out["lpop missing"] = c.lpop(k("zz"))
    out["lpop missing count"] = c.lpop(k("zz"), 2)
    out["lrange missing"] = c.lrange(k("zz"), 0, -1)
    c.rpush(k("b"), "1", "2", "3", "4")
    out["blpop"] = c.blpop([k("zz"), k("b")], timeout=1)
    out["brpop"] = c.brpop(k("b"), timeout=1)
    out["brpoplpush"] = c.brpoplpush(k("b"), k("n"), timeout=1)
    out["blmove"] = c.blmove(k("b"), k("n"), 1, "LEFT", "RIGHT")
    out["blpop timeout"] = c.blpop(k("zz"), timeout=0.01)
    out["brpoplpush timeout"] = c.brpoplpush(k("zz"), k("n"), timeout=0.01)
    out["final"] = c.lrange(k("n"), 0, -1)
    c.rpush(k("p"), "1", "2", "3", "4", "5")
    out["lmpop"] = c.lmpop(2, k("zz"), k("p"), direction="LEFT")
    out["lmpop count"] = c.lmpop(1, k("p"), direction="RIGHT", count=2)
    out["lmpop none"] = c.lmpop(1, k("zz"), direction="RIGHT")
    out["blmpop"] = c.blmpop(1, 2, k("zz"), k("p"), direction="RIGHT", count=9)
    out["blmpop timeout"] = c.blmpop(0.01, 1, k("zz"), direction="LEFT")
    return out


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_lists_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(lists_scenario)


# ============================================================================
# What is sent, and Redis 8.10's LMOVEM/BLMOVEM replies, against redis-py


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("lmpop", (2, "a", "b"), {"direction": "LEFT"}),
        ("lmpop", (1, "a"), {"direction": "RIGHT", "count": 3}),
        ("lmpop", (1, "a"), {"direction": "RIGHT", "count": 1}),
        ("blmpop", (1, 2, "a", "b"), {"direction": "LEFT"}),
        ("blmpop", (0.5, 1, "a"), {"direction": "RIGHT", "count": 4}),
        ("blmpop", (0, 1, "a"), {"direction": "RIGHT"}),
        ("lmovem", ("a", "b"), {}),
        ("lmovem", ("a", "b", "RIGHT", "LEFT", 3), {"ordering": "OBO"}),
        ("lmovem", ("a", "b"), {"count": 2, "mode": "EXACTLY", "ordering": "BULK"}),
        ("lmovem", ("a", "b"), {"count": 2, "mode": "COUNT", "ordering": "OBO"}),
        ("blmovem", ("a", "b", 1), {}),
        ("blmovem", ("a", "b", 0.5, "LEFT", "LEFT", 2, "EXACTLY", "BULK"), {}),
        ("blmovem", ("a", "b", 0), {"count": 3, "ordering": "OBO"}),
    ],
)
def test_sends_what_redis_py_sends(method: str, args: tuple[Any, ...],
                                   kwargs: dict[str, Any]) -> None:
    assert_sends_same(method, *args, **kwargs)


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("lmovem", ("a", "b"), {"mode": "COUNT"}),
        ("lmovem", ("a", "b"), {"ordering": "OBO"}),
        ("lmovem", ("a", "b"), {"count": 2}),
        ("blmovem", ("a", "b", 1), {"count": 2, "mode": "EXACTLY"}),
        ("blmovem", ("a", "b", 1), {"mode": "EXACTLY"}),
    ],
)
def test_bad_arguments_are_refused_as_redis_py_refuses_them(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert_refused_alike(method, *args, **kwargs)


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("lmpop", (2, "a"), {"direction": "LEFT"}),  # numkeys must count the keys
        ("lmpop", (0,), {"direction": "LEFT"}),
        ("lmpop", (1, "a"), {"direction": "UP"}),
        ("lmpop", (1, "a"), {"direction": "LEFT", "count": 0}),
        ("blmpop", (-1, 1, "a"), {"direction": "LEFT"}),
        ("blmpop", (1, 1, "a", "b"), {"direction": "LEFT"}),
        ("lmovem", ("a", "b", "UP"), {}),
        ("lmovem", ("a", "b"), {"count": 2, "mode": "ALL", "ordering": "OBO"}),
        ("lmovem", ("a", "b"), {"count": 2, "ordering": "RANDOM"}),
        ("lmovem", ("a", "b"), {"count": 0, "ordering": "OBO"}),
        ("blmovem", ("a", "b", "1x"), {}),
    ],
)
def test_stricter_checks_raise_data_error_and_send_nothing(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert_refused_before_sending(method, *args, **kwargs)


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize(
    ("method", "args", "kwargs", "reply"),
    [
        ("lmovem", ("a", "b"), {}, [b"x"]),
        ("lmovem", ("a", "b"), {"count": 3, "ordering": "BULK"}, [b"x", b"y", b"z"]),
        ("lmovem", ("a", "b"), {}, None),
        ("blmovem", ("a", "b", 1), {}, None),
        ("blmovem", ("a", "b", 1), {"count": 2, "ordering": "OBO"}, [b"y", b"x"]),
    ],
)
def test_newer_replies_are_shaped_as_redis_py_shapes_them(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], reply: Any, protocol: int
) -> None:
    assert_same_results(method, *args, reply=reply, protocol=protocol, **kwargs)


def test_blmovem_blocks_on_a_connection_of_its_own(r: SocketRedis) -> None:
    # The table marks it blocking; the reference executor routes it as the
    # client does, with the blocking time.  (Redis 7.0 does not know it.)
    with pytest.raises(ReplyError):
        r.blmovem("gp-cmd:never", "gp-cmd:never2", 0.25, count=2, ordering="OBO")
    assert r.blocking[-1] == (
        ("BLMOVEM", "gp-cmd:never", "gp-cmd:never2", "LEFT", "RIGHT", 0.25, "COUNT", 2, "OBO"),
        0.25,
    )
