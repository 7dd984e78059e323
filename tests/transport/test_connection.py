"""The green Connection against real redis-server processes."""

from __future__ import annotations

import random
from typing import Any

import gevent
import gevent.monkey
import pytest
from helpers import echo_storm, wait_until
from scripted_server import ScriptedServer

from greenpool import ConfigurationError, ConnectionError, ProtocolError, TimeoutError
from greenpool.protocol import encode_command
from greenpool.redis._codec import RespCodec
from greenpool.testing import RedisServer
from greenpool.transport.connection import Connection


def cmd(*args: Any) -> bytes:
    return encode_command(*args)


@pytest.fixture
def conn(redis_server: Any) -> Any:
    c = Connection(redis_server.address, codec=RespCodec)
    c.connect()
    yield c
    c.close()


def test_request_and_introspection(conn: Connection) -> None:
    assert conn.live() and conn.connected
    before = conn.last_write
    assert conn.request(cmd("PING")) == b"PONG"
    assert conn.request(cmd("SET", "t:conn", "v")) == b"OK"
    assert conn.request(cmd("GET", "t:conn")) == b"v"
    assert conn.pending == 0
    assert conn.last_write >= before and conn.last_read >= conn.last_write
    conn.close("done")
    assert not conn.live()
    with pytest.raises(ConnectionError, match="not connected"):
        conn.request(cmd("PING"))


def test_error_replies_are_returned_not_fatal(conn: Connection) -> None:
    reply = conn.request(cmd("NOSUCHCOMMAND"))
    assert reply.kind == "ERR"
    assert conn.request(cmd("PING")) == b"PONG"


def test_bad_arguments() -> None:
    with pytest.raises(ConfigurationError, match="address"):
        Connection("nowhere", codec=RespCodec)
    with pytest.raises(ConfigurationError, match="matching"):
        Connection("127.0.0.1:1", codec=RespCodec, matching="random")
    with pytest.raises(ConfigurationError, match="request_timeout"):
        Connection("127.0.0.1:1", codec=RespCodec, request_timeout=-1)
    with pytest.raises(ConfigurationError, match="ssl_context"):
        Connection("127.0.0.1:1", codec=RespCodec, ssl_context="yes")  # type: ignore[arg-type]


def test_connect_refused_is_a_connection_error() -> None:
    from greenpool.testing import free_port

    c = Connection(f"127.0.0.1:{free_port()}", codec=RespCodec)
    with pytest.raises(ConnectionError, match="cannot connect") as info:
        c.connect()
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert not c.live()


def test_connect_timeout_covers_the_handshake(redis_server: Any, tcp_proxy: Any) -> None:
    proxy = tcp_proxy(redis_server)
    proxy.blackhole()

    def handshake(c: Connection) -> None:
        c.request(cmd("PING"))

    c = Connection(proxy.address, codec=RespCodec, connect_timeout=0.2, handshake=handshake)
    with pytest.raises(ConnectionError, match="timed out after 0.2s"):
        c.connect()
    assert not c.live() and c.pending == 0


def test_ipv6_and_unix_socket() -> None:
    with RedisServer(unixsocket=True, extra_args=["--bind", "127.0.0.1", "::1"]) as server:
        v6 = Connection(f"[::1]:{server.port}", codec=RespCodec)
        v6.connect()
        assert v6.request(cmd("PING")) == b"PONG"
        v6.close()
        assert server.unix_path is not None
        unix = Connection(server.unix_path, codec=RespCodec)
        unix.connect()
        assert unix.address.is_unix
        assert unix.request(cmd("PING")) == b"PONG"
        unix.close()


