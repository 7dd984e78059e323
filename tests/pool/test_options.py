"""greenpool.pool._options: the checkout pools' keywords, checked in one place."""

from __future__ import annotations

from typing import Any

import pytest

from greenpool import ConfigurationError, Pool
from greenpool.dbapi import DBAPIPool
from greenpool.pool._options import OPTION_NAMES, PoolOptions


def test_normal_forms() -> None:
    options = PoolOptions(pool_timeout=-1, recycle=-1, max_idle=3, listeners=iter([{}]),
                          retry_exceptions=[OSError])
    assert options.pool_timeout is None and options.recycle is None
    assert options.max_idle == 3.0 and isinstance(options.max_idle, float)
    assert options.listeners == ({},) and options.retry_exceptions == (OSError,)
    assert PoolOptions(max_overflow=-1).max_connections is None
    assert PoolOptions(pool_size=2, max_overflow=3).max_connections == 5
    # Checking a checked set again changes nothing (PostgresPool passes it on).
    assert PoolOptions(**options.keywords()) == options


@pytest.mark.parametrize(("name", "value"), [
    ("pool_size", -1), ("pool_size", True), ("max_overflow", -2), ("pool_timeout", "5"),
    ("prefill", 1), ("recycle", 0), ("max_lifetime", 0), ("max_idle", float("nan")),
    ("use_local", None), ("max_retries", -2), ("max_waiting", -1), ("name", 5),
    ("listeners", {"on_checkout": print}), ("leak_timeout", -1), ("retry_exceptions", [5]),
    ("retry_timeout", 0), ("housekeeping_interval", 0),
])
def test_a_bad_value_names_its_keyword(name: str, value: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        PoolOptions(**{name: value})
    assert name in str(info.value)
    # And each pool says the same, from the same check.
    with pytest.raises(ConfigurationError, match=name):
        Pool(object, **{name: value})
    with pytest.raises(ConfigurationError, match=name):
        DBAPIPool(object, **{name: value})


def test_no_connection_at_all_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="pool_size \\+ max_overflow"):
        PoolOptions(pool_size=0, max_overflow=0)


def test_the_options_are_the_pools_keywords() -> None:
    import inspect

    keywords = [p for p in inspect.signature(Pool).parameters if p in OPTION_NAMES]
    assert tuple(keywords) == OPTION_NAMES
    pool: Pool[object] = Pool(object, pool_size=3, pool_timeout=-1, name="p")
    assert pool.options == PoolOptions(pool_size=3, pool_timeout=None, name="p")
    assert pool.options.but(name="q").name == "q"
