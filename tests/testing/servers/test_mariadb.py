"""Tests of greenpool.testing.servers.mariadb, with PyMySQL as the client."""

from __future__ import annotations

import pymysql
import pytest
from servers_helpers import pid_alive, refused

from greenpool.testing import MariaDBServer

pytestmark = pytest.mark.timeout(60)


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
