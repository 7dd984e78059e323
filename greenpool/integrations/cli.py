"""The ``greenpool`` command line: ``python -m greenpool demo``.

The demo starts a throwaway redis-server on a free loopback port (or uses
``--url``), runs 10,000 greenlets that each make calls through one
:class:`~greenpool.redis.Redis` client, checks that every reply belongs to
the call that asked for it, and prints a table: operations per second,
latency p50 / p99 / max, the connections used, and the replies that did not
match their request (always 0).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

import gevent

from .._util import mask_secret

__all__ = ["main", "run_demo"]


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def run_demo(
    url: str | None = None,
    greenlets: int = 10_000,
    calls: int = 20,
    pool_size: int = 2,
    progress: bool = True,
    out: Any = None,
) -> dict[str, Any]:
    """Run the demo; return its figures (``ops_per_s``, ``p50_ms``, ``p99_ms``,
    ``max_ms``, ``mismatched``, ``errors``, ``connections``).

    Starts (and stops) its own redis-server when ``url`` is None.
    """
    from ..redis import Redis
    from ..testing import RedisServer

    stream = out if out is not None else sys.stdout
    server = None
    if url is None:
        server = RedisServer()
        server.start()
        url = server.url
        where = f"a throwaway redis-server on {server.address} (pid {server.pid})"
    else:
        where = mask_secret(url)
    client = Redis.from_url(url, pool_size=pool_size)
    latencies: list[float] = []
    mismatched = [0]
    errors = [0]
    done = [0]
    total = greenlets * calls

    def worker(index: int) -> None:
        key = f"greenpool:demo:{index}"
        record = latencies.append
        clock = time.perf_counter
        for call in range(calls):
            value = f"{index}:{call}"
            started = clock()
            try:
                if call % 2 == 0:
                    client.set(key, value)
                    reply = client.get(key)
                    if reply != value.encode():
                        mismatched[0] += 1
                else:
                    echoed = client.echo(value)
                    if echoed != value.encode():
                        mismatched[0] += 1
            except Exception:
                errors[0] += 1
            record(clock() - started)
            done[0] += 1

    def show_progress() -> None:
        while True:
            gevent.sleep(0.25)
            stream.write(f"\r  {done[0]:>9,} / {total:,} calls")
            stream.flush()

    try:
        print(f"greenpool demo: {greenlets:,} greenlets x {calls} calls against {where}",
              file=stream)
        client.ping()
        ticker = gevent.spawn(show_progress) if progress else None
        started = time.perf_counter()
        gevent.joinall([gevent.spawn(worker, i) for i in range(greenlets)])
        elapsed = time.perf_counter() - started
        if ticker is not None:
            ticker.kill()
            stream.write(f"\r  {done[0]:>9,} / {total:,} calls\n")
        used = client.connections_used()
        client.delete(*(f"greenpool:demo:{i}" for i in range(greenlets)))
    finally:
        client.close()
        if server is not None:
            server.stop()
    ordered = sorted(latencies)
    # Each call of the even kind is a SET plus a GET: count Redis operations.
    operations = greenlets * sum(2 if c % 2 == 0 else 1 for c in range(calls))
    figures = {
        "ops_per_s": operations / elapsed,
        "calls_per_s": total / elapsed,
        "p50_ms": _percentile(ordered, 0.50) * 1000,
        "p99_ms": _percentile(ordered, 0.99) * 1000,
        "max_ms": (ordered[-1] if ordered else 0.0) * 1000,
        "mismatched": mismatched[0],
        "errors": errors[0],
        "connections": used["shared"] + used["dedicated"],
        "elapsed_s": elapsed,
    }
    rows = [
        ("operations per second", f"{figures['ops_per_s']:,.0f}"),
        ("latency p50 (per call)", f"{figures['p50_ms']:.2f} ms"),
        ("latency p99", f"{figures['p99_ms']:.2f} ms"),
        ("latency max", f"{figures['max_ms']:.2f} ms"),
        ("connections used", f"{figures['connections']}"),
        ("replies not matching their request", f"{figures['mismatched']}"),
        ("errors", f"{figures['errors']}"),
    ]
    width = max(len(name) for name, _ in rows)
    print(file=stream)
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>14}", file=stream)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m greenpool`` and the ``greenpool`` script."""
    parser = argparse.ArgumentParser(prog="greenpool", description="gevent-native connection pools")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="10,000 greenlets through one Redis client")
    demo.add_argument("--url", help="use this Redis (redis://...) instead of a throwaway server")
    demo.add_argument("--greenlets", type=int, default=10_000)
    demo.add_argument("--calls", type=int, default=20, help="calls per greenlet")
    demo.add_argument("--pool-size", type=int, default=2, help="shared connections")
    demo.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "demo":
        figures = run_demo(
            url=args.url, greenlets=args.greenlets, calls=args.calls,
            pool_size=args.pool_size, progress=not args.no_progress,
        )
        return 0 if figures["mismatched"] == 0 and figures["errors"] == 0 else 1
    return 2  # pragma: no cover - argparse rejects unknown commands
