"""The stream group (streams) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent
import pytest
from commands_executor import Keys, SocketRedis, assert_refused, t
from helpers import wait_until
from wire import assert_sends_same, case, results_by

from greenpool.redis import Redis
from greenpool.testing import RedisServer

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def test_xadd_xrange(r: SocketRedis, k: Keys) -> None:
    first = r.xadd(k("s"), {"f": "v", "n": 1})
    assert type(first) is (str if r.decode_responses else bytes)
    assert r.xadd(k("s"), {"g": "w"}, id="9999999999999-0") == t(r, "9999999999999-0")
    assert r.xlen(k("s")) == 2
    entries = r.xrange(k("s"))
    assert entries == [
        (first, t(r, {"f": "v", "n": "1"})),
        (t(r, "9999999999999-0"), t(r, {"g": "w"})),
    ]
    assert type(entries[0]) is tuple
    assert r.xrange(k("s"), count=1) == entries[:1]
    assert r.xrange(k("s"), min="9999999999999", max="+") == entries[1:]
    assert r.xrevrange(k("s")) == entries[::-1]
    assert r.xrevrange(k("s"), max="+", min="-", count=1) == entries[1:]
    assert r.xrange(k("missing")) == []
    assert r.xadd(k("missing"), {"a": 1}, nomkstream=True) is None
    assert r.xlen(k("missing")) == 0
    assert r.xdel(k("s"), first, "1-1") == 1
    assert r.xlen(k("s")) == 1

def test_xadd_and_xtrim_trimming(r: SocketRedis, k: Keys) -> None:
    for i in range(1, 11):
        r.xadd(k("s"), {"i": i}, id=f"{i}-0")
    assert r.xadd(k("s"), {"i": 11}, id="11-0", maxlen=5, approximate=False) == t(r, "11-0")
    assert r.xlen(k("s")) == 5
    r.xadd(k("s"), {"i": 12}, id="12-0", minid="9", approximate=False)
    assert [entry_id for entry_id, _ in r.xrange(k("s"))] == t(r, ["9-0", "10-0", "11-0", "12-0"])
    r.xadd(k("s"), {"i": 13}, id="13-0", maxlen=1, limit=10)
    length = r.xlen(k("s"))
    assert 1 <= length <= 5
    assert r.xtrim(k("s"), maxlen=2, approximate=False) == length - 2
    assert r.xlen(k("s")) == 2
    assert r.xtrim(k("s"), minid="13", approximate=False) == 1
    # Approximate trimming removes whole nodes only, here maybe the last entry.
    left = 1 - r.xtrim(k("s"), maxlen=0, limit=100)
    assert r.xtrim(k("s"), maxlen=0, approximate=False) == left
    assert r.xlen(k("s")) == 0

def test_xread(r: SocketRedis, k: Keys) -> None:
    assert r.xread({k("s"): "0"}) == []
    r.xadd(k("s"), {"a": 1}, id="1-0")
    r.xadd(k("s"), {"b": 2}, id="2-0")
    r.xadd(k("t"), {"c": 3}, id="3-0")
    result = r.xread({k("s"): "0", k("t"): "0"})
    assert result == [
        [t(r, k("s")), [(t(r, "1-0"), t(r, {"a": "1"})), (t(r, "2-0"), t(r, {"b": "2"}))]],
        [t(r, k("t")), [(t(r, "3-0"), t(r, {"c": "3"}))]],
    ]
    assert r.xread({k("s"): "1-0"}, count=5) == [[t(r, k("s")), [(t(r, "2-0"), t(r, {"b": "2"}))]]]
    assert r.xread({k("s"): "0"}, count=1)[0][1] == [(t(r, "1-0"), t(r, {"a": "1"}))]
    assert r.xread({k("s"): "2-0"}) == []
    assert not r.blocking

def test_xread_block(r: SocketRedis, k: Keys) -> None:
    r.xadd(k("s"), {"a": 1}, id="1-0")
    assert r.xread({k("s"): "0"}, block=1000) == [[t(r, k("s")), [(t(r, "1-0"), t(r, {"a": "1"}))]]]
    start = time.monotonic()
    assert r.xread({k("s"): "$"}, block=50) == []
    assert time.monotonic() - start >= 0.04
    assert r.xread({k("s"): "0"}, block=0, count=1) != []
    assert [timeout for _, timeout in r.blocking] == [1.0, 0.05, None]
    assert r.blocking[0][0] == ("XREAD", "BLOCK", 1000, "STREAMS", k("s"), "0")


def test_consumer_group_lifecycle(r: SocketRedis, k: Keys) -> None:
    s = k("s")
    assert r.xgroup_create(s, "g", mkstream=True) is True
    assert r.xadd(s, {"a": 1}, id="1-0") == t(r, "1-0")
    r.xadd(s, {"b": 2}, id="2-0")
    assert r.xgroup_createconsumer(s, "g", "idle") == 1
    assert r.xgroup_createconsumer(s, "g", "idle") == 0
    read = r.xreadgroup("g", "c1", {s: ">"}, count=1)
    assert read == [[t(r, s), [(t(r, "1-0"), t(r, {"a": "1"}))]]]
    assert type(read[0][1][0]) is tuple
    assert r.xreadgroup("g", "c2", {s: ">"}, noack=True) == [
        [t(r, s), [(t(r, "2-0"), t(r, {"b": "2"}))]]
    ]
    assert r.xreadgroup("g", "c1", {s: ">"}) == []
    assert r.xpending(s, "g") == {
        "pending": 1,
        "min": t(r, "1-0"),
        "max": t(r, "1-0"),
        "consumers": [{"name": t(r, "c1"), "pending": 1}],
    }
    (entry,) = r.xpending_range(s, "g", "-", "+", 10)
    assert entry["message_id"] == t(r, "1-0") and entry["consumer"] == t(r, "c1")
    assert entry["times_delivered"] == 1 and type(entry["time_since_delivered"]) is int
    assert r.xpending_range(s, "g", "-", "+", 10, consumername="c2") == []
    assert r.xpending_range(s, "g", "-", "+", 10, idle=3_600_000) == []
    assert r.xpending_range(s, "g", None, None, None) == r.xpending(s, "g")
    assert r.xclaim(s, "g", "c2", 0, ["1-0"]) == [(t(r, "1-0"), t(r, {"a": "1"}))]
    assert r.xclaim(s, "g", "c1", 0, ("1-0",), idle=5, retrycount=3, justid=True) == [
        t(r, "1-0")
    ]
    claimed = r.xautoclaim(s, "g", "c3", 0)
    assert claimed[:2] == [t(r, "0-0"), [(t(r, "1-0"), t(r, {"a": "1"}))]]
    assert r.xautoclaim(s, "g", "c1", 0, "0-0", count=1, justid=True) == [t(r, "1-0")]
    r.xdel(s, "1-0")
    # A deleted pending entry: XREADGROUP from an id reads it with no fields.
    assert r.xreadgroup("g", "c1", {s: "0"}) == [[t(r, s), [(t(r, "1-0"), {})]]]
    assert r.xack(s, "g", "1-0", "9-0") == 1
    assert r.xgroup_setid(s, "g", "0", entries_read=0) is True
    groups = r.xinfo_groups(s)
    assert [group["name"] for group in groups] == [t(r, "g")]
    assert all(type(key) is str for key in groups[0])
    consumers = r.xinfo_consumers(s, "g")
    assert {consumer["name"] for consumer in consumers} == set(t(r, ["idle", "c1", "c2", "c3"]))
    assert r.xgroup_delconsumer(s, "g", "idle") == 0
    assert r.xgroup_destroy(s, "g") is True
    assert r.xgroup_destroy(s, "g") is False
    assert r.xinfo_groups(s) == []

def test_xinfo_stream(r: SocketRedis, k: Keys) -> None:
    s = k("s")
    r.xadd(s, {"a": 1}, id="1-0")
    r.xadd(s, {"b": 2}, id="2-0")
    info = r.xinfo_stream(s)
    assert info["length"] == 2 and all(type(key) is str for key in info)
    assert info["first-entry"] == (t(r, "1-0"), t(r, {"a": "1"}))
    assert info["last-entry"] == (t(r, "2-0"), t(r, {"b": "2"}))
    r.xgroup_create(s, "g", "0")
    r.xreadgroup("g", "c", {s: ">"}, count=1)
    full = r.xinfo_stream(s, full=True)
    assert full["entries"] == {t(r, "1-0"): t(r, {"a": "1"}), t(r, "2-0"): t(r, {"b": "2"})}
    (group,) = full["groups"]
    assert group["name"] == t(r, "g") and group["pel-count"] == 1
    (consumer,) = group["consumers"]
    assert consumer["name"] == t(r, "c") and all(type(key) is str for key in consumer)

def test_xreadgroup_block(r: SocketRedis, k: Keys) -> None:
    s = k("s")
    r.xgroup_create(s, "g", "$", mkstream=True)
    start = time.monotonic()
    assert r.xreadgroup("g", "c", {s: ">"}, block=50) == []
    assert time.monotonic() - start >= 0.04
    r.xadd(s, {"a": 1}, id="1-0")
    assert r.xreadgroup("g", "c", {s: ">"}, count=1, block=0) != []
    assert [timeout for _, timeout in r.blocking] == [0.05, None]
    assert r.blocking[0][0] == ("XREADGROUP", "GROUP", "g", "c", "BLOCK", 50, "STREAMS", s, ">")


def test_xreadgroup_block_blocks_a_dedicated_connection(
    redis_server: RedisServer, k: Keys
) -> None:
    with Redis(host=redis_server.host, port=redis_server.port, decode_responses=True) as client:
        client.xgroup_create(k("s"), "g", mkstream=True)
        waiter = gevent.spawn(client.xreadgroup, "g", "c", {k("s"): ">"}, block=5000)
        wait_until(lambda: client.dedicated_pool.checkedout() == 1)
        assert client.xadd(k("s"), {"a": 1}, id="1-0") == "1-0"  # the shared ones are free
        assert waiter.get(timeout=5) == [[k("s"), [("1-0", {"a": "1"})]]]
        assert client.xreadgroup("g", "c", {k("s"): ">"}, block=50) == []
        assert client.dedicated_pool.checkedout() == 0


def test_shapes_apply_in_a_pipeline(redis_server: RedisServer, k: Keys) -> None:
    with Redis(host=redis_server.host, port=redis_server.port, protocol=3) as client:
        with client.pipeline() as pipe:
            pipe.xgroup_create(k("s"), "g", "0", mkstream=True).xadd(k("s"), {"a": 1}, id="1-0")
            pipe.xreadgroup("g", "c", {k("s"): ">"}).xpending(k("s"), "g")
            pipe.xinfo_consumers(k("s"), "g").xgroup_destroy(k("s"), "g")
            created, added, read, pending, consumers, destroyed = pipe.execute()
        s = k("s").encode()
        assert (created, added, destroyed) == (True, b"1-0", True)
        assert read == {s: [[(b"1-0", {b"a": b"1"})]]}  # redis-py's protocol=3 shape
        assert pending["consumers"] == [{"name": b"c", "pending": 1}]
        assert [consumer["name"] for consumer in consumers] == [b"c"]


STREAM_WIRE = [
    case("xadd", "s", {"a": 1, "b": "x"}),
    case("xadd", "s", {"a": 1}, id="5-0", maxlen=10, approximate=False),
    case("xadd", "s", {"a": 1}, maxlen=10, limit=100, nomkstream=True),
    case("xadd", "s", {"a": 1}, minid="5-0", approximate=False),
    case("xadd", "s", {"a": 1}, minid="5", limit=7, ref_policy="DELREF"),
    case("xadd", "s", {"a": 1}, idmpauto="producer-1", maxlen=3),
    case("xadd", "s", {"a": 1}, idmp=("producer-1", b"iid-9"), nomkstream=True,
         ref_policy="ACKED"),
    case("xcfgset", "s", idmp_duration=100),
    case("xcfgset", "s", idmp_maxsize=1000),
    case("xcfgset", "s", 300, 1_000_000),
    case("xlen", "s"),
    case("xrange", "s"),
    case("xrange", "s", "1-0", "9", count=3),
    case("xrevrange", "s", count=1),
    case("xdel", "s", "1-0", "2-0"),
    case("xdelex", "s", "1-0"),
    case("xdelex", "s", "1-0", "2-0", ref_policy="ACKED"),
    case("xtrim", "s", maxlen=10),
    case("xtrim", "s", maxlen=0, approximate=False),
    case("xtrim", "s", minid="3-0", limit=50, ref_policy="KEEPREF"),
    case("xtrim", "s", minid="3-0", approximate=False, ref_policy="DELREF"),
    case("xread", {"s": "0", "t": "$"}),
    case("xread", {"s": "0"}, count=5, block=100),
    case("xread", {"s": "0"}, 5, 0, 10, 4096),
    case("xread", {"s": "0"}, max_count=3),
    case("xgroup_create", "s", "g"),
    case("xgroup_create", "s", "g", "0", mkstream=True, entries_read=5),
    case("xgroup_setid", "s", "g", "$"),
    case("xgroup_setid", "s", "g", "0", entries_read=0),
    case("xgroup_destroy", "s", "g"),
    case("xgroup_createconsumer", "s", "g", "c"),
    case("xgroup_delconsumer", "s", "g", "c"),
    case("xreadgroup", "g", "c", {"s": ">"}),
    case("xreadgroup", "g", "c", {"s": ">", "t": "0"}, count=2, block=10, noack=True),
    case("xreadgroup", "g", "c", {"s": ">"}, claim_min_idle_time=500, max_count=9),
    case("xreadgroup", "g", "c", {"s": ">"}, 3, None, False, 0, 4, 1024),
    case("xack", "s", "g", "1-0", "2-0"),
    case("xackdel", "s", "g", "1-0"),
    case("xackdel", "s", "g", "1-0", "2-0", ref_policy="DELREF"),
    case("xnack", "s", "g", "SILENT", "1-0"),
    case("xnack", "s", "g", "FATAL", "1-0", "2-0", retrycount=0, force=True),
    case("xclaim", "s", "g", "c", 0, ["1-0"]),
    case("xclaim", "s", "g", "c", 100, ("1-0", "2-0"), idle=5, time=10**12, retrycount=2,
         force=True, justid=True),
    case("xautoclaim", "s", "g", "c", 10),
    case("xautoclaim", "s", "g", "c", 0, "5-0", count=25, justid=True),
    case("xpending", "s", "g"),
    case("xpending_range", "s", "g", "-", "+", 10),
    case("xpending_range", "s", "g", "-", "+", 10, consumername="c", idle=1000),
    case("xpending_range", "s", "g", None, None, None),
    case("xinfo_stream", "s"),
    case("xinfo_stream", "s", full=True),
    case("xinfo_groups", "s"),
    case("xinfo_consumers", "s", "g"),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), STREAM_WIRE)
def test_sends_what_redis_py_sends(method: str, args: Any, kwargs: Any) -> None:
    assert_sends_same(method, *args, **kwargs)


K = "gp-cmd-stream:never-written"

STREAM_BAD: list[tuple[str, Callable[[SocketRedis], Any], str, Any]] = [
    ("xadd ref_policy", lambda r: r.xadd(K, {"a": 1}, ref_policy="KEEP"), "ref_policy", "KEEP"),
    ("xadd idmpauto and idmp",
     lambda r: r.xadd(K, {"a": 1}, idmpauto="p", idmp=("p", b"i")), "idmpauto", "p"),
    ("xadd idmp with id", lambda r: r.xadd(K, {"a": 1}, id="1-0", idmpauto="p"), "id", "1-0"),
    ("xadd idmp not a pair", lambda r: r.xadd(K, {"a": 1}, idmp=["p", "i"]), "idmp",
     ["p", "i"]),
    ("xcfgset nothing", lambda r: r.xcfgset(K), "idmp_duration", None),
    ("xcfgset duration", lambda r: r.xcfgset(K, idmp_duration=301), "idmp_duration", 301),
    ("xcfgset maxsize", lambda r: r.xcfgset(K, idmp_maxsize=0), "idmp_maxsize", 0),
    ("xdelex no id", lambda r: r.xdelex(K), "ids", ()),
    ("xdelex ref_policy", lambda r: r.xdelex(K, "1-0", ref_policy=None), "ref_policy", None),
    ("xtrim ref_policy", lambda r: r.xtrim(K, maxlen=1, ref_policy="ALL"), "ref_policy", "ALL"),
    ("xread max_count zero", lambda r: r.xread({K: "0"}, max_count=0), "max_count", 0),
    ("xread max_count below count",
     lambda r: r.xread({K: "0"}, count=5, max_count=4), "max_count", 4),
    ("xread max_size", lambda r: r.xread({K: "0"}, max_size=-1), "max_size", -1),
    ("xreadgroup no streams", lambda r: r.xreadgroup("g", "c", {}), "streams", {}),
    ("xreadgroup block", lambda r: r.xreadgroup("g", "c", {K: ">"}, block=-1), "block", -1),
    ("xreadgroup claim", lambda r: r.xreadgroup("g", "c", {K: ">"}, claim_min_idle_time=-1),
     "claim_min_idle_time", -1),
    ("xgroup_create entries_read", lambda r: r.xgroup_create(K, "g", entries_read="5x"),
     "entries_read", "5x"),
    ("xackdel no id", lambda r: r.xackdel(K, "g"), "ids", ()),
    ("xackdel ref_policy", lambda r: r.xackdel(K, "g", "1-0", ref_policy="x"), "ref_policy",
     "x"),
    ("xnack mode", lambda r: r.xnack(K, "g", "LOUD", "1-0"), "mode", "LOUD"),
    ("xnack no id", lambda r: r.xnack(K, "g", "FAIL"), "ids", ()),
    ("xnack retrycount", lambda r: r.xnack(K, "g", "FAIL", "1-0", retrycount=-1),
     "retrycount", -1),
    ("xclaim no ids", lambda r: r.xclaim(K, "g", "c", 0, []), "message_ids", []),
    ("xclaim one id", lambda r: r.xclaim(K, "g", "c", 0, "1-0"), "message_ids", "1-0"),
    ("xclaim min_idle_time", lambda r: r.xclaim(K, "g", "c", -1, ["1-0"]), "min_idle_time",
     -1),
    ("xclaim idle", lambda r: r.xclaim(K, "g", "c", 0, ["1-0"], idle=1.5), "idle", 1.5),
    ("xautoclaim min_idle_time", lambda r: r.xautoclaim(K, "g", "c", -5), "min_idle_time", -5),
    ("xautoclaim count", lambda r: r.xautoclaim(K, "g", "c", 0, count=0), "count", 0),
    ("xpending_range idle alone",
     lambda r: r.xpending_range(K, "g", None, None, None, idle=5), "min", None),
    ("xpending_range partial", lambda r: r.xpending_range(K, "g", "-", "+", None), "min", "-"),
    ("xpending_range count", lambda r: r.xpending_range(K, "g", "-", "+", -1), "count", -1),
]


@pytest.mark.parametrize(
    ("call", "argument", "value"), [b[1:] for b in STREAM_BAD], ids=[b[0] for b in STREAM_BAD]
)
def test_bad_argument(r: SocketRedis, call: Any, argument: str, value: Any) -> None:
    assert_refused(r, call, argument, value)


# Replies of commands the test server (7.0) does not know, as RESP2 and RESP3
# servers send them, shaped by greenpool and by redis-py's callbacks.
STREAM_CANNED: list[tuple[Callable[[Any], Any], Any, int]] = [
    (lambda c: c.xackdel("s", "g", "1-0", "2-0"), [1, -1], 2),
    (lambda c: c.xackdel("s", "g", "1-0", ref_policy="ACKED"), [2], 3),
    (lambda c: c.xdelex("s", "1-0", "2-0", "3-0"), [1, -1, 2], 2),
    (lambda c: c.xdelex("s", "1-0"), [1], 3),
    (lambda c: c.xnack("s", "g", "FAIL", "1-0"), 1, 2),
    (lambda c: c.xcfgset("s", 100), b"OK", 2),
    (lambda c: c.xcfgset("s", 100), b"OK", 3),
    (lambda c: c.xadd("s", {"a": 1}, idmpauto="p"), b"1-0", 3),
    (lambda c: c.xtrim("s", maxlen=0, ref_policy="ACKED"), 4, 2),
    (lambda c: c.xread({"s": "0"}, max_count=1), [[b"s", [[b"1-0", [b"a", b"1"]]]]], 2),
    (lambda c: c.xread({"s": "0"}, max_size=100), {b"s": [[b"1-0", [b"a", b"1"]]]}, 3),
    (lambda c: c.xread({"s": "0"}, max_size=100), None, 3),
    (
        lambda c: c.xreadgroup("g", "c", {"s": ">"}, claim_min_idle_time=10),
        [[b"s", [[b"1-0", [b"a", b"1"], 25, 2], [b"2-0", [b"b", b"2"], 0, 1]]]],
        2,
    ),
    (
        lambda c: c.xreadgroup("g", "c", {"s": ">"}, claim_min_idle_time=10),
        {b"s": [[b"1-0", [b"a", b"1"], 25, 2]]},
        3,
    ),
    (lambda c: c.xreadgroup("g", "c", {"s": ">"}, claim_min_idle_time=10), None, 2),
]


@pytest.mark.parametrize(("call", "reply", "protocol"), STREAM_CANNED)
def test_newer_replies_shaped_as_redis_py_does(call: Any, reply: Any, protocol: int) -> None:
    ours, theirs = results_by(call, reply, protocol)
    assert ours == theirs
    assert type(ours) is type(theirs)


# ============================================================================
# The same calls through redis-py


def streams_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    s = k("s")
    out["xadd"] = c.xadd(s, {"f": "v", "n": 1}, id="1-0")
    out["xadd 2"] = c.xadd(s, {"g": "w"}, id="2-0")
    for i in range(3, 9):
        c.xadd(s, {"i": i}, id=f"{i}-0")
    out["xadd maxlen"] = c.xadd(s, {"i": 9}, id="9-0", maxlen=6, approximate=False)
    out["xadd nomkstream"] = c.xadd(k("zz"), {"a": 1}, nomkstream=True)
    out["xlen"] = c.xlen(s)
    out["xrange"] = c.xrange(s)
    out["xrange count"] = c.xrange(s, min="5", max="+", count=2)
    out["xrevrange"] = c.xrevrange(s, count=3)
    out["xrange missing"] = c.xrange(k("zz"))
    out["xdel"] = c.xdel(s, "4-0", "100-0")
    out["xtrim"] = c.xtrim(s, maxlen=3, approximate=False)
    out["xtrim minid"] = c.xtrim(s, minid="9", approximate=False)
    c.xadd(k("t"), {"c": 3}, id="3-0")
    out["xread"] = c.xread({s: "0", k("t"): "0"})
    out["xread count"] = c.xread({k("t"): "0"}, count=1)
    out["xread none"] = c.xread({k("t"): "3-0"})
    out["xread block"] = c.xread({k("t"): "0"}, block=500)
    out["xread block timeout"] = c.xread({k("t"): "$"}, block=10)
    g = k("g")
    out["xgroup_create"] = c.xgroup_create(g, "grp", "0", mkstream=True)
    out["xgroup_create entries_read"] = c.xgroup_create(s, "grp2", "$", entries_read=3)
    for i in range(1, 5):
        c.xadd(g, {"i": i}, id=f"{i}-0")
    out["xgroup_createconsumer"] = c.xgroup_createconsumer(g, "grp", "lazy")
    out["xreadgroup"] = c.xreadgroup("grp", "c1", {g: ">"}, count=2)
    out["xreadgroup noack"] = c.xreadgroup("grp", "c2", {g: ">"}, count=1, noack=True)
    out["xreadgroup block"] = c.xreadgroup("grp", "c2", {g: ">"}, block=100)
    out["xreadgroup none"] = c.xreadgroup("grp", "c2", {g: ">"}, block=10)
    out["xreadgroup history"] = c.xreadgroup("grp", "c1", {g: "0"})
    out["xpending"] = c.xpending(g, "grp")
    out["xpending empty"] = c.xpending(s, "grp2")
    out["xpending_range"] = untimed(c.xpending_range(g, "grp", "-", "+", 10))
    out["xpending_range consumer"] = untimed(c.xpending_range(g, "grp", "-", "+", 1, "c2"))
    out["xpending_range idle"] = c.xpending_range(g, "grp", "-", "+", 5, idle=3_600_000)
    out["xpending_range all none"] = c.xpending_range(g, "grp", None, None, None)
    out["xclaim"] = c.xclaim(g, "grp", "c3", 0, ["1-0", "9-0"])
    out["xclaim justid"] = c.xclaim(g, "grp", "c1", 0, ["1-0"], retrycount=4, justid=True)
    out["xclaim force"] = c.xclaim(g, "grp", "c1", 0, ["3-0"], force=True, idle=10)
    out["xautoclaim"] = c.xautoclaim(g, "grp", "c4", 0, count=2)
    out["xautoclaim justid"] = c.xautoclaim(g, "grp", "c1", 0, "2-0", justid=True)
    c.xdel(g, "2-0")
    out["xautoclaim deleted"] = c.xautoclaim(g, "grp", "c1", 0)
    out["xack"] = c.xack(g, "grp", "1-0", "3-0", "9-0")
    out["xinfo_stream"] = c.xinfo_stream(g)
    out["xinfo_stream empty"] = c.xinfo_stream(s)
    out["xinfo_groups"] = c.xinfo_groups(g)
    out["xinfo_consumers"] = untimed(c.xinfo_consumers(g, "grp"))
    out["xgroup_setid"] = c.xgroup_setid(g, "grp", "0", entries_read=0)
    out["xgroup_delconsumer"] = c.xgroup_delconsumer(g, "grp", "c1")
    out["xgroup_destroy"] = c.xgroup_destroy(g, "grp")
    out["xgroup_destroy again"] = c.xgroup_destroy(g, "grp")
    return out


TIMES = {"idle", "inactive", "seen-time", "active-time", "time_since_delivered"}


def untimed(value: Any) -> Any:
    """``value`` with its clock readings replaced by their type's name (they differ per run)."""
    if isinstance(value, dict):
        return {
            key: type(item).__name__ if key in TIMES else untimed(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(untimed(item) for item in value)
    if isinstance(value, int) and value > 10**12:  # a unix time in ms
        return "<time>"
    return value


def stream_info_full_scenario(c: Any, k: Keys) -> Results:
    """XINFO STREAM FULL: consumers as dicts with str keys on both protocols (RESP2's shape)."""
    out: Results = {}
    s = k("s")
    c.xadd(s, {"a": 1}, id="1-0")
    c.xadd(s, {"b": 2}, id="2-0")
    out["no group"] = c.xinfo_stream(s, full=True)
    c.xgroup_create(s, "grp", "0")
    out["no consumer"] = c.xinfo_stream(s, full=True)
    c.xreadgroup("grp", "c1", {s: ">"}, count=1)
    c.xgroup_createconsumer(s, "grp", "c2")
    out["consumers"] = untimed(c.xinfo_stream(s, full=True))
    return out


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_streams_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(streams_scenario)


def test_stream_info_full_is_resp2_shaped_on_both_protocols(crosscheck_resp2: Crosscheck) -> None:
    crosscheck_resp2(stream_info_full_scenario)

