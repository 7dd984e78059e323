"""stats() and pop_stats() of the Redis client, the cluster client and Sentinel, on real servers."""

from __future__ import annotations

from typing import Any

import gevent
import pytest

from greenpool import _stats
from greenpool.integrations import prometheus
from greenpool.redis import Redis, RedisCluster, Sentinel
from greenpool.testing import RedisClusterServer, RedisSentinelSet, RedisServer


def counters(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stats.items() if _stats.KEYS[k].kind == _stats.COUNTER}


def test_a_clients_stats_count_commands_checkouts_and_failures(fresh_redis: RedisServer) -> None:
    r = Redis(port=fresh_redis.port, pool_size=2, max_connections=3)
    try:
        before = r.stats()
        assert set(counters(before).values()) == {0}
        assert set(before) <= set(_stats.KEYS)
        for i in range(5):
            r.set(f"stats:{i}", i)
        assert r.mget([f"stats:{i}" for i in range(5)]) == [b"0", b"1", b"2", b"3", b"4"]
        assert r.pipeline().incr("stats:n").incr("stats:n").execute() == [1, 2]
        with pytest.raises(Exception, match="WRONGTYPE"):
            r.lpush("stats:n", 1)  # an error reply is a reply: not counted as an error
        # The server stopped: this caller's own Timeout ends a request.
        fresh_redis.pause()
        try:
            with pytest.raises(gevent.Timeout), gevent.Timeout(0.05):
                r.get("stats:0")
        finally:
            fresh_redis.resume()
        stats = r.stats()
        # 5 SET, MGET, LPUSH, GET on shared connections, one pipeline checkout.
        assert stats["requests_num"] == 9
        assert stats["requests_errors"] == 1 and stats["requests_timeouts"] == 1
        assert stats["pool_size"] == 2 and stats["pool_max"] == 5
        assert stats["connections"] == 3  # two shared, one dedicated kept idle
        assert stats["pool_available"] == 1 and stats["pool_in_use"] == 0
        assert stats["connections_num"] == 3 and stats["connections_lost"] == 0
        assert set(stats) <= set(_stats.KEYS)
        popped = r.pop_stats()
        assert popped["requests_num"] == 9
        after = r.stats()
        assert set(counters(after).values()) == {0}
        assert after["connections"] == 3 and after["pool_size"] == 2  # gauges stay
        r.ping()
        assert r.stats()["requests_num"] == 1
    finally:
        r.close()


def test_a_redis_client_registers_by_its_name(redis_server: RedisServer) -> None:
    r = Redis(port=redis_server.port)
    collector = prometheus.GreenpoolCollector()
    try:
        assert r.name == f"redis://localhost:{redis_server.port}/0"
        assert Redis(port=redis_server.port, db=1, password="hush").name.endswith("/1")
        collector.add(r)
        r.ping()
        assert collector.sources() == {r.name: r}
        families = {m.name: m for m in collector.collect()}
        (sample,) = families["greenpool_requests"].samples
        assert sample.labels == {"pool": r.name, "kind": "Redis"} and sample.value == 1
    finally:
        r.close()


def test_a_cluster_clients_stats_add_up_its_nodes(redis_cluster: RedisClusterServer) -> None:
    rc = RedisCluster(startup_nodes=redis_cluster.startup_nodes)
    try:
        for i in range(30):
            rc.set(f"stats:{i}", i)  # keys on every primary
        stats = rc.stats()
        assert stats["requests_num"] >= 30
        assert stats["refreshes"] >= 1 and stats["moved"] == 0
        assert set(stats) <= set(_stats.KEYS)
        assert stats["requests_num"] == sum(
            n.node.stats()["requests_num"] for n in rc.get_nodes() if n.node is not None
        )
        popped = rc.pop_stats()
        assert popped["requests_num"] == stats["requests_num"]
        assert set(counters(rc.stats()).values()) == {0}
        assert rc.stats()["connections"] >= 3
        assert rc.name.startswith("redis-cluster-")
    finally:
        rc.close()


def test_a_sentinels_pop_stats_resets_its_counters(redis_sentinel: RedisSentinelSet) -> None:
    sentinel = Sentinel(redis_sentinel.sentinel_addresses, socket_timeout=2)
    try:
        primary = sentinel.master_for("mymaster")
        assert primary.ping()
        stats = sentinel.stats()
        assert stats["discoveries"] >= 1 and set(stats) <= set(_stats.KEYS)
        assert sentinel.pop_stats() == stats
        assert set(sentinel.stats().values()) == {0}
        assert sentinel.name.startswith("sentinel-")
    finally:
        sentinel.close()
