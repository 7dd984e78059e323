"""greenpool.tarantool.Connection against real tarantool processes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
import trustme
from fake_tarantool import FakeTarantool
from helpers import wait_until
from tls_terminator import TlsTerminator

from greenpool import ConfigurationError
from greenpool.protocol.iproto import ER_TUPLE_FOUND, encode_eval, encode_ping
from greenpool.protocol.iproto import IteratorType as It
from greenpool.tarantool import (
    Connection,
    DatabaseError,
    NetworkError,
    NetworkTimeoutError,
    SchemaError,
)
from greenpool.testing import TarantoolServer, free_port

LUA = """
box.schema.space.create('items', {if_not_exists = true, format = {
    {name = 'id', type = 'unsigned'}, {name = 'name', type = 'string'},
    {name = 'n', type = 'unsigned', is_nullable = true}}})
box.space.items:create_index('primary', {if_not_exists = true})
box.space.items:create_index('by_name', {if_not_exists = true, unique = false,
    parts = {{2, 'string'}}})
box.schema.func.create('slow', {if_not_exists = true})
function slow(seconds, value) require('fiber').sleep(seconds) return value end
function pusher(n)
    for i = 1, n do box.session.push(i) end
    return 'done'
end
box.execute([[CREATE TABLE IF NOT EXISTS sqlt (id INTEGER PRIMARY KEY AUTOINCREMENT,
    v TEXT)]])
