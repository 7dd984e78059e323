"""The role monitor's connections are closed only once nothing queries on them.

psycopg2 holds a connection's lock (an OS mutex) for the whole of a green
query: a ``close()`` from another greenlet meanwhile waits on that lock for
ever, and with it the whole thread, hub included.  psycopg 3 holds its
connection's ``threading.Lock`` the same way around ``execute()``.  So a
monitor connection may be used and closed only by the greenlet querying on
it, or once that greenlet has ended.

Each scenario runs in a child process (``gevent.fork()``): a deadlock there
shows as a child killed after :data:`CHILD_LIMIT` seconds, not as a hung
test run.  A TCP proxy process between the pool and the server holds the
monitor's query on the wire (blackhole mode) for as long as the scenario
needs it in flight; the driver then reports the query in progress, so the
scenario acts at a moment it has seen, not one it guessed.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from typing import Any

import gevent
import pytest
from helpers import wait_child, wait_until
from pg_helpers import PgDriver, app_name, backends

from greenpool.postgres import PostgresPool, Status
from greenpool.testing import PostgresServer, TcpProxy

#: Seconds a scenario's child may take before it is taken for deadlocked and SIGKILLed.
CHILD_LIMIT = 10.0


def run_in_child(server: PostgresServer, scenario: Callable[[TcpProxy], None]) -> None:
    """Run ``scenario(proxy)`` in a forked child; fail if it raised, or hung and was killed.

    The proxy to ``server`` is the child's own (a proxy started by the test
    process can't be controlled from a forked child); it exits by itself
    when the child does, even a killed one.
    """
    pid = gevent.fork()
    if pid == 0:
        code = 1
        try:
            proxy = TcpProxy(server.host, server.port)
            proxy.start()
            scenario(proxy)
            proxy.stop()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    code = wait_child(pid, timeout=CHILD_LIMIT)
    assert code != -9, f"the child hung for {CHILD_LIMIT}s (a whole-thread deadlock) and was killed"
    assert code == 0, "the scenario failed in the child (its traceback is in the captured stderr)"


def monitored_pool(driver: PgDriver, server: PostgresServer, proxy: TcpProxy, app: str) -> Any:
    """A pool whose one server is reached through ``proxy``; its role monitor started.

    The monitor's own refreshes are far apart (a test wakes it); its query
    timeout is longer than :data:`CHILD_LIMIT`, so no timeout rescues a
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

    def scenario(proxy: TcpProxy) -> None:
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

    run_in_child(postgres_server, scenario)


def test_asking_for_roles_while_the_monitor_queries_waits_for_its_answer(
    driver: PgDriver, postgres_server: PostgresServer
) -> None:
    """refresh_roles() while the monitor greenlet's query is in flight shares it.

    A second query on the same connection meanwhile would wait on the
    driver's lock (psycopg 3), or fail and then close the connection under
    the first query (psycopg2): either way the thread hung.
    """
    app = app_name()

    def scenario(proxy: TcpProxy) -> None:
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
        states = asker.get(timeout=CHILD_LIMIT)
        assert states[proxy.address].status is Status.HEALTHY
        assert pool._units[0].monitor_conn is conn and not conn.closed
        pool.close()
        assert conn.closed

    run_in_child(postgres_server, scenario)
