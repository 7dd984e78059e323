"""Commands that act on the whole server, on a redis-server of this module's own.

FLUSHDB/FLUSHALL, CONFIG SET, SCRIPT FLUSH and exact key counts would
disturb (or be disturbed by) the tests sharing the session server, so these
run on a private one, still under all four client configurations.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

import pytest
from commands_executor import CONFIG_IDS, CONFIGS, SocketRedis, open_client, text

from greenpool.testing import RedisServer


@pytest.fixture(scope="module")
def private_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=CONFIGS, ids=CONFIG_IDS)
def r(request: pytest.FixtureRequest, private_server: RedisServer) -> Iterator[SocketRedis]:
    for client in open_client(private_server, request.param):
        client.raw("FLUSHALL")
        yield client
        client.raw("FLUSHALL")


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