def test_requests_queued_in_one_hub_iteration_go_out_in_one_send(conn: Connection) -> None:
    sends: list[int] = []
    real_send = conn._raw_send
    assert real_send is not None

    def counting_send(data: Any) -> int:
        sends.append(len(data))
        return real_send(data)

    conn._raw_send = counting_send
    results = {}

    def one(i: int) -> None:
        results[i] = conn.request(cmd("ECHO", f"m{i}"))

    gevent.joinall([gevent.spawn(one, i) for i in range(200)], raise_error=True)
    assert results == {i: f"m{i}".encode() for i in range(200)}
    assert len(sends) == 1
    assert sends[0] == sum(len(cmd("ECHO", f"m{i}")) for i in range(200))


def test_a_large_write_goes_through_the_writer_and_keeps_order(conn: Connection) -> None:
    big = random.randbytes(8_000_000)
    results: dict[str, Any] = {}

    def writer() -> None:
        results["set"] = conn.request(cmd("SET", "t:big", big))

    def small(i: int) -> None:
        results[f"echo{i}"] = conn.request(cmd("ECHO", str(i)))

    greenlets = [gevent.spawn(writer)] + [gevent.spawn(small, i) for i in range(50)]
    gevent.joinall(greenlets, raise_error=True)
    assert results.pop("set") == b"OK"
    assert results == {f"echo{i}": str(i).encode() for i in range(50)}
    assert conn.request(cmd("GET", "t:big")) == big


def test_a_timed_out_request_does_not_steal_the_next_reply(conn: Connection) -> None:
    with pytest.raises(TimeoutError, match="no reply within 0.05s"):
        conn.request(cmd("BLPOP", "t:none", "0.2"), timeout=0.05)
    assert conn.live()
    assert conn.request(cmd("ECHO", "mine")) == b"mine"  # not the late nil of the BLPOP
    assert conn.pending == 0


def test_a_killed_caller_abandons_only_its_own_reply(conn: Connection) -> None:
    g = gevent.spawn(conn.request, cmd("BLPOP", "t:none", "0.1"))
    gevent.sleep(0.01)
    g.kill()
    assert conn.request(cmd("ECHO", "after")) == b"after"
    assert conn.live()


def test_an_enclosing_gevent_timeout_abandons_the_request(conn: Connection) -> None:
    with pytest.raises(gevent.Timeout), gevent.Timeout(0.02):
        conn.request(cmd("BLPOP", "t:none", "0.1"))
    assert conn.request(cmd("ECHO", "ok")) == b"ok"


def test_request_many_returns_replies_together(conn: Connection) -> None:
    payload = cmd("SET", "t:many", "1") + cmd("INCR", "t:many") + cmd("HGET", "t:many", "x")
    replies = conn.request_many(payload, 3)
    assert replies[:2] == [b"OK", 2]
    assert replies[2].kind == "WRONGTYPE"


def test_a_thousand_greenlets_with_cancels_get_only_their_own_replies(conn: Connection) -> None:
    sock_before = conn._sock
    mismatches, cancelled = echo_storm(lambda v: conn.request(cmd("ECHO", v)), calls=20)
    assert mismatches == []
    assert cancelled > 0
    assert conn.live() and conn._sock is sock_before  # no reconnect caused by a cancel
    wait_until(lambda: conn.pending == 0)


def test_a_killed_server_fails_requests_in_flight_at_once(fresh_redis: Any) -> None:
    c = Connection(fresh_redis.address, codec=RespCodec)
    closes: list[Any] = []
    c.add_listener(on_close=lambda conn, cause: closes.append(cause))
    c.connect()
    waiting = [gevent.spawn(c.request, cmd("BLPOP", "t:never", "0")) for _ in range(20)]
    wait_until(lambda: c.pending == 20)
    fresh_redis.kill()
    gevent.joinall(waiting, timeout=5)
    assert all(isinstance(g.exception, ConnectionError) for g in waiting)
    assert not c.live() and len(closes) == 1
    fresh_redis.start()
    c.connect()
    assert c.request(cmd("PING")) == b"PONG"
    c.close()


