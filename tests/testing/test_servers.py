"""Tests of the real-server layer itself (greenpool.testing), with stock client packages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pymysql
import pytest
import redis
import tarantool
import trustme
from redis.backoff import NoBackoff
from redis.retry import Retry

from greenpool.testing import (
    MariaDBServer,
    PostgresServer,
    PostgresStandby,
    ProxyError,
    RedisServer,
    ServerNotInstalled,
    ServerStartError,
    TarantoolReplicaSet,
    TarantoolServer,
    TcpProxy,
    find_program,
    free_port,
    servers,
)

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]


def pid_alive(pid: int) -> bool:
    """True while a process (not a zombie) with this PID exists."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(b")") + 2 :].split()[0] != b"Z"


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.stop()


def redis_client(server: RedisServer, **kwargs: Any) -> redis.Redis:
    kwargs.setdefault("socket_timeout", 2)
    kwargs.setdefault("socket_connect_timeout", 2)
    kwargs.setdefault("retry", Retry(NoBackoff(), 0))  # fail at once, not after retries
    return redis.Redis(host=server.host, port=server.port, **kwargs)


# --------------------------------------------------------------------------- generic


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_missing_program_names_the_debian_package() -> None:
    with pytest.raises(ServerNotInstalled) as info:
        find_program("greenpool-no-such-server", "greenpool-pkg")
    assert info.value.package == "greenpool-pkg"
    assert "apt-get install greenpool-pkg" in str(info.value)


def test_start_failure_carries_the_log_tail(own_redis: RedisServer) -> None:
    own_redis.extra_args = ["--no-such-directive", "1"]
    with pytest.raises(ServerStartError) as info:
        own_redis.start()
    assert "no-such-directive" in info.value.log_tail
    assert "no-such-directive" in str(info.value)
    assert not own_redis.running


def _run_child(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        check=False,
    )


