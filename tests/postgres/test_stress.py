"""Invariants under load: random kills and timeouts, a server restart, property tests.

After any storm: no permit lost (every slot can be taken at once), no query
left running on the server (``pg_stat_activity``), no connection leaked (the
server's backends are exactly the pool's connections).
"""

from __future__ import annotations

import random
from collections import defaultdict
from time import monotonic
from typing import Any

import gevent
import pytest
from gevent.event import Event
from helpers import wait_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg_helpers import PgDriver, app_name, backends, busy

from greenpool import NoConnectionAvailable
from greenpool.postgres import PostgresPool
from greenpool.testing import PostgresServer


def assert_healthy(pool: PostgresPool, server: PostgresServer, app: str) -> None:
    """No permit lost, nothing running, nothing leaked."""
    stats = pool.stats()
    assert stats["pool_in_use"] == 0
    assert stats["requests_waiting"] == 0
    assert stats["connections"] <= stats["pool_max"]
    try:
        wait_until(lambda: not busy(server, app), timeout=3)
        wait_until(lambda: len(backends(server, app)) == pool.stats()["connections"], timeout=3)
    except AssertionError:
        raise AssertionError(f"server: {backends(server, app)}; pool: {pool.stats()}") from None
    # Every slot can be taken at once, and each connection works.
    taken = [pool.get(timeout=2) for _ in range(stats["pool_max"])]
    try:
        for conn in taken:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
    finally:
        for conn in taken:
            pool.put(conn)
    # ... and not one more.
    taken = []
    try:
        with pytest.raises(NoConnectionAvailable):
            for _ in range(stats["pool_max"] + 1):
                taken.append(pool.get(timeout=0))
        assert len(taken) == stats["pool_max"]
    finally:
        for conn in taken:
            pool.put(conn)
    assert pool.stats()["pool_in_use"] == 0


def work(pool: PostgresPool, rng: random.Random, table: str, errors: Any) -> None:
    """One caller's random plan: reads, sleeps, writes, errors, some under a timeout."""
    for _ in range(3):
        kind = rng.random()
        timeout = rng.choice([None, None, 0.001, 0.005, 0.02])
        with gevent.Timeout(timeout, False), pool.connection() as conn, conn.cursor() as cur:
            if kind < 0.4:
                cur.execute("SELECT 1")
            elif kind < 0.7:
                cur.execute("SELECT pg_sleep(%s)", (rng.choice([0.001, 0.01, 0.05]),))
            elif kind < 0.9:
                cur.execute(f"INSERT INTO {table} VALUES (%s)", (rng.randrange(1000),))
                cur.execute("SELECT pg_sleep(0.005)")
            else:
                try:
                    cur.execute("SELECT 1 / 0")
                except errors.DivisionByZero:
                    pass


@pytest.mark.timeout(120)
def test_1000_greenlets_with_random_kills_and_timeouts(
    postgres_server: PostgresServer, make_pool: Any, driver: PgDriver
) -> None:
    app = app_name()
    table = app.replace("-", "_")
    postgres_server.query(f"CREATE TABLE {table} (x int)")
    pool = make_pool(
        postgres_server.dsn, application_name=app, pool_size=10, max_overflow=10,
        pool_timeout=None, housekeeping_interval=0.1,
    )
    rng = random.Random(20240601)
    glets = [
        gevent.spawn(work, pool, random.Random(rng.random()), table, driver.errors)
        for _ in range(1000)
    ]
    killed = 0
    started = monotonic()
    while not all(g.ready() for g in glets) and monotonic() - started < 60:
        gevent.sleep(rng.uniform(0, 0.004))
        live = [g for g in glets if not g.ready()]
        if live:
            rng.choice(live).kill(block=False)
            killed += 1
    gevent.joinall(glets, timeout=30)
    assert all(g.ready() for g in glets)
    failed = [g.exception for g in glets if g.exception is not None]
    assert not failed, failed[:3]
    assert killed > 100
    stats = pool.stats()
    assert stats["connections_lost"] > 0  # some kills did land mid-query
    assert_healthy(pool, postgres_server, app)


