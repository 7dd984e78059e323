"""The hash group (hashes) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from canned import assert_refused_alike, assert_refused_before_sending, assert_same_results, ours
from commands_executor import Keys, SocketRedis, sort, t
from wire import assert_sends_same, sent

from greenpool.redis.commands import HashDataPersistOptions

# redis-py marks its methods for Redis 8 commands experimental, with a warning.
pytestmark = pytest.mark.filterwarnings("ignore:Call to .*experimental:UserWarning")

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

def test_hmset(r: SocketRedis, k: Keys) -> None:
    assert r.hmset(k("h"), {"a": 1, "b": "two"}) is True
    assert r.hmset(k("h"), {"a": 3}) is True
    assert r.hgetall(k("h")) == t(r, {"a": "3", "b": "two"})


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
    out["hmset"] = c.hmset(k("m"), {"a": 1, "b": 2.5})
    out["hmset again"] = c.hmset(k("m"), {"a": "x"})
    out["hmset result"] = c.hgetall(k("m"))
    return out


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_hashes_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(hashes_scenario)


# ============================================================================
# Redis 7.4/8.0 commands (hash-field expiry, HGETDEL, HGETEX, HSETEX): what is
# sent, and the replies shaped, against redis-py

_WHEN = datetime.datetime(2040, 1, 1)


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("hexpire", ("h", 10, "a", "b"), {}),
        ("hexpire", ("h", datetime.timedelta(minutes=2), "a"), {"nx": True}),
        ("hexpire", ("h", 0, "a"), {"xx": True}),
        ("hpexpire", ("h", 1500, "a"), {"gt": True}),
        ("hpexpire", ("h", datetime.timedelta(seconds=2), "a", "b", "c"), {"lt": True}),
        ("hexpireat", ("h", 2_000_000_000, "a"), {}),
        ("hexpireat", ("h", _WHEN, "a"), {"xx": True}),
        ("hpexpireat", ("h", 2_000_000_000_000, "a"), {"nx": True}),
        ("hpexpireat", ("h", _WHEN, "a", "b"), {"lt": True}),
        ("hpersist", ("h", "a", "b"), {}),
        ("httl", ("h", "a"), {}),
        ("hpttl", ("h", "a", "b"), {}),
        ("hexpiretime", ("h", "a"), {}),
        ("hpexpiretime", ("h", "a", b"b"), {}),
        ("hgetdel", ("h", "a"), {}),
        ("hgetdel", ("h", "a", "b", "c"), {}),
        ("hgetex", ("h", "a"), {}),
        ("hgetex", ("h", "a", "b"), {"ex": 5}),
        ("hgetex", ("h", "a"), {"px": datetime.timedelta(seconds=3)}),
        ("hgetex", ("h", "a"), {"exat": _WHEN}),
        ("hgetex", ("h", "a"), {"pxat": 2_000_000_000_000}),
        ("hgetex", ("h", "a"), {"persist": True}),
        ("hsetex", ("h", "a", 1), {}),
        ("hsetex", ("h",), {"mapping": {"a": 1, "b": 2}, "items": ["c", 3], "ex": 5}),
        ("hsetex", ("h", "k", "v"), {"px": 700, "data_persist_option": HashDataPersistOptions.FNX}),
        ("hsetex", ("h", "k", "v"),
         {"keepttl": True, "data_persist_option": HashDataPersistOptions.FXX}),
        ("hsetex", ("h",), {"items": ["a", 1], "exat": _WHEN}),
        ("hsetex", ("h",), {"mapping": {"a": 1}, "pxat": 2_000_000_000_000}),
        ("hmset", ("h", {"a": 1, "b": 2}), {}),
    ],
)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_sends_what_redis_py_sends(method: str, args: tuple[Any, ...],
                                   kwargs: dict[str, Any]) -> None:
    assert_sends_same(method, *args, **kwargs)


def test_hsetex_takes_redis_py_enum_and_strings() -> None:
    from redis.commands.core import HashDataPersistOptions as TheirOptions

    wire = [[b"HSETEX", b"h", b"FXX", b"FIELDS", b"1", b"a", b"1"]]
    assert sent("hsetex", "h", "a", 1, data_persist_option=TheirOptions.FXX) == (wire, wire)
    assert ours("hsetex", "h", "a", 1, data_persist_option="fxx")[1] == [
        ("HSETEX", "h", "FXX", "FIELDS", 1, "a", 1)
    ]


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("hexpire", ("h", 10, "a"), {"nx": True, "xx": True}),
        ("hexpire", ("h", 10, "a"), {"xx": True, "gt": True}),
        ("hpexpire", ("h", 10, "a"), {"gt": True, "lt": True}),
        ("hexpireat", ("h", 10**10, "a"), {"nx": True, "lt": True}),
        ("hpexpireat", ("h", 10**13, "a"), {"xx": True, "lt": True}),
        ("hgetdel", ("h",), {}),
        ("hgetex", ("h",), {}),
        ("hgetex", ("h", "a"), {"ex": 1, "px": 1000}),
        ("hgetex", ("h", "a"), {"exat": 10**10, "persist": True}),
        ("hsetex", ("h",), {}),
        ("hsetex", ("h",), {"items": ["a"]}),
        ("hsetex", ("h", "a", 1), {"ex": 1, "keepttl": True}),
        ("hsetex", ("h", "a", 1), {"px": 1, "pxat": 10**13}),
        ("hmset", ("h", {}), {}),
    ],
)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_bad_arguments_are_refused_as_redis_py_refuses_them(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert_refused_alike(method, *args, **kwargs)


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("hexpire", ("h", 10), {}),  # no field: redis-py sends FIELDS 0
        ("hpersist", ("h",), {}),
        ("httl", ("h",), {}),
        ("hexpire", ("h", "10s", "a"), {}),
        ("hexpireat", ("h", 0, "a"), {}),
        ("hpexpireat", ("h", "soon", "a"), {}),
        ("hsetex", ("h", "a"), {}),  # a key without a value
        ("hsetex", ("h", "a", 1), {"data_persist_option": "NX"}),
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
        ("hexpire", ("h", 10, "a", "b", "c"), {}, [1, 0, -2]),
        ("hpexpire", ("h", 10, "a"), {}, [2]),
        ("hexpireat", ("h", 10**10, "a"), {}, [1]),
        ("hpexpireat", ("h", 10**13, "a"), {}, [-2]),
        ("hpersist", ("h", "a", "b"), {}, [1, -1]),
        ("httl", ("h", "a", "b"), {}, [100, -2]),
        ("hpttl", ("h", "a"), {}, [99_500]),
        ("hexpiretime", ("h", "a"), {}, [2_000_000_000]),
        ("hpexpiretime", ("h", "a", "b"), {}, [-1, 2_000_000_000_000]),
        ("hgetdel", ("h", "a", "b"), {}, [b"1", None]),
        ("hgetex", ("h", "a", "b"), {"ex": 5}, [None, b"x"]),
        ("hsetex", ("h", "a", 1), {}, 1),
        ("hsetex", ("h", "a", 1), {"data_persist_option": HashDataPersistOptions.FNX}, 0),
    ],
)
def test_newer_replies_are_shaped_as_redis_py_shapes_them(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], reply: Any, protocol: int
) -> None:
    assert_same_results(method, *args, reply=reply, protocol=protocol, **kwargs)


# ============================================================================
# HIMPORT (Redis 8.8): fieldsets prepared on every connection of the client


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("himport_set", ("h", "fs", ["v1", 2, b"v3"])),
        ("himport_set", ("h", "fs", ("one",))),
        ("himport_prepare_internal", ("fs", ["a", "b"])),
        ("himport_discard_internal", ("fs",)),
        ("himport_discard_all_internal", ()),
    ],
)
def test_himport_commands_send_what_redis_py_sends(method: str, args: tuple[Any, ...]) -> None:
    assert_sends_same(method, *args)


def test_himport_prepare_and_discard_send_at_once() -> None:
    # redis-py keeps them in a registry and sends them lazily, per connection;
    # greenpool sends them at once, and the client applies them to every
    # connection (the command table marks them per-connection settings).
    assert ours("himport_prepare", "fs", ["a", "b"])[1] == [("HIMPORT", "PREPARE", "fs", "a", "b")]
    assert ours("himport_discard", "fs")[1] == [("HIMPORT", "DISCARD", "fs")]
    assert ours("himport_discard_all")[1] == [("HIMPORT", "DISCARDALL")]


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize(
    ("method", "args", "reply"),
    [
        ("himport_set", ("h", "fs", ["v"]), b"OK"),
        ("himport_prepare_internal", ("fs", ["a"]), b"OK"),
        ("himport_discard_internal", ("fs",), 1),
        ("himport_discard_all_internal", (), 3),
    ],
)
def test_himport_replies_are_shaped_as_redis_py_shapes_them(
    method: str, args: tuple[Any, ...], reply: Any, protocol: int
) -> None:
    assert_same_results(method, *args, reply=reply, protocol=protocol)


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("himport_set", ("h", "fs", "value")),
        ("himport_set", ("h", "fs", b"value")),
        ("himport_prepare", ("fs", "field")),
        ("himport_prepare", ("fs", [])),
    ],
)
def test_himport_bad_arguments_are_refused_as_redis_py_refuses_them(
    method: str, args: tuple[Any, ...]
) -> None:
    assert_refused_alike(method, *args)


@pytest.mark.parametrize(
    ("method", "args"),
    [("himport_set", ("h", "fs", [])), ("himport_prepare_internal", ("fs", 5))],
)
def test_himport_stricter_checks_raise_data_error_and_send_nothing(
    method: str, args: tuple[Any, ...]
) -> None:
    assert_refused_before_sending(method, *args)
