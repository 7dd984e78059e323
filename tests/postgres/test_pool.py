"""PostgresPool against a real PostgreSQL: green, transactions, return rules, cancel, liveness.

Every test that makes a pool runs once per driver (psycopg2, psycopg 3: the
``driver`` fixture); the few about one driver's own mechanism say so.
"""

from __future__ import annotations

import logging
import socket as stdsocket
from itertools import pairwise
from time import monotonic
from typing import Any

import gevent
import psycopg2.extensions as ext
import pytest
from greenlet import getcurrent
from helpers import wait_until
from pg_helpers import PgDriver, app_name, backends, busy
from psycogreen.gevent import gevent_wait_callback, patch_psycopg

from greenpool import ConfigurationError, InvalidRequestError, NoConnectionAvailable, PoolClosed
from greenpool.dbapi import TxState, transaction_state
from greenpool.postgres import PostgresPool, _watchers, cancel, ensure_green, is_green
from greenpool.postgres._green import greenpool_wait_callback
from greenpool.testing import PostgresServer


def closed_port() -> int:
    with stdsocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("argument", "kwargs"),
    [
        ("mode", {"mode": "sideways"}),
        ("mode", {"mode": 7}),
        ("connect_timeout", {"connect_timeout": 0}),
        ("role_refresh_interval", {"role_refresh_interval": -1}),
        ("strategy", {"strategy": int}),
        ("pool_size", {"pool_size": -1}),
        ("max_overflow", {"max_overflow": "2"}),
        ("autocommit", {"autocommit": "yes"}),
        ("pre_ping", {"pre_ping": 1}),
        ("prefill", {"prefill": None}),
        ("servers", {"servers": ["no-port"]}),
        ("servers", {"servers": []}),
        ("connect_kwargs", {"no_such_libpq_option": "1"}),
        ("configure", {"configure": 3}),
        ("name", {"name": 3}),
        ("driver", {"driver": "mysql"}),
        ("driver", {"driver": 3}),
    ],
)
def test_bad_arguments_raise_configuration_error_naming_them(
    argument: str, kwargs: dict[str, Any], driver: PgDriver
) -> None:
    kwargs.setdefault("prefill", False)
    kwargs.setdefault("driver", driver.name)
    with pytest.raises(ConfigurationError) as info:
        PostgresPool("host=127.0.0.1 port=1 user=postgres", **kwargs)
    assert info.value.argument == argument
    assert argument in str(info.value)


def test_dsn_must_be_a_valid_string(driver: PgDriver) -> None:
    with pytest.raises(ConfigurationError, match="dsn"):
        PostgresPool(42, prefill=False, driver=driver.name)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="dsn") as info:
        PostgresPool("host=x password=hunter2 port", prefill=False, driver=driver.name)
    assert "hunter2" not in str(info.value)
    # libpq quotes the DSN: its error is neither shown nor chained.
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_checkout_mode_is_validated(postgres_server: PostgresServer, make_pool: Any) -> None:
    pool = make_pool(postgres_server.dsn, prefill=False)
    with pytest.raises(ConfigurationError, match="mode"):
        pool.get(mode="upside-down")


# ---------------------------------------------------------------------- green


@pytest.mark.parametrize("driver", ["psycopg2"], indirect=True)  # psycopg2's wait callback
def test_wait_callback_installed_once_replacing_psycogreen_and_wrapping_any_other(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    ext.set_wait_callback(None)
    patch_psycopg()  # the application made psycopg2 green itself: that's fine
    make_pool(postgres_server.dsn, pool_size=1)
    callback = ext.get_wait_callback()
    assert is_green()
    assert callback is greenpool_wait_callback  # does psycogreen's job, and cancels
    make_pool(postgres_server.dsn, pool_size=1)
    ensure_green()
    assert ext.get_wait_callback() is callback
    ext.set_wait_callback(None)
    pool = make_pool(postgres_server.dsn, pool_size=1)  # installs it again, by itself
    assert ext.get_wait_callback() is greenpool_wait_callback
    with pool.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)

    calls: list[Any] = []

    def own_callback(conn: Any, timeout: Any = None) -> None:
        calls.append(conn)
        gevent_wait_callback(conn, timeout)

    ext.set_wait_callback(own_callback)  # an application's own: kept, wrapped
    try:
        ensure_green()
        assert is_green()
        assert ext.get_wait_callback().greenpool_inner is own_callback
        with pool.cursor() as cur:
            cur.execute("SELECT 2")
            assert cur.fetchone() == (2,)
        assert calls
    finally:
        ext.set_wait_callback(None)
        ensure_green()


