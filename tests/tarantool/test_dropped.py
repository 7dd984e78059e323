"""A Tarantool Connection or ConnectionPool dropped without close() leaves nothing behind.

Long-lived scripts make clients per job and forget them.  The reader
greenlet of a socket holds only its transport, the unit workers hold their
unit only while they refresh, and a finaliser closes the sockets and stops
the workers: the server sees its connections go, and no greenpool greenlet
is left running.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import gevent
import pytest
from helpers import wait_until

from greenpool.tarantool import Connection, ConnectionPool, Mode
from greenpool.testing import TarantoolServer


@pytest.fixture
def server() -> Iterator[TarantoolServer]:
    instance = TarantoolServer()
    instance.start()
    yield instance
    instance.stop()


def _server_connections(server: TarantoolServer) -> int:
    # eval_lua's own connection counts too: compare counts taken the same way.
    return int(server.eval_lua("return box.stat.net().CONNECTIONS.current")[0])


def _unit_workers() -> list[gevent.Greenlet]:
    return [
        g for g in gc.get_objects()
        if isinstance(g, gevent.Greenlet) and not g.dead
        and str(getattr(g, "name", "")).startswith("greenpool-tarantool-unit-")
    ]


def test_connections_dropped_without_close_are_closed(server: TarantoolServer) -> None:
    before = _server_connections(server)
    for _ in range(10):
        conn = Connection(server.host, server.port)
        assert conn.ping() >= 0
        del conn
    gc.collect()
    wait_until(lambda: _server_connections(server) == before, timeout=5)


@pytest.mark.parametrize("per_instance", [1, 2])
def test_pools_dropped_without_close_are_closed_and_their_workers_end(
    server: TarantoolServer, per_instance: int
) -> None:
    before = _server_connections(server)
    workers_before = len(_unit_workers())
    for _ in range(10):
        pool = ConnectionPool(
            [{"host": server.host, "port": server.port}],
            connections_per_instance=per_instance, refresh_delay=0.05,
        )
        assert pool.eval("return 1 + 1", mode=Mode.ANY).data == [2]
        gevent.sleep(0.12)  # the workers refresh meanwhile
        del pool
    gc.collect()
    wait_until(lambda: _server_connections(server) == before, timeout=5)
    wait_until(lambda: len(_unit_workers()) == workers_before, timeout=5)


def test_a_pool_kept_alive_keeps_working_and_refreshing(server: TarantoolServer) -> None:
    """The weak references must not let a pool in use lose its workers."""
    pool = ConnectionPool([{"host": server.host, "port": server.port}], refresh_delay=0.05)
    try:
        assert pool.eval("return 1", mode=Mode.ANY).data == [1]
        unit = pool.units[0]
        refreshes = unit.refreshes
        gc.collect()
        wait_until(lambda: unit.refreshes >= refreshes + 3, timeout=5)
        assert unit.worker is not None and not unit.worker.dead
        assert pool.eval("return 2", mode=Mode.ANY).data == [2]
    finally:
        pool.close()
