"""A connection is closed only by the greenlet in a query on it, or once none is.

psycopg2 holds a connection's lock (an OS mutex) for the whole of a green
query: a ``close()`` from another greenlet meanwhile waits on that lock for
ever, and with it the whole thread, hub included.  psycopg 3 holds its
connection's ``threading.Lock`` the same way around ``execute()``, and a
``close()`` from elsewhere (which takes no lock) closes the socket under
the querying greenlet's wait.  The role monitor's connections and the
pool's reclaiming of connections from dead holders keep to the rule.

Each scenario runs in a child process (``gevent.fork()``): a deadlock there
shows as a child killed after ten seconds, not as a hung
test run.  A TCP proxy process between the pool and the server holds the
monitor's query on the wire (blackhole mode) for as long as the scenario
needs it in flight; an advisory lock does the same on the server for a
pool connection's query.  The driver then reports the query in progress,
so each scenario acts at a moment it has seen, not one it guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gevent
import pytest
from helpers import run_in_child, wait_until
from pg_helpers import PgDriver, app_name, backends

from greenpool import NoConnectionAvailable
from greenpool.postgres import PostgresPool, Status
from greenpool.testing import PostgresServer, TcpProxy


@contextmanager
def proxy_to(server: PostgresServer) -> Iterator[TcpProxy]:
    """A proxy process of the child's own (one the test process started can't be
    controlled from a forked child); it exits by itself when the child does, even a
    killed one."""
    proxy = TcpProxy(server.host, server.port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


def monitored_pool(driver: PgDriver, server: PostgresServer, proxy: TcpProxy, app: str) -> Any:
    """A pool whose one server is reached through ``proxy``; its role monitor started.

    The monitor's own refreshes are far apart (a test wakes it); its query
    timeout is longer than the child's time limit, so no timeout rescues a
    query the proxy holds.
    """
    pool = PostgresPool(
        server.dsn, servers=[proxy.address], driver=driver.name, application_name=app,
        connect_timeout=60, role_refresh_interval=60, prefill=False,
    )
    pool.refresh_roles()
    assert pool._units[0].monitor_conn is not None
    return pool


def closed_everywhere(server: PostgresServer, proxy: TcpProxy, app: str, conn: Any) -> None:
    """Wait until ``conn`` is closed, then (the proxy forwarding again) its server backend too."""
    wait_until(lambda: conn.closed)
    proxy.normal()
    wait_until(lambda: not backends(server, app))


def hold_after_connecting(pool: PostgresPool, proxy: TcpProxy) -> None:
    """The proxy holds everything once the monitor's next connection is made: its first query."""
    unit = pool._units[0]
    opened = unit.open_monitor_connection

    def open_then_hold() -> Any:
        conn = opened()
        proxy.blackhole()
        return conn

    unit.open_monitor_connection = open_then_hold  # type: ignore[method-assign]


@pytest.mark.parametrize("querying", ["monitor", "caller", "first refresh"])
def test_closing_the_pool_while_a_refresh_queries_does_not_hang(
    driver: PgDriver, postgres_server: PostgresServer, querying: str
) -> None:
    """pool.close() while the monitor's connection is in a query, whoever's.

    ``monitor``: the background greenlet's refresh (the fresh-clone CI hang);
    ``caller``: a refresh_roles() caller's, the monitor running;
    ``first refresh``: the first checkout's (or refresh_roles()'s), which
    starts the monitor.  In each the query's greenlet is not the monitor's
    background greenlet, so killing that one and closing once it ended
    still closed under the query.
    """
    app = app_name()

    def scenario() -> None:
        with proxy_to(postgres_server) as proxy:
            close_while_querying(proxy)

    def close_while_querying(proxy: TcpProxy) -> None:
        if querying == "first refresh":
            pool = PostgresPool(
                postgres_server.dsn, servers=[proxy.address], driver=driver.name,
                application_name=app, connect_timeout=60, role_refresh_interval=60,
                prefill=False,
            )
            hold_after_connecting(pool, proxy)
            asker = gevent.spawn(pool.refresh_roles)
            wait_until(lambda: pool._units[0].monitor_conn is not None)
        else:
            pool = monitored_pool(driver, postgres_server, proxy, app)
            proxy.blackhole()
            if querying == "monitor":
                asker = None
                pool._monitor.wake()
            else:
                asker = gevent.spawn(pool.refresh_roles)
        conn = pool._units[0].monitor_conn
        wait_until(lambda: driver.executing(conn))
        pool.close()
        closed_everywhere(postgres_server, proxy, app, conn)
        if asker is not None:
            # Its refresh was stopped, not left to wait for the query's timeout.
            wait_until(lambda: asker.dead)
            assert asker.get() == pool.states()

    run_in_child(scenario)


