"""The command surface against a real redis-server, under RESP2/RESP3 and decoding on/off.

Every test runs four times (see ``commands_executor.CONFIGS``) through
:class:`~commands_executor.SocketRedis`, a one-socket client built on the
mixin; the keys a test makes carry a prefix of its own and are deleted
afterwards.  Comparisons against redis-py are in ``test_commands_crosscheck``,
argument checks in ``test_commands_args``, and commands that affect the
whole server in ``test_commands_server``.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from commands_executor import CONFIG_IDS, CONFIGS, Keys, SocketRedis, key_namer, open_client, text

from greenpool.errors import ReplyError
from greenpool.redis.commands import Script
from greenpool.testing import RedisServer


@pytest.fixture(params=CONFIGS, ids=CONFIG_IDS)
def r(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[SocketRedis]:
    yield from open_client(redis_server, request.param)


@pytest.fixture
def k(r: SocketRedis, request: pytest.FixtureRequest) -> Iterator[Keys]:
    yield from key_namer(r, request)


def t(r: SocketRedis, value: Any) -> Any:
    return text(value, r)


def server_version(r: SocketRedis) -> tuple[int, ...]:
    return tuple(int(part) for part in r.info("server")["redis_version"].split("."))


# ============================================================================
# Connection and server
# ============================================================================


def test_ping_echo(r: SocketRedis) -> None:
    assert r.ping() is True
    assert r.echo("héllo") == t(r, "héllo")
    assert r.echo(42) == t(r, "42")


def test_info_is_a_dict_with_str_keys_and_typed_values(r: SocketRedis, k: Keys) -> None:
    r.set(k("a"), 1)
    info = r.info()
    assert all(type(key) is str for key in info)
    assert type(info["redis_version"]) is str
    assert type(info["connected_clients"]) is int
    assert type(info["mem_fragmentation_ratio"]) is float
    assert info["db0"]["keys"] >= 1
    assert set(info["db0"]) >= {"keys", "expires", "avg_ttl"}
    keyspace = r.info("keyspace")
    assert set(keyspace) == {"db0"} or all(name.startswith("db") for name in keyspace)
    assert "redis_version" not in keyspace
    both = r.info("server", "clients")
    assert "redis_version" in both and "connected_clients" in both
    everything = r.info("everything")
    assert any(key.startswith("cmdstat_") for key in everything)
    assert type(everything["cmdstat_set"]) is dict
    assert type(everything["cmdstat_set"]["calls"]) is int


def test_dbsize_and_time(r: SocketRedis, k: Keys) -> None:
    r.set(k("a"), 1)
    assert type(r.dbsize()) is int and r.dbsize() >= 1
    seconds, micros = r.time()
    assert type(seconds) is int and type(micros) is int
    assert abs(seconds - time.time()) < 5
    assert 0 <= micros < 1_000_000


def test_client_name_and_id(r: SocketRedis) -> None:
    assert r.client_getname() is None
    assert r.client_setname("gp-cmd-name") is True
    assert r.client_getname() == "gp-cmd-name"
    client_id = r.client_id()
    assert type(client_id) is int and client_id == r.raw("CLIENT", "ID")


def test_config_get(r: SocketRedis) -> None:
    assert r.config_get("maxmemory") == {"maxmemory": "0"}
    several = r.config_get("maxmemory*", "appendonly")
    assert several["appendonly"] == "no"
    assert "maxmemory-policy" in several
    assert all(type(key) is str and type(value) is str for key, value in several.items())
    assert r.config_get("no-such-parameter-*") == {}


# ============================================================================
# Strings and counters
# ============================================================================


def test_get_set_basic(r: SocketRedis, k: Keys) -> None:
    assert r.get(k("s")) is None
    assert r.set(k("s"), "value") is True
    assert r.get(k("s")) == t(r, "value")
    assert r.set(k("s"), 12) is True
    assert r.get(k("s")) == t(r, "12")
    assert r.set(k("s"), 1.5) is True
    assert r.get(k("s")) == t(r, "1.5")
    assert r.set(k("s"), b"raw") is True
    assert r.get(k("s")) == t(r, "raw")


def test_set_conditions_and_get(r: SocketRedis, k: Keys) -> None:
    assert r.set(k("s"), "a", nx=True) is True
    assert r.set(k("s"), "b", nx=True) is None
    assert r.set(k("missing"), "b", xx=True) is None
    assert r.get(k("missing")) is None
    assert r.set(k("s"), "c", xx=True) is True
    assert r.set(k("s"), "d", get=True) == t(r, "c")
    assert r.set(k("new"), "e", get=True) is None
    assert r.get(k("new")) == t(r, "e")
    assert r.set(k("s"), "f", nx=True, get=True) == t(r, "d")
    assert r.get(k("s")) == t(r, "d")


def test_set_expiry_options(r: SocketRedis, k: Keys) -> None:
    assert r.set(k("ex"), 1, ex=100) is True
    assert 90 <= r.ttl(k("ex")) <= 100
    assert r.set(k("ex"), 1, ex=datetime.timedelta(minutes=2)) is True
    assert 110 <= r.ttl(k("ex")) <= 120
    assert r.set(k("px"), 1, px=50_000) is True
    assert 40_000 <= r.pttl(k("px")) <= 50_000
    assert r.set(k("px"), 1, px=datetime.timedelta(seconds=30)) is True
    assert 20_000 <= r.pttl(k("px")) <= 30_000
    later = datetime.datetime.now() + datetime.timedelta(seconds=300)
    assert r.set(k("exat"), 1, exat=later) is True
    assert 290 <= r.ttl(k("exat")) <= 300
    assert r.set(k("exat"), 1, exat=int(time.time()) + 200) is True
    assert 190 <= r.ttl(k("exat")) <= 200
    assert r.set(k("pxat"), 1, pxat=int(time.time() * 1000) + 100_000) is True
    assert 90 <= r.ttl(k("pxat")) <= 100
    assert r.set(k("pxat"), 1, pxat=later) is True
    assert 290 <= r.ttl(k("pxat")) <= 300
    assert r.set(k("ex"), 2, keepttl=True) is True
    assert 100 <= r.ttl(k("ex")) <= 120
    assert r.set(k("ex"), 3) is True
    assert r.ttl(k("ex")) == -1


def test_getset_getdel_getex(r: SocketRedis, k: Keys) -> None:
    assert r.getset(k("s"), "a") is None
    assert r.getset(k("s"), "b") == t(r, "a")
    assert r.getex(k("s")) == t(r, "b")
    assert r.getex(k("s"), ex=100) == t(r, "b")
    assert 90 <= r.ttl(k("s")) <= 100
    assert r.getex(k("s"), px=datetime.timedelta(seconds=50)) == t(r, "b")
    assert 40 <= r.ttl(k("s")) <= 50
    assert r.getex(k("s"), exat=int(time.time()) + 200) == t(r, "b")
    assert 190 <= r.ttl(k("s")) <= 200
    assert r.getex(k("s"), pxat=datetime.datetime.now() + datetime.timedelta(seconds=30))
    assert 20 <= r.ttl(k("s")) <= 30
    assert r.getex(k("s"), persist=True) == t(r, "b")
    assert r.ttl(k("s")) == -1
    assert r.getex(k("missing"), ex=10) is None
    assert r.getdel(k("s")) == t(r, "b")
    assert r.getdel(k("s")) is None
    assert r.exists(k("s")) == 0


def test_mget_mset_msetnx(r: SocketRedis, k: Keys) -> None:
    assert r.mset({k("a"): 1, k("b"): "two"}) is True
    assert r.mget([k("a"), k("b"), k("c")]) == t(r, ["1", "two", None])
    assert r.mget(k("a"), k("b")) == t(r, ["1", "two"])
    assert r.mget(k("a")) == t(r, ["1"])
    assert r.mget((key for key in [k("b")]), k("a")) == t(r, ["two", "1"])
    sent = len(r.sent)
    assert r.mget([]) == []
    assert len(r.sent) == sent, "an empty MGET must not be sent"
    assert r.msetnx({k("c"): 3, k("a"): 9}) is False
    assert r.get(k("c")) is None
    assert r.msetnx({k("c"): 3, k("d"): 4}) is True
    assert r.mget([k("c"), k("d")]) == t(r, ["3", "4"])


def test_setnx_setex_psetex(r: SocketRedis, k: Keys) -> None:
    assert r.setnx(k("a"), 1) is True
    assert r.setnx(k("a"), 2) is False
    assert r.get(k("a")) == t(r, "1")
    assert r.setex(k("b"), 100, "v") is True
    assert 90 <= r.ttl(k("b")) <= 100
    assert r.setex(k("b"), datetime.timedelta(seconds=60), "w") is True
    assert 50 <= r.ttl(k("b")) <= 60
    assert r.psetex(k("c"), 70_000, "x") is True
    assert 60_000 <= r.pttl(k("c")) <= 70_000
    assert r.psetex(k("c"), datetime.timedelta(milliseconds=40_000), "y") is True
    assert 30_000 <= r.pttl(k("c")) <= 40_000
    assert r.get(k("c")) == t(r, "y")


def test_append_strlen_ranges(r: SocketRedis, k: Keys) -> None:
    assert r.append(k("s"), "hello") == 5
    assert r.append(k("s"), " world") == 11
    assert r.strlen(k("s")) == 11
    assert r.strlen(k("missing")) == 0
    assert r.getrange(k("s"), 0, 4) == t(r, "hello")
    assert r.getrange(k("s"), -5, -1) == t(r, "world")
    assert r.getrange(k("missing"), 0, 10) == t(r, "")
    assert r.setrange(k("s"), 6, "WORLD") == 11
    assert r.get(k("s")) == t(r, "hello WORLD")
    assert r.setrange(k("pad"), 3, "x") == 4
    assert r.get(k("pad")) == t(r, "\0\0\0x")


def test_counters(r: SocketRedis, k: Keys) -> None:
    assert r.incr(k("n")) == 1
    assert r.incr(k("n"), 5) == 6
    assert r.incrby(k("n"), 10) == 16
    assert r.incrby(k("n")) == 17
    assert r.decr(k("n")) == 16
    assert r.decr(k("n"), 6) == 10
    assert r.decrby(k("n"), 3) == 7
    assert r.decrby(k("n")) == 6
    value = r.incrbyfloat(k("f"), 0.5)
    assert type(value) is float and value == 0.5
    assert r.incrbyfloat(k("f")) == 1.5
    assert r.incrbyfloat(k("f"), -2) == -0.5
    assert r.incrbyfloat(k("n"), 0.25) == 6.25
    r.set(k("text"), "abc")
    with pytest.raises(ReplyError) as caught:
        r.incr(k("text"))
    assert caught.value.kind == "ERR"


# ============================================================================
# Keys and expiry
# ============================================================================


def test_delete_exists_unlink_touch(r: SocketRedis, k: Keys) -> None:
    r.mset({k("a"): 1, k("b"): 2, k("c"): 3})
    assert r.exists(k("a")) == 1
    assert r.exists(k("a"), k("a"), k("b"), k("missing")) == 3
    assert r.touch(k("a"), k("missing")) == 1
    assert r.delete(k("a"), k("missing")) == 1
    assert r.delete(k("a")) == 0
    assert r.unlink(k("b"), k("c")) == 2
    assert r.exists(k("a"), k("b"), k("c")) == 0


def test_expire_family(r: SocketRedis, k: Keys) -> None:
    r.set(k("a"), 1)
    assert r.ttl(k("a")) == -1
    assert r.pttl(k("a")) == -1
    assert r.ttl(k("missing")) == -2
    assert r.pttl(k("missing")) == -2
    assert r.expire(k("missing"), 10) is False
    assert r.expire(k("a"), 100) is True
    assert 90 <= r.ttl(k("a")) <= 100
    assert r.expire(k("a"), 50, nx=True) is False
    assert r.expire(k("a"), 50, gt=True) is False
    assert r.expire(k("a"), 200, gt=True) is True
    assert r.expire(k("a"), 300, lt=True) is False
    assert r.expire(k("a"), datetime.timedelta(seconds=150), lt=True) is True
    assert 140 <= r.ttl(k("a")) <= 150
    assert r.expire(k("a"), 120, xx=True) is True
    assert r.persist(k("a")) is True
    assert r.persist(k("a")) is False
    assert r.expire(k("a"), 120, xx=True) is False
    assert r.pexpire(k("a"), 80_000) is True
    assert 70_000 <= r.pttl(k("a")) <= 80_000
    assert r.pexpire(k("a"), datetime.timedelta(seconds=60), lt=True) is True
    assert r.pexpire(k("a"), 90_000, nx=True) is False
    assert r.expireat(k("a"), int(time.time()) + 500) is True
    assert 490 <= r.ttl(k("a")) <= 500
    later = datetime.datetime.now() + datetime.timedelta(seconds=400)
    assert r.expireat(k("a"), later, gt=True) is False
    assert r.expireat(k("a"), later, lt=True) is True
    assert r.pexpireat(k("a"), int(time.time() * 1000) + 300_000) is True
    assert 290 <= r.ttl(k("a")) <= 300
    assert r.pexpireat(k("a"), later, xx=True) is True
    assert 390 <= r.ttl(k("a")) <= 400
    assert r.expire(k("a"), -1) is True
    assert r.exists(k("a")) == 0


def test_rename_type_keys_copy(r: SocketRedis, k: Keys) -> None:
    r.set(k("a"), 1)
    r.rpush(k("l"), 1)
    assert r.rename(k("a"), k("b")) is True
    assert r.renamenx(k("b"), k("l")) is False
    assert r.renamenx(k("b"), k("c")) is True
    assert r.type(k("c")) == t(r, "string")
    assert r.type(k("l")) == t(r, "list")
    assert r.type(k("missing")) == t(r, "none")
    assert sorted(r.keys(k("*"))) == t(r, sorted([k("c"), k("l")]))
    assert r.keys(k("nothing*")) == []
    assert r.copy(k("c"), k("d")) is True
    assert r.copy(k("c"), k("l")) is False
    assert r.copy(k("c"), k("l"), replace=True) is True
    assert r.type(k("l")) == t(r, "string")
    assert r.copy(k("missing"), k("e")) is False


def test_copy_to_another_db(r: SocketRedis, k: Keys) -> None:
    r.set(k("a"), "x")
    try:
        assert r.copy(k("a"), k("a"), destination_db=7) is True
        assert r.copy(k("a"), k("a"), destination_db="7") is False
        assert r.copy(k("a"), k("a"), destination_db=7, replace=True) is True
    finally:
        r.raw("SELECT", 7)
        r.raw("DEL", k("a"))
        r.raw("SELECT", 0)


def test_dump_restore_stays_binary(r: SocketRedis, k: Keys) -> None:
    r.rpush(k("l"), "a", "b")
    r.hset(k("h"), mapping={"f": "\u00e9"})
    dumped = r.dump(k("l"))
    assert type(dumped) is bytes
    assert r.dump(k("missing")) is None
    assert r.restore(k("copy"), 0, dumped) == t(r, "OK")
    assert r.lrange(k("copy"), 0, -1) == t(r, ["a", "b"])
    with pytest.raises(ReplyError) as caught:
        r.restore(k("copy"), 0, dumped)
    assert caught.value.kind == "BUSYKEY"
    assert r.restore(k("copy"), 100_000, r.dump(k("h")), replace=True) == t(r, "OK")
    assert r.hgetall(k("copy")) == t(r, {"f": "\u00e9"})
    assert 90 <= r.ttl(k("copy")) <= 100
    stamp = int(time.time() * 1000) + 200_000
    r.restore(k("abs"), stamp, dumped, absttl=True, idletime=10)
    assert 190 <= r.ttl(k("abs")) <= 200


def test_scan_and_scan_iter(r: SocketRedis, k: Keys) -> None:
    names = {k(f"s{i}") for i in range(30)}
    r.mset(dict.fromkeys(names, 1))
    r.rpush(k("list"), 1)
    cursor, found = r.scan(0, match=k("s*"), count=5)
    assert type(cursor) is int
    assert all(type(name) is (str if r.decode_responses else bytes) for name in found)
    seen = set(found)
    while cursor:
        cursor, found = r.scan(cursor, match=k("s*"), count=5)
        seen.update(found)
    assert seen == t(r, names)
    assert set(r.scan_iter(match=k("*"), count=7)) == t(r, names | {k("list")})
    assert list(r.scan_iter(match=k("*"), _type="list")) == t(r, [k("list")])
    assert list(r.scan_iter(match=k("nothing*"))) == []


# ============================================================================
# Hashes
# ============================================================================


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
# Lists
# ============================================================================


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


# ---------------------------------------------------------------- blocking


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


# ============================================================================
# Sets
# ============================================================================


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
# Sorted sets
# ============================================================================


def test_zadd_options(r: SocketRedis, k: Keys) -> None:
    assert r.zadd(k("z"), {"a": 1, "b": 2.5, "c": "3"}) == 3
    assert r.zadd(k("z"), {"a": 10, "d": 4}) == 1
    assert r.zadd(k("z"), {"a": 11, "e": 5}, ch=True) == 2
    assert r.zadd(k("z"), {"a": 0, "f": 6}, nx=True) == 1
    assert r.zscore(k("z"), "a") == 11.0
    assert r.zadd(k("z"), {"a": 1, "g": 7}, xx=True) == 0
    assert r.zscore(k("z"), "a") == 1.0
    assert r.zscore(k("z"), "g") is None
    assert r.zadd(k("z"), {"a": 0.5, "b": 9}, gt=True, ch=True) == 1
    assert r.zadd(k("z"), {"a": 0.5, "b": 99}, lt=True, ch=True) == 1
    assert r.zscore(k("z"), "a") == 0.5
    assert r.zscore(k("z"), "b") == 9.0
    result = r.zadd(k("z"), {"a": 2}, incr=True)
    assert type(result) is float and result == 2.5
    assert r.zadd(k("z"), {"new": 2}, incr=True, xx=True) is None
    assert r.zadd(k("z"), {"a": 1}, incr=True, nx=True) is None
    assert r.zadd(k("z"), {"a": -100}, incr=True, gt=True) is None
    assert r.zadd(k("z"), {"inf": "+inf", "ninf": float("-inf")}) == 2
    assert r.zscore(k("z"), "inf") == float("inf")
    assert r.zscore(k("z"), "ninf") == float("-inf")


def test_zset_scores_and_counts(r: SocketRedis, k: Keys) -> None:
    r.zadd(k("z"), {"a": 1, "b": 2, "c": 3, "d": 0.1})
    score = r.zscore(k("z"), "d")
    assert type(score) is float and score == 0.1
    assert r.zscore(k("missing"), "a") is None
    value = r.zincrby(k("z"), 2.5, "a")
    assert type(value) is float and value == 3.5
    assert r.zincrby(k("z"), 1, "new") == 1.0
    assert r.zcard(k("z")) == 5
    assert r.zcard(k("missing")) == 0
    assert r.zcount(k("z"), 1, 3) == 3
    assert r.zcount(k("z"), "-inf", "+inf") == 5
    assert r.zcount(k("z"), "(1", "(3.5") == 2
    assert r.zmscore(k("z"), ["a", "zz", "d"]) == [3.5, None, 0.1]
    assert r.zmscore(k("missing"), ["a"]) == [None]
    assert r.zrem(k("z"), "a", "zz") == 1
    assert r.zrank(k("z"), "d") == 0
    assert r.zrank(k("z"), "c") == 3
    assert r.zrevrank(k("z"), "c") == 0
    assert r.zrank(k("z"), "zz") is None
    assert r.zrevrank(k("missing"), "zz") is None


def test_zrank_withscore(r: SocketRedis, k: Keys) -> None:
    r.zadd(k("z"), {"a": 1.5, "b": 2})
    if server_version(r) >= (7, 2):
        assert r.zrank(k("z"), "a", withscore=True) == [0, 1.5]
        assert r.zrevrank(k("z"), "a", withscore=True, score_cast_func=int) == [1, 1]
        assert r.zrank(k("z"), "zz", withscore=True) is None
    else:
        with pytest.raises(ReplyError):
            r.zrank(k("z"), "a", withscore=True)


def test_zrange_by_rank(r: SocketRedis, k: Keys) -> None:
    assert r.zrange(k("missing"), 0, -1) == []
    assert r.zrange(k("missing"), 0, -1, withscores=True) == []
    r.zadd(k("z"), {"a": 1, "b": 2, "c": 3.5, "d": 4})
    assert r.zrange(k("z"), 0, -1) == t(r, ["a", "b", "c", "d"])
    assert r.zrange(k("z"), 1, 2) == t(r, ["b", "c"])
    assert r.zrange(k("z"), 0, 1, desc=True) == t(r, ["d", "c"])
    pairs = r.zrange(k("z"), 0, -1, withscores=True)
    assert pairs == t(r, [("a", 1.0), ("b", 2.0), ("c", 3.5), ("d", 4.0)])
    assert all(type(pair) is tuple and type(pair[1]) is float for pair in pairs)
    assert r.zrange(k("z"), 0, 0, desc=True, withscores=True) == t(r, [("d", 4.0)])
    assert r.zrevrange(k("z"), 0, 1) == t(r, ["d", "c"])
    assert r.zrevrange(k("z"), 0, 1, withscores=True) == t(r, [("d", 4.0), ("c", 3.5)])


def test_score_cast_func_sees_what_resp2_sends(r: SocketRedis, k: Keys) -> None:
    r.zadd(k("z"), {"a": 1, "b": 2.5, "c": 0.1})
    assert r.zrange(k("z"), 0, -1, withscores=True, score_cast_func=int) == t(
        r, [("c", 0), ("a", 1), ("b", 2)]
    )
    seen: list[Any] = []

    def remember(score: Any) -> Any:
        seen.append(score)
        return score

    r.zrange(k("z"), 0, -1, withscores=True, score_cast_func=remember)
    if r.protocol == 2:
        # The text the server sent (Redis 7.0 formats with %.17g, 7.2+ shortest).
        wire = r.raw("ZRANGE", k("z"), 0, -1, "WITHSCORES")[1::2]
        assert seen == wire
    else:
        # RESP3 sends doubles; the function gets them as %.17g text, as Redis 7.0
        # sends on RESP2 (and redis-py gives on RESP3).
        assert seen == t(r, ["0.10000000000000001", "1", "2.5"])
    texts = list(seen)
    seen.clear()
    r.zscan(k("z"), score_cast_func=remember)
    # Scan replies carry scores as text in both protocols.
    assert sorted(seen) == sorted(r.raw("ZSCAN", k("z"), 0)[1][1::2])
    if server_version(r) < (7, 2):
        assert sorted(seen) == sorted(texts)
    assert r.zrevrange(k("z"), 0, 0, withscores=True, score_cast_func=str) == [
        (t(r, "b"), "2.5" if r.decode_responses else "b'2.5'")
    ]


def test_zrange_by_score_and_lex(r: SocketRedis, k: Keys) -> None:
    r.zadd(k("z"), {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert r.zrange(k("z"), 2, 4, byscore=True) == t(r, ["b", "c", "d"])
    assert r.zrange(k("z"), "(2", "+inf", byscore=True) == t(r, ["c", "d", "e"])
    assert r.zrange(k("z"), 4, 2, byscore=True, desc=True) == t(r, ["d", "c", "b"])
    assert r.zrange(k("z"), 0, 10, byscore=True, offset=1, num=2) == t(r, ["b", "c"])
    assert r.zrange(k("z"), 0, 10, byscore=True, offset=1, num=2, withscores=True) == t(
        r, [("b", 2.0), ("c", 3.0)]
    )
    r.zadd(k("lex"), {"apple": 0, "banana": 0, "cherry": 0, "date": 0})
    assert r.zrange(k("lex"), "[b", "(d", bylex=True) == t(r, ["banana", "cherry"])
    assert r.zrange(k("lex"), "+", "-", bylex=True, desc=True, offset=0, num=2) == t(
        r, ["date", "cherry"]
    )
    assert r.zrangebyscore(k("z"), 2, 4) == t(r, ["b", "c", "d"])
    assert r.zrangebyscore(k("z"), "-inf", "(3", withscores=True) == t(r, [("a", 1.0), ("b", 2.0)])
    assert r.zrangebyscore(k("z"), 0, 10, start=3, num=5) == t(r, ["d", "e"])
    assert r.zrevrangebyscore(k("z"), 4, 2) == t(r, ["d", "c", "b"])
    assert r.zrevrangebyscore(k("z"), "+inf", "-inf", 1, 2, withscores=True) == t(
        r, [("d", 4.0), ("c", 3.0)]
    )
    assert r.zrangebyscore(k("z"), 100, 200) == []


def test_zremrange_and_pops(r: SocketRedis, k: Keys) -> None:
    assert r.zpopmin(k("z")) == []
    assert r.zpopmax(k("z"), 3) == []
    r.zadd(k("z"), {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6})
    assert r.zremrangebyrank(k("z"), 0, 0) == 1
    assert r.zremrangebyscore(k("z"), "(5", "+inf") == 1
    popped = r.zpopmin(k("z"))
    assert popped == t(r, [("b", 2.0)])
    assert type(popped[0]) is tuple
    assert r.zpopmax(k("z")) == t(r, [("e", 5.0)])
    assert r.zpopmin(k("z"), 1) == t(r, [("c", 3.0)])
    assert r.zpopmax(k("z"), 5) == t(r, [("d", 4.0)])
    assert r.zcard(k("z")) == 0


def test_zscan(r: SocketRedis, k: Keys) -> None:
    members = {f"m{i}": float(i) / 2 for i in range(40)}
    r.zadd(k("z"), members)
    cursor, pairs = r.zscan(k("z"), count=5)
    assert type(cursor) is int and all(type(pair) is tuple for pair in pairs)
    gathered = dict(pairs)
    while cursor:
        cursor, pairs = r.zscan(k("z"), cursor, count=5)
        gathered.update(pairs)
    assert gathered == {t(r, name): score for name, score in members.items()}
    assert dict(r.zscan_iter(k("z"), match="m1*", score_cast_func=int)) == {
        t(r, name): int(score) for name, score in members.items() if name.startswith("m1")
    }
    assert r.zscan(k("missing")) == (0, [])


# ============================================================================
# Scripting
# ============================================================================


def test_eval_and_evalsha(r: SocketRedis, k: Keys) -> None:
    assert r.eval("return 1", 0) == 1
    assert r.eval("return {KEYS[1], ARGV[1], 3}", 1, k("a"), "x") == [*t(r, [k("a"), "x"]), 3]
    assert r.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, k("a"), "v") == t(r, "OK")
    assert r.eval("return nil", 0) is None
    sha = r.script_load("return ARGV[1] .. ARGV[2]")
    assert type(sha) is str and len(sha) == 40
    assert r.evalsha(sha, 0, "a", "b") == t(r, "ab")
    assert r.script_exists(sha, "0" * 40) == [True, False]
    with pytest.raises(ReplyError) as caught:
        r.evalsha("0" * 40, 0)
    assert caught.value.kind == "NOSCRIPT"
    with pytest.raises(ReplyError):
        r.eval("return redis.call('NOSUCHCOMMAND')", 0)


def test_register_script_falls_back_to_eval_once(r: SocketRedis, k: Keys) -> None:
    # A source of its own, so the shared server cannot have it cached yet.
    source = f"-- {k('script')}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])"
    script = r.register_script(source)
    assert isinstance(script, Script)
    assert script.sha == r.script_load(source)
    fresh = r.register_script(source + " ")
    sent = len(r.sent)
    assert fresh(keys=[k("n")], args=[5]) == 5
    assert [args[0] for args in r.sent[sent:]] == ["EVALSHA", "EVAL"]
    sent = len(r.sent)
    assert fresh([k("n")], [2]) == 7
    assert [args[0] for args in r.sent[sent:]] == ["EVALSHA"]
    assert script(keys=[k("n")], args=[1]) == 8
    assert r.register_script("return 'x'")() == t(r, "x")
    bsource = b"return #ARGV"
    assert r.register_script(bsource)(args=["a", "b"]) == 2


def test_script_runs_through_another_client(
    r: SocketRedis, k: Keys, redis_server: RedisServer
) -> None:
    other = SocketRedis(redis_server.host, redis_server.port)
    try:
        script = r.register_script(f"-- {k('other')}\nreturn 5")
        assert script(client=other) == 5
        assert [args[0] for args in other.sent] == ["EVALSHA", "EVAL"]
        assert not [args for args in r.sent if args[0] in ("EVAL", "EVALSHA")]
    finally:
        other.close()


def test_script_errors_other_than_noscript_propagate(r: SocketRedis) -> None:
    script = r.register_script("return redis.error_reply('MYERR broken')")
    with pytest.raises(ReplyError) as caught:
        script()
    assert caught.value.kind == "MYERR"


# ============================================================================
# Streams
# ============================================================================


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


# ============================================================================
# Pub/sub commands
# ============================================================================


def test_publish_and_pubsub_introspection(
    r: SocketRedis, k: Keys, redis_server: RedisServer
) -> None:
    channel = k("chan")
    assert r.publish(channel, "nobody") == 0
    subscriber = redis_server.connect_raw()
    try:
        subscriber.sendall(
            b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(channel), channel.encode())
        )
        deadline = time.monotonic() + 5
        while r.pubsub_numsub(channel)[0][1] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert r.publish(channel, "hi") == 1
        assert r.pubsub_channels(k("*")) == [t(r, channel)]
        numsub = r.pubsub_numsub(channel, k("none"))
        assert numsub == [(t(r, channel), 1), (t(r, k("none")), 0)]
        assert type(numsub[0]) is tuple
        assert r.pubsub_numsub() == []
    finally:
        subscriber.close()
    assert r.pubsub_channels(k("nothing*")) == []
