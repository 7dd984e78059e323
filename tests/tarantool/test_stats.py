"""stats() and pop_stats() of the Tarantool Connection and ConnectionPool, against real servers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from helpers import wait_until

from greenpool import _stats
from greenpool.tarantool import (
    Connection,
    ConnectionPool,
    DatabaseError,
    Mode,
    NetworkError,
    NetworkTimeoutError,
)
from greenpool.testing import TarantoolServer

SPACE = """
box.schema.space.create('stats_kv', {if_not_exists = true})
box.space.stats_kv:create_index('primary', {if_not_exists = true})
"""


def counters(stats: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in stats.items() if _stats.KEYS[k].kind == _stats.COUNTER}


@pytest.fixture
def proxied(tarantool_server: TarantoolServer, tcp_proxy: Any) -> Iterator[tuple[Any, Connection]]:
    proxy = tcp_proxy(tarantool_server)
    conn = Connection("127.0.0.1", proxy.port, reconnect_max_attempts=0)
    try:
        yield proxy, conn
    finally:
        conn.close()


def test_connection_counts_requests_errors_timeouts_and_error_replies(
    proxied: tuple[Any, Connection],
) -> None:
    _proxy, conn = proxied
    assert conn.stats() == {
        "connections": 1, "requests_pending": 0, "requests_num": 0, "requests_errors": 0,
        "requests_timeouts": 0, "requests_error_replies": 0, "connections_num": 1,
        "connections_errors": 0, "connections_lost": 0, "reconnects": 0,
    }
    for _ in range(3):
        conn.ping()
    with pytest.raises(DatabaseError):
        conn.call("no_such_function_anywhere")
    with pytest.raises(NetworkTimeoutError):
        conn.eval("require('fiber').sleep(1)", timeout=0.05)
    with pytest.raises(gevent.Timeout), gevent.Timeout(0.05):  # the caller's own timeout
        conn.eval("require('fiber').sleep(1)")
    slow = gevent.spawn(conn.eval, "require('fiber').sleep(0.3)")
    wait_until(lambda: conn.stats()["requests_pending"] >= 1)
    slow.get(timeout=5)
    stats = conn.stats()
    assert stats["requests_num"] == 7
    assert stats["requests_errors"] == 3
    assert stats["requests_timeouts"] == 2
    assert stats["requests_error_replies"] == 1
    assert set(stats) <= set(_stats.KEYS)


def test_connection_counts_losses_errors_and_reconnects_but_not_close(
    proxied: tuple[Any, Connection],
) -> None:
    proxy, conn = proxied
    conn.close()  # on purpose: not a loss
    assert conn.stats()["connections"] == 0 and conn.stats()["connections_lost"] == 0
    conn.ping()  # connects again
    assert conn.stats()["reconnects"] == 1 and conn.stats()["connections_num"] == 2
    proxy.cut()
    wait_until(lambda: not conn.connected)
    assert conn.stats()["connections_lost"] == 1
    proxy.refuse()
    with pytest.raises(NetworkError):
        conn.ping()
    assert conn.stats()["connections_errors"] == 1
    assert conn.stats()["requests_errors"] == 1
    proxy.normal()
    conn.ping()
    assert conn.stats() | {"requests_num": 0} == {
        "connections": 1, "requests_pending": 0, "requests_num": 0, "requests_errors": 1,
        "requests_timeouts": 0, "requests_error_replies": 0, "connections_num": 3,
        "connections_errors": 1, "connections_lost": 1, "reconnects": 2,
    }


def test_connection_pop_stats_resets_the_counters_only(proxied: tuple[Any, Connection]) -> None:
    _proxy, conn = proxied
    conn.ping()
    with pytest.raises(DatabaseError):
        conn.call("no_such_function_anywhere")
    popped = conn.pop_stats()
    assert popped["requests_num"] == 2 and popped["requests_error_replies"] == 1
    after = conn.stats()
    assert set(counters(after).values()) == {0}
    assert after["connections"] == 1  # a gauge: not reset
    conn.ping()
    assert conn.pop_stats()["requests_num"] == 1


@pytest.fixture
def two_instances(tarantool_server: TarantoolServer,
                  fresh_tarantool: TarantoolServer) -> Iterator[ConnectionPool]:
    """A pool over a writable instance and a read-only one (not replicating)."""
    for server in (tarantool_server, fresh_tarantool):
        server.eval_lua(SPACE)
    fresh_tarantool.eval_lua("box.cfg{read_only = true}")
    pool = ConnectionPool(
        [{"host": "127.0.0.1", "port": s.port} for s in (tarantool_server, fresh_tarantool)],
        refresh_delay=0.05,
    )
    try:
        yield pool
    finally:
        pool.close()


def test_pool_stats_count_its_requests_retries_and_connections(
    two_instances: ConnectionPool,
) -> None:
    pool = two_instances
    stats = pool.stats()
    assert stats["instances"] == 2 and stats["instances_healthy"] == 2
    assert stats["connections"] == 2 and stats["connections_num"] == 2
    assert stats["requests_num"] == 0
    gevent.sleep(0.3)  # several box.info refreshes: not the application's requests
    assert pool.stats()["requests_num"] == 0
    # Round robin over both: a write sent to the read-only one is refused and resent.
    for key in range(4):
        pool.insert("stats_kv", [key, "v"], mode=Mode.ANY)
    with pytest.raises(DatabaseError):
        pool.call("no_such_function_anywhere", mode=Mode.RW)
    with pytest.raises(NetworkTimeoutError):
        pool.eval("require('fiber').sleep(1)", mode=Mode.RW, timeout=0.05)
    stats = pool.stats()
    assert stats["requests_num"] == 6
    assert stats["requests_retries"] >= 1
    assert stats["requests_errors"] == 2
    assert stats["requests_error_replies"] == 1 and stats["requests_timeouts"] == 1
    assert set(stats) <= set(_stats.KEYS)

    popped = pool.pop_stats()
    assert popped == stats | {"requests_pending": popped["requests_pending"]}
    after = pool.stats()
    assert set(counters(after).values()) == {0}
    assert after["instances"] == 2 and after["connections"] == 2


def test_pool_stats_follow_an_instance_going_down(fresh_tarantool: TarantoolServer) -> None:
    pool = ConnectionPool([{"host": "127.0.0.1", "port": fresh_tarantool.port}],
                          refresh_delay=0.05)
    try:
        assert pool.stats()["instances_healthy"] == 1
        fresh_tarantool.kill()
        wait_until(lambda: pool.stats()["instances_healthy"] == 0)
        stats = pool.stats()
        assert stats["connections"] == 0 and stats["connections_lost"] == 1
        wait_until(lambda: pool.stats()["connections_errors"] >= 1)  # the worker retries
        fresh_tarantool.start()
        wait_until(lambda: pool.stats()["instances_healthy"] == 1, timeout=10)
        assert pool.stats()["reconnects"] == 1
    finally:
        pool.close()
