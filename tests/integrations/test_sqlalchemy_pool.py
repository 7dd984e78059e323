"""GreenQueuePool: a real SQLAlchemy engine on greenpool's checkout, against PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from time import monotonic
from typing import Any

import gevent
import psycopg2.extensions as ext
import pytest
import sqlalchemy
from helpers import run_in_child, wait_until
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from greenpool.integrations import prometheus
from greenpool.integrations.sqlalchemy import GreenQueuePool
from greenpool.testing import PostgresServer

_apps = itertools.count(1)


def backends(server: PostgresServer, app: str) -> list[tuple[Any, ...]]:
    return server.query(
        "SELECT pid, state, query FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND application_name = %s",
        (app,),
    )


@pytest.fixture
def make_engine() -> Iterator[Callable[..., tuple[Engine, str]]]:
    engines: list[Engine] = []

    def make(server: PostgresServer, **kwargs: Any) -> tuple[Engine, str]:
        app = f"gp-sqla-{next(_apps)}"
        kwargs.setdefault("poolclass", GreenQueuePool)
        engine = create_engine(
            f"postgresql+psycopg2://postgres@{server.address}/postgres",
            connect_args={"application_name": app},
            **kwargs,
        )
        engines.append(engine)
        return engine, app

    yield make
    for engine in engines:
        engine.dispose()


def test_engine_uses_the_pool_and_makes_psycopg2_green(
    postgres_server: PostgresServer, make_engine: Any
) -> None:
    engine, _ = make_engine(postgres_server, pool_size=3, max_overflow=2, pool_timeout=5)
    pool = engine.pool
    assert isinstance(pool, GreenQueuePool)
    assert pool.size() == 3 and pool.timeout() == 5
    assert hasattr(ext.get_wait_callback(), "greenpool_inner")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
        assert pool.checkedout() == 1
    assert pool.checkedin() == 1 and pool.checkedout() == 0
    assert "Checked out connections: 0" in pool.status()
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE x (a int)"))


@pytest.mark.timeout(30)
def test_the_psycopg3_dialect_is_made_green_and_cancels_on_timeout(
    postgres_server: PostgresServer,
) -> None:
    from psycopg import waiting

    from greenpool.postgres import is_green

    waiting.wait = waiting.wait_c  # what psycopg picks when select is not patched
    assert not is_green("psycopg")
    app = f"gp-sqla-{next(_apps)}"
    engine = create_engine(
        f"postgresql+psycopg://postgres@{postgres_server.address}/postgres",
        connect_args={"application_name": app}, poolclass=GreenQueuePool, pool_size=1,
    )
    try:
        assert is_green("psycopg")
        ticks: list[float] = []
        ticker = gevent.spawn(lambda: [ticks.append(monotonic()) or gevent.sleep(0.01)
                                       for _ in itertools.count()])
        started = monotonic()
        with pytest.raises(gevent.Timeout), gevent.Timeout(0.3), engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(30)"))
        ticker.kill()
        assert len([t for t in ticks if t > started]) >= 10
        wait_until(lambda: not [r for r in backends(postgres_server, app) if r[1] != "idle"])
        with engine.connect() as conn:  # the only slot came back
            assert conn.execute(text("SELECT 2")).scalar() == 2
    finally:
        engine.dispose()


@pytest.mark.timeout(60)
def test_many_greenlets_share_the_limit_and_nobody_starves(
    postgres_server: PostgresServer, make_engine: Any
) -> None:
    engine, app = make_engine(postgres_server, pool_size=5, max_overflow=5, pool_timeout=30)
    peak = [0]
    latencies: list[float] = []

    def work() -> None:
        for _ in range(5):
            started = monotonic()
            with engine.connect() as conn:
                latencies.append(monotonic() - started)
                peak[0] = max(peak[0], engine.pool.checkedout())
                conn.execute(text("SELECT pg_sleep(0.001)"))

    gevent.joinall([gevent.spawn(work) for _ in range(200)], raise_error=True)
    assert len(latencies) == 1000
    assert peak[0] <= 10
    assert len(backends(postgres_server, app)) <= 10
    # First in, first out: no caller waits much longer than the queue's length in turns.
    assert max(latencies) < 10 * (sum(latencies) / len(latencies)) + 0.5


def test_waiters_are_served_in_arrival_order(
    postgres_server: PostgresServer, make_engine: Any
) -> None:
    engine, _ = make_engine(postgres_server, pool_size=2, max_overflow=0)
    held = [engine.connect(), engine.connect()]
    order: list[int] = []

    def waiter(i: int) -> None:
        with engine.connect() as conn:
            order.append(i)
            conn.execute(text("SELECT 1"))

    glets = []
    for i in range(12):
        glets.append(gevent.spawn(waiter, i))
        gevent.sleep(0.001)
    for conn in held:
        conn.close()
    gevent.joinall(glets, raise_error=True)
    assert order == list(range(12))


def test_full_pool_raises_sqlalchemy_timeout_error(
    postgres_server: PostgresServer, make_engine: Any
) -> None:
    engine, _ = make_engine(postgres_server, pool_size=1, max_overflow=0, pool_timeout=0.1)
    with engine.connect():
        started = monotonic()
        result = gevent.spawn(engine.connect)
        result.join(5)
        assert isinstance(result.exception, sqlalchemy.exc.TimeoutError)
        assert "GreenQueuePool limit of size 1" in str(result.exception)
        assert 0.05 < monotonic() - started < 2


def test_the_pool_reports_stats_for_metrics(
    postgres_server: PostgresServer, make_engine: Any
) -> None:
    engine, _ = make_engine(postgres_server, pool_size=1, max_overflow=0, pool_timeout=0.1)
    pool = engine.pool
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        assert pool.stats()["pool_in_use"] == 1
        blocked = gevent.spawn(engine.connect)
        blocked.join(5)
        assert isinstance(blocked.exception, sqlalchemy.exc.TimeoutError)
    stats = pool.pop_stats()
    assert stats["requests_num"] == 2 and stats["requests_timeouts"] == 1
    assert stats["connections_num"] == 1 and stats["pool_available"] == 1
    assert pool.stats()["requests_num"] == 0
    collector = prometheus.GreenpoolCollector()
    collector.add(pool)  # by its name
    assert collector.sources() == {pool.name: pool}


@pytest.mark.timeout(30)
def test_kill_and_timeout_cancel_the_query_and_lose_no_slot(
    postgres_server: PostgresServer, make_engine: Any
) -> None:
    engine, app = make_engine(postgres_server, pool_size=1, max_overflow=0, pool_timeout=5)

    def sleep_long() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(30)"))

    glet = gevent.spawn(sleep_long)
    wait_until(lambda: any("pg_sleep" in r[2] for r in backends(postgres_server, app)))
    glet.kill()
    with pytest.raises(gevent.Timeout), gevent.Timeout(0.2):
        sleep_long()
    wait_until(lambda: not [r for r in backends(postgres_server, app) if r[1] != "idle"])
    with engine.connect() as conn:  # the only slot came back, twice
        assert conn.execute(text("SELECT 2")).scalar() == 2
    assert engine.pool.checkedout() == 0


@pytest.mark.timeout(30)
def test_connection_of_a_dead_greenlet_is_reclaimed(
    postgres_server: PostgresServer, make_engine: Any
) -> None:
    engine, _ = make_engine(postgres_server, pool_size=1, max_overflow=0, pool_timeout=5)
    keep: list[Any] = []

    def leak() -> None:
        keep.append(engine.raw_connection())  # never closed, and kept alive

    gevent.spawn(leak).join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 3")).scalar() == 3
    keep[0].close()  # returning it late is harmless
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 4")).scalar() == 4


def test_a_connection_in_a_query_is_not_reclaimed_from_its_dead_greenlet(
    postgres_server: PostgresServer, make_engine: Any
) -> None:
    """A raw connection got by a greenlet that ended, in a query in another greenlet.

    The housekeeping reclaims connections of dead greenlets; closing this one
    under the other greenlet's query hung the whole thread (psycopg2 holds
    the connection's lock for the query), so it is left to that greenlet.
    The scenario runs in a forked child: a deadlock kills the child, not the run.
    """
    key = 7_654_322

    def scenario() -> None:
        engine, _ = make_engine(postgres_server, pool_size=1, max_overflow=0, pool_timeout=5)
        blocker = postgres_server.connect()
        blocker.cursor().execute("SELECT pg_advisory_lock(%s)", (key,))
        raw = gevent.spawn(engine.raw_connection).get()  # its greenlet has ended
        dbapi_conn = raw.dbapi_connection

        def use() -> Any:
            cur = raw.cursor()
            cur.execute("SELECT pg_advisory_lock(%s), 42", (key,))  # waits for the blocker
            row = cur.fetchone()
            cur.execute("SELECT pg_advisory_unlock(%s)", (key,))
            raw.close()  # given back
            return row[1]

        user = gevent.spawn(use)
        wait_until(lambda: dbapi_conn.get_transaction_status() == ext.TRANSACTION_STATUS_ACTIVE)
        green = engine.pool._green
        housekept = green._last_reclaim
        wait_until(lambda: green._last_reclaim > housekept)  # a pass saw it mid-query
        assert not dbapi_conn.closed
        blocker.cursor().execute("SELECT pg_advisory_unlock(%s)", (key,))
        assert user.get(timeout=5) == 42
        assert engine.pool.checkedout() == 0 and not dbapi_conn.closed
        blocker.close()

    run_in_child(scenario)


@pytest.mark.timeout(60)
def test_pre_ping_after_restart_and_dispose_recreate(
    fresh_postgres: PostgresServer, make_engine: Any
) -> None:
    engine, _ = make_engine(fresh_postgres, pool_size=3, pool_pre_ping=True)
    conns = [engine.connect() for _ in range(3)]
    for conn in conns:
        conn.close()
    fresh_postgres.restart()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    checkouts: list[int] = []
    event.listen(engine, "checkout", lambda *a: checkouts.append(1))
    engine.dispose()
    assert isinstance(engine.pool, GreenQueuePool)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert checkouts == [1]  # events survive recreate()
