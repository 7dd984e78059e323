"""psycopg 3's own mechanism: greenpool's wait functions, choosing the driver, a patched process.

The pool's behaviour with psycopg 3 (transactions, return rules, cancel,
liveness, several hosts) is tested by the driver-parametrised tests beside
this file; these are about what only psycopg 3 has.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from time import monotonic
from typing import Any

import gevent
import psycopg
import psycopg2.extensions
import pytest
from helpers import wait_until
from pg_helpers import app_name, busy
from psycopg import waiting

from greenpool import ConfigurationError
from greenpool.postgres import PostgresPool, _watchers, ensure_green, is_green
from greenpool.postgres._green3 import green_wait, green_wait_conn
from greenpool.testing import PostgresServer


class Ticker:
    """A greenlet that notes the time every 10 ms: proof the hub runs."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.glet = gevent.spawn(self._run)

    def _run(self) -> None:
        while True:
            self.ticks.append(monotonic())
            gevent.sleep(0.01)

    def between(self, start: float, end: float) -> int:
        return sum(1 for t in self.ticks if start < t < end)

    def stop(self) -> None:
        self.glet.kill()


@pytest.fixture
def ticker() -> Any:
    t = Ticker()
    gevent.sleep(0)
    yield t
    t.stop()


# ---------------------------------------------------------------------- the wait functions


def test_ensure_green_replaces_whatever_psycopg_picked(
    postgres_server: PostgresServer,
) -> None:
    # Unpatched, psycopg picks its C loop, which blocks the hub.
    waiting.wait, waiting.wait_conn = waiting.wait_c, waiting.wait_poll  # type: ignore[assignment]
    try:
        assert not is_green("psycopg")
        pool = PostgresPool(postgres_server.dsn, driver="psycopg", pool_size=1)
        try:
            assert is_green("psycopg")
            assert waiting.wait is green_wait and waiting.wait_conn is green_wait_conn
            ensure_green("psycopg")  # again: nothing changes
            ensure_green("psycopg3")
            assert waiting.wait is green_wait
            with pool.cursor() as cur:
                cur.execute("SELECT 1")
                assert cur.fetchone() == (1,)
        finally:
            pool.close()
    finally:
        ensure_green("psycopg")


@pytest.mark.timeout(30)
def test_a_connection_made_without_a_pool_is_green_and_cancelled_when_interrupted(
    postgres_server: PostgresServer, ticker: Ticker
) -> None:
    app = app_name()
    ensure_green("psycopg")
    conn = psycopg.connect(postgres_server.dsn, application_name=app, autocommit=True)
    try:
        started = monotonic()
        with pytest.raises(gevent.Timeout), gevent.Timeout(0.3):
            conn.execute("SELECT pg_sleep(30)")
        assert monotonic() - started < 2
        assert ticker.between(started, monotonic()) >= 10
        # Cancelled on the server, and the connection closed: its next reply
        # would have been the cancelled query's.
        wait_until(lambda: not busy(postgres_server, app), timeout=2)
        assert conn.closed
    finally:
        conn.close()


@pytest.mark.timeout(30)
def test_a_connection_made_before_ensure_green_is_green_after_it(
    postgres_server: PostgresServer, ticker: Ticker
) -> None:
    ensure_green("psycopg")
    conn = psycopg.connect(postgres_server.dsn, autocommit=True)
    try:
        # As if made before ensure_green(): its socket is not in the book.
        del _watchers._by_fd[conn.fileno()]
        started = monotonic()
        assert conn.execute("SELECT pg_sleep(0.3), 5").fetchone() == ("", 5)
        assert ticker.between(started, monotonic()) >= 5
        assert conn.fileno() not in _watchers._by_fd  # fresh watchers, nothing kept
    finally:
        conn.close()


@pytest.mark.timeout(30)
def test_an_interrupted_wait_for_notifications_leaves_the_connection_usable(
    postgres_server: PostgresServer, ticker: Ticker
) -> None:
    # Only a command in progress is cancelled; an idle wait is left alone.
    ensure_green("psycopg")
    conn = psycopg.connect(postgres_server.dsn, autocommit=True)
    try:
        conn.execute("LISTEN gp_test")
        gevent.spawn_later(0.2, postgres_server.query, "NOTIFY gp_test, 'hello'")
        started = monotonic()
        # psycopg's own deadline (timeout=) is honoured on the hub.
        got = [n.payload for n in conn.notifies(timeout=2, stop_after=1)]
        assert got == ["hello"]
        assert ticker.between(started, monotonic()) >= 10
        started = monotonic()
        assert list(conn.notifies(timeout=0.3)) == []
        assert 0.25 < monotonic() - started < 2
        with gevent.Timeout(0.1, False):
            list(conn.notifies(timeout=5))
        assert not conn.closed
        assert conn.execute("SELECT 7").fetchone() == (7,)
    finally:
        conn.close()