"""


@pytest.fixture(scope="module")
def server() -> Iterator[TarantoolServer]:
    srv = TarantoolServer(lua=LUA, user="alice", password="s3cret-pw")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def conn(server: TarantoolServer) -> Iterator[Connection]:
    c = Connection("127.0.0.1", server.port)
    server.eval_lua("box.space.items:truncate()")
    try:
        yield c
    finally:
        c.close()


# --------------------------------------------------------------------------- requests


def test_data_requests_and_the_response_sequence(conn: Connection) -> None:
    assert conn.connected and not conn.is_closed()
    assert conn.version_info is not None and conn.version_info >= (2, 0, 0)
    assert isinstance(conn.ping(), float)
    assert conn.ping(notime=True) == "Success"
    inserted = conn.insert("items", [1, "one", 10])
    assert inserted == [[1, "one", 10]] and inserted.data == [[1, "one", 10]]
    assert len(inserted) == 1 and inserted[0] == [1, "one", 10]
    assert list(inserted) == [[1, "one", 10]] and list(reversed(inserted)) == [[1, "one", 10]]
    assert [1, "one", 10] in inserted and inserted.rowcount == 1 and inserted.return_code == 0
    assert conn.replace("items", (2, "two", 20)).data == [[2, "two", 20]]
    assert conn.select("items", 2).data == [[2, "two", 20]]
    assert conn.select("items").data == [[1, "one", 10], [2, "two", 20]]
    assert conn.select("items", [1], iterator="GT").data == [[2, "two", 20]]
    assert conn.select("items", 2, iterator=It.LE, limit=1).data == [[2, "two", 20]]
    assert conn.select("items", None, offset=1).data == [[2, "two", 20]]
    assert conn.select("items", "two", index="by_name").data == [[2, "two", 20]]
    space_id = conn.schema.resolve_space("items")  # type: ignore[union-attr]
    assert conn.select(space_id, 1, index=0).data == [[1, "one", 10]]
    assert conn.update("items", 1, [("+", "n", 5), ("=", 1, "uno")]).data == [[1, "uno", 15]]
    assert conn.update("items", 99, [("+", 2, 1)]).data == []
    assert conn.upsert("items", [3, "three", 0], [("+", 2, 1)]).data == []
    assert conn.upsert("items", [3, "three", 0], [("+", 2, 1)]).data == []
    assert conn.select("items", 3).data == [[3, "three", 1]]
    assert conn.delete("items", 3).data == [[3, "three", 1]]
    assert conn.delete("items", 2, index="primary").data == [[2, "two", 20]]
    assert conn.delete("items", 2).data == []
    assert conn.select("items", 3).data == []
    assert repr(conn.select("items", 1)).startswith("Response(")


def test_call_eval_execute(conn: Connection) -> None:
    assert conn.call("slow", 0, "x").data == ["x"]
    assert conn.call("slow", [0, "y"]).data == ["y"]  # one list argument: the argument list
    assert conn.eval("return ...", 1, "b", [3]).data == [1, "b", [3]]
    assert conn.eval("return 1 + 1").data == [2]
    inserted = conn.execute("INSERT INTO sqlt (v) VALUES (?), (?)", ["a", "b"])
    assert inserted.affected_row_count == 2 and inserted.rowcount == 2
    assert inserted.autoincrement_ids is not None and len(inserted.autoincrement_ids) == 2
    rows = conn.execute("SELECT v FROM sqlt WHERE v = :v", {"v": "a"})
    assert rows.data == [["a"]] and rows.metadata is not None
    assert [c.name for c in rows.metadata] == ["V"] and rows.affected_row_count is None


def test_error_replies_are_raised_and_the_connection_stays_usable(conn: Connection) -> None:
    conn.insert("items", [1, "one"])
    with pytest.raises(DatabaseError) as info:
        conn.insert("items", [1, "again"])
    assert info.value.code == ER_TUPLE_FOUND and "Duplicate key" in info.value.message
    with pytest.raises(DatabaseError, match="not defined|not found|ER_NO_SUCH"):
        conn.call("no_such_function")
    with pytest.raises(SchemaError, match="no_such_space"):
        conn.select("no_such_space", 1)
    with pytest.raises(SchemaError, match="no_such_index"):
        conn.select("items", 1, index="no_such_index")
    with pytest.raises(ConfigurationError, match="tuple"):
        conn.insert("items", "not a tuple")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="iterator"):
        conn.select("items", 1, iterator="sideways")
    assert conn.select("items", 1).data == [[1, "one"]]


def test_pushes_reach_on_push_before_the_reply(conn: Connection) -> None:
    seen: list[Any] = []
    reply = conn.call("pusher", 3, on_push=lambda data, ctx: seen.append((data, ctx)),
                      on_push_ctx="ctx")
    assert reply.data == ["done"]
    assert seen == [([1], "ctx"), ([2], "ctx"), ([3], "ctx")]


def test_replies_out_of_order_each_to_its_caller(conn: Connection) -> None:
    order: list[str] = []

    def run(name: str, seconds: float) -> None:
        assert conn.call("slow", seconds, name).data == [name]
        order.append(name)

    glets = [gevent.spawn(run, "slow", 0.3), gevent.spawn(run, "fast", 0.0),
             gevent.spawn(run, "middle", 0.1)]
    gevent.joinall(glets, raise_error=True)
    assert order == ["fast", "middle", "slow"]


def test_timeout_abandons_only_that_request(conn: Connection) -> None:
    start = time.monotonic()
    with pytest.raises(NetworkTimeoutError) as info:
        conn.call("slow", 0.5, "late", timeout=0.1)
    assert time.monotonic() - start < 0.4
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, NetworkError)
    # The late reply arrives and is dropped; the connection still works.
    assert conn.call("slow", 0, "next").data == ["next"]
    gevent.sleep(0.5)
    assert conn.eval("return 'after'").data == ["after"]
    assert conn.connected


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_concurrent_requests_share_one_deadline_timer(conn: Connection,
                                                      timeout: float | None) -> None:
    # Every first try waits the same timeout, so the transport's deadlines
    # come in order and its one timer serves them all: no timer per request.
    transport = conn._transport
    glets = [gevent.spawn(conn.call, "slow", 0.2, i, timeout=timeout) for i in range(50)]
    gevent.sleep(0.05)
    assert len(transport._deadlines) == 50
    assert [g.get().data for g in glets] == [[i] for i in range(50)]


def test_a_sync_in_flight_is_refused_and_keeps_its_caller(conn: Connection) -> None:
    transport = conn._transport
    sync = 10**12  # far from the connection's own syncs
    first = gevent.spawn(transport.request,
                         encode_eval(sync, "require('fiber').sleep(0.1) return 1", []),
                         key=sync, timeout=5.0)
    gevent.sleep(0.02)
    with pytest.raises(ConfigurationError, match="in flight"):
        transport.request(encode_ping(sync), key=sync, timeout=5.0)
    assert first.get().data == [1]
    assert transport.pending == 0


def test_socket_timeout_applies_to_every_request(server: TarantoolServer) -> None:
    c = Connection("127.0.0.1", server.port, socket_timeout=0.1)
    try:
        with pytest.raises(NetworkTimeoutError):
            c.call("slow", 0.4, "x")
        assert c.call("slow", 0.0, "y").data == ["y"]
    finally:
        c.close()


def test_killed_caller_abandons_only_its_sync(conn: Connection) -> None:
    glet = gevent.spawn(conn.call, "slow", 0.3, "killed")
    gevent.sleep(0.05)
    glet.kill()
    assert conn.call("slow", 0.0, "mine").data == ["mine"]
    with gevent.Timeout(0.05, False):
        conn.call("slow", 0.3, "interrupted")
    gevent.sleep(0.35)
    assert conn.eval("return 'still fine'").data == ["still fine"]
    assert conn.load == 0


# --------------------------------------------------------------------------- schema


def test_schema_loads_on_connect_and_follows_changes(server: TarantoolServer) -> None:
    c = Connection("127.0.0.1", server.port)
    other = Connection("127.0.0.1", server.port)
    try:
        assert "items" in c.schema.spaces  # type: ignore[union-attr]
        version = c.schema_version
        # A space created after connecting: the unknown name reloads the schema.
        other.eval("box.schema.space.create('later', {if_not_exists = true})"
                   ":create_index('pk', {if_not_exists = true})")
        assert c.insert("later", [1]).data == [[1]]
        assert c.schema_version is not None and version is not None
        assert c.schema_version > version
        # Dropped and created again with another id: writes by name carry the
        # schema version, the server refuses them (109), the schema reloads,
        # the write goes to the new space.
        old_id = c.schema.resolve_space("later")  # type: ignore[union-attr]
        other.eval("box.space.later:drop() "
                   "box.schema.space.create('later', {id = 7777}):create_index('pk')")
        assert c.insert("later", [2]).data == [[2]]
        assert c.schema.resolve_space("later") == 7777 != old_id  # type: ignore[union-attr]
        assert other.select(7777, 2).data == [[2]]
        # A select by name sent with stale ids is checked by the reply's version.
        other.eval("box.space.later:drop() "
                   "box.schema.space.create('later', {id = 7778}):create_index('pk') "
                   "box.space.later:insert{3}")
        assert c.select("later", 3).data == [[3]]
        assert c.schema.resolve_space("later") == 7778  # type: ignore[union-attr]
        # Another client's DDL that shows in a reply's version reloads in the background.
        before = c.schema_version
        other.eval("box.schema.space.create('bg', {if_not_exists = true})")
        c.ping()
        c.eval("return 1")
        wait_until(lambda: c.schema_version != before)
        assert "bg" in c.schema.spaces  # type: ignore[union-attr]
    finally:
        other.eval("if box.space.later then box.space.later:drop() end "
                   "if box.space.bg then box.space.bg:drop() end")
        c.close()
        other.close()


def test_without_schema_only_ids_work(server: TarantoolServer) -> None:
    c = Connection("127.0.0.1", server.port, fetch_schema=False)
    try:
        assert c.schema is None
        assert c.select(281, "items", index=2).data  # _vspace by name index
        with pytest.raises(ConfigurationError, match="fetch_schema"):
            c.select("items", 1)
    finally:
        c.close()


# --------------------------------------------------------------------------- auth, config, secrets


def test_authentication_and_secrets(server: TarantoolServer) -> None:
    c = Connection("127.0.0.1", server.port, user="alice", password="s3cret-pw")
    try:
        assert c.eval("return box.session.user()").data == ["alice"]
        assert "s3cret" not in repr(c)
    finally:
        c.close()
    with pytest.raises(NetworkError) as info:
        Connection("127.0.0.1", server.port, user="alice", password="wrong-pw-XYZ")
    text = f"{info.value} {info.value!r} {info.value.__cause__!r}"
    assert "authentication as 'alice' failed" in str(info.value)
    assert "wrong-pw-XYZ" not in text and info.value.sent is False
    assert isinstance(info.value.__cause__, Exception)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"port": 0}, "host/port"),
        ({"port": "abc", "host": "x"}, "host/port"),
        ({"socket_timeout": -1}, "socket_timeout"),
        ({"connection_timeout": 0}, "connection_timeout"),
        ({"deadline": float("inf")}, "deadline"),
        ({"reconnect_max_attempts": -1}, "reconnect_max_attempts"),
        ({"reconnect_delay": "soon"}, "reconnect_delay"),
        ({"reconnect_backoff": 0.5}, "reconnect_backoff"),
        ({"transport": "tls"}, "host/port"),
        ({"auth_type": "pap-sha256"}, "host/port"),
        ({"user": ""}, "user"),
        ({"fetch_schema": "yes"}, "fetch_schema"),
        ({"ssl_cert_file": "/nonexistent.pem", "ssl_key_file": "/nonexistent.key"},
         "ssl_cert_file"),
        ({"ssl_cert_file": "/nonexistent.pem"}, "ssl_key_file"),
        ({"ssl_verify": "no"}, "ssl_verify"),
        ({"ssl_ca_file": "/nonexistent-ca.pem"}, "ssl_ca_file"),
    ],
)
def test_bad_configuration_names_the_argument(kwargs: dict[str, Any], argument: str) -> None:
    args = {"host": "127.0.0.1", "port": 3301, "connect_now": False, **kwargs}
    with pytest.raises(ConfigurationError) as info:
        Connection(**args)
    assert info.value.argument == argument


def test_bad_password_type_is_masked() -> None:
    with pytest.raises(ConfigurationError) as info:
        Connection("127.0.0.1", 3301, password=12345, connect_now=False)  # type: ignore[arg-type]
    assert "12345" not in str(info.value)


def test_timeout_argument_is_checked(conn: Connection) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        conn.ping(timeout=0)


# --------------------------------------------------------------------------- failures


def test_unreachable_server_fails_with_network_error() -> None:
    port = free_port()
    start = time.monotonic()
    with pytest.raises(NetworkError) as info:
        Connection("127.0.0.1", port)
    assert info.value.sent is False and "refused" in str(info.value).lower()
    c = Connection("127.0.0.1", port, connect_now=False, reconnect_max_attempts=3,
                   reconnect_delay=0.05)
    with pytest.raises(NetworkError):
        c.ping()
    assert time.monotonic() - start < 2


def test_reconnects_after_a_restart(fresh_tarantool: TarantoolServer) -> None:
    c = Connection("127.0.0.1", fresh_tarantool.port, reconnect_max_attempts=50,
                   reconnect_delay=0.05)
    try:
        assert c.eval("return 1").data == [1]
        pending = gevent.spawn(c.eval, "require('fiber').sleep(5)")
        gevent.sleep(0.1)
        fresh_tarantool.kill()
        with pytest.raises(NetworkError) as info:
            pending.get(timeout=5)
        assert info.value.sent is True
        assert not c.connected
        gevent.spawn_later(0.2, fresh_tarantool.start)
        assert c.eval("return 2", timeout=20).data == [2]  # reconnected by the request
        assert c.connected
    finally:
        c.close()


def test_close_fails_pending_and_a_later_request_reconnects(conn: Connection) -> None:
    pending = gevent.spawn(conn.call, "slow", 1, "x")
    gevent.sleep(0.05)
    conn.close()
    with pytest.raises(NetworkError):
        pending.get(timeout=2)
    assert conn.is_closed()
    assert conn.eval("return 'back'").data == ["back"]


def test_deadline_bounds_a_black_holed_server(server: TarantoolServer, tcp_proxy: Any) -> None:
    proxy = tcp_proxy(server)
    c = Connection(proxy.host, proxy.port, deadline=0.5, connection_timeout=0.3,
                   reconnect_max_attempts=0)
    try:
        assert c.ping(notime=True) == "Success"
        proxy.blackhole()
        start = time.monotonic()
        with pytest.raises(NetworkTimeoutError):
            c.eval("return 1")
        assert 0.4 < time.monotonic() - start < 1.5
    finally:
        c.close()
    start = time.monotonic()
    with pytest.raises(NetworkError, match="timed out|within"):
        Connection(proxy.host, proxy.port, connection_timeout=0.3)
    assert time.monotonic() - start < 1.5
    # The caller's own gevent.Timeout passes through, whether it strikes while
    # connecting or while waiting for a reply.
    lazy = Connection(proxy.host, proxy.port, connect_now=False, connection_timeout=5)
    mine = gevent.Timeout(0.2)
    with pytest.raises(gevent.Timeout) as info, mine:
        lazy.ping()
    assert info.value is mine
    lazy.close()


def test_malformed_bytes_close_the_connection_and_fail_pending() -> None:
    fake = FakeTarantool("garbage")
    try:
        c = Connection("127.0.0.1", fake.port, fetch_schema=False, reconnect_max_attempts=0)
        assert c.connected
        with pytest.raises(NetworkError) as info:
            c.ping()
        assert "malformed" in str(info.value) or "prefix" in str(info.value)
        assert not c.connected
    finally:
        fake.stop()


@pytest.mark.parametrize("mode", ["bad-greeting", "silent"])
def test_a_server_that_is_not_tarantool_is_refused(mode: str) -> None:
    fake = FakeTarantool(mode)
    try:
        start = time.monotonic()
        with pytest.raises(NetworkError) as info:
            Connection("127.0.0.1", fake.port, connection_timeout=0.5)
        assert time.monotonic() - start < 2
        assert info.value.sent is False
        if mode == "bad-greeting":
            assert "greeting" in str(info.value)
    finally:
        fake.stop()


def test_bad_greeting_from_an_admin_console(server: TarantoolServer) -> None:
    port = free_port()
    server.eval_lua(f"require('console').listen('127.0.0.1:{port}')")
    with pytest.raises(NetworkError, match="console"):
        Connection("127.0.0.1", port)


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_front(server: TarantoolServer, tmp_path_factory: Any) -> Iterator[tuple[int, Path]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    d = tmp_path_factory.mktemp("tls")
    cert.private_key_and_cert_chain_pem.write_to_path(str(d / "server.pem"))
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    front = TlsTerminator(str(d / "server.pem"), str(d / "server.pem"), server.port)
    try:
        yield front.port, d
    finally:
        front.stop()


def test_tls_with_a_ca_file(tls_front: tuple[int, Path]) -> None:
    port, d = tls_front
    c = Connection("127.0.0.1", port, transport="ssl", ssl_ca_file=str(d / "ca.pem"))
    try:
        assert c.eval("return 'over tls'").data == ["over tls"]
        assert c.select("items", 1) is not None
    finally:
        c.close()
    c = Connection("127.0.0.1", port, transport="ssl", ssl_ca_file=str(d / "ca.pem"),
                   ssl_check_hostname=True)
    c.close()


def test_tls_verifies_the_server_by_default(tls_front: tuple[int, Path]) -> None:
    port, _ = tls_front
    with pytest.raises(NetworkError, match="CERTIFICATE_VERIFY_FAILED|certificate verify"):
        Connection("127.0.0.1", port, transport="ssl")
    c = Connection("127.0.0.1", port, transport="ssl", ssl_verify=False)
    try:
        assert c.eval("return 2").data == [2]
    finally:
        c.close()


def test_tls_to_a_plain_port_fails_cleanly(server: TarantoolServer) -> None:
    with pytest.raises(NetworkError):
        Connection("127.0.0.1", server.port, transport="ssl", ssl_verify=False,
                   connection_timeout=1)


def test_a_request_left_before_it_was_written_is_never_sent(
    fresh_tarantool: TarantoolServer,
) -> None:
    # The keyed twin of the Redis transport test: behind a 12 MB request to a
    # paused server (more than the socket buffers take), a killed caller's
    # request waits in the connection's buffer, and must not run once the
    # server reads again.
    c = Connection("127.0.0.1", fresh_tarantool.port)
    try:
        c.ping()
        fresh_tarantool.pause()
        big = gevent.spawn(c.eval, "return #...", "x" * 12_000_000)
        wait_until(lambda: c._transport._writing)
        left = gevent.spawn(c.eval, "rawset(_G, 'left', true)")
        gevent.sleep(0.01)
        left.kill()
        after = gevent.spawn(c.eval, "return 'after'")
        gevent.sleep(0.01)
        fresh_tarantool.resume()
        assert big.get(timeout=20).data == [12_000_000]
        assert after.get(timeout=10).data == ["after"]
        assert c.eval("return rawget(_G, 'left')").data == [None]
        assert c.load == 0
    finally:
        fresh_tarantool.resume()
        c.close()
