"""The hash group (hashes) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from commands_executor import Keys, SocketRedis, sort, t

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def test_hset_forms(r: SocketRedis, k: Keys) -> None:
    assert r.hset(k("h"), "a", 1) == 1
    assert r.hset(k("h"), "a", 2) == 0
    assert r.hset(k("h"), mapping={"b": "x", "c": 3.5}) == 2
    assert r.hset(k("h"), items=["d", 4, "e", 5]) == 2
    assert r.hset(k("h"), "f", 6, mapping={"g": 7}, items=["a", 9]) == 2
    assert r.hgetall(k("h")) == t(
        r, {"a": "9", "b": "x", "c": "3.5", "d": "4", "e": "5", "f": "6", "g": "7"}
    )

def test_hash_reads(r: SocketRedis, k: Keys) -> None:
    assert r.hgetall(k("h")) == {}
    r.hset(k("h"), mapping={"a": "1", "b": "two"})
    assert r.hget(k("h"), "a") == t(r, "1")
    assert r.hget(k("h"), "zz") is None
    assert r.hget(k("missing"), "a") is None
    assert r.hmget(k("h"), ["a", "zz", "b"]) == t(r, ["1", None, "two"])
    assert r.hmget(k("h"), "a", "b") == t(r, ["1", "two"])
    result = r.hgetall(k("h"))
    assert type(result) is dict and result == t(r, {"a": "1", "b": "two"})
    assert r.hexists(k("h"), "a") is True
    assert r.hexists(k("h"), "zz") is False
    assert sorted(r.hkeys(k("h"))) == t(r, ["a", "b"])
    assert sorted(r.hvals(k("h"))) == t(r, ["1", "two"])
    assert r.hlen(k("h")) == 2
    assert r.hlen(k("missing")) == 0
    assert r.hstrlen(k("h"), "b") == 3
    assert r.hstrlen(k("h"), "zz") == 0

def test_hash_writes(r: SocketRedis, k: Keys) -> None:
    assert r.hsetnx(k("h"), "a", 1) == 1
    assert r.hsetnx(k("h"), "a", 2) == 0
    assert r.hincrby(k("h"), "a") == 2
    assert r.hincrby(k("h"), "a", -5) == -3
    value = r.hincrbyfloat(k("h"), "f", 1.25)
    assert type(value) is float and value == 1.25
    assert r.hincrbyfloat(k("h"), "f") == 2.25
    assert r.hdel(k("h"), "a", "zz") == 1
    assert r.hdel(k("h"), "a") == 0
    assert r.hgetall(k("h")) == t(r, {"f": "2.25"})

def test_hrandfield(r: SocketRedis, k: Keys) -> None:
    assert r.hrandfield(k("missing")) is None
    assert r.hrandfield(k("missing"), 2) == []
    fields = {"a": "1", "b": "2", "c": "3"}
    r.hset(k("h"), mapping=fields)
    assert r.hrandfield(k("h")) in t(r, list(fields))
    picked = r.hrandfield(k("h"), 2)
    assert isinstance(picked, list) and len(set(picked)) == 2
    assert set(picked) <= set(t(r, list(fields)))
    assert len(r.hrandfield(k("h"), -5)) == 5
    flat = r.hrandfield(k("h"), 3, withvalues=True)
    assert isinstance(flat, list) and len(flat) == 6
    assert dict(zip(flat[::2], flat[1::2], strict=True)) == t(r, fields)
    assert len(r.hrandfield(k("h"), -4, withvalues=True)) == 8

def test_hscan(r: SocketRedis, k: Keys) -> None:
    fields = {f"f{i}": str(i) for i in range(40)}
    r.hset(k("h"), mapping=fields)
    cursor, data = r.hscan(k("h"), 0, count=5)
    assert type(cursor) is int and type(data) is dict
    gathered = dict(data)
    while cursor:
        cursor, data = r.hscan(k("h"), cursor, count=5)
        gathered.update(data)
    assert gathered == t(r, fields)
    assert r.hscan(k("missing")) == (0, {})
    small = {"x1": "a", "x2": "b", "y": "c"}
    r.hset(k("small"), mapping=small)
    assert sorted(r.hscan_iter(k("small"), match="x*")) == t(r, [("x1", "a"), ("x2", "b")])
    assert dict(r.hscan_iter(k("h"), count=3)) == t(r, fields)


# ============================================================================
# The same calls through redis-py


def hashes_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["hgetall missing"] = c.hgetall(k("h"))
    out["hset"] = c.hset(k("h"), "a", 1)
    out["hset mapping"] = c.hset(k("h"), mapping={"b": "x", "c": 2.5})
    out["hset items"] = c.hset(k("h"), items=["d", 4, "a", 9])
    out["hset all"] = c.hset(k("h"), "e", 5, mapping={"f": 6}, items=["g", 7])
    out["hsetnx yes"] = c.hsetnx(k("h"), "z", 1)
    out["hsetnx no"] = c.hsetnx(k("h"), "z", 2)
    out["hget"] = c.hget(k("h"), "b")
    out["hget missing"] = c.hget(k("h"), "nope")
    out["hmget"] = c.hmget(k("h"), ["a", "nope", "c"])
    out["hmget args"] = c.hmget(k("h"), "a", "b")
    out["hgetall"] = c.hgetall(k("h"))
    out["hexists"] = c.hexists(k("h"), "a")
    out["hexists no"] = c.hexists(k("h"), "nope")
    out["hincrby"] = c.hincrby(k("h"), "a")
    out["hincrby amount"] = c.hincrby(k("h"), "a", -20)
    out["hincrbyfloat"] = c.hincrbyfloat(k("h"), "c", 0.25)
    out["hincrbyfloat default"] = c.hincrbyfloat(k("h"), "new")
    out["hkeys"] = c.hkeys(k("h"))
    out["hvals"] = c.hvals(k("h"))
    out["hlen"] = c.hlen(k("h"))
    out["hstrlen"] = c.hstrlen(k("h"), "b")
    out["hdel"] = c.hdel(k("h"), "a", "nope")
    out["hrandfield missing"] = c.hrandfield(k("zz"))
    out["hrandfield missing count"] = c.hrandfield(k("zz"), 3)
    c.hset(k("small"), mapping={"x": "1", "y": "2"})
    field = c.hrandfield(k("small"))
    out["hrandfield one type"] = type(field)
    out["hrandfield all"] = sort(c.hrandfield(k("small"), 2))
    flat = c.hrandfield(k("small"), 2, withvalues=True)
    out["hrandfield withvalues"] = (
        type(flat),
        len(flat),
        sort(zip(flat[::2], flat[1::2], strict=True)),
    )
    cursor, data = c.hscan(k("h"), 0, count=1000)
    out["hscan"] = (cursor, data)
    out["hscan match"] = c.hscan(k("h"), match="[ab]*")
    out["hscan missing"] = c.hscan(k("zz"))
    out["hscan_iter"] = sort(c.hscan_iter(k("h"), count=2))
    return out


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_hashes_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(hashes_scenario)
