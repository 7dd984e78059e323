"""A long-lived script: a green worker loop draining a Redis queue into PostgreSQL.

    .venv/bin/python examples/script.py [--jobs N]

A script is its own runner, so it patches first: ``monkey.patch_all()`` is
the first thing the entry point does, before anything else is imported
(here, under ``if __name__ == "__main__"``, so that importing this module
from a test or a gunicorn app never patches).  The clients are made after.

It queues ``--jobs`` jobs (default 2,000), then 50 greenlets take them with
``BLPOP`` (each on a dedicated connection of the Redis client's) and
insert each into PostgreSQL; it stops on SIGTERM or SIGINT, or once the
queue stays empty, finishing the jobs in hand, and closes its pools.
``REDIS_URL`` and ``DATABASE_URL`` name the servers; throwaway ones are
started without them.
"""

from __future__ import annotations

import argparse
import signal
import time
from typing import Any


def work(redis_url: str, database_url: str, jobs: int, workers: int = 50) -> int:
    """Queue ``jobs``, drain them with ``workers`` greenlets; return how many were done."""
    import gevent

    from greenpool.postgres import PostgresPool
    from greenpool.redis import Redis

    redis = Redis.from_url(redis_url, max_connections=workers + 5)
    db = PostgresPool(database_url, pool_size=5, autocommit=True)
    stopping = [False]
    done = [0]
    try:
        with db.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS example_jobs (job int PRIMARY KEY)")
            cur.execute("TRUNCATE example_jobs")
        redis.delete("example:queue")
        for start in range(0, jobs, 500):
            redis.rpush("example:queue", *range(start, min(start + 500, jobs)))

        def worker() -> None:
            while not stopping[0]:
                item: Any = redis.blpop(["example:queue"], timeout=0.2)
                if item is None:
                    return  # the queue stayed empty
                with db.cursor() as cur:
                    cur.execute("INSERT INTO example_jobs VALUES (%s)", (int(item[1]),))
                done[0] += 1

        def stop(*_: Any) -> None:
            stopping[0] = True

        gevent.signal_handler(signal.SIGTERM, stop)
        gevent.signal_handler(signal.SIGINT, stop)
        started = time.perf_counter()
        gevent.joinall([gevent.spawn(worker) for _ in range(workers)], raise_error=True)
        elapsed = time.perf_counter() - started
        with db.cursor() as cur:
            cur.execute("SELECT count(*) FROM example_jobs")
            stored = cur.fetchone()[0]
        assert stored == done[0], (stored, done[0])
        print(f"{done[0]} jobs in {elapsed:.2f}s by {workers} greenlets; "
              f"connections: redis {redis.connections_used()}, "
              f"postgres {db.stats()['connections']}")
        return done[0]
    finally:
        redis.close()
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    args = parser.parse_args()
    from _servers import servers

    with servers("REDIS_URL", "DATABASE_URL") as urls:
        work(urls["REDIS_URL"], urls["DATABASE_URL"], args.jobs)


if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()  # first: a script is its own runner
    main()
