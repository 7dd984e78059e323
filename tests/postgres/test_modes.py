"""Several hosts: a primary and a streaming standby, checkout by mode, a promotion followed."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import gevent
import pytest
from helpers import wait_until

from greenpool.postgres import Mode, PoolTopologyError, PostgresPool, Status
from greenpool.testing import PostgresServer, PostgresStandby


def role_of(pool: PostgresPool, mode: Any) -> tuple[int, bool]:
    """(server port, in recovery) of the server a checkout in ``mode`` reaches."""
    with pool.cursor(mode=mode) as cur:
        cur.execute("SELECT inet_server_port(), pg_is_in_recovery()")
        port, in_recovery = cur.fetchone()
    return int(port), bool(in_recovery)


@pytest.fixture
def pair(
    postgres_standby: PostgresStandby, make_pool: Any
) -> tuple[PostgresPool, PostgresServer, PostgresStandby]:
    primary = postgres_standby.primary
    pool = make_pool(
        primary.dsn,
        servers=[primary.address, postgres_standby.address],
        pool_size=2,
        role_refresh_interval=0.1,
        connect_timeout=2,
        autocommit=True,
        # Retries bounded by time, not count: a promotion takes as long as it takes.
        max_retries=-1,
        retry_timeout=10,
    )
    return pool, primary, postgres_standby


@pytest.mark.timeout(120)
def test_modes_route_by_role(pair: Any) -> None:
    pool, primary, standby = pair
    assert role_of(pool, Mode.RW) == (primary.port, False)
    assert role_of(pool, "rw") == (primary.port, False)
    assert role_of(pool, Mode.RO) == (standby.port, True)
    assert role_of(pool, Mode.PREFER_RO) == (standby.port, True)
    assert role_of(pool, Mode.PREFER_RW) == (primary.port, False)
    ports = Counter(role_of(pool, Mode.ANY)[0] for _ in range(10))
    assert set(ports) == {primary.port, standby.port}
    states = pool.states()
    assert states[primary.address].status is Status.HEALTHY
    assert states[primary.address].read_only is False
    assert states[standby.address].read_only is True
    assert "primary" in repr(pool) and "standby" in repr(pool)
    # A write through RW is seen on the standby through RO.
    with pool.cursor(mode=Mode.RW) as cur:
        cur.execute("CREATE TABLE modes (x int)")
        cur.execute("INSERT INTO modes VALUES (42)")
    standby.wait_caught_up()
    with pool.cursor(mode=Mode.RO) as cur:
        cur.execute("SELECT x FROM modes")
        assert cur.fetchall() == [(42,)]
    # The pool's default mode applies when a checkout names none.
    default_ro = PostgresPool(
        primary.dsn, servers=[primary.address, standby.address], mode="ro", prefill=False,
        driver=pool.driver,
    )
    try:
        assert role_of(default_ro, None) == (standby.port, True)
    finally:
        default_ro.close()


@pytest.mark.timeout(120)
def test_a_promotion_is_followed(pair: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="greenpool")
    pool, primary, standby = pair
    assert role_of(pool, Mode.RW)[0] == primary.port
    primary.kill()
    # The primary is gone: RW has nowhere to go; reads carry on on the standby.
    wait_until(lambda: pool.states()[primary.address].status is Status.UNHEALTHY, timeout=5)
    with pytest.raises(PoolTopologyError):
        pool.get(mode=Mode.RW)
    assert role_of(pool, Mode.PREFER_RW) == (standby.port, True)
    assert role_of(pool, Mode.ANY) == (standby.port, True)

    # A writer that retries rides through the promotion.
    writer = gevent.spawn(
        pool.execute,
        lambda conn: conn.cursor().execute("CREATE TABLE after_promotion (x int)"),
        mode=Mode.RW,
    )
    gevent.sleep(0.05)
    standby.promote()
    promoted = gevent.get_hub().loop.now()

    def rw_on_standby() -> bool:
        try:
            return role_of(pool, Mode.RW) == (standby.port, False)
        except PoolTopologyError:
            return False

    wait_until(rw_on_standby, timeout=5)
    assert gevent.get_hub().loop.now() - promoted < 2
    writer.join(10)
    assert writer.successful(), writer.exception
    assert standby.query("SELECT count(*) FROM after_promotion") == [(0,)]
    assert any("is now healthy (primary)" in r.getMessage() for r in caplog.records)


@pytest.mark.timeout(120)
def test_no_standby_means_ro_fails_and_prefer_ro_falls_back(
    postgres_server: PostgresServer, make_pool: Any
) -> None:
    pool = make_pool(postgres_server.dsn, pool_size=1)
    with pytest.raises(PoolTopologyError):
        pool.get(mode=Mode.RO)
    assert role_of(pool, Mode.PREFER_RO) == (postgres_server.port, False)
    assert role_of(pool, Mode.RW) == (postgres_server.port, False)


@pytest.mark.timeout(60)
def test_a_dead_server_at_start_is_skipped_and_rejoins(
    fresh_postgres: PostgresServer, postgres_server: PostgresServer, make_pool: Any
) -> None:
    fresh_postgres.kill()
    pool = make_pool(
        postgres_server.dsn,
        servers=[postgres_server.address, fresh_postgres.address],
        pool_size=1,
        role_refresh_interval=0.1,
        connect_timeout=2,
    )
    for _ in range(4):
        assert role_of(pool, Mode.ANY)[0] == postgres_server.port
    assert pool.states()[fresh_postgres.address].status is Status.UNHEALTHY
    fresh_postgres.start()
    wait_until(
        lambda: pool.states()[fresh_postgres.address].status is Status.HEALTHY, timeout=5
    )
    ports = {role_of(pool, Mode.ANY)[0] for _ in range(6)}
    assert ports == {postgres_server.port, fresh_postgres.port}