@pytest.mark.timeout(120)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plans=st.lists(
        st.tuples(
            st.sampled_from(["select", "sleep", "tx", "error"]),
            st.sampled_from(["none", "timeout", "kill", "kill-later"]),
            st.floats(min_value=0.0, max_value=0.03),
        ),
        min_size=1,
        max_size=40,
    ),
    size=st.integers(min_value=1, max_value=4),
    overflow=st.integers(min_value=0, max_value=2),
)
def test_property_no_permit_lost_nothing_left_running(
    postgres_server: PostgresServer, driver: PgDriver, plans: list[tuple[str, str, float]],
    size: int, overflow: int,
) -> None:
    app = app_name()
    pool = PostgresPool(
        postgres_server.dsn, application_name=app, pool_size=size, max_overflow=overflow,
        pool_timeout=None, prefill=False, housekeeping_interval=0.05, driver=driver.name,
    )
    try:

        def run(what: str) -> None:
            with pool.cursor() as cur:
                if what == "select":
                    cur.execute("SELECT 1")
                elif what == "sleep":
                    cur.execute("SELECT pg_sleep(0.02)")
                elif what == "tx":
                    cur.execute("SELECT txid_current()")
                    cur.execute("SELECT pg_sleep(0.01)")
                else:
                    cur.execute("SELECT 1 / 0")

        glets = []
        for what, interrupt, delay in plans:
            if interrupt == "timeout":
                glet = gevent.spawn(_with_timeout, delay, run, what)
            else:
                glet = gevent.spawn(run, what)
            glets.append((glet, interrupt, delay))
        for glet, interrupt, delay in glets:
            if interrupt == "kill":
                glet.kill(block=False)
            elif interrupt == "kill-later":
                gevent.spawn_later(delay, glet.kill, block=False)
        gevent.joinall([g for g, _, _ in glets], timeout=30)
        for glet, _, _ in glets:
            assert glet.ready()
            exc = glet.exception
            assert exc is None or isinstance(exc, driver.errors.DivisionByZero), exc
        assert_healthy(pool, postgres_server, app)
    finally:
        pool.close()
    wait_until(lambda: not backends(postgres_server, app), timeout=3)


def _with_timeout(seconds: float, fn: Any, *args: Any) -> None:
    with gevent.Timeout(seconds, False):
        fn(*args)


@pytest.mark.timeout(120)
def test_server_restart_under_load(
    fresh_postgres: PostgresServer, make_pool: Any, driver: PgDriver
) -> None:
    """Callers see at most one error each; execute() sees none; healthy within 1 s of return."""
    pool = make_pool(
        fresh_postgres.dsn, pool_size=10, pool_timeout=10, connect_timeout=2,
        max_retries=-1, retry_timeout=30,
    )
    errors: dict[int, list[BaseException]] = defaultdict(list)
    ok_after_return: dict[int, float] = {}
    back = Event()
    stop = Event()
    back_at = [0.0]

    def caller(i: int) -> None:
        while not stop.is_set():
            try:
                with pool.cursor() as cur:
                    cur.execute("SELECT pg_sleep(0.01)")
            except driver.Error as exc:
                errors[i].append(exc)
                back.wait()  # a sensible caller: try again once the server is back
                continue
            if back.is_set() and i not in ok_after_return:
                ok_after_return[i] = monotonic()

    def reader(i: int) -> None:
        while not stop.is_set():
            assert pool.execute(lambda conn: _select_one(conn)) == 1  # retried, never fails
            if back.is_set() and i not in ok_after_return:
                ok_after_return[i] = monotonic()
            gevent.sleep(0.005)

    callers = [gevent.spawn(caller, i) for i in range(40)]
    readers = [gevent.spawn(reader, 100 + i) for i in range(20)]
    gevent.sleep(0.3)
    # Restart in a thread so the hub keeps serving callers while the server is down.
    gevent.get_hub().threadpool.spawn(fresh_postgres.restart).get()
    back_at[0] = monotonic()
    back.set()
    with pool.cursor() as cur:  # healthy within a second of the server's return
        cur.execute("SELECT 1")
    assert monotonic() - back_at[0] < 1.0
    try:
        wait_until(lambda: len(ok_after_return) == 60, timeout=10)
    except AssertionError:
        stuck = [i for i in [*range(40), *range(100, 120)] if i not in ok_after_return]
        died = [g.exception for g in callers + readers if g.dead]
        raise AssertionError(f"not recovered: {stuck}; died: {died}; {pool.stats()}") from None
    gevent.sleep(0.3)
    stop.set()
    gevent.joinall(callers + readers, timeout=10, raise_error=True)
    recovered = sorted(t - back_at[0] for t in ok_after_return.values())
    assert recovered[len(recovered) // 2] < 1.0, recovered
    assert all(len(errs) <= 1 for errs in errors.values()), dict(errors)
    assert errors, "the restart should have interrupted some callers"
    with pool.cursor() as cur:
        cur.execute("SELECT 1")


def _select_one(conn: Any) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        return int(cur.fetchone()[0])