def test_malformed_bytes_close_the_connection_with_a_protocol_error() -> None:
    server = ScriptedServer(b"?this is not resp\r\n")
    try:
        c = Connection(server.address, codec=RespCodec)
        c.connect()
        with pytest.raises(ConnectionError) as info:
            c.request(cmd("PING"))
        assert isinstance(info.value.__cause__, ProtocolError)
        assert not c.live()
    finally:
        server.stop()


def test_a_reply_nobody_asked_for_is_a_protocol_error() -> None:
    server = ScriptedServer(b"+OK\r\n+OK\r\n")  # two replies to one request
    try:
        c = Connection(server.address, codec=RespCodec)
        c.connect()
        c.request(cmd("PING"))
        wait_until(lambda: not c.live())
        assert isinstance(c.close_cause, ProtocolError)
    finally:
        server.stop()


def test_the_peer_closing_fails_pending_requests() -> None:
    server = ScriptedServer(b"", close_after=True)
    try:
        c = Connection(server.address, codec=RespCodec)
        c.connect()
        with pytest.raises(ConnectionError, match="closed the connection"):
            c.request(cmd("PING"), timeout=5)
    finally:
        server.stop()


def test_a_forked_child_forgets_the_socket_without_writing(redis_server: Any) -> None:
    import os

    c = Connection(redis_server.address, codec=RespCodec)
    c.connect()
    c.request(cmd("CLIENT", "SETNAME", "forked-parent"))
    pid = gevent.fork()
    if pid == 0:
        try:
            ok = not c.live()
            try:
                c.request(cmd("PING"))
                ok = False
            except ConnectionError:
                pass
            c.connect()
            ok = ok and c.request(cmd("CLIENT", "GETNAME")) is None
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert c.request(cmd("CLIENT", "GETNAME")) == b"forked-parent"
    c.close()


def test_each_request_times_out_at_its_own_deadline(redis_server: Any, tcp_proxy: Any) -> None:
    proxy = tcp_proxy(redis_server)
    c = Connection(proxy.address, codec=RespCodec)
    c.connect()
    proxy.blackhole()
    loop = gevent.get_hub().loop
    ended: dict[str, float] = {}
    order: list[str] = []

    def ask(name: str, timeout: float) -> None:
        started = loop.now()
        with pytest.raises(TimeoutError):
            c.request(cmd("PING"), timeout=timeout)
        ended[name] = loop.now() - started
        order.append(name)

    # Same timeout (one shared timer), then a shorter one behind a longer one
    # (out of deadline order: a timer of its own), then a longer one.
    greenlets = [gevent.spawn(ask, f"same{i}", 0.2) for i in range(20)]
    greenlets += [gevent.spawn(ask, "short", 0.05), gevent.spawn(ask, "long", 0.4)]
    gevent.joinall(greenlets, timeout=5, raise_error=True)
    assert order[0] == "short" and order[-1] == "long"  # each at its own deadline, in order
    assert ended["short"] >= 0.04 and ended["long"] >= 0.39
    assert all(ended[f"same{i}"] >= 0.19 for i in range(20))
    assert c.live() and c.pending == 22  # the replies may still come: slots kept
    proxy.normal()
    c.close()


def test_a_short_timeout_after_a_long_one_that_finished(redis_server: Any,
                                                         tcp_proxy: Any) -> None:
    # The shared deadline timer stayed armed for the finished request's 60 s
    # deadline, and the next request's 0.1 s timeout waited for it.
    proxy = tcp_proxy(redis_server)
    c = Connection(proxy.address, codec=RespCodec)
    c.connect()
    try:
        assert c.request(cmd("PING"), timeout=60) == b"PONG"
        proxy.blackhole()
        loop = gevent.get_hub().loop
        started = loop.now()
        with pytest.raises(TimeoutError), gevent.Timeout(5, AssertionError("timeout ignored")):
            c.request(cmd("PING"), timeout=0.1)
        assert loop.now() - started < 2
    finally:
        proxy.normal()
        c.close()


