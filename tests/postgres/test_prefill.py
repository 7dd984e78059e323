"""PostgresPool's ``prefill`` (the default) opens nothing until the first checkout.

Made at import in a gunicorn ``--preload`` master, the pool must hold no
backend there; the first checkout in a process opens that process's
``pool_size``.  Counted in ``pg_stat_activity`` by application name.
"""

from __future__ import annotations

import logging
import os
import socket as stdsocket
import time
from typing import Any

import gevent
import pytest
from helpers import in_child, wait_child, wait_until
from pg_helpers import PgDriver, app_name, backends

from greenpool import ConfigurationError
from greenpool.postgres import PostgresPool, ensure_green
from greenpool.testing import TcpProxy


def test_a_postgres_pool_opens_nothing_until_its_first_checkout(
    postgres_server: Any, make_pool: Any
) -> None:
    app = app_name()
    pool = make_pool(postgres_server.dsn, pool_size=3, application_name=app)
    gevent.sleep(0.05)
    assert backends(postgres_server, app) == []
    with pool.cursor() as cur:
        cur.execute("SELECT 1")
    wait_until(lambda: pool.checkedin() == 3)
    assert len(backends(postgres_server, app)) == 3


def test_an_unreachable_server_shows_at_the_first_checkout(
    make_pool: Any, driver: PgDriver
) -> None:
    with stdsocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pool = make_pool(f"host=127.0.0.1 port={port} dbname=x user=x", pool_size=3)
    with pytest.raises(driver.OperationalError), pool.cursor():
        pass
    with pytest.raises(driver.OperationalError):
        pool.fill()
    assert not pool.closed  # a failed warm-up leaves the pool usable


def test_a_malformed_dsn_still_raises_at_construction() -> None:
    with pytest.raises(ConfigurationError):
        PostgresPool("host=127.0.0.1 port=1 sslmode=sometimes")


def test_fill_opens_pool_size_now(postgres_server: Any, make_pool: Any) -> None:
    app = app_name()
    pool = make_pool(postgres_server.dsn, pool_size=2, application_name=app)
    pool.fill()
    assert len(backends(postgres_server, app)) == 2


def test_a_postgres_pool_made_before_fork_opens_backends_only_in_the_child(
    postgres_server: Any, make_pool: Any
) -> None:
    app = app_name()
    pool = make_pool(postgres_server.dsn, pool_size=3, application_name=app)

    def check() -> bool:
        with pool.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
        wait_until(lambda: pool.checkedin() == 3)
        return len(backends(postgres_server, app)) == 3

    in_child(check)
    assert pool.stats()["connections"] == 0
    wait_until(lambda: backends(postgres_server, app) == [])


def test_a_connect_under_way_at_fork_is_left_to_the_parent(
    postgres_server: Any, driver: PgDriver
) -> None:
    """A child's copy of a connecting greenlet never reads the parent's handshake.

    A pool used at import in a gunicorn master starts its background fill
    there; the master then forks with that connect half-way.  The server's
    replies are slowed by a proxy; the parent blocks (its hub can't run)
    while the child's hub runs, so only the child could read them.
    """
    proxy = TcpProxy("127.0.0.1", postgres_server.port)
    proxy.start()
    try:
        proxy.delay(0.3)
        ensure_green(driver.name)
        dsn = f"host=127.0.0.1 port={proxy.port} user=postgres dbname=postgres"
        connecting = gevent.spawn(driver.module.connect, dsn)
        gevent.sleep(0.05)
        assert not connecting.ready()  # waiting for the server, slowed by the proxy

        pid = gevent.fork()
        if pid == 0:
            code = 2
            try:
                connecting.join(3)
                forked = isinstance(connecting.exception, driver.OperationalError)
                code = 0 if forked and "fork()" in str(connecting.exception) else 1
            finally:
                os._exit(code)
        time.sleep(1.5)  # not gevent's: the parent's hub stays still meanwhile
        conn = connecting.get(timeout=10)
        try:
            cur = conn.cursor()
            cur.execute("SELECT 41 + 1")
            assert cur.fetchone() == (42,)
        finally:
            conn.close()
        assert wait_child(pid) == 0
    finally:
        proxy.stop()


def test_a_pool_connect_under_way_at_fork_is_no_failure_in_the_child(
    postgres_server: Any, make_pool: Any
) -> None:
    """The child's copy of a pool's connect, which the fork made fail, is not
    the child's connect failure: no warning, no ``connections_errors``, no
    ``connection_failed`` event (gunicorn workers logged one each, for ever,
    about a connect of the master's), and the child's pool works."""
    proxy = TcpProxy("127.0.0.1", postgres_server.port)
    proxy.start()
    try:
        proxy.delay(0.3)
        dsn = f"host=127.0.0.1 port={proxy.port} user=postgres dbname=postgres"
        pool = make_pool(dsn, pool_size=1, max_overflow=0, prefill=False)
        failed: list[Any] = []
        pool.add_listener({"connection_failed": failed.append})

        def use() -> bool:
            pool.put(pool.get())
            return True

        connecting = gevent.spawn(use)
        gevent.sleep(0.05)
        assert not connecting.ready()  # the handshake, slowed by the proxy

        def check() -> bool:
            warnings: list[logging.LogRecord] = []
            handler = logging.Handler(logging.WARNING)
            handler.emit = warnings.append  # type: ignore[method-assign]
            logging.getLogger("greenpool").addHandler(handler)
            connecting.join(3)
            assert "fork()" in str(connecting.exception)
            assert warnings == [] and failed == []
            assert pool.stats()["connections_errors"] == 0
            with pool.cursor() as cur:
                cur.execute("SELECT 41 + 1")
                assert cur.fetchone()[0] == 42
            return warnings == [] and failed == []

        in_child(check)
        assert connecting.get(timeout=10)  # the parent's connect goes on
        assert pool.stats()["connections_errors"] == 0 and failed == []
    finally:
        proxy.stop()
