"""Tests of greenpool.testing.proxy: TcpProxy's faults, with raw sockets and redis-py."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from servers_helpers import pid_alive, refused

from greenpool.testing import ProxyError, RedisServer, TcpProxy

pytestmark = pytest.mark.timeout(60)


def ping_through(port: int, timeout: float = 2.0) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(b"PING\r\n")
    return sock, sock.recv(100)


def test_proxy_forwards_and_counts(
    redis_server: RedisServer, tcp_proxy: Callable[[Any], TcpProxy]
) -> None:
    proxy = tcp_proxy(redis_server.address)
    assert proxy.address == f"127.0.0.1:{proxy.port}" and proxy.port != redis_server.port
    assert proxy.connections == 0
    sock, reply = ping_through(proxy.port)
    assert reply == b"+PONG\r\n"
    assert proxy.connections == 1
    sock.close()
    deadline = time.monotonic() + 5
    while proxy.connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proxy.connections == 0
    client = redis.Redis(host=proxy.host, port=proxy.port, socket_timeout=2)
    assert client.set("k", "v") and client.get("k") == b"v"


def test_proxy_delay(redis_server: RedisServer, tcp_proxy: Callable[[Any], TcpProxy]) -> None:
    proxy = tcp_proxy(redis_server)
    proxy.delay(0.25)
    start = time.monotonic()
    sock, reply = ping_through(proxy.port)
    elapsed = time.monotonic() - start
    sock.close()
    assert reply == b"+PONG\r\n"
    assert elapsed >= 0.25 * 2  # once each way
    proxy.normal()
    start = time.monotonic()
    sock, reply = ping_through(proxy.port)
    sock.close()
    assert reply == b"+PONG\r\n" and time.monotonic() - start < 0.25


def test_proxy_blackhole_then_heal(
    redis_server: RedisServer, tcp_proxy: Callable[[Any], TcpProxy]
) -> None:
    proxy = tcp_proxy((redis_server.host, redis_server.port))
    sock, _ = ping_through(proxy.port)
    proxy.blackhole()
    sock.settimeout(0.5)
    sock.sendall(b"PING\r\n")
    with pytest.raises(TimeoutError):
        sock.recv(100)
    fresh = socket.create_connection(("127.0.0.1", proxy.port), timeout=0.5)
    fresh.sendall(b"PING\r\n")
    with pytest.raises(TimeoutError):  # new connections are accepted, but mute too
        fresh.recv(100)
    proxy.normal()
    sock.settimeout(2)
    assert sock.recv(100) == b"+PONG\r\n"  # held data flows again
    sock.close()
    fresh.close()


def test_proxy_cut(redis_server: RedisServer, tcp_proxy: Callable[[Any], TcpProxy]) -> None:
    proxy = tcp_proxy(redis_server)
    sock, _ = ping_through(proxy.port)
    assert proxy.cut() == 1
    assert proxy.connections == 0
    try:
        assert sock.recv(100) == b""
    except ConnectionResetError:
        pass
    sock.close()
    sock, reply = ping_through(proxy.port)  # new connections still work
    assert reply == b"+PONG\r\n"
    sock.close()


def test_proxy_refuse(redis_server: RedisServer, tcp_proxy: Callable[[Any], TcpProxy]) -> None:
    proxy = tcp_proxy(redis_server)
    kept, _ = ping_through(proxy.port)
    proxy.refuse()
    with pytest.raises((ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        sock, reply = ping_through(proxy.port)
        sock.close()
        if reply == b"":
            raise ConnectionResetError("EOF")
    kept.sendall(b"PING\r\n")  # existing connections are left alone
    assert kept.recv(100) == b"+PONG\r\n"
    kept.close()
    proxy.normal()
    sock, reply = ping_through(proxy.port)
    assert reply == b"+PONG\r\n"
    sock.close()


def test_proxy_stop_pause_and_loopback_only(redis_server: RedisServer) -> None:
    with pytest.raises(ValueError, match="loopback"):
        TcpProxy("192.0.2.1", 6379)
    proxy = TcpProxy("localhost", redis_server.port)
    try:
        proxy.start()
        proxy.control_timeout = 0.5
        proxy.pause()
        with pytest.raises(ProxyError):
            proxy.normal()
        proxy.resume()
        pid = proxy.pid
        assert pid is not None
        proxy.restart()
        assert proxy.pid != pid
        proxy.normal()
        assert ping_through(proxy.port)[1] == b"+PONG\r\n"
        pid = proxy.pid
    finally:
        proxy.stop()
    assert pid is not None and not pid_alive(pid)
    assert refused(proxy.port)
    with pytest.raises(ProxyError):
        proxy.normal()
