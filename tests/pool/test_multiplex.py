"""MultiplexPool, ConnectionManager and Heartbeat against real redis-server processes."""

from __future__ import annotations

from typing import Any

import gevent
import pytest
from helpers import wait_until

from greenpool import ConfigurationError, ConnectionError
from greenpool.pool import (
    ConnectionManager,
    DefaultAddressProvider,
    DefaultAddressTranslator,
    Heartbeat,
    MultiplexPool,
    TableAddressTranslator,
)
from greenpool.protocol import encode_command
from greenpool.redis._codec import RespCodec
from greenpool.testing import free_port
from greenpool.transport import Connection


def ping(conn: Connection) -> Any:
    return conn.request(encode_command("PING"), timeout=2)


def factory_for(address: str, **kwargs: Any) -> Any:
    return lambda: Connection(address, codec=RespCodec, **kwargs)


# ---------------------------------------------------------------------- MultiplexPool


def test_pool_connects_and_spreads_load(redis_server: Any) -> None:
    pool = MultiplexPool(3, factory_for(redis_server.address))
    try:
        assert pool.pool_size == 3 and len(pool.connections) == 3
        assert len(pool.connected_connections) == 3 and pool.is_working() and pool.is_full()
        assert not pool.is_empty() and pool.broken_connections == []
        chosen: list[Connection] = []

        def call() -> None:
            conn = pool.get_least_loaded_connection()
            chosen.append(conn)
            conn.request(encode_command("BLPOP", "mx:none", "0.05"))

        gevent.joinall([gevent.spawn(call) for _ in range(9)], raise_error=True)
        # While requests were in flight, each went to the connection with the fewest.
        assert {id(c) for c in chosen} == {id(c) for c in pool.connections}
        assert sorted([sum(1 for c in chosen if c is x) for x in pool.connections]) == [3, 3, 3]
    finally:
        pool.close()
    assert pool.is_empty() and not pool.is_working()


def test_least_loaded_raises_index_error_only_when_nothing_is_connected() -> None:
    pool = MultiplexPool(2, factory_for(f"127.0.0.1:{free_port()}"), reconnect=False)
    try:
        assert len(pool.broken_connections) == 2
        with pytest.raises(IndexError, match="no connection is connected"):
            pool.get_least_loaded_connection()
    finally:
        pool.close()


def test_broken_connections_reconnect_in_the_background(fresh_redis: Any) -> None:
    pool = MultiplexPool(2, factory_for(fresh_redis.address), backoff_base=0.01, backoff_cap=0.1)
    try:
        originals = pool.connections
        fresh_redis.kill()
        wait_until(lambda: not pool.is_working())
        assert len(pool.broken_connections) == 2
        fresh_redis.start()
        wait_until(lambda: len(pool.connected_connections) == 2, timeout=10)
        assert pool.connections == originals  # the same objects, reconnected
        assert ping(pool.get_least_loaded_connection()) == b"PONG"
    finally:
        pool.close()


def test_connect_now_false_and_setup(redis_server: Any) -> None:
    pool = MultiplexPool(2, factory_for(redis_server.address), connect_now=False)
    try:
        assert not pool.is_working() and len(pool.broken_connections) == 2
        assert pool.setup() == 2
        assert pool.is_working()
    finally:
        pool.close()


def test_reconnect_returns_the_number_connected(redis_server: Any) -> None:
    pool = MultiplexPool(2, factory_for(redis_server.address), reconnect=False)
    try:
        pool.connections[0].close("test")
        assert len(pool.connected_connections) == 1
        assert pool.reconnect() == 2
        before = [c._sock for c in pool.connections]
        assert pool.reconnect(only_broken_connections=False) == 2
        assert all(a is not c._sock for a, c in zip(before, pool.connections, strict=True))
    finally:
        pool.close()


def test_extend_and_cleanup(redis_server: Any) -> None:
    pool = MultiplexPool(1, factory_for(redis_server.address), reconnect=False)
    try:
        pool.extend_pool_by_size(2)
        assert pool.pool_size == 3 and len(pool.connected_connections) == 3
        extra = Connection(redis_server.address, codec=RespCodec)
        pool.extend_pool_by_connections([extra])
        assert pool.pool_size == 4 and extra.live()
        pool.connections[0].close("broken on purpose")
        pool.cleanup_broken_connections()
        assert len(pool.connections) == 3 and pool.pool_size == 4 and not pool.is_full()
        with pytest.raises(ConfigurationError, match="connections"):
            pool.extend_pool_by_connections(["not a connection"])  # type: ignore[list-item]
    finally:
        pool.close()


def test_reduce_removes_broken_then_idle_and_busy_only_when_asked(redis_server: Any) -> None:
    pool = MultiplexPool(4, factory_for(redis_server.address), reconnect=False)
    try:
        broken, busy, idle1, idle2 = pool.connections
        broken.close("broken")
        waiting = gevent.spawn(busy.request, encode_command("BLPOP", "mx:none", "0.3"))
        wait_until(lambda: busy.pending == 1)
        pool.reduce_pool_connections(3)
        assert pool.connections == [busy]
        assert pool.pool_size == 1 and not waiting.ready()
        pool.reduce_pool_connections(1)
        assert pool.connections == [busy]  # busy is kept without delete_pending_connections
        pool.reduce_pool_connections(1, delete_pending_connections=True)
        assert pool.is_empty() and pool.pool_size == 0
        waiting.join(timeout=2)
        assert isinstance(waiting.exception, ConnectionError)
        pool.reduce_pool_connections(-5)  # does nothing
        assert not idle1.live() and not idle2.live()
    finally:
        pool.close()


