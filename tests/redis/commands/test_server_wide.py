"""Commands that act on the whole server, on a redis-server of this module's own.

FLUSHDB/FLUSHALL, CONFIG SET, SCRIPT FLUSH and exact key counts would
disturb (or be disturbed by) the tests sharing the session server, so these
run on a private one, still under all four client configurations.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from commands_executor import (
    Keys,
    SocketRedis,
    open_client,
    open_redis_py,
    text,
)

from greenpool.redis.exceptions import ResponseError
from greenpool.testing import RedisServer

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


@pytest.fixture(scope="module")
def private_server() -> Iterator[RedisServer]:
    # DEBUG is refused by default, except from loopback with "local".
    with RedisServer(extra_args=["--enable-debug-command", "local"]) as server:
        yield server


@pytest.fixture
def r(config: tuple[int, bool], private_server: RedisServer) -> Iterator[SocketRedis]:
    for client in open_client(private_server, config):
        client.raw("FLUSHALL")
        yield client
        client.raw("FLUSHALL")


@pytest.fixture
def theirs(config: tuple[int, bool], private_server: RedisServer) -> Iterator[redis.Redis]:
    yield from open_redis_py(private_server, config)


def test_flushdb_dbsize_randomkey(r: SocketRedis) -> None:
    assert r.dbsize() == 0
    assert r.randomkey() is None
    assert r.keys() == []
    r.mset({"a": 1, "b": 2})
    assert r.dbsize() == 2
    assert r.randomkey() in text(["a", "b"], r)
    assert sorted(r.keys()) == text(["a", "b"], r)
    assert r.flushdb() is True
    assert r.dbsize() == 0
    r.set("c", 1)
    assert r.flushdb(asynchronous=True) is True
    assert r.dbsize() == 0


def test_flushall_reaches_every_db(r: SocketRedis) -> None:
    r.set("a", 1)
    assert r.copy("a", "a", destination_db=3) is True
    assert r.flushall() is True
    assert r.dbsize() == 0
    r.raw("SELECT", 3)
    try:
        assert r.dbsize() == 0
        r.set("b", 1)
        assert r.flushall(asynchronous=True) is True
        assert r.dbsize() == 0
    finally:
        r.raw("SELECT", 0)


def test_info_keyspace_counts(r: SocketRedis) -> None:
    assert r.info("keyspace") == {}
    r.mset({"a": 1, "b": 2})
    r.set("c", 3, ex=100)
    keyspace = r.info("keyspace")
    assert keyspace["db0"]["keys"] == 3
    assert keyspace["db0"]["expires"] == 1
    assert type(keyspace["db0"]["avg_ttl"]) is int


def test_config_set(r: SocketRedis) -> None:
    assert r.config_set("maxmemory-policy", "allkeys-lfu") is True
    try:
        assert r.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lfu"}
        assert r.config_set("hz", 15, "lfu-log-factor", 20) is True
        assert r.config_get("hz", "lfu-log-factor") == {"hz": "15", "lfu-log-factor": "20"}
        # RESTORE's FREQ needs an LFU policy.
        r.set("a", "x")
        assert r.restore("b", 0, r.dump("a"), frequency=5) == text("OK", r)
        assert r.get("b") == text("x", r)
    finally:
        r.config_set("maxmemory-policy", "noeviction", "hz", 10, "lfu-log-factor", 10)


def test_lastsave(r: SocketRedis) -> None:
    saved = r.lastsave()
    assert isinstance(saved, datetime.datetime)
    assert abs(saved.timestamp() - time.time()) < 3600
    r.raw("SAVE")
    assert abs(r.lastsave().timestamp() - time.time()) < 5


@pytest.mark.parametrize("mode", [None, "SYNC", "ASYNC"])
def test_script_flush_then_script_reloads(r: SocketRedis, mode: str | None) -> None:
    script = r.register_script("return ARGV[1] + 1")
    assert script(args=[1]) == 2
    assert r.script_exists(script.sha) == [True]
    assert r.script_flush(mode) is True
    assert r.script_exists(script.sha) == [False]
    sent = len(r.sent)
    assert script(args=[41]) == 42
    assert [args[0] for args in r.sent[sent:]] == ["EVALSHA", "EVAL"]
    assert r.script_exists(script.sha) == [True]


def _wait_for_background_saves(c: Any) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        persistence = c.info("persistence")
        if not (persistence["rdb_bgsave_in_progress"] or persistence["aof_rewrite_in_progress"]
                or persistence["aof_rewrite_scheduled"]):
            return
        time.sleep(0.02)
    raise AssertionError("a background save did not finish within 10 s")


def test_save_bgsave_bgrewriteaof(r: SocketRedis) -> None:
    r.set("a", 1)
    assert r.save() is True
    assert r.bgsave() is True
    _wait_for_background_saves(r)
    assert r.bgsave(schedule=False) is True
    _wait_for_background_saves(r)
    assert r.bgrewriteaof() is True
    _wait_for_background_saves(r)
    assert abs(r.lastsave().timestamp() - time.time()) < 5


def test_swapdb_swaps_for_every_connection(r: SocketRedis) -> None:
    r.set("a", "zero")
    assert r.swapdb(0, 5) is True
    assert r.get("a") is None
    assert r.swapdb(5, 0) is True
    assert r.get("a") == text("zero", r)
    with pytest.raises(ResponseError):
        r.swapdb(0, 100000)


def test_replication_role_changes(r: SocketRedis) -> None:
    assert r.role()[0] == text("master", r)
    assert r.slaveof() is True
    assert r.replicaof("NO", "ONE") == text("OK", r)
    assert r.role()[0] == text("master", r)


def test_debug_object(r: SocketRedis) -> None:
    r.set("a", "x")
    facts = r.debug_object("a")
    assert facts["type"] == "Value" and facts["encoding"] == "embstr"
    assert type(facts["refcount"]) is int and type(facts["serializedlength"]) is int
    assert type(facts["lru_seconds_idle"]) is int
    with pytest.raises(ResponseError):
        r.debug_object("missing")


def test_config_statistics_and_rewrite(r: SocketRedis) -> None:
    r.set("a", 1)
    assert r.info("stats")["total_commands_processed"] > 1
    assert r.config_resetstat() is True
    assert r.info("stats")["total_commands_processed"] <= 2
    with pytest.raises(ResponseError, match="config file"):
        r.config_rewrite()


def test_slowlog_and_latency(r: SocketRedis) -> None:
    r.config_set("slowlog-log-slower-than", 0)
    try:
        assert r.slowlog_reset() is True
        r.set("slow", "v")
        entries = r.slowlog_get()
        assert r.slowlog_len() >= 1
        [entry] = [e for e in entries if e["command"].startswith(b"SET")]
        assert entry["command"] == b"SET slow v"  # bytes even when decoding, as redis-py
        assert type(entry["id"]) is int and type(entry["duration"]) is int
        assert type(entry["client_address"]) is bytes
        assert len(r.slowlog_get(1)) == 1
    finally:
        r.config_set("slowlog-log-slower-than", 10000)
    assert r.latency_reset() == 0
    assert r.latency_latest() == []
    assert r.latency_history("command") == []


def test_modules_are_refused_by_a_default_server(r: SocketRedis) -> None:
    for call in (lambda: r.module_load("/no/such.so"), lambda: r.module_unload("nothing"),
                 lambda: r.module_loadex("/no/such.so", options=["a", "b"])):
        with pytest.raises(ResponseError):
            call()
    assert r.module_list() == []


def test_shutdown_abort_without_a_shutdown_in_progress_is_an_error_reply(
    r: SocketRedis,
) -> None:
    with pytest.raises(ResponseError):
        r.shutdown(abort=True)
    assert r.ping() is True


def server_wide_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    c.set("a", "x")
    c.rpush("l", *range(10))
    out["save"] = c.save()
    out["bgsave"] = c.bgsave()
    _wait_for_background_saves(c)
    out["swapdb"] = c.swapdb(0, 3)
    out["swapdb back"] = c.swapdb(3, 0)
    out["slaveof"] = c.slaveof()
    out["replicaof"] = c.replicaof("NO", "ONE")
    out["role"] = c.role()[:2]
    facts = c.debug_object("l")
    out["debug_object"] = {name: facts[name] for name in ("type", "refcount", "encoding")}
    out["debug_object types"] = {name: type(value) for name, value in facts.items()}
    out["config_resetstat"] = c.config_resetstat()
    c.config_set("slowlog-log-slower-than", 0)
    out["slowlog_reset"] = c.slowlog_reset()
    c.get("a")
    entries = [e for e in c.slowlog_get() if e["command"].startswith(b"GET")]
    out["slowlog_get"] = [
        {name: value if name in ("command", "client_name") else type(value)
         for name, value in entry.items()}
        for entry in entries
    ]
    c.config_set("slowlog-log-slower-than", 10000)
    out["latency_reset"] = c.latency_reset("command", "fork")
    out["module_list"] = c.module_list()
    for name, call in (("config_rewrite", c.config_rewrite), ("module_unload",
                       lambda: c.module_unload("none")), ("shutdown abort",
                       lambda: c.shutdown(abort=True))):
        try:
            call()
        except (redis.ResponseError, ResponseError) as exc:
            out[name] = str(exc).removeprefix("ERR ")
    return out


def test_server_wide_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(server_wide_scenario)
