"""Fixtures for the PostgreSQL pool's tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from greenpool.postgres import PostgresPool


@pytest.fixture
def make_pool() -> Iterator[Callable[..., PostgresPool]]:
    """A factory for PostgresPool; every pool made is closed at teardown."""
    pools: list[PostgresPool] = []

    def make(*args: Any, **kwargs: Any) -> PostgresPool:
        pool = PostgresPool(*args, **kwargs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()
