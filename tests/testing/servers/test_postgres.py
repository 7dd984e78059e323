"""Tests of greenpool.testing.servers.postgres, with psycopg2 as the client."""

from __future__ import annotations

from typing import Any

import psycopg2
import pytest
from helpers import wait_until
from servers_helpers import pid_alive, refused

from greenpool.testing import PostgresServer, PostgresStandby
from greenpool.testing.servers import stop_all

pytestmark = pytest.mark.timeout(60)


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


@pytest.mark.parametrize("how", ["stop", "kill", "stop_all"])
def test_a_paused_postgres_stopped_or_killed_leaves_no_process(how: str) -> None:
    # pause() stops the backends too (each in a session of its own); a stop or
    # kill while paused must not leave them stopped and orphaned for good.
    server = PostgresServer()
    server.start()
    try:
        conn = pg_connect(server)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]
        server.pause()
        if how == "stop_all":
            stop_all([server])
        else:
            getattr(server, how)()
        conn.close()
        wait_until(lambda: not pid_alive(backend))
    finally:
        server.stop()
