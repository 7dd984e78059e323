"""Tarantool: greenpool against tarantool-python 1.3, side by side on one instance.

Every contender runs the same load against the same Tarantool (started
here with :class:`greenpool.testing.TarantoolServer`): N greenlets, each
alternating a SELECT and a REPLACE on random keys of a 10,000-key space,
for ``--seconds`` per measurement.  Every reply is checked against its
request (the REPLACE reply must be the exact tuple sent, with the
greenlet's own unique value; the SELECT reply must hold the key asked
for): a mismatch counts as a *wrong reply*.

Contenders:

* ``greenpool Connection``: one shared, multiplexed connection;
* ``greenpool ConnectionPool``: the pool over this one instance (one unit,
  ``connections_per_instance`` 1, requests sent from the callers' greenlets);
* ``tp Connection+lock``: one tarantool-python Connection behind a lock;
* ``tp ConnectionPool``: tarantool-python's pool over the same instance;
* ``tp queue of 50``: a reference, 50 tarantool-python connections in a
  gevent queue, one per request at a time;
* ``floor: transport+codec``: a reference, what the layers under the
  driver cost: pre-resolved ids, packets from the codec's encoders sent
  straight on greenpool's transport connection, replies unwrapped.  The
  driver can't beat it; the gap is the driver's own cost.

tarantool-python is blocking code: this process is monkey-patched
(``gevent.monkey.patch_all()``), as a gunicorn gevent worker is; the run
first checks that its calls really yield to other greenlets.  Each
measurement is repeated ``--repeat`` times, interleaved, and medians are
reported with the ratio to the target.

    .venv/bin/python bench/bench_tarantool.py [--seconds 2] [--repeat 3] [--greenlets 50,1000]

``--plot PATH`` also writes a PNG of ops/s against greenlets for each contender.

Target (issue: Tarantool pool): at 1,000 greenlets greenpool does at least
5x the ops/s of tarantool-python's best (Connection+lock or ConnectionPool)
in the same run, with 0 wrong replies.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import itertools  # noqa: E402
import random  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import _common  # noqa: E402
import gevent  # noqa: E402
import gevent.queue  # noqa: E402
import tarantool  # noqa: E402

from greenpool.protocol.iproto import encode_replace, encode_select  # noqa: E402
from greenpool.tarantool import Connection, ConnectionPool  # noqa: E402
from greenpool.testing import TarantoolServer  # noqa: E402

KEYS = 10_000
SPACE = "bench"
LUA = f"""
local s = box.schema.space.create('{SPACE}', {{if_not_exists = true,
    format = {{{{name = 'id', type = 'unsigned'}}, {{name = 'value', type = 'any'}}}}}})