@pytest.mark.timeout(30)
def test_a_new_connection_on_a_recycled_fd_number_gets_fresh_watchers(
    postgres_server: PostgresServer, driver: PgDriver
) -> None:
    # The green wait keeps each connection's socket watchers.  A socket
    # closed and another opened on the same fd number is a new file to
    # libev: reusing the old watcher would leave the new connection's waits
    # unwatched, and the query would hang.
    old = driver.connect(postgres_server.dsn)
    old.cursor().execute("SELECT 1")
    fd = old.fileno()
    old_watcher = _watchers._by_fd[fd].io[_watchers.READ]
    assert old_watcher is not None
    old.cursor().execute("SELECT 1")
    # Kept between one connection's waits.
    assert _watchers._by_fd[fd].io[_watchers.READ] is old_watcher
    old.close()
    conn = None
    for _ in range(20):
        conn = driver.connect(postgres_server.dsn)
        if conn.fileno() == fd:
            break
        conn.close()
    assert conn is not None and conn.fileno() == fd, "could not get the fd number back"
    try:
        with gevent.Timeout(5):
            for i in range(20):
                cur = conn.cursor()
                cur.execute("SELECT %s", (i,))
                assert cur.fetchone() == (i,)
        entry = _watchers._by_fd[fd]
        assert entry.conn() is conn
        assert entry.io[_watchers.READ] is not old_watcher
        assert not old_watcher.active
    finally:
        conn.close()


