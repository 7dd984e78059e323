"""A Flask app on greenpool, for gunicorn's gevent workers (see docs/gunicorn.md).

Run it with its config (starting throwaway servers unless ``REDIS_URL`` and
``DATABASE_URL`` are set)::

    .venv/bin/python examples/run_with_servers.py \
        .venv/bin/gunicorn -c examples/gunicorn_conf.py flask_app:app

then ``curl -s 127.0.0.1:8000/hit``.

The clients are made here, at import: right with or without ``--preload``,
since greenpool's pools connect on first use in the process that uses them
(a pool made in gunicorn's master opens nothing there).  There is no
``monkey.patch_all()`` in this module: gunicorn's gevent worker patches
itself, and a ``--preload`` app that patches would patch the master.

``EXAMPLE_USE_AT_IMPORT=1`` also *uses* both clients at import (a warm-up
or a configuration read, as apps do): in a ``--preload`` master that leaves
the master holding the connections it used, for its lifetime; the workers
never touch them (they were severed in each worker at the fork) and open
their own.
"""

from __future__ import annotations

import os
from typing import Any

from _servers import run_ddl
from flask import Flask, jsonify

from greenpool.integrations import shutdown
from greenpool.postgres import PostgresPool
from greenpool.redis import Redis

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

#: Per worker: 2 shared Redis connections (the Redis client's ``pool_size``)
#: and ``PG_POOL_SIZE`` PostgreSQL connections (``max_overflow=0``).
PG_POOL_SIZE = 4


def setup_schema() -> None:
    """Create the table; nothing is left open (see :func:`_servers.run_ddl`)."""
    run_ddl(DATABASE_URL, "CREATE TABLE IF NOT EXISTS hits (id bigserial PRIMARY KEY, pid int)")


setup_schema()

# shutdown.register: the gunicorn hook worker_exit closes these first (it
# closes every greenpool pool of the worker either way).
redis = shutdown.register(Redis.from_url(REDIS_URL, socket_timeout=10))
db = shutdown.register(
    PostgresPool(DATABASE_URL, pool_size=PG_POOL_SIZE, max_overflow=0, pool_timeout=10,
                 autocommit=True, name="example-db")
)

if os.environ.get("EXAMPLE_USE_AT_IMPORT") == "1":
    redis.set("example:started", os.getpid())
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM hits")

app = Flask(__name__)


@app.get("/hit")
def hit() -> Any:
    """One Redis INCR and one PostgreSQL INSERT: the counters the tests compare."""
    count = redis.incr("example:hits")
    with db.cursor() as cur:
        cur.execute("INSERT INTO hits (pid) VALUES (%s)", (os.getpid(),))
    return jsonify(hits=count, pid=os.getpid())


@app.get("/pools")
def pools() -> Any:
    """This worker's connections, as greenpool counts them."""
    return jsonify(pid=os.getpid(), redis=redis.connections_used(),
                   postgres=db.stats()["connections"])
