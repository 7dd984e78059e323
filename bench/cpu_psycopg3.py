"""psycopg 3's per-query client work, for ``valgrind --tool=callgrind`` (instructions, not time).

The loop of bench_postgres.py's "greenpool + psycopg 3" contender (``gp``) or
of its bare gevent Queue of psycopg 3 connections (``bare``), against a
PostgreSQL given by ``--dsn`` that runs apart (so the count is the
client's).  Run it twice with two ``--queries`` and divide the difference
of the totals by the difference of the query counts: set-up, connects and
the warm-up cancel out.  Instruction counts do not move with the
machine's load; scheduling still makes them vary by about 1% between runs.

    valgrind --tool=callgrind --callgrind-out-file=cg.10 \\
        .venv/bin/python bench/cpu_psycopg3.py gp --dsn "$DSN" --queries 10
    (the same with --queries 40, then (total40 - total10) / (500 * 30))

A server: ``greenpool.testing.PostgresServer(settings={"max_connections": 200})``,
started in another process.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import _common  # noqa: E402, F401  (puts this checkout first on sys.path)
import gevent  # noqa: E402
import gevent.queue  # noqa: E402
import psycopg  # noqa: E402

from greenpool.postgres import PostgresPool, ensure_green  # noqa: E402


def _contender(kind: str, dsn: str) -> Callable[[], None]:
    if kind == "gp":
        pool = PostgresPool(
            dsn, driver="psycopg", pool_size=10, max_overflow=10, autocommit=True,
            pool_timeout=None,
        )

        def query() -> None:
            with pool.connection() as conn:
                conn.execute("SELECT 1").fetchone()

        return query
    queue: gevent.queue.Queue[Any] = gevent.queue.Queue()
    for _ in range(20):
        queue.put(psycopg.connect(dsn, autocommit=True))

    def bare_query() -> None:
        conn = queue.get()
        try:
            conn.execute("SELECT 1").fetchone()
        finally:
            queue.put(conn)

    return bare_query


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["gp", "bare"])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--greenlets", type=int, default=500)
    parser.add_argument("--queries", type=int, default=10, help="queries per greenlet")
    args = parser.parse_args()
    ensure_green("psycopg")
    query = _contender(args.kind, args.dsn)

    def worker() -> None:
        for _ in range(args.queries):
            query()

    # Warm-up, the same in both runs: connections made, code paths hot.
    gevent.joinall([gevent.spawn(query) for _ in range(args.greenlets)])
    gevent.joinall([gevent.spawn(worker) for _ in range(args.greenlets)])


if __name__ == "__main__":
    main()