def test_bad_arguments() -> None:
    with pytest.raises(ConfigurationError, match="pool_size"):
        MultiplexPool(-1, factory_for("127.0.0.1:1"))
    with pytest.raises(ConfigurationError, match="connection_factory"):
        MultiplexPool(1, "nope")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="connection_factory"):
        MultiplexPool(1, lambda: "not a connection", connect_now=False)  # type: ignore[arg-type,return-value]


# ---------------------------------------------------------------------- ConnectionManager


def test_manager_shares_one_connect_per_address(redis_server: Any) -> None:
    made: list[Any] = []

    def new_connection(address: Any) -> Connection:
        made.append(address)
        return Connection(address, codec=RespCodec)

    opened: list[Connection] = []
    closed: list[tuple[Connection, Any]] = []
    manager = ConnectionManager(new_connection)
    manager.add_listener(on_connection_opened=opened.append,
                         on_connection_closed=lambda c, cause: closed.append((c, cause)))
    results = [manager.get_or_connect(redis_server.address) for _ in range(10)]
    assert len({id(r) for r in results}) == 1
    conn = results[0].get(timeout=5)
    assert len(made) == 1 and opened == [conn]
    assert manager.get_connection(redis_server.address) is conn
    assert manager.get_or_connect(redis_server.address).get(timeout=0) is conn
    assert manager.close_connection(redis_server.address, "test")
    assert closed and closed[0][0] is conn
    assert manager.get_connection(redis_server.address) is None
    assert not manager.close_connection(redis_server.address)
    again = manager.get_or_connect(redis_server.address).get(timeout=5)
    assert again is not conn and len(made) == 2
    manager.shutdown()
    assert not again.live()
    with pytest.raises(ConnectionError):
        manager.get_or_connect(redis_server.address).get(timeout=1)


def test_manager_failed_connect_is_in_the_result() -> None:
    manager = ConnectionManager(lambda a: Connection(a, codec=RespCodec))
    result = manager.get_or_connect(f"127.0.0.1:{free_port()}")
    with pytest.raises(ConnectionError, match="cannot connect"):
        result.get(timeout=5)


def test_translators_and_provider(redis_server: Any) -> None:
    public = "10.1.2.3:6379"
    table = TableAddressTranslator({public: redis_server.address})
    manager = ConnectionManager(
        lambda a: Connection(a, codec=RespCodec), address_translator=table,
        address_provider=DefaultAddressProvider([f"127.0.0.1:{free_port()}", public]),
    )
    conn = manager.connect_to_any(timeout=5)
    assert str(conn.address) == redis_server.address
    assert manager.get_connection(public) is conn
    manager.shutdown()

    assert DefaultAddressTranslator().translate(conn.address) == conn.address
    strict = TableAddressTranslator({}, strict=True)
    failing = ConnectionManager(lambda a: Connection(a, codec=RespCodec), address_translator=strict)
    with pytest.raises(ValueError, match="could not be translated"):
        failing.get_or_connect(public).get(timeout=2)
    calls = [0]

    def source() -> dict[str, str]:
        calls[0] += 1
        return {public: redis_server.address}

    refreshing = TableAddressTranslator(source)
    refreshing.refresh()
    assert calls[0] == 2
    assert str(refreshing.translate(conn.address)) == str(conn.address)  # miss: reload, keep
    assert calls[0] == 3
    with pytest.raises(ConfigurationError, match="table"):
        TableAddressTranslator({"bad": "x"})


# ---------------------------------------------------------------------- Heartbeat


def test_heartbeat_pings_idle_connections(redis_server: Any) -> None:
    conn = Connection(redis_server.address, codec=RespCodec)
    conn.connect()
    pings: list[Connection] = []

    def counting_ping(c: Connection) -> None:
        pings.append(c)
        ping(c)

    beat = Heartbeat(0.05, 1.0, connections=lambda: [conn], ping=counting_ping)
    beat.start()
    try:
        wait_until(lambda: len(pings) >= 3)
        assert conn.live()
    finally:
        beat.shutdown()
        conn.close()


def test_heartbeat_closes_a_silent_connection_and_reports_it_restored(fresh_redis: Any) -> None:
    pool = MultiplexPool(1, factory_for(fresh_redis.address), backoff_base=0.01, backoff_cap=0.05)
    stopped: list[Connection] = []
    restored: list[Connection] = []
    beat = Heartbeat(0.05, 0.3, connections=lambda: pool.connections, ping=ping)
    beat.add_listener(on_heartbeat_stopped=stopped.append, on_heartbeat_restored=restored.append)
    beat.start()
    try:
        conn = pool.connections[0]
        waiting = gevent.spawn(conn.request, encode_command("PING"))
        fresh_redis.pause()
        wait_until(lambda: stopped == [conn], timeout=5)
        waiting.join(timeout=2)
        assert isinstance(waiting.exception, ConnectionError)  # failed at once on close
        fresh_redis.resume()
        wait_until(lambda: restored == [conn], timeout=10)
        assert conn.live() and ping(conn) == b"PONG"
    finally:
        beat.shutdown()
        pool.close()
    assert not beat.running


def test_heartbeat_arguments() -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        Heartbeat(5, 1, connections=list, ping=ping)
    with pytest.raises(ConfigurationError, match="interval"):
        Heartbeat(0, 1, connections=list, ping=ping)
