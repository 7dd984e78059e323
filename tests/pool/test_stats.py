"""stats() and pop_stats() of the checkout Pool and the MultiplexPool, on real Redis servers."""

from __future__ import annotations

from typing import Any

import gevent
import pytest
from helpers import LineRedis, wait_until

from greenpool import NoConnectionAvailable, Pool, _stats
from greenpool.pool import MultiplexPool
from greenpool.protocol import encode_command
from greenpool.redis._codec import RespCodec
from greenpool.transport import Connection


def counters(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stats.items() if _stats.KEYS[k].kind == _stats.COUNTER}


def test_pool_pop_stats_returns_the_counters_and_resets_only_them(redis_server: Any) -> None:
    pool: Pool[LineRedis] = Pool(lambda: LineRedis(redis_server.address), pool_size=1,
                                 pool_timeout=0.05, prefill=False, use_local=False)
    try:
        with pool.connection() as conn:
            conn.call("PING")
            with pytest.raises(NoConnectionAvailable):
                pool.get()  # waits 0.05 s for the one connection, then gives up
        popped = pool.pop_stats()
        # Two requests: one served, one that timed out (psycopg_pool counts both).
        assert popped["requests_num"] == 2 and popped["connections_num"] == 1
        assert popped["requests_queued"] == 1 and popped["requests_timeouts"] == 1
        assert popped["requests_wait_ms"] >= 40
        assert set(popped) <= set(_stats.KEYS)
        after = pool.stats()
        assert set(counters(after).values()) == {0}
        # The gauges are the pool's state, not reset.
        assert after["connections"] == 1 and after["pool_available"] == 1
        assert after["pool_size"] == 1 and after["pool_max"] == 1
        with pool.connection():
            assert pool.stats()["pool_in_use"] == 1
        assert pool.pop_stats()["requests_num"] == 1
        assert pool.stats()["requests_num"] == 0
    finally:
        pool.close()


def factory(address: str) -> Any:
    return lambda: Connection(address, codec=RespCodec)


def test_multiplex_stats_gauges_and_connects(redis_server: Any) -> None:
    pool = MultiplexPool(2, factory(redis_server.address))
    try:
        stats = pool.stats()
        assert stats == {"pool_size": 2, "connections": 2, "requests_pending": 0,
                         "requests_num": 0, "requests_errors": 0, "requests_timeouts": 0,
                         "connections_num": 2, "connections_errors": 0,
                         "connections_lost": 0, "reconnects": 0}
        assert set(stats) <= set(_stats.KEYS)
        conn = pool.get_least_loaded_connection()
        blpop = gevent.spawn(conn.request, encode_command("BLPOP", "stats:none", "0.2"))
        wait_until(lambda: pool.stats()["requests_pending"] == 1)
        blpop.get(timeout=5)
        assert pool.stats()["requests_pending"] == 0
        # Reconnecting on request closes on purpose: connects counted, no loss.
        pool.reconnect(only_broken_connections=False)
        stats = pool.stats()
        assert stats["connections_num"] == 4 and stats["reconnects"] == 2
        assert stats["connections_lost"] == 0
        popped = pool.pop_stats()
        assert popped["connections_num"] == 4
        assert set(counters(pool.stats()).values()) == {0}
        assert pool.stats()["connections"] == 2
    finally:
        pool.close()
    assert pool.stats()["connections"] == 0
    assert pool.stats()["connections_lost"] == 0  # close() is not a loss


def test_multiplex_stats_count_losses_failed_connects_and_reconnects(fresh_redis: Any) -> None:
    pool = MultiplexPool(2, factory(fresh_redis.address), backoff_base=0.01, backoff_cap=0.05)
    try:
        fresh_redis.kill()
        wait_until(lambda: pool.stats()["connections"] == 0)
        assert pool.stats()["connections_lost"] == 2
        wait_until(lambda: pool.stats()["connections_errors"] >= 2)  # reconnecting fails
        fresh_redis.start()
        wait_until(lambda: pool.stats()["connections"] == 2, timeout=10)
        stats = pool.stats()
        assert stats["reconnects"] == 2 and stats["connections_num"] == 4
    finally:
        pool.close()


def test_multiplex_request_counts_survive_removed_connections(fresh_redis: Any) -> None:
    pool = MultiplexPool(2, factory(fresh_redis.address))
    try:
        for conn in pool.connections:
            conn.request(encode_command("PING"))
        assert pool.stats()["requests_num"] == 2
        # A connection that breaks and is cleaned away keeps its count.
        pool.connections[0].close("broken on purpose")
        pool.cleanup_broken_connections()
        assert len(pool.connections) == 1
        assert pool.stats()["requests_num"] == 2
        assert pool.pop_stats()["requests_num"] == 2
        assert pool.stats()["requests_num"] == 0
        pool.connections[0].request(encode_command("PING"))
    finally:
        pool.close()
    assert pool.stats()["requests_num"] == 1  # and after close(), still counted
