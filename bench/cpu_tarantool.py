"""Tarantool: the client's CPU time per request, which a busy machine disturbs less than ops/s.

Runs the load of ``bench_tarantool.py`` (N greenlets alternating a SELECT
and a REPLACE on random keys, every reply checked) for a fixed number of
requests, and reports this process's CPU time (``time.process_time()``,
user and system) per request for greenpool's Connection, its
ConnectionPool and the floor (transport and codec only).  The server's CPU
is not counted.  Each contender is measured ``--repeat`` times,
interleaved; the medians are printed.

    .venv/bin/python bench/cpu_tarantool.py [--requests 100000] [--greenlets 1000] [--repeat 5]

For an exact count, run one contender under callgrind at two request
counts and divide the difference in instructions by the difference in
requests (that cancels start-up):

    valgrind --tool=callgrind .venv/bin/python bench/cpu_tarantool.py --repeat 1 \\
        --only "greenpool Connection" --requests 20000   # then 40000
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable

import gevent
from bench_tarantool import (
    KEYS,
    LUA,
    Op,
    greenpool_connection,
    greenpool_pool,
    transport_floor,
)

from greenpool.testing import TarantoolServer

CONTENDERS: dict[str, Callable[[int], tuple[Op, Callable[[], None]]]] = {
    "greenpool Connection": greenpool_connection,
    "greenpool ConnectionPool": greenpool_pool,
    "floor: transport+codec": transport_floor,
}


def cpu_per_request(op: Op, greenlets: int, requests: int) -> tuple[float, int]:
    """CPU microseconds per request over ``requests`` requests, and the wrong replies."""
    per_greenlet = max(1, requests // greenlets)
    wrong = [0]

    def worker(wid: int) -> None:
        rng = random.Random(wid)
        for seq in range(per_greenlet):
            key = rng.randrange(KEYS)
            kind = seq & 1
            value = f"{wid}:{seq}"
            rows = op(kind, key, value)
            ok = rows == [[key, value]] if kind else len(rows) == 1 and rows[0][0] == key
            if not ok:
                wrong[0] += 1

    start = time.process_time()
    gevent.joinall([gevent.spawn(worker, i) for i in range(greenlets)], raise_error=True)
    spent = time.process_time() - start
    return spent / (per_greenlet * greenlets) * 1e6, wrong[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--greenlets", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated contender names")
    parser.add_argument("--no-gc", action="store_true", help="gc.disable() while measuring")
    args = parser.parse_args()
    names = [n for n in CONTENDERS if not args.only or n in args.only.split(",")]
    results: dict[str, list[float]] = {name: [] for name in names}
    with TarantoolServer(lua=LUA, memtx_memory=256 * 1024 * 1024) as server:
        for round_no in range(args.repeat):
            for name in names if round_no % 2 == 0 else list(reversed(names)):
                op, close = CONTENDERS[name](server.port)
                try:
                    cpu_per_request(op, args.greenlets, args.greenlets * 20)  # warm up
                    if args.no_gc:
                        gc.disable()
                    micros, wrong = cpu_per_request(op, args.greenlets, args.requests)
                finally:
                    gc.enable()
                    close()
                results[name].append(micros)
                print(f"  round {round_no + 1} {name:26s} {micros:6.2f} us CPU per request  "
                      f"wrong {wrong}", flush=True)
    print(f"\n{args.greenlets} greenlets, {args.requests:,} requests, medians of {args.repeat}:")
    for name, values in results.items():
        print(f"  {name:26s} {statistics.median(values):6.2f} us CPU per request "
              f"(min {min(values):.2f})")


if __name__ == "__main__":
    main()
