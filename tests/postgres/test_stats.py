"""PostgresPool: stats() and pop_stats() added up over servers, and from_url()."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from greenpool import ConfigurationError, _stats
from greenpool.postgres import PostgresPool


def test_stats_add_up_the_servers_and_pop_stats_resets_their_counters(
    postgres_server: Any, make_pool: Callable[..., PostgresPool]
) -> None:
    port = postgres_server.port
    pool = make_pool(postgres_server.dsn, servers=[f"127.0.0.1:{port}", f"localhost:{port}"],
                     pool_size=2, prefill=False)
    for _ in range(4):
        with pool.cursor() as cur:
            cur.execute("SELECT 1")
    per_server = [p.stats() for p in pool.pools.values()]
    stats = pool.stats()
    assert set(stats) <= set(_stats.KEYS)
    assert stats["requests_num"] == sum(s["requests_num"] for s in per_server) == 4
    assert stats["pool_size"] == 4 and stats["pool_max"] == 4
    assert stats["connections_num"] == sum(s["connections_num"] for s in per_server) >= 2
    popped = pool.pop_stats()
    assert popped == stats
    after = pool.stats()
    assert {after[k] for k in after if _stats.KEYS[k].kind == _stats.COUNTER} == {0}
    assert after["connections"] == stats["connections"]  # gauges stay
    assert all(p.stats()["requests_num"] == 0 for p in pool.pools.values())


def test_from_url_reads_a_database_url(postgres_server: Any) -> None:
    pool = PostgresPool.from_url(postgres_server.url, pool_size=1, prefill=False,
                                 application_name="from-url")
    try:
        with pool.cursor() as cur:
            cur.execute("SELECT current_database(), current_setting('application_name')")
            assert cur.fetchone() == ("postgres", "from-url")
    finally:
        pool.close()


@pytest.mark.parametrize("url", ["host=127.0.0.1 password=hunter2",
                                 "mysql://u:hunter2@127.0.0.1/db", None])
def test_from_url_refuses_other_urls_without_showing_the_password(url: Any) -> None:
    with pytest.raises(ConfigurationError, match="url") as info:
        PostgresPool.from_url(url)
    assert "hunter2" not in str(info.value)