def test_a_blocked_hub_does_not_expire_the_next_request(conn: Connection) -> None:
    # The hub's loop time is refreshed only when it polls.  A deadline read
    # from it right after the hub was blocked for longer than the timeout
    # was already past: the request timed out at once, against a live server.
    blocking_sleep = gevent.monkey.get_original("time", "sleep")
    for timeout in (0.1, 0.1, 5.0, 0.1):  # in deadline order, then out of it
        gevent.sleep(0.001)
        blocking_sleep(0.3)
        assert conn.request(cmd("PING"), timeout=timeout) == b"PONG"
    # A blocked hub in the middle of a run that already read the clock: the
    # request begun before the block may rightly time out, not the one after.
    results: list[Any] = []

    def ask_first() -> None:
        try:
            conn.request(cmd("PING"), timeout=0.1)
        except TimeoutError:
            pass

    def block_then_ask() -> None:
        blocking_sleep(0.3)
        results.append(conn.request(cmd("PING"), timeout=0.1))

    gevent.joinall([gevent.spawn(ask_first), gevent.spawn(block_then_ask)],
                   timeout=5, raise_error=True)
    assert results == [b"PONG"]


def test_locate_is_asked_before_each_connect(redis_server: Any, fresh_redis: Any) -> None:
    """``locate=``: where the server is comes from the callable, on every connect."""
    targets = [(redis_server.host, redis_server.port), (fresh_redis.host, fresh_redis.port)]
    asked: list[Any] = []

    def locate() -> Any:
        asked.append(targets[len(asked) % 2])
        return asked[-1]

    c = Connection("127.0.0.1:1", codec=RespCodec, locate=locate)
    for expected in targets * 2:
        c.connect()
        assert (c.address.host, c.address.port) == expected
        assert c.request(cmd("PING")) == b"PONG"
        c.close()
    assert len(asked) == 4
    with pytest.raises(ConfigurationError) as info:
        Connection("127.0.0.1:1", codec=RespCodec, locate="here")  # type: ignore[arg-type]
    assert info.value.argument == "locate"

    def nowhere() -> Any:
        raise ConnectionError("no primary known")

    lost = Connection("127.0.0.1:1", codec=RespCodec, locate=nowhere)
    with pytest.raises(ConnectionError, match="no primary known"):
        lost.connect()
    assert not lost.live()


@pytest.mark.parametrize("leave", ["kill", "timeout"])
def test_a_request_left_before_it_was_written_is_never_sent(fresh_redis: Any, leave: str) -> None:
    # A paused server stops reading: an 8 MB SET fills the socket buffers and
    # keeps the writer busy, so the requests made after it wait in the
    # connection's buffer.  A caller that leaves then (killed, or its own
    # timeout) must take its request with it: sent later, it would run after
    # whatever the caller's program did next (a stale write landing last).
    c = Connection(fresh_redis.address, codec=RespCodec)
    c.connect()
    try:
        fresh_redis.pause()
        big = gevent.spawn(c.request, cmd("SET", "t:big", random.randbytes(8_000_000)))
        wait_until(lambda: c._writing)
        stays = gevent.spawn(c.request, cmd("SET", "t:stays", "1"))
        if leave == "kill":
            goes = gevent.spawn(c.request, cmd("SET", "t:left", "1"))
            gevent.sleep(0.01)
            goes.kill()
        else:
            with pytest.raises(TimeoutError):
                c.request(cmd("SET", "t:left", "1"), timeout=0.01)
        after = gevent.spawn(c.request, cmd("INCR", "t:after"))
        gevent.sleep(0.01)
        fresh_redis.resume()
        assert big.get(timeout=10) == b"OK"
        assert stays.get(timeout=10) == b"OK" and after.get(timeout=10) == 1
        assert c.request(cmd("EXISTS", "t:left")) == 0
        assert c.request(cmd("GET", "t:stays")) == b"1"
        assert c.pending == 0 and c.live()
    finally:
        fresh_redis.resume()
        c.close()