@pytest.mark.timeout(30)
def test_psycopgs_own_connect_timeout_is_kept_on_the_hub(
    postgres_server: PostgresServer, tcp_proxy: Any, ticker: Ticker
) -> None:
    proxy = tcp_proxy(postgres_server)
    proxy.blackhole()
    ensure_green("psycopg")
    started = monotonic()
    with pytest.raises(psycopg.OperationalError, match="timeout"):
        psycopg.connect(f"host=127.0.0.1 port={proxy.port} user=postgres connect_timeout=2")
    elapsed = monotonic() - started
    assert 1.9 < elapsed < 4
    assert ticker.between(started, monotonic()) >= 50


# ---------------------------------------------------------------------- choosing the driver


class MyConnection(psycopg.Connection[Any]):
    pass


def test_the_driver_comes_from_the_argument_or_the_connection_class(
    postgres_server: PostgresServer,
) -> None:
    pools = [
        PostgresPool(postgres_server.dsn, prefill=False),
        PostgresPool(postgres_server.dsn, prefill=False, driver="psycopg3"),
        PostgresPool(postgres_server.dsn, pool_size=1, connection_factory=MyConnection,
                     cursor_factory=psycopg.ClientCursor),
    ]
    try:
        assert [p.driver for p in pools] == ["psycopg2", "psycopg", "psycopg"]
        with pools[2].connection() as conn, conn.cursor() as cur:
            assert type(conn) is MyConnection
            assert type(cur) is psycopg.ClientCursor
        with pools[1].connection() as conn:
            assert isinstance(conn, psycopg.Connection)
        with pools[0].connection() as conn:
            assert isinstance(conn, psycopg2.extensions.connection)
    finally:
        for pool in pools:
            pool.close()


def test_a_connection_class_of_the_other_driver_is_refused() -> None:
    with pytest.raises(ConfigurationError) as info:
        PostgresPool("host=127.0.0.1", driver="psycopg2", connection_factory=MyConnection,
                     prefill=False)
    assert info.value.argument == "connection_factory"
    with pytest.raises(ConfigurationError) as info:
        PostgresPool("host=127.0.0.1", driver="psycopg", connection_factory=dict, prefill=False)
    assert info.value.argument == "connection_factory"
    assert "psycopg.Connection" in str(info.value)


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
@pytest.mark.parametrize(
    ("argument", "value"),
    [("connection_factory", int), ("connection_factory", "secret=x"), ("cursor_factory", 5),
     ("cursor_factory", dict), ("cursor_factory", lambda *a: None)],
)
def test_a_factory_that_cant_work_is_refused_when_the_pool_is_made(
    driver: str, argument: str, value: Any
) -> None:
    # They were taken, and failed at the first connect or query with a
    # TypeError or ValueError naming nothing (psycopg2's connection_factory
    # one quoting the connection string, password included, also logged).
    with pytest.raises(ConfigurationError) as info:
        PostgresPool("host=127.0.0.1 password=hunter2", driver=driver, prefill=False,
                     **{argument: value})
    assert info.value.argument == argument
    assert "hunter2" not in str(info.value)


def test_factories_of_the_right_classes_are_taken() -> None:
    import psycopg2.extras

    for driver, factories in [
        ("psycopg2", {"connection_factory": psycopg2.extras.LoggingConnection,
                      "cursor_factory": psycopg2.extras.DictCursor}),
        ("psycopg", {"connection_factory": MyConnection, "cursor_factory": psycopg.ClientCursor}),
    ]:
        PostgresPool("host=127.0.0.1", driver=driver, prefill=False, **factories).close()


# ---------------------------------------------------------------------- a patched process


def test_a_monkey_patched_process_works_too(postgres_server: PostgresServer) -> None:
    # Under monkey.patch_all() psycopg picks wait_poll (green, but nothing
    # done on a kill or timeout); the pool replaces it with greenpool's.
    code = textwrap.dedent(
        """
        from gevent import monkey; monkey.patch_all()
        import json, sys, time
        import gevent
        from psycopg import waiting
        picked = waiting.wait.__name__
        from greenpool.postgres import PostgresPool, is_green
        pool = PostgresPool(sys.argv[1], driver="psycopg", pool_size=2, application_name="gp-mp")
        ticks = []
        def tick():
            while True:
                ticks.append(time.monotonic())
                gevent.sleep(0.01)
        ticker = gevent.spawn(tick)
        gevent.sleep(0)
        started = time.monotonic()
        with pool.cursor() as cur:
            cur.execute("SELECT pg_sleep(0.5), 42")
            row = cur.fetchone()
        ended = time.monotonic()
        timed_out = False
        try:
            with gevent.Timeout(0.2), pool.cursor() as cur:
                cur.execute("SELECT pg_sleep(30)")
        except gevent.Timeout:
            timed_out = True
        ticker.kill()
        print(json.dumps({
            "picked": picked, "green": is_green("psycopg"), "row": row[1],
            "ticks": sum(1 for t in ticks if started < t < ended), "timed_out": timed_out,
            "lost": pool.stats()["connections_lost"],
        }))
        pool.close()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code, postgres_server.dsn],
        capture_output=True, text=True, timeout=60, check=False,
        cwd=Path(__file__).parent,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["picked"] == "wait_poll"
    assert seen["green"] is True
    assert seen["row"] == 42
    assert seen["ticks"] >= 10
    assert seen["timed_out"] is True and seen["lost"] == 1
    wait_until(lambda: not busy(postgres_server, "gp-mp"), timeout=3)
