"""Tarantool through greenpool: one pool, 1,000 greenlets, auto-pipelined requests.

    .venv/bin/python examples/tarantool_example.py

``TARANTOOL_URL`` (``host:port``) names the instance; without it a
throwaway ``tarantool`` is started.  The space is created if missing.

The pool is made with ``connect_now=False``: tarantool-python's default
(``True``, kept for compatibility) connects in the constructor, so a pool
made at import in a gunicorn ``--preload`` master would hold connections
there.  With ``False`` the first request connects, in the process that
makes it.
"""

from __future__ import annotations

import os
import time

import gevent

from greenpool.tarantool import ConnectionPool, Mode


def run(url: str, greenlets: int = 1000) -> None:
    host, _, port = url.rpartition("@")[2].rpartition(":")
    pool = ConnectionPool([{"host": host, "port": int(port)}], connect_now=False,
                          connections_per_instance=2)
    try:
        pool.eval("box.schema.space.create('example', {if_not_exists = true}):"
                  "create_index('pk', {if_not_exists = true})", mode=Mode.RW)
        pool.eval("box.space.example:truncate()", mode=Mode.RW)
        started = time.perf_counter()
        jobs = [gevent.spawn(pool.replace, "example", (i, f"value {i}")) for i in range(greenlets)]
        gevent.joinall(jobs, raise_error=True)
        rows = pool.select("example", mode=Mode.ANY, limit=greenlets * 2)
        elapsed = time.perf_counter() - started
        assert sorted(tuple(r) for r in rows) == [(i, f"value {i}") for i in range(greenlets)]
        print(f"{greenlets} greenlets wrote and read back {len(rows)} tuples "
              f"in {elapsed:.2f}s over {pool.connections_per_instance} connections")
    finally:
        pool.close()


def main() -> None:
    from _servers import servers

    with servers("TARANTOOL_URL") as urls:
        run(urls["TARANTOOL_URL"])


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