def test_asking_for_roles_while_the_monitor_queries_waits_for_its_answer(
    driver: PgDriver, postgres_server: PostgresServer
) -> None:
    """refresh_roles() while the monitor greenlet's query is in flight shares it.

    A second query on the same connection meanwhile would wait on the
    driver's lock (psycopg 3), or fail and then close the connection under
    the first query (psycopg2): either way the thread hung.
    """
    app = app_name()

    def scenario() -> None:
        with proxy_to(postgres_server) as proxy:
            ask_while_querying(proxy)

    def ask_while_querying(proxy: TcpProxy) -> None:
        pool = monitored_pool(driver, postgres_server, proxy, app)
        conn = pool._units[0].monitor_conn
        proxy.blackhole()
        pool._monitor.wake()
        wait_until(lambda: driver.executing(conn))
        asker = gevent.spawn(pool.refresh_roles)
        for _ in range(5):
            gevent.sleep(0)  # the asker runs as far as it goes: to the connection, once
        assert not asker.dead
        proxy.normal()
        states = asker.get(timeout=5)
        assert states[proxy.address].status is Status.HEALTHY
        assert pool._units[0].monitor_conn is conn and not conn.closed
        pool.close()
        assert conn.closed

    run_in_child(scenario)


def test_a_connection_in_a_query_is_not_reclaimed_from_its_dead_holder(
    driver: PgDriver, postgres_server: PostgresServer
) -> None:
    """get() in a greenlet that ended, the connection handed to another that queries.

    The holder is dead, so the housekeeping reclaims the connection;
    closing it under the other greenlet's query hung the thread (psycopg2)
    or stranded that greenlet's wait on a closed socket (psycopg 3).  It is
    left to the greenlet using it, which gives it back.
    """
    app = app_name()
    key = 7_654_321

    def scenario() -> None:
        pool = PostgresPool(
            postgres_server.dsn, driver=driver.name, application_name=app, autocommit=True,
            pool_size=1, max_overflow=0, prefill=False, housekeeping_interval=0.02,
        )
        blocker = driver.connect(postgres_server.dsn)
        blocker.cursor().execute("SELECT pg_advisory_lock(%s)", (key,))
        conn = gevent.spawn(pool.get).get()  # its holder has ended

        def use() -> Any:
            cur = conn.cursor()
            cur.execute("SELECT pg_advisory_lock(%s), 42", (key,))  # waits for the blocker
            row = cur.fetchone()
            cur.execute("SELECT pg_advisory_unlock(%s)", (key,))
            pool.put(conn)
            return row[1]

        user = gevent.spawn(use)
        wait_until(lambda: driver.executing(conn))
        housekept = pool._units[0].pool._last_reclaim
        # A housekeeping pass looks at the dead holder's connection mid-query.
        wait_until(lambda: pool._units[0].pool._last_reclaim > housekept)
        assert not conn.closed and driver.executing(conn)
        with pytest.raises(NoConnectionAvailable):
            pool.get(timeout=0)  # still checked out
        blocker.cursor().execute("SELECT pg_advisory_unlock(%s)", (key,))
        assert user.get(timeout=5) == 42
        again = pool.get(timeout=0)
        assert again is conn and pool.stats()["connections_lost"] == 0
        pool.put(again)
        pool.close()
        blocker.close()

    run_in_child(scenario)
