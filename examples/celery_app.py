"""A Celery app whose tasks use greenpool (see docs/celery.md).

One command runs the whole example: servers (unless ``REDIS_URL`` and
``DATABASE_URL`` are set), a worker on the gevent pool, 1,000 tasks::

    .venv/bin/python examples/celery_app.py [TASKS]

or start a worker yourself (the broker is ``CELERY_BROKER_URL``, else
``REDIS_URL``)::

    cd examples && ../.venv/bin/celery -A celery_app worker -P gevent -c 200

``-P gevent`` must be on the command line: Celery monkey-patches the worker
then, before it imports this module, which therefore does not patch.  The
clients are made at import; they connect on first use in the process that
runs the tasks (with ``-P prefork``, in each child).
``greenpool_celery.install()`` closes them when the worker (or a prefork
child) shuts down.

Each task records its result and counts its runs in Redis, and inserts a
row in PostgreSQL: a task lost or run twice shows in the counts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _servers import run_ddl
from celery import Celery

from greenpool.integrations import celery as greenpool_celery
from greenpool.integrations import shutdown
from greenpool.postgres import PostgresPool
from greenpool.redis import Redis

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

app = Celery("celery_app", broker=os.environ.get("CELERY_BROKER_URL", REDIS_URL))
app.conf.update(
    # Celery's default, early acks: a warm shutdown loses nothing (the tasks
    # under way finish) and, with the Redis broker, repeats nothing, where
    # late acks can be lost on the way out (celery#3802, docs/celery.md).
    task_acks_late=False,
    task_ignore_result=True,  # the tasks store their results themselves
    worker_prefetch_multiplier=4,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
greenpool_celery.install()

redis = shutdown.register(Redis.from_url(REDIS_URL, socket_timeout=10))
db = shutdown.register(PostgresPool(DATABASE_URL, pool_size=4, pool_timeout=30,
                                    autocommit=True, name="celery-example-db"))


@app.task(bind=True)
def square(self: Any, i: int) -> int:
    """``i * i``, stored in Redis; its runs counted in Redis and in PostgreSQL."""
    value = i * i
    redis.hset("example:results", str(i), value)
    redis.hincrby("example:runs", str(i), 1)
    with db.cursor() as cur:
        cur.execute("INSERT INTO task_runs (i, value, pid, task_id) VALUES (%s, %s, %s, %s)",
                    (i, value, os.getpid(), self.request.id))
    return value


def setup_schema(url: str = DATABASE_URL) -> None:
    """The runs table; nothing is left open (see :func:`_servers.run_ddl`)."""
    run_ddl(url, "CREATE TABLE IF NOT EXISTS task_runs "
                 "(i int, value bigint, pid int, task_id text)")


def worker_command(pool: str = "gevent", concurrency: int = 200) -> list[str]:
    """The command starting a worker for this app (run it in examples/)."""
    celery = Path(sys.executable).with_name("celery")
    return [str(celery), "-A", "celery_app", "worker", "-P", pool, "-c", str(concurrency),
            "--loglevel=info", "--without-gossip", "--without-mingle", "--without-heartbeat"]


def main(tasks: int) -> None:
    """Servers if needed, a gevent worker, ``tasks`` tasks; print what the counts say."""
    from _servers import servers  # only here: starting servers is this command's job

    with servers("REDIS_URL", "DATABASE_URL") as urls:
        setup_schema(urls["DATABASE_URL"])
        app.conf.broker_url = os.environ.get("CELERY_BROKER_URL", urls["REDIS_URL"])
        check = Redis.from_url(urls["REDIS_URL"])
        worker = subprocess.Popen(worker_command(), cwd=Path(__file__).parent,
                                  env=dict(os.environ, **urls))
        try:
            started = time.monotonic()
            for i in range(tasks):
                square.delay(i)
            while check.hlen("example:results") < tasks:
                if worker.poll() is not None or time.monotonic() - started > 120:
                    raise SystemExit("the worker stopped, or took over 120 s")
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            runs = {int(n) for n in check.hvals("example:runs")}
            print(f"{tasks} tasks in {elapsed:.2f}s ({tasks / elapsed:.0f}/s), "
                  f"each run {sorted(runs)} time(s)")
        finally:
            worker.terminate()  # SIGTERM: Celery's warm shutdown
            worker.wait(60)
            check.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
