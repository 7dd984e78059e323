"""The examples' servers: URLs from the environment, or throwaway servers.

Also :func:`run_ddl`, for the tables the examples make.

Every example reads ``REDIS_URL`` (``redis://host:port/db``),
``DATABASE_URL`` (a libpq URL or DSN) and ``TARANTOOL_URL``
(``host:port``).  Those not set are started here on free loopback ports
with :mod:`greenpool.testing` (the programs ``scripts/setup.sh`` installs)
and stopped when the ``with`` block ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from greenpool.testing import PostgresServer, RedisServer, TarantoolServer

_KINDS: dict[str, Any] = {
    "REDIS_URL": RedisServer,
    "DATABASE_URL": PostgresServer,
    "TARANTOOL_URL": TarantoolServer,
}


@contextmanager
def servers(*names: str) -> Iterator[dict[str, str]]:
    """``{"REDIS_URL": ..., ...}`` for ``names``; starts what the environment lacks.

    The URLs are also put in ``os.environ`` for the block (child processes
    inherit them) and taken out again after.
    """
    urls: dict[str, str] = {}
    started: list[str] = []
    with ExitStack() as stack:
        for name in names:
            if os.environ.get(name):
                urls[name] = os.environ[name]
                continue
            server = _KINDS[name]()
            server.start()
            stack.callback(server.stop)
            urls[name] = server.url
            os.environ[name] = server.url
            started.append(name)
        try:
            yield urls
        finally:
            for name in started:
                os.environ.pop(name, None)


def run_ddl(database_url: str, *statements: str) -> None:
    """Run ``statements`` over a PostgreSQL connection of their own, closed at once.

    No pool is used: run at import in a gunicorn ``--preload`` master, it
    leaves nothing open there.
    """
    import psycopg2

    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()
