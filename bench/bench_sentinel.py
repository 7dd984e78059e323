"""Sentinel clients side by side: 1,000 writers and 200 readers (issue 12).

The set-up is greenpool.testing's RedisSentinelSet (a primary, 2 replicas
and 3 sentinels, real processes on loopback).  This process is
monkey-patched by gevent, so redis-py is green.  Contenders
(``CONTENDERS``), each a function returning a writer client, a reader
client and a close function:

* redis-py ``Sentinel(...).master_for`` / ``slave_for`` with their defaults
  (a ``SentinelConnectionPool`` of at most 100 connections, which raises
  ``MaxConnectionsError`` at once when full), with ``max_connections=1000``,
  and with ``max_connections=1000`` for the sentinels' clients too
  (``sentinel_kwargs``): their default pool of 100 connections turns a
  connection storm into ``MasterNotFoundError``s, since ``discover_master``
  treats a full pool like a dead sentinel;
* greenpool's ``Sentinel`` (``master_for``/``slave_for`` with their
  defaults).  The last lines print greenpool's figures as ratios to the
  best redis-py contender's.

Writers ``SET`` a new key each time (``w:<writer>:<n>``) on the primary
client; readers ``GET`` a key some writer had acknowledged, on the replica
client, and count a value that is neither that writer's value nor missing
(replicas lag) as a wrong reply.  A greenlet pauses 1 ms after an error,
like a caller that logs and retries.

**Steady phase** (``--steady`` seconds): write and read ops/s, p50/p99/max
of successful writes, errors by type, client sockets on the data servers
and on the sentinels (largest ``connected_clients`` sums, sampled every
0.2 s, our own sampling connections not counted).

**Failover phases** (``--failover``; a fresh set-up each, ``--seconds``
long, the fault after ``--fault-after`` seconds): ``SENTINEL FAILOVER``,
then a SIGKILL of the primary.  The report is the earlier of the first
sentinel naming the new primary to our poll (``GET-MASTER-ADDR-BY-NAME``)
and the first ``+switch-master`` in the sentinels' logs.  Reported, in
seconds after that report: when
every writer worked again (its first write, started after that report,
that is still on the final primary, with no error after it) or how many
never did; the ``+switch-master`` and fault times; and lost writes: writes
acknowledged to a writer but missing from the final primary once
everything settled, in all and after the report.

    .venv/bin/python bench/bench_sentinel.py [--steady 10] [--writers 1000]
        [--readers 200] [--failover --seconds 35 --fault-after 3]
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import collections  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import _common  # noqa: E402
import gevent  # noqa: E402
import redis.sentinel  # noqa: E402
from _sockets import ClientSockets  # noqa: E402

from greenpool.testing import RedisSentinelSet, RedisServer  # noqa: E402

Factory = Callable[[RedisSentinelSet], tuple[Any, Any, Callable[[], None]]]


def _redis_py(
    sentinels: RedisSentinelSet, sentinel_pool: int | None = None, **pool: Any
) -> tuple[Any, Any, Callable[[], None]]:
    sentinel_kwargs = {"max_connections": sentinel_pool} if sentinel_pool else None
    manager = redis.sentinel.Sentinel(sentinels.sentinel_addresses, sentinel_kwargs=sentinel_kwargs)
    writer = manager.master_for(sentinels.service_name, **pool)
    reader = manager.slave_for(sentinels.service_name, **pool)

    def close() -> None:
        writer.close()
        reader.close()
        manager.close()

    return writer, reader, close


def make_redis_py_defaults(sentinels: RedisSentinelSet) -> tuple[Any, Any, Callable[[], None]]:
    return _redis_py(sentinels)


def make_redis_py_1000(sentinels: RedisSentinelSet) -> tuple[Any, Any, Callable[[], None]]:
    return _redis_py(sentinels, max_connections=1000)


def make_redis_py_1000_both(sentinels: RedisSentinelSet) -> tuple[Any, Any, Callable[[], None]]:
    return _redis_py(sentinels, sentinel_pool=1000, max_connections=1000)


def make_greenpool(sentinels: RedisSentinelSet) -> tuple[Any, Any, Callable[[], None]]:
    from greenpool.redis import Sentinel

    manager = Sentinel(sentinels.sentinel_addresses)
    writer = manager.master_for(sentinels.service_name)
    reader = manager.slave_for(sentinels.service_name)

    def close() -> None:
        writer.close()
        reader.close()
        manager.close()

    return writer, reader, close


CONTENDERS: dict[str, Factory] = {
    "redis-py defaults": make_redis_py_defaults,
    "redis-py max_connections=1000": make_redis_py_1000,
    "redis-py 1000, sentinels' pools 1000": make_redis_py_1000_both,
    "greenpool": make_greenpool,
}


class Workload:
    """Writers and readers; records latencies, errors, and every acknowledged write."""

    def __init__(self, writer: Any, reader: Any, writers: int, readers: int) -> None:
        self.writer, self.reader = writer, reader
        self.writers, self.readers = writers, readers
        self.write_latencies: list[float] = []
        self.writes = 0
        self.reads = 0
        self.errors: collections.Counter[str] = collections.Counter()
        self.wrong = 0
        self.last_acked: dict[int, int] = {}
        #: (writer, n, started, acknowledged) of every acknowledged write.
        self.acked: list[tuple[int, int, float, float]] = []
        #: Writers whose last call failed.
        self.failing: set[int] = set()
        self.stop_at = 0.0

    def _write(self, index: int, n: int) -> None:
        clock = time.monotonic
        started = clock()
        try:
            self.writer.set(f"w:{index}:{n}", n)
        except Exception as exc:
            self.errors[f"write {type(exc).__name__}"] += 1
            self.failing.add(index)
            gevent.sleep(0.001)
            return
        now = clock()
        self.failing.discard(index)
        self.writes += 1
        self.write_latencies.append(now - started)
        self.acked.append((index, n, started, now))
        self.last_acked[index] = n

    def _read(self) -> None:
        if not self.last_acked:
            gevent.sleep(0.001)
            return
        index = random.randrange(self.writers)
        n = self.last_acked.get(index)
        if n is None:
            gevent.sleep(0)
            return
        try:
            got = self.reader.get(f"w:{index}:{n}")
        except Exception as exc:
            self.errors[f"read {type(exc).__name__}"] += 1
            gevent.sleep(0.001)
            return
        self.reads += 1
        if got is not None and got != str(n).encode():
            self.wrong += 1

    def run_for(self, seconds: float) -> float:
        self.stop_at = time.monotonic() + seconds

        def write_loop(index: int) -> None:
            n = 0
            while time.monotonic() < self.stop_at:
                self._write(index, n)
                n += 1

        def read_loop() -> None:
            while time.monotonic() < self.stop_at:
                self._read()

        started = time.monotonic()
        jobs = [gevent.spawn(write_loop, i) for i in range(self.writers)]
        jobs += [gevent.spawn(read_loop) for _ in range(self.readers)]
        gevent.joinall(jobs)
        return time.monotonic() - started


def steady(make: Factory, args: argparse.Namespace) -> dict[str, Any]:
    with RedisSentinelSet() as sentinels:
        writer, reader, close = make(sentinels)
        data = ClientSockets(sentinels.servers)
        watchers = ClientSockets(sentinels.sentinels)
        try:
            work = Workload(writer, reader, args.writers, args.readers)
            elapsed = work.run_for(args.steady)
        finally:
            figures = {"sockets": data.stop(), "sentinel sockets": watchers.stop()}
            close()
    figures.update(
        {
            "writes/s": work.writes / elapsed,
            "reads/s": work.reads / elapsed,
            "errors": sum(work.errors.values()),
            "wrong": work.wrong,
            "by_type": dict(work.errors),
        }
    )
    figures.update(_common.latency_summary(work.write_latencies))
    return figures


def _surviving(primary: RedisServer, keys: list[str]) -> set[str]:
    present: set[str] = set()
    with primary.client(timeout=30) as conn:
        for i in range(0, len(keys), 5000):
            chunk = keys[i : i + 5000]
            replies = conn.pipeline([("EXISTS", k) for k in chunk])
            present.update(key for key, found in zip(chunk, replies, strict=True) if found == 1)
    return present


def fault_run(make: Factory, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    with RedisSentinelSet() as sentinels:
        writer, reader, close = make(sentinels)
        data = ClientSockets(sentinels.servers)
        try:
            work = Workload(writer, reader, args.writers, args.readers)
            runner = gevent.spawn(work.run_for, args.seconds)
            gevent.sleep(args.fault_after)
            old = sentinels.primary()
            if kind == "SENTINEL FAILOVER":
                seen = sentinels.failover(timeout=args.seconds)
            else:
                sentinels.kill(old)
                seen = sentinels.wait_new_primary(old, timeout=args.seconds)
            elapsed = runner.get()
            sockets = data.stop()
        finally:
            close()
        sentinels.wait_settled(60)
        offset = time.monotonic() - time.time()  # wall clock -> monotonic
        switched = seen.switched_at + offset if seen.switched_at is not None else None
        keys = [f"w:{i}:{n}" for i, n, _, _ in work.acked]
        present = _surviving(sentinels.primary(), keys)
        # More than one means the sentinels failed over again (a new primary
        # starved of CPU looks down to them): then writes the first new
        # primary acknowledged are lost when it is demoted in turn.
        switches = len(
            {(was, now) for s in sentinels.sentinels for _, was, now in s.switch_times()}
        )
    # Under load our poll notices late; the +switch-master log line does not.
    reported = min(seen.reported_at, switched) if switched is not None else seen.reported_at
    lost_all = lost_after = lost_after_switch = 0
    recovered: dict[int, float] = {}
    for (index, _n, started, acked), key in zip(work.acked, keys, strict=True):
        if key not in present:
            lost_all += 1
            lost_after += acked > reported
            lost_after_switch += switched is not None and acked > switched
        elif started >= reported and index not in recovered:
            recovered[index] = acked
    never = args.writers - len([i for i in recovered if i not in work.failing])
    fault_at = seen.fault_at if seen.fault_at is not None else reported
    return {
        "fault": kind,
        "reported s": reported - fault_at,
        "switches": switches,
        "switch s": (switched - fault_at) if switched is not None else float("nan"),
        "all writers s": (max(recovered.values()) - reported) if not never else float("nan"),
        "never": never,
        "writes/s": work.writes / elapsed,
        "errors": sum(work.errors.values()),
        "lost": lost_all,
        "lost after report": lost_after,
        "lost after switch": lost_after_switch,
        "wrong": work.wrong,
        "sockets": sockets,
        "by_type": dict(work.errors),
    }


def _types(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in collections.Counter(counts).most_common())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steady", type=float, default=10.0)
    parser.add_argument("--writers", type=int, default=1000)
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--failover", action="store_true")
    parser.add_argument("--seconds", type=float, default=35.0)
    parser.add_argument("--fault-after", type=float, default=3.0)
    args = parser.parse_args()

    rows = []
    for name, make in CONTENDERS.items():
        fig = steady(make, args)
        rows.append({"client": name, **fig, "error types": _types(fig.pop("by_type"))})
    _common.print_table(
        f"{args.writers} writers + {args.readers} readers for {args.steady:g} s (steady)",
        rows,
        ["client", "writes/s", "reads/s", "p50_ms", "p99_ms", "max_ms", "errors", "wrong",
         "sockets", "sentinel sockets", "error types"],
    )  # fmt: skip
    _ratios(rows, ["writes/s", "reads/s"], ["p50_ms", "p99_ms", "max_ms"])
    if args.failover:
        rows = []
        for name, make in CONTENDERS.items():
            for kind in ("SENTINEL FAILOVER", "SIGKILL primary"):
                fig = fault_run(make, kind, args)
                rows.append({"client": name, **fig, "error types": _types(fig.pop("by_type"))})
        _common.print_table(
            f"{args.writers} writers + {args.readers} readers for {args.seconds:g} s, the fault "
            f"after {args.fault_after:g} s (reported/switch: s after the fault; all writers: s "
            "after the report)",
            rows,
            ["client", "fault", "reported s", "switch s", "switches", "all writers s", "never",
             "writes/s", "errors", "lost", "lost after report", "lost after switch", "wrong",
             "sockets", "error types"],
        )  # fmt: skip
        for kind in ("SENTINEL FAILOVER", "SIGKILL primary"):
            print(f"[{kind}]", end=" ")
            _ratios([r for r in rows if r["fault"] == kind], ["writes/s"],
                    ["all writers s", "lost after report"])


def _ratios(rows: list[dict[str, Any]], higher: list[str], lower: list[str]) -> None:
    """greenpool's figure against the best redis-py contender's, one per column."""
    ours = [r for r in rows if r["client"] == "greenpool"]
    theirs = [r for r in rows if r["client"] != "greenpool"]
    if not ours or not theirs:
        return
    parts = []
    for column in higher:
        best = max(r[column] for r in theirs)
        parts.append(f"{column} x{ours[0][column] / best:.1f}" if best else f"{column} n/a")
    for column in lower:
        known = [r[column] for r in theirs if r[column] == r[column]]  # not NaN
        value = ours[0][column]
        best = f"{min(known):.3g}" if known else "none (some writers never recovered)"
        parts.append(f"{column} {value:.3g} vs best redis-py {best}")
    print("greenpool vs the best redis-py: " + ", ".join(parts))


if __name__ == "__main__":
    main()
