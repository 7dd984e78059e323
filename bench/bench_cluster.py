"""Redis Cluster clients side by side: 1,000 greenlets on a 6-node cluster (issue 12).

The cluster is greenpool.testing's RedisClusterServer (3 primaries, 3
replicas, real processes on loopback).  This process is monkey-patched by
gevent, so redis-py is green.  Contenders (``CONTENDERS``):

* redis-py ``RedisCluster`` with its defaults (a ``ConnectionPool`` of at
  most 100 connections per node, which raises ``MaxConnectionsError`` at
  once when full);
* redis-py ``RedisCluster(max_connections=1000)``;
* greenpool's ``RedisCluster`` with its defaults (per node: 2 shared
  auto-pipelined connections, a checkout pool that waits when full).

**Steady phase** (``--ops`` calls in all, ``--repeat`` times, contenders
interleaved): each greenlet alternates SET and GET on its own keys, spread
over every slot, and checks every GET against its own last SET.  Reported:
successful ops/s, p50/p99/max latency of successful calls, errors by
exception type, wrong replies, and client sockets open on the servers (the
largest sum of the nodes' ``connected_clients`` sampled every 0.2 s, our
own sampling connections not counted).

**Failover phase** (``--failover``, a fresh cluster per contender): the
same greenlets run for ``--seconds``; after ``--kill-after`` seconds the
primary of slot 0 is SIGKILLed.  Reported: when Redis promoted the replica
and when the survivors reported ``cluster_state:ok`` (seconds after the
kill), the errors, and when every greenlet worked again: its first
successful call that started after the kill, provided no error followed
(how many never did is counted).  A greenlet pauses 1 ms
after an error, like a caller that logs and retries, so that a client that
fails without yielding cannot starve the hub.

    .venv/bin/python bench/bench_cluster.py [--ops 20000] [--repeat 3]
        [--greenlets 1000] [--failover --seconds 25 --kill-after 3]
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import collections  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import _common  # noqa: E402
import gevent  # noqa: E402
import redis.cluster  # noqa: E402
from _sockets import ClientSockets  # noqa: E402

from greenpool.redis import RedisCluster  # noqa: E402
from greenpool.testing import RedisClusterServer  # noqa: E402

#: Keys per greenlet; 1,000 greenlets x 16 keys cover every slot's neighbourhood.
KEYS_PER_GREENLET = 16

Factory = Callable[[RedisClusterServer], tuple[Any, Callable[[], None]]]


def _startup_nodes(cluster: RedisClusterServer) -> list[redis.cluster.ClusterNode]:
    return [redis.cluster.ClusterNode(host, port) for host, port in cluster.startup_nodes]


def make_redis_py_defaults(cluster: RedisClusterServer) -> tuple[Any, Callable[[], None]]:
    client = redis.cluster.RedisCluster(startup_nodes=_startup_nodes(cluster))
    return client, client.close


def make_redis_py_1000(cluster: RedisClusterServer) -> tuple[Any, Callable[[], None]]:
    client = redis.cluster.RedisCluster(startup_nodes=_startup_nodes(cluster), max_connections=1000)
    return client, client.close


def make_greenpool(cluster: RedisClusterServer) -> tuple[Any, Callable[[], None]]:
    client = RedisCluster(startup_nodes=cluster.startup_nodes)
    return client, client.close


CONTENDERS: dict[str, Factory] = {
    "redis-py defaults": make_redis_py_defaults,
    "redis-py max_connections=1000": make_redis_py_1000,
    "greenpool RedisCluster": make_greenpool,
}


class Workload:
    """1,000 greenlets doing SET/GET on their own keys; records what happened."""

    def __init__(self, client: Any, greenlets: int) -> None:
        self.client = client
        self.greenlets = greenlets
        self.latencies: list[float] = []
        self.errors: collections.Counter[str] = collections.Counter()
        self.wrong = 0
        self.ok = 0
        self.stop_at: float | None = None
        #: Set at the fault; then each greenlet's first success that started
        #: after it, dropped again by any later error.
        self.fault_at: float | None = None
        self.recovered_at: dict[int, float] = {}

    def _call(self, index: int, step: int, values: dict[str, bytes]) -> bool:
        key = f"bench:{index}:{step // 2 % KEYS_PER_GREENLET}"
        clock = time.monotonic
        started = clock()
        try:
            if step % 2 == 0:
                value = f"{index}:{step}".encode()
                self.client.set(key, value)
                values[key] = value
            else:
                got = self.client.get(key)
                if key in values and got != values[key]:
                    self.wrong += 1
        except Exception as exc:
            self.errors[type(exc).__name__] += 1
            self.recovered_at.pop(index, None)
            return False
        now = clock()
        self.ok += 1
        self.latencies.append(now - started)
        fault_at = self.fault_at
        if fault_at is not None and started >= fault_at and index not in self.recovered_at:
            self.recovered_at[index] = now
        return True

    def run_ops(self, ops: int) -> float:
        per = max(2, ops // self.greenlets)

        def worker(index: int) -> None:
            values: dict[str, bytes] = {}
            for step in range(per):
                self._call(index, step, values)

        started = time.monotonic()
        gevent.joinall([gevent.spawn(worker, i) for i in range(self.greenlets)])
        return time.monotonic() - started

    def run_for(self, seconds: float) -> float:
        self.stop_at = time.monotonic() + seconds

        def worker(index: int) -> None:
            values: dict[str, bytes] = {}
            step = 0
            while time.monotonic() < (self.stop_at or 0):
                if not self._call(index, step, values):
                    gevent.sleep(0.001)
                step += 1

        started = time.monotonic()
        gevent.joinall([gevent.spawn(worker, i) for i in range(self.greenlets)])
        return time.monotonic() - started


def steady(cluster: RedisClusterServer, make: Factory, greenlets: int, ops: int) -> dict[str, Any]:
    client, close = make(cluster)
    sockets = ClientSockets(cluster.nodes, ignore=cluster.own_connections)
    try:
        client.set("bench:warmup", "1")  # discovery outside the measurement
        work = Workload(client, greenlets)
        elapsed = work.run_ops(ops)
    finally:
        peak = sockets.stop()
        close()
    figures: dict[str, Any] = {
        "ops_per_s": work.ok / elapsed,
        "calls": float(work.ok + sum(work.errors.values())),
        "errors": float(sum(work.errors.values())),
        "wrong": float(work.wrong),
        "sockets": float(peak),
    }
    figures.update(_common.latency_summary(work.latencies))
    figures["by_type"] = dict(work.errors)
    return figures


def failover(make: Factory, greenlets: int, seconds: float, kill_after: float) -> dict[str, Any]:
    with RedisClusterServer() as cluster:
        client, close = make(cluster)
        sockets = ClientSockets(cluster.nodes, ignore=cluster.own_connections)
        try:
            client.set("bench:warmup", "1")
            work = Workload(client, greenlets)
            runner = gevent.spawn(work.run_for, seconds)
            gevent.sleep(kill_after)
            victim = cluster.slot_owner(0)
            work.fault_at = time.monotonic()
            killed_at = cluster.kill(victim)
            seen = cluster.wait_failover(victim, timeout=seconds)
            elapsed = runner.get()
        finally:
            peak = sockets.stop()
            close()
    never = greenlets - len(work.recovered_at)
    done = list(work.recovered_at.values())
    return {
        "promoted_s": seen.promoted_at - killed_at,
        "cluster_ok_s": seen.ok_at - killed_at,
        "all_working_s": (max(done) - killed_at) if done and not never else float("nan"),
        "never_recovered": never,
        "ops_per_s": work.ok / elapsed,
        "errors": sum(work.errors.values()),
        "by_type": dict(work.errors),
        "wrong": work.wrong,
        "sockets": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--greenlets", type=int, default=1000)
    parser.add_argument("--failover", action="store_true")
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--kill-after", type=float, default=3.0)
    args = parser.parse_args()

    results: dict[str, list[dict[str, Any]]] = {name: [] for name in CONTENDERS}
    with RedisClusterServer() as cluster:
        cluster_nodes = list(cluster.nodes)
        print(f"cluster ready in {cluster.startup_seconds:.2f} s: {', '.join(cluster.addresses)}")
        for _ in range(args.repeat):  # interleaved: drift hits every contender alike
            for name, make in CONTENDERS.items():
                results[name].append(steady(cluster, make, args.greenlets, args.ops))
                cluster.flushall()
    rows = []
    for name, runs in results.items():
        fig = _common.median_of([{k: v for k, v in r.items() if k != "by_type"} for r in runs])
        types: collections.Counter[str] = collections.Counter()
        for run in runs:
            types.update(run["by_type"])
        rows.append({
            "client": name, "ops/s": fig["ops_per_s"], "p50 ms": fig["p50_ms"],
            "p99 ms": fig["p99_ms"], "max ms": fig["max_ms"], "calls": int(fig["calls"]),
            "errors": int(fig["errors"]), "wrong": int(fig["wrong"]),
            "sockets": int(fig["sockets"]),
            "per node": round(fig["sockets"] / len(cluster_nodes), 1),
            "error types (all runs)": ", ".join(f"{k} {v}" for k, v in types.most_common()),
        })  # fmt: skip
    _common.print_table(
        f"{args.greenlets} greenlets, SET/GET over all slots, {args.ops:,} calls per run; "
        f"median of {args.repeat} runs",
        rows,
        ["client", "ops/s", "p50 ms", "p99 ms", "max ms", "calls", "errors", "wrong", "sockets",
         "per node", "error types (all runs)"],
    )  # fmt: skip
    ours = next((r for r in rows if r["client"].startswith("greenpool")), None)
    theirs = [r for r in rows if r["client"].startswith("redis-py")]
    if ours is not None and theirs:
        best = max(theirs, key=lambda r: r["ops/s"])
        print(
            f"greenpool / best redis-py ({best['client']}): "
            f"{ours['ops/s'] / max(best['ops/s'], 1e-9):.1f}x ops/s; "
            f"greenpool worst call / median: {ours['max ms'] / max(ours['p50 ms'], 1e-9):.1f}x"
        )

    if args.failover:
        rows = []
        for name, make in CONTENDERS.items():
            fig = failover(make, args.greenlets, args.seconds, args.kill_after)
            rows.append({
                "client": name, "promoted s": fig["promoted_s"],
                "cluster ok s": fig["cluster_ok_s"], "all working s": fig["all_working_s"],
                "never recovered": fig["never_recovered"], "ops/s": fig["ops_per_s"],
                "errors": fig["errors"], "wrong": fig["wrong"], "sockets": fig["sockets"],
                "error types": ", ".join(
                    f"{k} {v}" for k, v in collections.Counter(fig["by_type"]).most_common()),
            })  # fmt: skip
        _common.print_table(
            f"{args.greenlets} greenlets for {args.seconds:g} s, the primary of slot 0 SIGKILLed "
            f"after {args.kill_after:g} s (times in seconds after the kill)",
            rows,
            ["client", "promoted s", "cluster ok s", "all working s", "never recovered", "ops/s",
             "errors", "wrong", "sockets", "error types"],
        )  # fmt: skip


if __name__ == "__main__":
    main()
