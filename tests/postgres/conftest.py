"""Fixtures for the PostgreSQL pool's tests, run once per driver (psycopg2 and psycopg 3)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pg_helpers import DRIVERS, PgDriver

from greenpool.postgres import PostgresPool


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: Any) -> PgDriver:
    """The driver under test; every test that makes a pool runs with each.

    A test about one driver only pins it with
    ``@pytest.mark.parametrize("driver", ["psycopg2"], indirect=True)`` and
    says why.
    """
    return DRIVERS[request.param]


@pytest.fixture
def make_pool(driver: PgDriver) -> Iterator[Callable[..., PostgresPool]]:
    """A factory for PostgresPool on the driver under test; every pool made is closed at
    teardown."""
    pools: list[PostgresPool] = []

    def make(*args: Any, **kwargs: Any) -> PostgresPool:
        kwargs.setdefault("driver", driver.name)
        pool = PostgresPool(*args, **kwargs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()
