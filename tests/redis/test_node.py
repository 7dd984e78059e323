"""The node layer: one server's connections, what keeps them alive, and settings on all of them."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from helpers import wait_until

from greenpool.redis import Redis
from greenpool.testing import RedisServer


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    """A server of this module's own, so that its connection count is this module's."""
    with RedisServer() as private:
        yield private


@pytest.fixture
def control(server: RedisServer) -> Iterator[Redis]:
    client = Redis(host=server.host, port=server.port, pool_size=1, health_check_interval=0)
    yield client
    client.close()


def _connected_clients(control: Redis) -> int:
    return int(control.info("clients")["connected_clients"])


def _use(client: Redis) -> None:
    client.ping()
    client.blpop(["t:node-none"], timeout=0.01)  # a dedicated connection too
    with client.pipeline() as pipe:
        pipe.get("t:node-x")
        pipe.execute()


@pytest.mark.parametrize("heartbeat", [30.0, 0.0])
def test_clients_dropped_without_close_leave_no_connection_behind(
    server: RedisServer, control: Redis, heartbeat: float
) -> None:
    control.ping()
    before = _connected_clients(control)
    for _ in range(20):
        client = Redis(host=server.host, port=server.port, health_check_interval=heartbeat)
        _use(client)
        del client
    gc.collect()
    wait_until(lambda: _connected_clients(control) == before, timeout=5)


def test_a_dropped_pubsub_and_monitor_close_their_connections(
    server: RedisServer, control: Redis
) -> None:
    control.ping()
    before = _connected_clients(control)
    client = Redis(host=server.host, port=server.port)
    for _ in range(5):
        p = client.pubsub()
        p.subscribe("t:node-chan")
        assert p.get_message(timeout=2) is not None
        del p
        m = client.monitor().__enter__()
        del m
    client.close()
    gc.collect()
    wait_until(lambda: _connected_clients(control) == before, timeout=5)


def test_a_closed_client_stops_its_greenlets(server: RedisServer) -> None:
    client = Redis(host=server.host, port=server.port)
    _use(client)
    node = client.node
    client.close()
    assert node.closed
    assert all(not c.live() for c in node.shared_pool.connections)
    assert node.dedicated_pool.closed


def _names(control: Redis) -> list[str]:
    listing = control.execute_command("CLIENT", "LIST")
    text = listing.decode() if isinstance(listing, bytes) else listing
    names = []
    for line in text.splitlines():
        fields = dict(item.split("=", 1) for item in line.split(" ") if "=" in item)
        if fields.get("cmd") not in ("client|list",):
            names.append(fields.get("name", ""))
    return names


def test_client_setname_names_every_connection_and_survives_reconnects(
    server: RedisServer, control: Redis
) -> None:
    client = Redis(host=server.host, port=server.port, pool_size=3)
    try:
        gevent.joinall([gevent.spawn(client.ping) for _ in range(30)])
        wait_until(lambda: len(client.shared_pool.connected_connections) == 3)
        client.blpop(["t:node-none"], timeout=0.01)  # a dedicated connection, named before
        assert client.client_setname("gp-worker") is True
        shared = client.shared_pool.connected_connections
        replies = {conn.request(b"*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n") for conn in shared}
        assert replies == {b"gp-worker"}
        client.blpop(["t:node-none"], timeout=0.01)  # the dedicated one is named too now
        assert _names(control).count("gp-worker") >= 4
        # A reconnected connection gets the name from the handshake.
        control.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        wait_until(lambda: _pings(client), timeout=5)
        gevent.joinall([gevent.spawn(client.ping) for _ in range(30)])
        assert client.client_getname() == "gp-worker"
        assert client.execute_command("CLIENT", "GETNAME") == b"gp-worker"
    finally:
        client.close()


def test_a_name_the_server_refuses_is_not_kept(server: RedisServer) -> None:
    from greenpool.redis import ResponseError

    with Redis(host=server.host, port=server.port) as client:
        with pytest.raises(ResponseError, match="spaces"):
            client.client_setname("has spaces")
        assert client.settings.client_name is None
        client.execute_command("CLIENT", "KILL", "TYPE", "normal")
        wait_until(lambda: _pings(client), timeout=5)  # reconnects: the handshake is fine


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def test_closing_a_client_closes_its_pubsubs_and_monitors(
    server: RedisServer, control: Redis
) -> None:
    """As with redis-py, whose close() disconnects every connection of the pool."""
    control.ping()
    before = _connected_clients(control)
    client = Redis(host=server.host, port=server.port)
    client.ping()
    subscribers = []
    for i in range(3):
        p = client.pubsub()
        p.subscribe(f"t:node-close-{i}")
        assert p.get_message(timeout=2) is not None
        subscribers.append(p)
    monitor = client.monitor().__enter__()
    wait_until(lambda: _connected_clients(control) >= before + 5, timeout=5)
    assert control.pubsub_numsub("t:node-close-0") == [(b"t:node-close-0", 1)]
    client.close()
    wait_until(lambda: _connected_clients(control) == before, timeout=5)
    assert control.pubsub_numsub("t:node-close-0") == [(b"t:node-close-0", 0)]
    del monitor, subscribers