s:create_index('primary', {{if_not_exists = true}})
box.begin()
for i = 0, {KEYS - 1} do s:replace{{i, 'initial'}} end
box.commit()
"""

# An operation: op(kind, key, value) -> rows.  kind 0 = select, 1 = replace.
Op = Callable[[int, int, Any], Any]


def greenpool_connection(port: int) -> tuple[Op, Callable[[], None]]:
    conn = Connection("127.0.0.1", port)
    select, replace = conn.select, conn.replace

    def op(kind: int, key: int, value: Any) -> Any:
        if kind:
            return replace(SPACE, [key, value]).data
        return select(SPACE, key).data

    return op, conn.close


def greenpool_pool(port: int, per_instance: int = 1) -> tuple[Op, Callable[[], None]]:
    pool = ConnectionPool([{"host": "127.0.0.1", "port": port}],
                          connections_per_instance=per_instance)
    select, replace = pool.select, pool.replace

    def op(kind: int, key: int, value: Any) -> Any:
        if kind:
            return replace(SPACE, [key, value]).data
        return select(SPACE, key).data

    return op, pool.close


def transport_floor(port: int) -> tuple[Op, Callable[[], None]]:
    conn = Connection("127.0.0.1", port)
    transport = conn._transport
    space = conn.schema.resolve_space(SPACE)  # type: ignore[union-attr]
    syncs = itertools.count(1)

    def op(kind: int, key: int, value: Any) -> Any:
        sync = next(syncs)
        if kind:
            packet = encode_replace(sync, space, [key, value])
        else:
            packet = encode_select(sync, space, 0, key)
        reply = transport.request(packet, key=sync, timeout=60.0)
        if reply.error is not None:
            raise reply.error
        return reply.data

    return op, conn.close


def tp_locked(port: int) -> tuple[Op, Callable[[], None]]:
    conn = tarantool.Connection("127.0.0.1", port)
    lock = threading.Lock()  # gevent's, after patch_all

    def op(kind: int, key: int, value: Any) -> Any:
        with lock:
            if kind:
                return conn.replace(SPACE, [key, value]).data
            return conn.select(SPACE, key).data

    return op, conn.close


def tp_pool(port: int) -> tuple[Op, Callable[[], None]]:
    pool = tarantool.ConnectionPool([{"host": "127.0.0.1", "port": port}])

    def op(kind: int, key: int, value: Any) -> Any:
        if kind:
            return pool.replace(SPACE, [key, value]).data
        return pool.select(SPACE, key, mode=tarantool.Mode.ANY).data

    return op, pool.close


def tp_queue(port: int, size: int = 50) -> tuple[Op, Callable[[], None]]:
    conns = [tarantool.Connection("127.0.0.1", port) for _ in range(size)]
    idle: gevent.queue.Queue[Any] = gevent.queue.Queue()
    for c in conns:
        idle.put(c)

    def op(kind: int, key: int, value: Any) -> Any:
        conn = idle.get()
        try:
            if kind:
                return conn.replace(SPACE, [key, value]).data
            return conn.select(SPACE, key).data
        finally:
            idle.put(conn)

    def close() -> None:
        for c in conns:
            c.close()

    return op, close


CONTENDERS: dict[str, Callable[[int], tuple[Op, Callable[[], None]]]] = {
    "greenpool Connection": greenpool_connection,
    "greenpool ConnectionPool": greenpool_pool,
    "tp Connection+lock": tp_locked,
    "tp ConnectionPool": tp_pool,
    "tp queue of 50": tp_queue,
    "floor: transport+codec": transport_floor,
}
TP_BEST = ("tp Connection+lock", "tp ConnectionPool")


def measure(op: Op, greenlets: int, seconds: float) -> dict[str, float]:
    """Run ``greenlets`` workers for ``seconds``; ops/s, latencies, wrong replies.

    ops/s counts the calls completed inside the window.  Latencies cover
    every call completed after the window opened, including calls that
    started during the warm-up and calls still running when it closed
    (they are waited for), so a starved caller shows in ``max``.
    """
    latencies: list[float] = []
    in_window = [0]
    wrong = [0]
    errors = [0]
    stop = [False]
    started = [float("inf")]

    def worker(wid: int) -> None:
        rng = random.Random(wid)
        seq = 0
        clock = time.perf_counter
        record = latencies.append
        while not stop[0]:
            key = rng.randrange(KEYS)
            kind = seq & 1
            value = f"{wid}:{seq}"
            t0 = clock()
            try:
                rows = op(kind, key, value)
            except Exception:
                errors[0] += 1
                gevent.sleep(0.001)
                continue
            t1 = clock()
            if t1 >= started[0]:
                record(t1 - t0)
                if not stop[0]:
                    in_window[0] += 1
            ok = rows == [[key, value]] if kind else len(rows) == 1 and rows[0][0] == key
            if not ok:
                wrong[0] += 1
            seq += 1

    glets = [gevent.spawn(worker, i) for i in range(greenlets)]
    gevent.sleep(min(0.5, seconds / 4))  # warm up
    started[0] = time.perf_counter()
    gevent.sleep(seconds)
    stop[0] = True
    elapsed = time.perf_counter() - started[0]
    gevent.joinall(glets, timeout=60)
    gevent.killall(glets, block=True, timeout=5)
    summary = _common.latency_summary(latencies)
    return {
        "ops_s": in_window[0] / elapsed,
        **summary,
        "wrong": float(wrong[0]),
        "errors": float(errors[0]),
    }


def check_tarantool_python_is_green(port: int) -> None:
    """tarantool-python calls must let other greenlets run while they wait."""
    conn = tarantool.Connection("127.0.0.1", port)
    ticks = [0]

    def ticker() -> None:
        while True:
            ticks[0] += 1
            gevent.sleep(0.001)

    t = gevent.spawn(ticker)
    gevent.sleep(0.01)
    before = ticks[0]
    conn.eval("require('fiber').sleep(0.2)")
    after = ticks[0]
    t.kill()
    conn.close()
    if after - before < 20:
        raise SystemExit(f"tarantool-python blocked the hub ({after - before} ticks in 0.2 s)")
    print(f"tarantool-python under patch_all is green: {after - before} ticks during a 0.2 s call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--greenlets", default="50,1000")
    parser.add_argument("--only", default="", help="comma-separated contender names")
    parser.add_argument("--plot", metavar="PATH", help="write a PNG of ops/s against greenlets")
    args = parser.parse_args()
    levels = [int(x) for x in args.greenlets.split(",")]
    names = [n for n in CONTENDERS if not args.only or n in args.only.split(",")]

    with TarantoolServer(lua=LUA, memtx_memory=256 * 1024 * 1024) as server:
        print(f"tarantool {server.address}; {KEYS} keys; {args.seconds}s x {args.repeat} "
              f"per measurement; greenlets {levels}")
        check_tarantool_python_is_green(server.port)
        runs: dict[tuple[str, int], list[dict[str, float]]] = {}
        for round_no in range(args.repeat):
            for level in levels:
                order = names if round_no % 2 == 0 else list(reversed(names))
                for name in order:
                    op, close = CONTENDERS[name](server.port)
                    try:
                        result = measure(op, level, args.seconds)
                    finally:
                        close()
                    runs.setdefault((name, level), []).append(result)
                    print(f"  round {round_no + 1} {name:26s} {level:5d} greenlets: "
                          f"{result['ops_s']:9,.0f} ops/s  p99 {result['p99_ms']:8.1f} ms  "
                          f"max {result['max_ms']:8.1f} ms  wrong {result['wrong']:.0f}  "
                          f"errors {result['errors']:.0f}", flush=True)
        for level in levels:
            rows = []
            for name in names:
                med = _common.median_of(runs[(name, level)])
                rows.append({"contender": name, **med,
                             "wrong_total": sum(r["wrong"] for r in runs[(name, level)])})
            _common.print_table(
                f"{level} greenlets (medians of {args.repeat})", rows,
                ["contender", "ops_s", "p50_ms", "p99_ms", "max_ms", "wrong_total", "errors"],
            )
        if args.plot:
            _common.plot_sweep(
                args.plot, "Tarantool: SELECT/REPLACE alternating, one instance",
                "operations per second",
                {name: {lv: _common.median_of(runs[(name, lv)])["ops_s"] for lv in levels}
                 for name in names},
                note=f"{args.seconds:g} s per point; tarantool-python 1.3 monkey-patched",
            )
        print("\nTarget: greenpool >= 5x tarantool-python's best at 1,000 greenlets, 0 wrong")
        top = max(levels)
        best_tp = max((_common.median_of(runs[(n, top)])["ops_s"], n)
                      for n in TP_BEST if (n, top) in runs) if any(
                          (n, top) in runs for n in TP_BEST) else (0.0, "none")
        for name in ("greenpool Connection", "greenpool ConnectionPool"):
            if (name, top) not in runs:
                continue
            med = _common.median_of(runs[(name, top)])
            wrong = sum(r["wrong"] for r in runs[(name, top)])
            ratio = med["ops_s"] / best_tp[0] if best_tp[0] else float("inf")
            print(_common.verdict(
                f"{name} at {top} greenlets", ratio >= 5 and wrong == 0,
                f"{med['ops_s']:,.0f} ops/s = {ratio:.2f}x {best_tp[1]} "
                f"({best_tp[0]:,.0f} ops/s); wrong replies {wrong:.0f}",
            ))


if __name__ == "__main__":
    main()
