"""Checkout + check-in cost: greenpool.Pool against SQLAlchemy's QueuePool.

Both pools hold dummy connections (no I/O), so only the pools are measured.

1. One greenlet, back to back: microseconds per checkout + check-in.
2. 100 greenlets over 10 connections, each yielding to the hub while it
   holds one: microseconds per cycle, and the wait for a connection
   (p50 / p99 / max).

SQLAlchemy's pool waits on ``threading`` primitives, so this process is
monkey-patched, as a gunicorn gevent worker is.  Each measurement is
repeated (``--repeat``) and the median is reported, with the ratios.

    .venv/bin/python bench/bench_checkout.py [--cycles 20000] [--repeat 5]

``--plot PATH`` also sweeps the contended case over ``--greenlets``
(default 1 10 100 1000, over 10 connections) and writes a PNG of
checkouts per second against greenlets.

The contended case also runs a bare ``gevent.queue.Queue`` of connections,
for reference: no pool logic and no fairness (see ``contended``).

Targets (issue #2): greenpool at least 4x cheaper per cycle than QueuePool
in the same run, and its worst wait at most 5x its median wait at 100
greenlets over 10 connections.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import _common  # noqa: E402
import gevent  # noqa: E402
import gevent.queue  # noqa: E402
from sqlalchemy.pool import QueuePool  # noqa: E402

from greenpool import Pool  # noqa: E402


class Dummy:
    """A connection that does nothing (what SQLAlchemy's reset-on-return calls exists)."""

    def close(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def commit(self) -> None:
        pass


def greenpool_with() -> Callable[[], Any]:
    pool: Pool[Dummy] = Pool(Dummy, pool_size=10, use_local=False)

    def cycle() -> None:
        with pool.connection():
            pass

    return cycle


def greenpool_get_put() -> Callable[[], Any]:
    pool: Pool[Dummy] = Pool(Dummy, pool_size=10, use_local=False)
    get, put = pool.get, pool.put

    def cycle() -> None:
        put(get())

    return cycle


def queuepool() -> Callable[[], Any]:
    pool = QueuePool(Dummy, pool_size=10, max_overflow=0, timeout=30)

    def cycle() -> None:
        pool.connect().close()

    return cycle


def one_greenlet(make: Callable[[], Callable[[], Any]], cycles: int) -> dict[str, float]:
    cycle = make()
    for _ in range(1000):
        cycle()
    started = time.perf_counter()
    for _ in range(cycles):
        cycle()
    return {"us_per_cycle": (time.perf_counter() - started) / cycles * 1e6}


def contended(kind: str, cycles: int, greenlets: int = 100, size: int = 10) -> dict[str, float]:
    waits: list[float] = []
    clock = time.perf_counter
    if kind == "QueuePool":
        qp = QueuePool(Dummy, pool_size=size, max_overflow=0, timeout=60)

        def get() -> Any:
            return qp.connect()

        def put(conn: Any) -> None:
            conn.close()
    elif kind == "gevent Queue":
        # No pool logic: a queue of connections.  Not fair: a greenlet that
        # puts one back and asks again takes it straight back while others
        # wait, so it never parks for the pool (one trip through the hub
        # fewer per cycle than a FIFO hand-off).
        queue: gevent.queue.Queue[Dummy] = gevent.queue.Queue()
        for _ in range(size):
            queue.put(Dummy())
        get, put = queue.get, queue.put  # type: ignore[assignment]
    else:
        pool: Pool[Dummy] = Pool(Dummy, pool_size=size, use_local=False, pool_timeout=60)
        get, put = pool.get, pool.put  # type: ignore[assignment]

    per = max(1, cycles // greenlets)

    def worker() -> None:
        record = waits.append
        sleep = gevent.sleep
        for _ in range(per):
            asked = clock()
            conn = get()
            record(clock() - asked)
            sleep(0)  # hold the connection across a trip through the hub
            put(conn)

    started = clock()
    gevent.joinall([gevent.spawn(worker) for _ in range(greenlets)], raise_error=True)
    elapsed = clock() - started
    summary = _common.latency_summary(waits)
    return {
        "us_per_cycle": elapsed / (per * greenlets) * 1e6,
        "wait_p50_us": summary["p50_ms"] * 1000,
        "wait_p99_us": summary["p99_ms"] * 1000,
        "wait_max_us": summary["max_ms"] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--plot", metavar="PATH", help="write a PNG of checkouts/s against "
                        "greenlets (a sweep over --greenlets)")
    parser.add_argument("--greenlets", type=int, nargs="+", default=[1, 10, 100, 1000],
                        help="the sweep for --plot")
    args = parser.parse_args()

    single: dict[str, list[dict[str, float]]] = {}
    busy: dict[str, list[dict[str, float]]] = {}
    makers = {
        "greenpool with": greenpool_with,
        "greenpool get/put": greenpool_get_put,
        "QueuePool": queuepool,
    }
    for _ in range(args.repeat):  # interleaved, so drift hits every contender alike
        for name, make in makers.items():
            single.setdefault(name, []).append(one_greenlet(make, args.cycles))
        for name in ("greenpool", "QueuePool", "gevent Queue"):
            busy.setdefault(name, []).append(contended(name, args.cycles))

    one = {name: _common.median_of(runs) for name, runs in single.items()}
    many = {name: _common.median_of(runs) for name, runs in busy.items()}
    qp_one = one["QueuePool"]["us_per_cycle"]
    rows = [
        {"pool": name, "us/cycle": fig["us_per_cycle"],
         "x cheaper than QueuePool": qp_one / fig["us_per_cycle"]}
        for name, fig in one.items()
    ]
    _common.print_table(
        f"1 greenlet, back to back (median of {args.repeat} runs of {args.cycles} cycles)",
        rows, ["pool", "us/cycle", "x cheaper than QueuePool"],
    )
    qp_many = many["QueuePool"]["us_per_cycle"]
    rows = [
        {"pool": name, "us/cycle": fig["us_per_cycle"],
         "x cheaper": qp_many / fig["us_per_cycle"],
         "wait p50 us": fig["wait_p50_us"], "wait p99 us": fig["wait_p99_us"],
         "wait max us": fig["wait_max_us"],
         "max/p50": fig["wait_max_us"] / max(fig["wait_p50_us"], 1e-9)}
        for name, fig in many.items()
    ]
    _common.print_table(
        f"100 greenlets over 10 connections, yielding while holding (median of {args.repeat})",
        rows, ["pool", "us/cycle", "x cheaper", "wait p50 us", "wait p99 us", "wait max us",
               "max/p50"],
    )
    if args.plot:
        sweep: dict[tuple[str, int], list[dict[str, float]]] = {}
        for _ in range(args.repeat):
            for greenlets in args.greenlets:
                for name in ("greenpool", "QueuePool"):
                    sweep.setdefault((name, greenlets), []).append(
                        contended(name, args.cycles, greenlets=greenlets))
        _common.plot_sweep(
            args.plot, "Checkout + check-in over 10 connections, holding across a hub trip",
            "checkouts per second",
            {"greenpool.Pool" if name == "greenpool" else "SQLAlchemy QueuePool":
             {g: 1e6 / _common.median_of(sweep[(name, g)])["us_per_cycle"]
              for g in args.greenlets}
             for name in ("greenpool", "QueuePool")},
            note=f"{args.cycles:,} cycles per point, dummy connections (no I/O), "
                 "monkey-patched",
        )
    ratio_one = qp_one / one["greenpool with"]["us_per_cycle"]
    ratio_many = qp_many / many["greenpool"]["us_per_cycle"]
    spread = many["greenpool"]["wait_max_us"] / max(many["greenpool"]["wait_p50_us"], 1e-9)
    print("\nTargets:")
    print(_common.verdict("4x cheaper than QueuePool, 1 greenlet (with-block)", ratio_one >= 4,
                          f"{ratio_one:.1f}x"))
    print(_common.verdict("4x cheaper than QueuePool, 100 greenlets", ratio_many >= 4,
                          f"{ratio_many:.1f}x"))
    print(_common.verdict("worst wait <= 5x median wait, 100 greenlets", spread <= 5,
                          f"{spread:.1f}x"))


if __name__ == "__main__":
    main()