@pytest.mark.timeout(30)
def test_the_hub_runs_while_a_query_waits(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    # No monkey patching in this process: only greenpool's waiting keeps
    # the hub running while the server sleeps.
    pool = make_pool(postgres_server.dsn, pool_size=1)
    ticks: list[float] = []

    def ticker() -> None:
        while True:
            ticks.append(monotonic())
            gevent.sleep(0.01)

    ticking = gevent.spawn(ticker)
    try:
        gevent.sleep(0)
        started = monotonic()
        with pool.cursor() as cur:
            cur.execute("SELECT pg_sleep(0.5)")
        ended = monotonic()
    finally:
        ticking.kill()
    during = [t for t in ticks if started < t < ended]
    assert ended - started >= 0.5
    assert len(during) >= 10, f"{len(during)} ticks in {ended - started:.2f}s"
    assert max(b - a for a, b in pairwise(during)) < 0.25


@pytest.mark.timeout(30)
def test_a_sleeping_query_does_not_stop_100_others(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    pool = make_pool(postgres_server.dsn, pool_size=5, autocommit=True)
    finished: list[float] = []

    def sleeper() -> None:
        with pool.cursor() as cur:
            cur.execute("SELECT pg_sleep(1)")

    def worker(i: int) -> None:
        with pool.cursor() as cur:
            cur.execute("SELECT %s", (i,))
            assert cur.fetchone() == (i,)
        finished.append(monotonic())

    sleeping = gevent.spawn(sleeper)
    gevent.sleep(0.05)
    started = monotonic()
    workers = [gevent.spawn(worker, i) for i in range(100)]
    gevent.joinall(workers, raise_error=True)
    assert len(finished) == 100
    assert not sleeping.ready(), "the others finished while pg_sleep(1) was still running"
    assert max(finished) - started < 0.9
    sleeping.join()
    assert sleeping.successful()


# ---------------------------------------------------------------------- transactions


@pytest.fixture
def table(postgres_server: PostgresServer) -> str:
    name = f"t_{app_name().replace('-', '_')}"
    postgres_server.query(f"CREATE TABLE {name} (x int PRIMARY KEY)")
    return name


def rows(server: PostgresServer, table: str) -> list[int]:
    return [r[0] for r in server.query(f"SELECT x FROM {table} ORDER BY x")]


def test_connection_commits_on_clean_exit_and_rolls_back_on_error(
    postgres_server: PostgresServer, make_pool: Any, table: str, driver: PgDriver
) -> None:
    pool = make_pool(postgres_server.dsn, pool_size=1)
    with pool.connection() as conn, conn.cursor() as cur:
        cur.execute(f"INSERT INTO {table} VALUES (1)")
    assert rows(postgres_server, table) == [1]
    with pytest.raises(ZeroDivisionError), pool.connection() as conn:
        with conn.cursor() as cur:
            cur.execute(f"INSERT INTO {table} VALUES (2)")
        1 / 0  # noqa: B018
    assert rows(postgres_server, table) == [1]
    with pytest.raises(driver.errors.UniqueViolation), pool.cursor() as cur:
        cur.execute(f"INSERT INTO {table} VALUES (1)")
    # The failed transaction was rolled back: the same connection is reused, clean.
    with pool.connection() as conn:
        assert transaction_state(conn) is TxState.IDLE
    assert pool.stats()["connections_num"] == 1


def test_nested_checkout_shares_the_outer_transaction(
    postgres_server: PostgresServer, make_pool: Any, table: str
) -> None:
    pool = make_pool(postgres_server.dsn, pool_size=2, use_local=True)
    with pytest.raises(RuntimeError), pool.connection() as outer:
        with pool.cursor() as cur:
            assert cur.connection is outer
            cur.execute(f"INSERT INTO {table} VALUES (5)")
        assert rows(postgres_server, table) == []  # the inner block did not commit
        raise RuntimeError
    assert rows(postgres_server, table) == []


def test_commit_error_propagates_and_the_connection_stays_usable(
    postgres_server: PostgresServer, make_pool: Any, table: str, driver: PgDriver
) -> None:
    postgres_server.query(
        f"CREATE TABLE {table}_ref (x int REFERENCES {table} (x) DEFERRABLE INITIALLY DEFERRED)"
    )
    pool = make_pool(postgres_server.dsn, pool_size=1)
    with pytest.raises(driver.errors.ForeignKeyViolation), pool.cursor() as cur:
        cur.execute(f"INSERT INTO {table}_ref VALUES (99)")
    with pool.cursor() as cur:
        cur.execute("SELECT 1")
    assert pool.stats()["connections_num"] == 1


def test_put_rolls_back_an_open_transaction(
    postgres_server: PostgresServer, make_pool: Any, table: str, driver: PgDriver
) -> None:
    pool = make_pool(postgres_server.dsn, pool_size=1)
    conn = pool.get()
    pid = driver.pid(conn)
    conn.cursor().execute(f"INSERT INTO {table} VALUES (3)")
    pool.put(conn)
    assert rows(postgres_server, table) == []
    with pool.connection() as again:
        assert driver.pid(again) == pid
        assert transaction_state(again) is TxState.IDLE


def test_put_closes_a_connection_in_a_failed_transaction(
    postgres_server: PostgresServer, make_pool: Any, driver: PgDriver
) -> None:
    pool = make_pool(postgres_server.dsn, pool_size=1)
    conn = pool.get()
    with pytest.raises(driver.errors.DivisionByZero):
        conn.cursor().execute("SELECT 1 / 0")
    assert transaction_state(conn) is TxState.FAILED
    pool.put(conn)
    assert conn.closed
    assert pool.stats()["returns_bad"] == 1
    with pool.connection() as other:
        assert other is not conn


def test_a_connection_the_application_closed_is_dropped(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    pool = make_pool(postgres_server.dsn, pool_size=2)
    pool.fill()
    conn = pool.get()
    conn.close()
    pool.put(conn)
    assert pool.stats()["connections"] == 1
    with pool.connection() as conn2:
        conn2.close()
    assert pool.stats()["connections"] == 0
    with pytest.raises(InvalidRequestError):
        pool.put(conn)


def test_autocommit_and_configure_apply_to_new_connections(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    def configure(conn: Any) -> None:
        with conn.cursor() as cur:
            cur.execute("SET application_name = 'configured'")

    pool = make_pool(postgres_server.dsn, pool_size=1, autocommit=True, configure=configure)
    with pool.cursor() as cur:
        assert cur.connection.autocommit
        cur.execute("SHOW application_name")
        assert cur.fetchone() == ("configured",)


# ---------------------------------------------------------------------- cancel on interrupt


@pytest.mark.timeout(30)
def test_timeout_during_a_query_cancels_it_on_the_server(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    app = app_name()
    pool = make_pool(postgres_server.dsn, application_name=app, pool_size=2)
    started = monotonic()
    with pytest.raises(gevent.Timeout), gevent.Timeout(0.2), pool.cursor() as cur:
        cur.execute("SELECT pg_sleep(30)")
    assert monotonic() - started < 2
    # Cancelled, not merely abandoned: nothing of ours is left running.
    wait_until(lambda: not busy(postgres_server, app), timeout=2)
    wait_until(lambda: len(backends(postgres_server, app)) == pool.stats()["connections"])
    stats = pool.stats()
    assert stats["connections_lost"] == 1 and stats["pool_in_use"] == 0
    # No permit lost: both slots can be taken at once.
    with pool.connection(timeout=1), pool.connection(timeout=1) as conn:
        conn.cursor().execute("SELECT 1")


@pytest.mark.timeout(30)
def test_kill_during_a_query_cancels_it_and_frees_the_slot(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    app = app_name()
    pool = make_pool(postgres_server.dsn, application_name=app, pool_size=1)

    def run() -> None:
        with pool.connection() as conn:
            conn.cursor().execute("SELECT pg_sleep(30)")

    glet = gevent.spawn(run)
    wait_until(lambda: any("pg_sleep" in r[2] for r in busy(postgres_server, app)))
    waiter = gevent.spawn(lambda: pool.execute(lambda c: c.cursor().execute("SELECT 1")))
    gevent.sleep(0.05)
    glet.kill()
    waiter.join(5)
    assert waiter.successful(), waiter.exception
    wait_until(lambda: not busy(postgres_server, app), timeout=2)
    assert pool.stats()["connections"] == 1


@pytest.mark.timeout(30)
def test_ctrl_c_during_a_query_cancels_it_and_reaches_the_caller(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    # psycopg 3 has a Ctrl-C rule of its own (cancel, then wait for the
    # query's end): greenpool's cancel comes first, and closes the connection.
    app = app_name()
    pool = make_pool(postgres_server.dsn, application_name=app, pool_size=1)
    timer = gevent.get_hub().loop.timer(0.2)
    timer.start(getcurrent().throw, KeyboardInterrupt)
    started = monotonic()
    try:
        with pytest.raises(KeyboardInterrupt), pool.cursor() as cur:
            cur.execute("SELECT pg_sleep(30)")
    finally:
        timer.close()
    assert monotonic() - started < 2
    wait_until(lambda: not busy(postgres_server, app), timeout=2)
    stats = pool.stats()
    assert stats["pool_in_use"] == 0 and stats["connections_lost"] == 1
    with pool.cursor(timeout=1) as cur:
        cur.execute("SELECT 1")


@pytest.mark.timeout(30)
def test_cancel_stops_the_query_running_on_a_connection(
    postgres_server: PostgresServer, make_pool: Any, driver: PgDriver
) -> None:
    pool = make_pool(postgres_server.dsn, pool_size=1, autocommit=True)
    with pool.connection() as conn:
        sleeping = gevent.spawn(conn.cursor().execute, "SELECT pg_sleep(30)")
        gevent.sleep(0.2)
        started = monotonic()
        assert cancel(conn) is True
        sleeping.join(5)
        assert monotonic() - started < 2
        assert isinstance(sleeping.exception, driver.errors.QueryCanceled)
        conn.cursor().execute("SELECT 1")  # the connection is still good
    assert cancel(conn) in (True, False)  # nothing running: harmless, never raises


@pytest.mark.timeout(30)
def test_get_holder_killed_mid_query_is_reclaimed(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    app = app_name()
    pool = make_pool(
        postgres_server.dsn, application_name=app, pool_size=1, housekeeping_interval=0.05
    )

    def run() -> None:
        conn = pool.get()
        conn.cursor().execute("SELECT pg_sleep(30)")  # never put back

    glet = gevent.spawn(run)
    wait_until(lambda: busy(postgres_server, app))
    glet.kill()
    wait_until(lambda: not busy(postgres_server, app), timeout=2)
    with pool.connection(timeout=2) as conn:
        conn.cursor().execute("SELECT 1")


@pytest.mark.timeout(30)
def test_kill_while_connecting_leaves_no_backend_behind(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    app = app_name()
    pool = make_pool(postgres_server.dsn, application_name=app, pool_size=1, prefill=False)
    killed = []  # kept alive, tracebacks and all, as a dead greenlet's exception would be

    def use() -> None:
        with pool.connection() as conn:
            conn.cursor().execute("SELECT 1")

    for step in range(25):
        pool.dispose()
        glet = gevent.spawn(use)
        gevent.sleep(step * 0.0002)
        glet.kill()
        killed.append(glet)
    interrupted = [g for g in killed if isinstance(g.value, gevent.GreenletExit)]
    assert interrupted
    wait_until(lambda: len(backends(postgres_server, app)) == pool.stats()["connections"])


# ---------------------------------------------------------------------- liveness


@pytest.mark.timeout(60)
def test_after_a_restart_stale_connections_are_never_handed_out(
    fresh_postgres: PostgresServer, make_pool: Any, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="greenpool")
    pool = make_pool(fresh_postgres.dsn, pool_size=5, pool_timeout=5)
    pool.fill()
    assert pool.checkedin() == 5
    fresh_postgres.restart()
    started = monotonic()
    with pool.cursor() as cur:  # no error: the dead idle ones are detected, not tried
        cur.execute("SELECT 1")
    assert monotonic() - started < 1
    stats = pool.stats()
    # The first dead one showed the server went away: the other four went with it.
    assert stats["connections_lost"] == 5
    assert stats["connections"] == 1
    assert any("found dead" in r.getMessage() for r in caplog.records)


def test_a_terminated_backend_drops_the_idle_connections_made_before_it(
    postgres_server: PostgresServer, make_pool: Any, driver: PgDriver
) -> None:
    app = app_name()
    pool = make_pool(postgres_server.dsn, application_name=app, pool_size=3)
    conns = [pool.get() for _ in range(3)]
    for conn in conns:
        pool.put(conn)
    newest = conns[-1]  # handed out first (LIFO)
    postgres_server.query("SELECT pg_terminate_backend(%s)", (driver.pid(newest),))
    wait_until(lambda: len(backends(postgres_server, app)) == 2)
    with pool.connection() as conn:
        assert conn not in conns
        conn.cursor().execute("SELECT 1")
    assert pool.stats()["connections_lost"] == 3


def test_unexpected_data_replaces_only_that_connection(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    pool = make_pool(postgres_server.dsn, pool_size=2, autocommit=True)
    first, second = pool.get(), pool.get()
    pool.put(first)
    second.cursor().execute("LISTEN greenpool_test")
    pool.put(second)  # the newest idle one
    postgres_server.query("NOTIFY greenpool_test")
    gevent.sleep(0.05)
    with pool.connection() as conn:
        assert conn is first
    stats = pool.stats()
    assert stats["connections_lost"] == 1 and stats["connections"] == 1


def test_pre_ping_runs_select_1_before_handing_out(
    postgres_server: PostgresServer, make_pool: Any, driver: PgDriver
) -> None:
    app = app_name()
    pool = make_pool(postgres_server.dsn, application_name=app, pool_size=1, pre_ping=True)
    pool.fill()  # pre_ping is for idle connections
    conn = pool.get()
    try:
        row = [r for r in backends(postgres_server, app) if r[0] == driver.pid(conn)]
        assert row and row[0][2] == "SELECT 1"
        assert transaction_state(conn) is TxState.IDLE
    finally:
        pool.put(conn)


@pytest.mark.timeout(30)
def test_connect_timeout_bounds_a_connect_to_a_silent_server(
    postgres_server: PostgresServer, make_pool: Any, tcp_proxy: Any, driver: PgDriver
) -> None:
    proxy = tcp_proxy(postgres_server)
    proxy.blackhole()
    pool = make_pool(
        f"host=127.0.0.1 port={proxy.port} user=postgres dbname=postgres",
        prefill=False, connect_timeout=0.3,
    )
    started = monotonic()
    with pytest.raises(driver.OperationalError, match="timed out"):
        pool.get()
    assert monotonic() - started < 2
    assert pool.stats()["connections"] == 0
    proxy.normal()
    with pool.cursor() as cur:
        cur.execute("SELECT 1")


# ---------------------------------------------------------------------- pool behaviour


def test_waiters_are_served_first_in_first_out(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    pool = make_pool(postgres_server.dsn, pool_size=1)
    order: list[int] = []
    holder = pool.get()

    def waiter(i: int) -> None:
        with pool.connection():
            order.append(i)

    glets = []
    for i in range(10):
        glets.append(gevent.spawn(waiter, i))
        gevent.sleep(0.001)
    pool.put(holder)
    gevent.joinall(glets, raise_error=True)
    assert order == list(range(10))


def test_full_pool_times_out_with_a_clear_message(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    pool = make_pool(postgres_server.dsn, pool_size=1, pool_timeout=0.05)
    with pool.connection():
        with pytest.raises(NoConnectionAvailable, match="pool_size=1"):
            pool.get()
        assert pool.stats()["requests_timeouts"] == 1


def test_close_stops_checkouts(postgres_server: PostgresServer, make_pool: Any) -> None:
    app = app_name()
    pool = make_pool(postgres_server.dsn, application_name=app, pool_size=2)
    pool.close()
    assert pool.closed
    with pytest.raises(PoolClosed):
        pool.get()
    with pytest.raises(PoolClosed), pool.connection():
        pass
    wait_until(lambda: not backends(postgres_server, app))


def test_execute_commits_and_returns(
    postgres_server: PostgresServer, make_pool: Any, table: str, driver: PgDriver
) -> None:
    pool = make_pool(postgres_server.dsn, pool_size=1)

    def insert(conn: Any, x: int) -> str:
        conn.cursor().execute(f"INSERT INTO {table} VALUES (%s)", (x,))
        return "done"

    assert pool.execute(insert, 7) == "done"
    assert rows(postgres_server, table) == [7]
    with pytest.raises(driver.errors.UniqueViolation):
        pool.execute(insert, 7)  # not a connection failure: not retried
    assert pool.stats()["requests_num"] == 2


# ---------------------------------------------------------------------- secrets


def test_passwords_never_shown(
    postgres_server: PostgresServer, make_pool: Any, caplog: Any, driver: PgDriver
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "pa55-w0rd-XYZ"
    port = closed_port()
    dsns = [
        f"host=127.0.0.1 port={port} user=postgres password={secret} dbname=postgres",
        f"postgresql://postgres:{secret}@127.0.0.1:{port}/postgres",
    ]
    texts: list[str] = []
    for dsn in dsns:
        pool = make_pool(dsn, prefill=False, connect_timeout=2)
        texts += [repr(pool), str(pool), pool.dsn]
        with pytest.raises(driver.OperationalError) as info:
            pool.get()
        texts += [str(info.value), repr(info.value)]
        two = make_pool(
            dsn, servers=[f"127.0.0.1:{port}", f"127.0.0.1:{closed_port()}"],
            prefill=False, connect_timeout=2,
        )
        texts.append(repr(two))
        with pytest.raises(Exception) as info2:
            two.get()
        texts += [str(info2.value), repr(info2.value)]
    # A working pool given the password as a keyword (trust auth ignores it).
    pool = make_pool(postgres_server.dsn, password=secret, pool_size=1)
    with pool.connection() as conn:
        texts.append(repr(conn))
    texts.append(repr(pool))
    texts += [r.getMessage() for r in caplog.records]
    assert any("***" in t for t in texts)
    for text in texts:
        assert secret not in text


class _MyTimeout(Exception):
    """An application's own timeout exception, raised by gevent.Timeout(seconds, _MyTimeout)."""


def test_a_timeouts_own_exception_class_is_no_server_failure(
    postgres_server: Any, make_pool: Any
) -> None:
    # gevent.Timeout(s, SomeException) raises an Exception: the query was
    # cancelled and the connection closed by greenpool's interrupt handling,
    # which the pool took for "the server went away": execute() ran fn a
    # second time (with no timer left to bound it), and every idle
    # connection was dropped.
    pool = make_pool(postgres_server.dsn, pool_size=3, max_overflow=0)
    pool.fill()
    assert pool.checkedin() == 3
    calls: list[int] = []

    def slow(conn: Any) -> str:
        calls.append(1)
        conn.cursor().execute("SELECT pg_sleep(1)")
        return "done"

    with pytest.raises(_MyTimeout), gevent.Timeout(0.1, _MyTimeout):
        pool.execute(slow)
    assert calls == [1]
    assert pool.checkedin() == 2  # the interrupted one closed; the others kept
    with pytest.raises(_MyTimeout), gevent.Timeout(0.1, _MyTimeout), pool.connection() as conn:
        conn.cursor().execute("SELECT pg_sleep(1)")
    assert pool.checkedin() == 1
    assert pool.stats()["pool_in_use"] == 0

    def one(conn: Any) -> Any:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchone()[0]

    assert pool.execute(one) == 1


def test_a_clean_exit_after_the_connection_closed_in_the_block_raises(
    postgres_server: Any, make_pool: Any, driver: PgDriver
) -> None:
    # The block caught its own gevent.Timeout (the query was cancelled and
    # the connection closed) and ended cleanly: the commit was skipped in
    # silence, and the INSERT before it lost with no error.
    table = "t_closed_" + app_name().replace("-", "_")
    pool = make_pool(postgres_server.dsn, pool_size=1)
    with pool.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} (n int)")
    try:
        with pytest.raises(driver.Error), pool.connection() as conn:
            conn.cursor().execute(f"INSERT INTO {table} VALUES (1)")
            with gevent.Timeout(0.05, False):
                conn.cursor().execute("SELECT pg_sleep(1)")
            assert conn.closed
        with pool.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {table}")
            assert cur.fetchone()[0] == 0  # not committed, and the caller was told
        # In autocommit there is nothing to commit: a clean exit stays clean.
        auto = make_pool(postgres_server.dsn, pool_size=1, autocommit=True)
        with auto.connection() as conn:
            conn.cursor().execute(f"INSERT INTO {table} VALUES (2)")
            with gevent.Timeout(0.05, False):
                conn.cursor().execute("SELECT pg_sleep(1)")
        assert auto.stats()["pool_in_use"] == 0
    finally:
        with pool.cursor() as cur:
            cur.execute(f"DROP TABLE {table}")


def test_a_second_interrupt_during_the_cancel_still_closes_the_connection(
    postgres_server: Any, driver: PgDriver
) -> None:
    # The first kill starts the query's cancel, whose wait on the hub the
    # second kill ends: psycopg 3's connection was left open and ACTIVE ("another
    # command is already in progress" for the next user of it).
    ensure_green(driver.name)
    conn = driver.module.connect(postgres_server.dsn)
    job = gevent.spawn(lambda: conn.cursor().execute("SELECT pg_sleep(2)"))
    gevent.sleep(0.1)
    job.kill(block=False)
    job.kill(block=False)
    job.join(3)
    assert job.dead
    assert conn.closed
