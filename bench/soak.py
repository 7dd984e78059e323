"""Soak: a million calls per driver with random cancellations; nothing crossed, nothing leaked.

For each driver (Redis, Tarantool, PostgreSQL), against a server this
script starts on a free loopback port: ``--greenlets`` callers call an echo
in a loop until ``--calls`` calls were made, 10% of the calls cancelled by
a tiny ``gevent.Timeout`` of the caller's own and ``--kills`` callers per
second killed (and replaced) at random.  Printed per driver: calls, ops/s,
calls cancelled, callers killed, replies that reached the wrong caller
(must be 0), callers stuck at the end (must be 0), errors, and the growth
of open file descriptors and of resident memory from the end of the
warm-up to the end.  The chaos suite (``tests/chaos/test_faults.py``)
runs the same load for a few seconds with these as assertions.

    .venv/bin/python bench/soak.py                  # 1,000,000 calls per driver
    .venv/bin/python bench/soak.py --calls 100000 --drivers redis
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import _common  # noqa: F401  (puts the checkout on sys.path)
import gevent

from greenpool.testing import PostgresServer, RedisServer, TarantoolServer
from greenpool.testing.load import Load, open_fds, rss_mb


def redis_echo(port: int) -> tuple[Callable[[str], Any], Callable[[str], Any], Any]:
    from greenpool.redis import Redis

    r = Redis(port=port, socket_timeout=10)
    return r.echo, lambda v: v.encode(), r.close


def tarantool_echo(port: int) -> tuple[Callable[[str], Any], Callable[[str], Any], Any]:
    from greenpool.tarantool import ConnectionPool, Mode

    pool = ConnectionPool([{"host": "127.0.0.1", "port": port}], connections_per_instance=2,
                          socket_timeout=10)
    return (lambda v: pool.call("echo", v, mode=Mode.ANY).data[0]), (lambda v: v), pool.close


def postgres_echo(server: PostgresServer) -> tuple[Callable[[str], Any], Callable[[str], Any], Any]:
    from greenpool.postgres import PostgresPool

    pool = PostgresPool(server.dsn, pool_size=10, max_overflow=0, pool_timeout=30,
                        autocommit=True)

    def echo(value: str) -> Any:
        with pool.cursor() as cur:
            cur.execute("SELECT %s", (value,))
            return cur.fetchone()[0]

    return echo, (lambda v: v), pool.close


def soak(name: str, calls: int, greenlets: int, kills: float) -> dict[str, Any]:
    if name == "redis":
        server: Any = RedisServer().start()
        call, expect, close = redis_echo(server.port)
    elif name == "tarantool":
        server = TarantoolServer(lua="function echo(v) return v end").start()
        call, expect, close = tarantool_echo(server.port)
    else:
        server = PostgresServer().start()
        call, expect, close = postgres_echo(server)
        greenlets = min(greenlets, 200)
    try:
        load = Load(call, expect, greenlets=greenlets, cancel_share=0.1,
                    kills_per_second=kills).start()
        gevent.sleep(2.0)
        fds, rss = open_fds(), rss_mb()
        started, done_before = time.monotonic(), load.ok + load.cancelled
        while load.ok + load.cancelled - done_before < calls:
            gevent.sleep(0.05)
        seconds = time.monotonic() - started
        made = load.ok + load.cancelled - done_before
        stuck = load.stop()
        fds_grown, rss_grown = open_fds() - fds, rss_mb() - rss
        close()
        return {
            "driver": name,
            "calls": made,
            "ops/s": made / seconds,
            "cancelled": load.cancelled,
            "killed": load.killed,
            "crossed": len(load.crossed),
            "stuck": stuck,
            "errors": sum(load.errors.values()),
            "fds +": fds_grown,
            "RSS + MB": rss_grown,
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--greenlets", type=int, default=500)
    parser.add_argument("--kills", type=float, default=50.0, help="callers killed per second")
    parser.add_argument("--drivers", default="redis,tarantool,postgres")
    args = parser.parse_args()
    rows = [soak(name, args.calls, args.greenlets, args.kills)
            for name in args.drivers.split(",")]
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(f"{row[k]:,.1f}" if isinstance(row[k], float) else f"{row[k]:,}"
                         if isinstance(row[k], int) else str(row[k]) for k in keys))
    bad = [r["driver"] for r in rows if r["crossed"] or r["stuck"] or r["errors"]]
    if bad:
        raise SystemExit(f"FAILED: {', '.join(bad)}")


if __name__ == "__main__":
    main()
