"""The set group (sets) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from canned import assert_refused_before_sending, assert_same_results, ours, refusals
from commands_executor import Keys, SocketRedis, sort, t
from wire import assert_sends_same

from greenpool.redis.commands import DataError

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def test_set_members(r: SocketRedis, k: Keys) -> None:
    assert r.smembers(k("s")) == set()
    assert r.sadd(k("s"), "a", "b", 3) == 3
    assert r.sadd(k("s"), "a", "c") == 1
    members = r.smembers(k("s"))
    assert type(members) is set and members == t(r, {"a", "b", "3", "c"})
    assert r.sismember(k("s"), "a") is True
    assert r.sismember(k("s"), "zz") is False
    assert r.smismember(k("s"), ["a", "zz", 3]) == [True, False, True]
    assert r.smismember(k("s"), "zz", "b") == [False, True]
    assert r.scard(k("s")) == 4
    assert r.srem(k("s"), "a", "zz") == 1
    assert r.scard(k("missing")) == 0

def test_spop_srandmember_smove(r: SocketRedis, k: Keys) -> None:
    assert r.spop(k("s")) is None
    assert r.spop(k("s"), 2) == []
    assert r.srandmember(k("s")) is None
    assert r.srandmember(k("s"), 2) == []
    everything = t(r, {"a", "b", "c", "d"})
    r.sadd(k("s"), "a", "b", "c", "d")
    assert r.srandmember(k("s")) in everything
    some = r.srandmember(k("s"), 3)
    assert isinstance(some, list) and len(set(some)) == 3 and set(some) <= everything
    assert len(r.srandmember(k("s"), -6)) == 6
    popped = r.spop(k("s"))
    assert popped in everything
    more = r.spop(k("s"), 2)
    assert isinstance(more, list) and len(more) == 2
    rest = r.smembers(k("s"))
    assert {popped, *more} | rest == everything
    (last,) = rest
    assert r.smove(k("s"), k("t"), last) is True
    assert r.smove(k("s"), k("t"), last) is False
    assert r.smembers(k("t")) == {last}

def test_set_algebra(r: SocketRedis, k: Keys) -> None:
    r.sadd(k("a"), "1", "2", "3")
    r.sadd(k("b"), "2", "3", "4")
    r.sadd(k("c"), "3", "5")
    assert r.sinter([k("a"), k("b")]) == t(r, {"2", "3"})
    assert r.sinter(k("a"), k("b"), k("c")) == t(r, {"3"})
    assert r.sunion(k("a"), k("c")) == t(r, {"1", "2", "3", "5"})
    assert r.sdiff([k("a"), k("b")]) == t(r, {"1"})
    assert r.sdiff(k("a"), k("missing")) == t(r, {"1", "2", "3"})
    assert r.sinter(k("a"), k("missing")) == set()
    assert r.sinterstore(k("d"), [k("a"), k("b")]) == 2
    assert r.sunionstore(k("e"), k("a"), k("b"), k("c")) == 5
    assert r.sdiffstore(k("f"), k("a"), k("b")) == 1
    assert r.smembers(k("f")) == t(r, {"1"})

def test_sintercard(r: SocketRedis, k: Keys) -> None:
    r.sadd(k("a"), 1, 2, 3, 4)
    r.sadd(k("b"), 2, 3, 4, 5)
    assert r.sintercard(2, [k("a"), k("b")]) == 3
    assert r.sintercard(2, [k("a"), k("b")], limit=2) == 2
    assert r.sintercard(1, [k("a")]) == 4
    assert r.sintercard(2, [k("a"), k("missing")]) == 0


def test_sscan(r: SocketRedis, k: Keys) -> None:
    members = {f"m{i}" for i in range(50)} | {"other"}
    r.sadd(k("s"), *members)
    cursor, found = r.sscan(k("s"), count=5)
    assert type(cursor) is int and type(found) is list
    seen = set(found)
    while cursor:
        cursor, found = r.sscan(k("s"), cursor, count=5)
        seen.update(found)
    assert seen == t(r, members)
    assert set(r.sscan_iter(k("s"), match="m1*")) == t(
        r, {m for m in members if m.startswith("m1")}
    )
    assert r.sscan(k("missing")) == (0, [])


# ============================================================================
# The same calls through redis-py


def sets_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["smembers missing"] = c.smembers(k("s"))
    out["sadd"] = c.sadd(k("s"), "a", "b", "c", 1)
    out["sadd again"] = c.sadd(k("s"), "a", "d")
    out["srem"] = c.srem(k("s"), "d", "nope")
    out["smembers"] = c.smembers(k("s"))
    out["sismember"] = bool(c.sismember(k("s"), "a"))
    out["smismember"] = [bool(x) for x in c.smismember(k("s"), ["a", "nope", 1])]
    out["scard"] = c.scard(k("s"))
    out["spop missing"] = c.spop(k("zz"))
    out["spop missing count"] = c.spop(k("zz"), 2)
    out["srandmember missing"] = c.srandmember(k("zz"))
    out["srandmember missing count"] = c.srandmember(k("zz"), 2)
    out["srandmember all"] = sort(c.srandmember(k("s"), 10))
    out["srandmember one type"] = type(c.srandmember(k("s")))
    c.sadd(k("p"), "x", "y", "z")
    popped = c.spop(k("p"), 3)
    out["spop count"] = (type(popped), sort(popped))
    c.sadd(k("p"), "x")
    out["spop"] = c.spop(k("p"))
    out["smove"] = c.smove(k("s"), k("t"), "a")
    out["smove missing"] = c.smove(k("s"), k("t"), "a")
    c.sadd(k("u"), "b", "q")
    out["sinter"] = c.sinter([k("s"), k("u")])
    out["sunion"] = c.sunion(k("s"), k("u"), k("t"))
    out["sdiff"] = c.sdiff(k("s"), k("u"))
    out["sinter empty"] = c.sinter(k("s"), k("zz"))
    out["sinterstore"] = c.sinterstore(k("i"), [k("s"), k("u")])
    out["sunionstore"] = c.sunionstore(k("v"), k("s"), k("u"))
    out["sdiffstore"] = c.sdiffstore(k("w"), [k("s"), k("u")])
    cursor, members = c.sscan(k("s"), 0, count=1000)
    out["sscan"] = (cursor, sort(members))
    out["sscan match"] = c.sscan(k("s"), match="c*")
    out["sscan missing"] = c.sscan(k("zz"))
    out["sscan_iter"] = sort(c.sscan_iter(k("v"), count=1))
    c.sadd(k("c1"), "a", "b", "c")
    c.sadd(k("c2"), "b", "c", "d")
    out["sintercard"] = c.sintercard(2, [k("c1"), k("c2")])
    out["sintercard limit"] = c.sintercard(2, [k("c1"), k("c2")], 1)
    out["sintercard missing"] = c.sintercard(2, [k("c1"), k("zz")])
    return out

def test_sismember_and_smismember_are_bools_equal_to_redis_py_ints(
    r: SocketRedis, theirs: redis.Redis, k: Keys
) -> None:
    # The one deliberate difference: bool where redis-py gives 0/1.
    r.sadd(k("s"), "a")
    assert r.sismember(k("s"), "a") is True
    assert theirs.sismember(k("s"), "a") == 1
    assert r.smismember(k("s"), ["a", "b"]) == theirs.smismember(k("s"), ["a", "b"])


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_sets_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(sets_scenario)


# ============================================================================
# What is sent, and Redis 8.8's SUNIONCARD/SDIFFCARD replies, against redis-py


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("sintercard", (2, ["a", "b"]), {}),
        ("sintercard", (1, ["a"], 5), {}),
        ("sdiffcard", (2, ["a", "b"], 3), {}),
        ("sdiffcard", (3, ["a", "b", "c"]), {}),
        ("sunioncard", (2, ["a", "b"]), {}),
        ("sunioncard", (2, ["a", "b"], 7, True), {}),
        ("sunioncard", (1, ["a"]), {"approx": True}),
    ],
)
def test_sends_what_redis_py_sends(method: str, args: tuple[Any, ...],
                                   kwargs: dict[str, Any]) -> None:
    assert_sends_same(method, *args, **kwargs)


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("sintercard", (3, ["a", "b"])),  # numkeys must count the keys
        ("sintercard", (0, [])),
        ("sdiffcard", (2, ["a", "b"], -1)),
        ("sunioncard", (2, ["a", "b"], "7x")),
        ("sunioncard", ("2x", ["a", "b"])),
    ],
)
def test_stricter_checks_raise_data_error_and_send_nothing(
    method: str, args: tuple[Any, ...]
) -> None:
    assert_refused_before_sending(method, *args)


def test_a_bare_key_is_one_key() -> None:
    # redis-py sends each character of "ab" as a key; greenpool sends one key
    # (so numkeys=2 does not count it).
    assert ours("sintercard", 1, "ab")[1] == [("SINTERCARD", 1, "ab", "LIMIT", 0)]
    error, theirs, count = refusals("sintercard", 2, "ab")
    assert isinstance(error, DataError) and theirs is None and count == 0


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize(
    ("method", "args"),
    [("sunioncard", (2, ["a", "b"], 0, True)), ("sdiffcard", (2, ["a", "b"]))],
)
def test_newer_replies_are_shaped_as_redis_py_shapes_them(
    method: str, args: tuple[Any, ...], protocol: int
) -> None:
    assert_same_results(method, *args, reply=5, protocol=protocol)