@pytest.mark.parametrize("ending", ["return normally", "os._exit(3)"])
def test_no_orphans_when_the_test_process_dies(
    ending: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process that starts a server and a proxy and never stops them.
    result = _run_child(
        f"""
        import os, sys
        from greenpool.testing import RedisServer, TcpProxy
        server = RedisServer().start()
        proxy = TcpProxy("127.0.0.1", server.port).start()
        print(server.pid, proxy.pid, server.tmpdir, proxy.tmpdir, flush=True)
        keep = [server, proxy]
        if {ending == "os._exit(3)"}:
            os._exit(3)
        """
    )
    assert result.stdout, result.stderr
    server_pid, proxy_pid, *tmpdirs = result.stdout.split()
    deadline = time.monotonic() + 5
    while (pid_alive(int(server_pid)) or pid_alive(int(proxy_pid))) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert not pid_alive(int(server_pid))  # atexit, or the kernel's parent-death signal
    assert not pid_alive(int(proxy_pid))
    if ending == "return normally":  # atexit also removed the directories
        assert not any(os.path.exists(d) for d in tmpdirs)
    else:  # the next process to start a server sweeps them away
        assert all(os.path.isdir(d) for d in tmpdirs)
        monkeypatch.setattr(servers, "_swept", False)
        servers._sweep_stale_dirs()
        assert not any(os.path.exists(d) for d in tmpdirs)


def test_works_under_gevent_monkey_patching() -> None:
    result = _run_child(
        """
        from gevent import monkey; monkey.patch_all()
        import gevent, socket
        from greenpool.testing import RedisServer, TcpProxy
        ticks = []
        def ticker():
            while True:
                ticks.append(1); gevent.sleep(0.01)
        t = gevent.spawn(ticker)
        with RedisServer() as server, TcpProxy("127.0.0.1", server.port) as proxy:
            proxy.delay(0.2)
            s = socket.create_connection(("127.0.0.1", proxy.port))
            s.sendall(b"PING\\r\\n"); reply = s.recv(100); s.close()
            server.pause(); server.resume(); server.restart()
        t.kill()
        print(reply.decode().strip(), len(ticks) > 10)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["+PONG", "True"]


# --------------------------------------------------------------------------- Redis


def test_redis_start_answer_stop(own_redis: RedisServer) -> None:
    own_redis.start()
    assert own_redis.running
    assert own_redis.address == f"127.0.0.1:{own_redis.port}"
    assert own_redis.url == f"redis://127.0.0.1:{own_redis.port}/0"
    assert redis_client(own_redis).ping()
    pid, tmpdir = own_redis.pid, own_redis.tmpdir
    assert pid is not None and tmpdir is not None and os.path.isdir(tmpdir)
    own_redis.stop()
    assert not pid_alive(pid)
    assert not os.path.exists(tmpdir)
    assert not own_redis.running and own_redis.pid is None
    assert refused(own_redis.port)
    own_redis.stop()  # twice is fine


def test_redis_restart_keeps_the_port(own_redis: RedisServer) -> None:
    own_redis.start()
    port, pid = own_redis.port, own_redis.pid
    own_redis.restart()
    assert own_redis.port == port and own_redis.pid != pid
    assert pid is not None and not pid_alive(pid)
    assert redis_client(own_redis).ping()


def test_redis_pause_then_resume(fresh_redis: RedisServer) -> None:
    client = redis_client(fresh_redis, socket_timeout=0.5, socket_connect_timeout=0.5)
    assert client.ping()
    fresh_redis.pause()
    try:
        with pytest.raises(redis.exceptions.TimeoutError):
            redis_client(fresh_redis, socket_timeout=0.5, socket_connect_timeout=0.5).ping()
    finally:
        fresh_redis.resume()
    assert client.ping()


def test_redis_kill_then_start_again(fresh_redis: RedisServer) -> None:
    pid = fresh_redis.pid
    assert pid is not None
    fresh_redis.kill()
    assert not pid_alive(pid)
    assert fresh_redis.tmpdir is not None and os.path.isdir(fresh_redis.tmpdir)
    assert refused(fresh_redis.port)
    fresh_redis.start()
    assert redis_client(fresh_redis).ping()


def test_redis_stop_a_paused_server(fresh_redis: RedisServer) -> None:
    pid = fresh_redis.pid
    assert pid is not None
    fresh_redis.pause()
    fresh_redis.stop()
    assert not pid_alive(pid)


def test_redis_password_and_acl_user() -> None:
    with RedisServer(password="s3cret", username="alice") as server:
        assert isinstance(server, RedisServer)
        assert server.url.startswith("redis://alice:s3cret@")
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis_client(server).ping()
        assert redis_client(server, password="s3cret").ping()
        assert redis_client(server, username="alice", password="s3cret").ping()


def test_redis_tls(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "c.pem", tmp_path / "k.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    with RedisServer(tls=True, tls_cert=cert_file, tls_key=key_file, tls_ca=ca_file) as server:
        assert isinstance(server, RedisServer)
        assert server.url.startswith("rediss://")
        assert redis_client(server, ssl=True, ssl_ca_certs=str(ca_file)).ping()
        with pytest.raises(redis.exceptions.ConnectionError):
            redis_client(server, socket_timeout=1).ping()


def test_redis_unix_socket() -> None:
    with RedisServer(unixsocket=True) as server:
        assert isinstance(server, RedisServer) and server.unix_path is not None
        assert redis.Redis(unix_socket_path=server.unix_path, socket_timeout=2).ping()


def test_redis_session_fixture(redis_server: RedisServer) -> None:
    client = redis_client(redis_server)
    client.set("greenpool:fixture", "1")
    assert client.get("greenpool:fixture") == b"1"


# --------------------------------------------------------------------------- Tarantool

SPACE_LUA = """
box.schema.space.create('kv', {if_not_exists = true})
box.space.kv:create_index('pk', {if_not_exists = true})
"""


def test_tarantool_start_eval_restart_stop() -> None:
    server = TarantoolServer(lua=SPACE_LUA)
    try:
        server.start()
        assert server.eval_lua("return 1 + ...", 41) == [42]
        server.eval_lua("box.space.kv:replace{1, 'persisted'}")
        port, pid = server.port, server.pid
        server.restart()
        assert server.port == port and server.pid != pid
        assert server.eval_lua("return box.space.kv:get{1}") == [[1, "persisted"]]
        pid = server.pid
    finally:
        server.stop()
    assert pid is not None and not pid_alive(pid)
    assert refused(server.port)


def test_tarantool_pause_resume_kill(fresh_tarantool: TarantoolServer) -> None:
    conn = fresh_tarantool.connect(timeout=0.5)
    try:
        assert conn.ping(notime=True) == "Success"
        fresh_tarantool.pause()
        try:
            with pytest.raises(tarantool.error.Error):
                conn.eval("return 1")
        finally:
            fresh_tarantool.resume()
    finally:
        conn.close()
    assert fresh_tarantool.eval_lua("return 2") == [2]
    pid = fresh_tarantool.pid
    assert pid is not None
    fresh_tarantool.kill()
    assert not pid_alive(pid)
    fresh_tarantool.start()
    assert fresh_tarantool.eval_lua("return 3") == [3]


def test_tarantool_user_and_password() -> None:
    with TarantoolServer(user="alice", password="s3cret", guest_access=False) as server:
        assert isinstance(server, TarantoolServer)
        assert server.url == f"alice:s3cret@127.0.0.1:{server.port}"
        assert server.eval_lua("return box.session.user()") == ["alice"]
        with pytest.raises(tarantool.error.DatabaseError):
            server.connect(user="alice", password="wrong")
        guest = server.connect(user="guest")
        try:
            with pytest.raises(tarantool.error.DatabaseError, match="denied"):
                guest.eval("return 1")
        finally:
            guest.close()


def test_tarantool_bad_lua_fails_with_the_log() -> None:
    server = TarantoolServer(lua="error('greenpool-test-boom')")
    try:
        with pytest.raises(ServerStartError, match="greenpool-test-boom"):
            server.start()
    finally:
        server.stop()


def test_tarantool_session_fixture(tarantool_server: TarantoolServer) -> None:
    assert tarantool_server.eval_lua("return box.info.status") == ["running"]


def test_tarantool_replicaset_replicates_and_promotes() -> None:
    with TarantoolReplicaSet(3, lua=SPACE_LUA) as rs:
        assert rs.master is rs[0]
        assert [m.eval_lua("return box.info.ro")[0] for m in rs] == [False, True, True]
        rs[0].eval_lua("box.space.kv:replace{1, 'from-0'}")
        rs.wait_synced()
        for member in rs:
            assert member.eval_lua("return box.space.kv:get{1}") == [[1, "from-0"]]
        with pytest.raises(tarantool.error.DatabaseError):
            rs[2].eval_lua("box.space.kv:replace{9, 'nope'}")

        rs.promote(1)
        assert rs.master is rs[1]
        assert [m.eval_lua("return box.info.ro")[0] for m in rs] == [True, False, True]
        rs[1].eval_lua("box.space.kv:replace{2, 'from-1'}")
        rs.wait_synced()
        for member in rs:
            assert member.eval_lua("return box.space.kv:get{2}") == [[2, "from-1"]]


def test_tarantool_replicaset_fixture_survives_a_failover(
    tarantool_replicaset: TarantoolReplicaSet,
) -> None:
    rs = tarantool_replicaset
    assert len(rs) == 3 and len(set(rs.addresses)) == 3
    rs[0].eval_lua("box.schema.space.create('kv'):create_index('pk')")
    rs.wait_synced()
    rs[0].kill()
    rs.promote(1)
    rs[1].eval_lua("box.space.kv:replace{1, 'after-failover'}")
    rs[0].start()  # the old master comes back read-only and catches up
    assert rs[0].eval_lua("return box.info.ro") == [True]
    rs.wait_synced()
    assert rs[0].eval_lua("return box.space.kv:get{1}") == [[1, "after-failover"]]


# --------------------------------------------------------------------------- PostgreSQL


def pg_connect(server: PostgresServer, timeout: int = 5) -> Any:
    return psycopg2.connect(server.dsn, connect_timeout=timeout)


def test_postgres_start_answer_restart_stop() -> None:
    server = PostgresServer()
    try:
        server.start()
        assert server.dsn == f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres"
        with pg_connect(server) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')")
        conn.close()
        assert server.query("SHOW wal_level") == [("replica",)]
        port, pid = server.port, server.pid
        server.restart()
        assert server.port == port and server.pid != pid
        assert server.query("SELECT v FROM t") == [("kept",)]
        pid = server.pid
    finally:
        server.stop()
    assert pid is not None and not pid_alive(pid)
    assert refused(server.port)


def test_postgres_pause_resume_kill(fresh_postgres: PostgresServer) -> None:
    fresh_postgres.query("CREATE TABLE t (v int); INSERT INTO t VALUES (1)")
    fresh_postgres.pause()
    # libpq's connect_timeout only works in blocking mode: psycogreen's wait
    # callback (installed process-wide by the PostgreSQL pool's tests) turns it off.
    callback = psycopg2.extensions.get_wait_callback()
    psycopg2.extensions.set_wait_callback(None)
    try:
        with pytest.raises(psycopg2.OperationalError):
            pg_connect(fresh_postgres, timeout=1)
    finally:
        psycopg2.extensions.set_wait_callback(callback)
        fresh_postgres.resume()
    assert fresh_postgres.query("SELECT v FROM t") == [(1,)]
    pid = fresh_postgres.pid
    assert pid is not None
    fresh_postgres.kill()
    assert not pid_alive(pid)
    fresh_postgres.restart()  # crash recovery, same data
    assert fresh_postgres.query("SELECT v FROM t") == [(1,)]


def test_postgres_standby_follows_and_promotes(postgres_standby: PostgresStandby) -> None:
    primary = postgres_standby.primary
    assert postgres_standby.port != primary.port
    assert postgres_standby.is_in_recovery() and not primary.is_in_recovery()
    primary.query("CREATE TABLE t (v int); INSERT INTO t VALUES (7)")
    postgres_standby.wait_caught_up()
    assert postgres_standby.query("SELECT v FROM t") == [(7,)]
    with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
        postgres_standby.query("INSERT INTO t VALUES (8)")

    postgres_standby.promote()
    assert not postgres_standby.is_in_recovery()
    postgres_standby.query("INSERT INTO t VALUES (8)")
    assert postgres_standby.query("SELECT v FROM t ORDER BY v") == [(7,), (8,)]


def test_postgres_session_fixture(postgres_server: PostgresServer) -> None:
    assert postgres_server.query("SELECT 1") == [(1,)]


# --------------------------------------------------------------------------- MariaDB


def test_mariadb_start_answer_restart_stop() -> None:
    server = MariaDBServer()
    try:
        server.start()
        kwargs = server.connect_kwargs
        assert kwargs["host"] == "127.0.0.1" and kwargs["database"] == "test"
        conn = pymysql.connect(**kwargs, autocommit=True)
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE t (v INT) ENGINE=InnoDB")
            cur.execute("INSERT INTO t VALUES (5)")
        conn.close()
        port, pid = server.port, server.pid
        server.restart()
        assert server.port == port and server.pid != pid
        assert server.query("SELECT v FROM t") == [(5,)]
        pid = server.pid
    finally:
        server.stop()
    assert pid is not None and not pid_alive(pid)
    assert refused(server.port)


def test_mariadb_pause_resume_kill(fresh_mariadb: MariaDBServer) -> None:
    fresh_mariadb.pause()
    try:
        with pytest.raises(pymysql.err.OperationalError):
            pymysql.connect(**fresh_mariadb.connect_kwargs, connect_timeout=1, read_timeout=1)
    finally:
        fresh_mariadb.resume()
    assert fresh_mariadb.query("SELECT 1") == [(1,)]
    pid = fresh_mariadb.pid
    assert pid is not None
    fresh_mariadb.kill()
    assert not pid_alive(pid)
    fresh_mariadb.restart()
    assert fresh_mariadb.query("SELECT DATABASE()") == [("test",)]


def test_mariadb_session_fixture(mariadb_server: MariaDBServer) -> None:
    assert mariadb_server.query("SELECT DATABASE()") == [("test",)]


# --------------------------------------------------------------------------- the proxy


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


def test_fixed_port_in_use_fails_with_the_reason() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        server = RedisServer(port=holder.getsockname()[1])
        try:
            with pytest.raises(ServerStartError, match=r"(?i)already in use"):
                server.start()
        finally:
            server.stop()
