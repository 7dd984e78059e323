"""DBAPIPool with PyMySQL against a real MariaDB, and the transaction inspector on sqlite3.

Most tests make PyMySQL green without patching the test process: the
connection is made with ``defer_connect=True`` and handed a gevent socket.
One test runs a child process under ``gevent.monkey.patch_all()`` with the
plain ``pymysql.connect``, as an application would.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from time import monotonic
from typing import Any

import gevent
import pymysql
import pytest
from gevent import socket as gsocket
from helpers import wait_until

from greenpool import ConfigurationError, NoConnectionAvailable
from greenpool.dbapi import DBAPIPool, TxState, transaction_state
from greenpool.testing import MariaDBServer


def green_connect(server: MariaDBServer, **kwargs: Any) -> Callable[[], Any]:
    """A connect function making PyMySQL connections over gevent sockets."""
    params = server.connect_kwargs
    params.update(kwargs)

    def connect() -> Any:
        conn = pymysql.connect(defer_connect=True, **params)
        sock = gsocket.create_connection((params["host"], params["port"]), timeout=10)
        sock.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
        sock.settimeout(None)
        conn.connect(sock)
        return conn

    return connect


def server_threads(server: MariaDBServer, user_db: str = "test") -> int:
    """Client connections to ``user_db``, not counting the asking one."""
    rows = server.query(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
        "WHERE DB = %s AND ID <> CONNECTION_ID()",
        (user_db,),
    )
    return int(rows[0][0])


@pytest.fixture
def make_pool() -> Iterator[Callable[..., DBAPIPool[Any]]]:
    pools: list[DBAPIPool[Any]] = []

    def make(connect: Callable[[], Any], **kwargs: Any) -> DBAPIPool[Any]:
        pool: DBAPIPool[Any] = DBAPIPool(connect, **kwargs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


@pytest.fixture
def table(mariadb_server: MariaDBServer) -> str:
    name = f"t{random.randrange(10**9)}"
    mariadb_server.query(f"CREATE TABLE {name} (x INT PRIMARY KEY) ENGINE=InnoDB")
    return name


def rows(server: MariaDBServer, table: str) -> list[int]:
    return [r[0] for r in server.query(f"SELECT x FROM {table} ORDER BY x")]


# ---------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("argument", "kwargs"),
    [
        ("pre_ping", {"pre_ping": "yes"}),
        ("configure", {"configure": 1}),
        ("check", {"check": "x"}),
        ("reset", {"reset": 2}),
        ("close", {"close": print}),
        ("pool_size", {"pool_size": -1}),
    ],
)
def test_bad_arguments_raise_configuration_error(argument: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError) as info:
        DBAPIPool(lambda: None, prefill=False, **kwargs)
    assert info.value.argument == argument


def test_connect_must_be_callable() -> None:
    with pytest.raises(ConfigurationError, match="connect"):
        DBAPIPool("mysql://x", prefill=False)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- transactions


def test_commit_on_clean_exit_rollback_on_error(
    mariadb_server: MariaDBServer, make_pool: Any, table: str
) -> None:
    pool = make_pool(green_connect(mariadb_server, autocommit=False), pool_size=1)
    with pool.connection() as conn, conn.cursor() as cur:
        cur.execute(f"INSERT INTO {table} VALUES (1)")
    assert rows(mariadb_server, table) == [1]
    with pytest.raises(KeyError), pool.cursor() as cur:
        cur.execute(f"INSERT INTO {table} VALUES (2)")
        raise KeyError
    assert rows(mariadb_server, table) == [1]
    with pytest.raises(pymysql.err.IntegrityError), pool.cursor() as cur:
        cur.execute(f"INSERT INTO {table} VALUES (1)")
    assert pool.stats()["connections_num"] == 1


def test_put_rolls_back_and_reuses(
    mariadb_server: MariaDBServer, make_pool: Any, table: str
) -> None:
    pool = make_pool(green_connect(mariadb_server, autocommit=False), pool_size=1)
    conn = pool.get()
    thread_id = conn.thread_id()
    conn.cursor().execute(f"INSERT INTO {table} VALUES (3)")
    assert transaction_state(conn) is TxState.IN_TRANSACTION
    pool.put(conn)
    assert transaction_state(conn) is TxState.IDLE
    assert rows(mariadb_server, table) == []
    with pool.connection() as again:
        assert again.thread_id() == thread_id


def test_a_connection_the_application_closed_is_dropped(
    mariadb_server: MariaDBServer, make_pool: Any
) -> None:
    pool = make_pool(green_connect(mariadb_server), pool_size=2)
    pool.fill()  # prefill waits for the first checkout: open them all now
    conn = pool.get()
    conn.close()
    assert transaction_state(conn) is TxState.CLOSED
    pool.put(conn)
    assert pool.stats()["connections"] == 1
    assert pool.stats()["returns_bad"] == 1


def test_autocommit_connection_skips_commit_round_trips(
    mariadb_server: MariaDBServer, make_pool: Any
) -> None:
    pool = make_pool(green_connect(mariadb_server, autocommit=True), pool_size=1)
    with pool.cursor() as cur:
        cur.execute("SELECT 1")
        assert transaction_state(cur.connection) is TxState.IDLE
        before = cur.connection._next_seq_id
    with pool.connection() as conn:
        assert conn._next_seq_id == before  # no COMMIT and no ROLLBACK was sent


# ---------------------------------------------------------------------- green and kill-safe


@pytest.mark.timeout(30)
def test_a_sleeping_query_does_not_stop_others(
    mariadb_server: MariaDBServer, make_pool: Any
) -> None:
    pool = make_pool(green_connect(mariadb_server, autocommit=True), pool_size=4)
    done: list[float] = []

    def sleeper() -> None:
        with pool.cursor() as cur:
            cur.execute("SELECT SLEEP(1)")

    def worker() -> None:
        with pool.cursor() as cur:
            cur.execute("SELECT 1")
        done.append(monotonic())

    sleeping = gevent.spawn(sleeper)
    gevent.sleep(0.05)
    started = monotonic()
    gevent.joinall([gevent.spawn(worker) for _ in range(50)], raise_error=True)
    assert len(done) == 50 and max(done) - started < 0.9
    assert not sleeping.ready()
    sleeping.join()


@pytest.mark.timeout(60)
def test_random_kills_and_timeouts_lose_no_permit_and_leak_nothing(
    fresh_mariadb: MariaDBServer, make_pool: Any
) -> None:
    pool = make_pool(
        green_connect(fresh_mariadb, autocommit=True), pool_size=5, max_overflow=3,
        pool_timeout=None, housekeeping_interval=0.05,
    )
    rng = random.Random(7)

    def work(seed: float) -> None:
        local = random.Random(seed)
        for _ in range(3):
            with gevent.Timeout(local.choice([None, 0.002, 0.01]), False), pool.cursor() as cur:
                cur.execute("SELECT SLEEP(%s)", (local.choice([0, 0.001, 0.01]),))

    glets = [gevent.spawn(work, rng.random()) for _ in range(300)]
    while not all(g.ready() for g in glets):
        gevent.sleep(rng.uniform(0, 0.003))
        live = [g for g in glets if not g.ready()]
        if live:
            rng.choice(live).kill(block=False)
    assert all(g.successful() for g in glets)
    stats = pool.stats()
    assert stats["pool_in_use"] == 0 and stats["connections"] <= 8
    assert stats["connections_lost"] > 0
    wait_until(lambda: server_threads(fresh_mariadb) == pool.stats()["connections"], timeout=5)
    taken = [pool.get(timeout=2) for _ in range(8)]
    with pytest.raises(NoConnectionAvailable):
        pool.get(timeout=0)
    for conn in taken:
        pool.put(conn)


# ---------------------------------------------------------------------- server restart


@pytest.mark.timeout(90)
def test_restart_with_pre_ping_hands_out_no_stale_connection(
    fresh_mariadb: MariaDBServer, make_pool: Any
) -> None:
    pool = make_pool(green_connect(fresh_mariadb, autocommit=True), pool_size=3, pre_ping=True)
    pool.fill()  # prefill waits for the first checkout: open them all now
    fresh_mariadb.restart()
    with pool.cursor() as cur:
        cur.execute("SELECT 1")
    # The first failed ping showed the server went away: its older siblings went too.
    assert pool.stats()["connections_lost"] == 3


@pytest.mark.timeout(90)
def test_restart_without_pre_ping_costs_one_error_and_execute_retries(
    fresh_mariadb: MariaDBServer, make_pool: Any
) -> None:
    pool = make_pool(green_connect(fresh_mariadb, autocommit=True), pool_size=3)
    pool.fill()  # prefill waits for the first checkout: open them all now
    fresh_mariadb.restart()
    with pytest.raises(pymysql.err.OperationalError), pool.cursor() as cur:
        cur.execute("SELECT 1")  # one stale connection is found out the hard way ...
    with pool.cursor() as cur:
        cur.execute("SELECT 1")  # ... and it took the other stale ones with it
    assert pool.stats()["connections_lost"] == 3
    fresh_mariadb.restart()

    def read(conn: Any) -> int:
        with conn.cursor() as cur:
            cur.execute("SELECT 41 + 1")
            return int(cur.fetchone()[0])

    assert pool.execute(read) == 42  # the stale connection's failure was retried


# ---------------------------------------------------------------------- under monkey patching


@pytest.mark.timeout(60)
def test_plain_pymysql_is_green_under_monkey_patching(mariadb_server: MariaDBServer) -> None:
    code = textwrap.dedent(
        """
        from gevent import monkey; monkey.patch_all()
        import sys, time, gevent, pymysql
        from greenpool.dbapi import DBAPIPool
        host, port = sys.argv[1], int(sys.argv[2])
        pool = DBAPIPool(
            lambda: pymysql.connect(host=host, port=port, user="root", password="",
                                    database="test", autocommit=True),
            pool_size=4,
        )
        def sleeper():
            with pool.cursor() as cur:
                cur.execute("SELECT SLEEP(1)")
        done = []
        def worker():
            with pool.cursor() as cur:
                cur.execute("SELECT 1")
            done.append(time.monotonic())
        s = gevent.spawn(sleeper)
        gevent.sleep(0.05)
        started = time.monotonic()
        gevent.joinall([gevent.spawn(worker) for _ in range(30)], raise_error=True)
        print(len(done), max(done) - started < 0.9, s.ready())
        s.join()
        pool.close()
        """
    )
    env = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-c", code, mariadb_server.host, str(mariadb_server.port)],
        capture_output=True, text=True, timeout=50, env=env, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["30", "True", "False"]


# ---------------------------------------------------------------------- other drivers


def test_transaction_state_on_sqlite3_and_an_unknown_driver() -> None:
    conn = sqlite3.connect(":memory:")
    assert transaction_state(conn) is TxState.IDLE
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    assert transaction_state(conn) is TxState.IN_TRANSACTION
    conn.close()
    assert transaction_state(conn) is TxState.CLOSED

    class Unknown:
        closed = False
        rollbacks = 0

        def rollback(self) -> None:
            self.rollbacks += 1

        def commit(self) -> None:
            pass

        def close(self) -> None:
            self.closed = True

    assert transaction_state(Unknown()) is TxState.UNKNOWN
    pool: DBAPIPool[Unknown] = DBAPIPool(Unknown, pool_size=1)
    try:
        with pool.connection() as c:
            pass
        assert c.rollbacks == 1  # unknown state: rolled back on every return
        with pool.connection() as c2:
            c2.closed = True
        assert pool.stats()["connections"] == 0
    finally:
        pool.close()


def test_the_reset_hook_runs_on_every_return_even_when_nothing_needed_rolling_back() -> None:
    # A clean exit from an idle connection skips the built-in rollback check,
    # but never the application's own reset hook.
    resets: list[bool] = []
    pool: DBAPIPool[sqlite3.Connection] = DBAPIPool(
        lambda: sqlite3.connect(":memory:", isolation_level=None),  # autocommit
        reset=lambda conn: resets.append(conn.in_transaction),
        pool_size=1,
    )
    try:
        with pool.connection() as conn:
            conn.execute("SELECT 1")
        assert resets == [False]
        with pool.connection() as conn:
            conn.execute("BEGIN")
            conn.execute("CREATE TABLE t (x)")
        assert resets == [False, False]  # committed, then reset
        with pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
        assert resets == [False, False, False]
        assert pool.stats()["connections_num"] == 1
    finally:
        pool.close()
