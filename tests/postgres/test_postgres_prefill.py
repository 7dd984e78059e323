"""PostgresPool's ``prefill`` (the default) opens nothing until the first checkout.

Made at import in a gunicorn ``--preload`` master, the pool must hold no
backend there; the first checkout in a process opens that process's
``pool_size``.  Counted in ``pg_stat_activity`` by application name.
"""

from __future__ import annotations

import socket as stdsocket
from typing import Any

import gevent
import psycopg2
import pytest
from helpers import in_child, wait_until
from pg_helpers import app_name, backends

from greenpool import ConfigurationError
from greenpool.postgres import PostgresPool


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


def test_an_unreachable_server_shows_at_the_first_checkout(make_pool: Any) -> None:
    with stdsocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pool = make_pool(f"host=127.0.0.1 port={port} dbname=x user=x", pool_size=3)
    with pytest.raises(psycopg2.OperationalError), pool.cursor():
        pass
    with pytest.raises(psycopg2.OperationalError):
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
