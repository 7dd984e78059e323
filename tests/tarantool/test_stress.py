"""Concurrency invariants of the Tarantool driver under random cancellation.

Many greenlets share one pool (one instance, multiplexed connections) and
are killed, timed out and interrupted at random points.  Every reply that
reaches a caller must be its own (0 crossed replies), and no connection
may be dropped because of a cancellation.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from helpers import wait_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenpool.tarantool import Connection, ConnectionPool, Mode, NetworkTimeoutError
from greenpool.testing import TarantoolServer

LUA = """
box.schema.space.create('stress', {if_not_exists = true, format = {
    {name = 'id', type = 'unsigned'}, {name = 'value', type = 'string'}}})
box.space.stress:create_index('primary', {if_not_exists = true})
local fiber = require('fiber')
function echo(value, delay)
    if delay > 0 then fiber.sleep(delay) end
    return value
end
"""


@pytest.fixture(scope="module")
def server() -> Iterator[TarantoolServer]:
    srv = TarantoolServer(lua=LUA)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


class Chaos(Exception):
    """Thrown into a worker by the chaos greenlet (like an application's own exception)."""


def test_1000_greenlets_random_cancellation_no_crossed_replies(server: TarantoolServer) -> None:
    pool = ConnectionPool([{"host": "127.0.0.1", "port": server.port}],
                          connections_per_instance=2, refresh_delay=0.2)
    closes: list[Any] = []
    for conn in pool.units[0].connections:
        conn.add_close_listener(lambda c, cause: closes.append(cause))
    opened = [c._transport.connected_at for c in pool.units[0].connections]
    rng = random.Random(20261122)
    stats = {"ok": 0, "crossed": 0, "killed": 0, "timeout": 0, "interrupted": 0, "chaos": 0}
    workers: dict[int, Any] = {}
    target = 40_000
    ops = [0]

    def work(wid: int) -> None:
        local = random.Random(wid)
        seq = 0
        while ops[0] < target:
            seq += 1
            ops[0] += 1
            value = f"{wid}:{seq}:{local.random()}"
            key = wid * 1_000_000 + seq
            kind = local.randrange(4)
            try:
                if kind == 0:
                    reply = pool.replace("stress", [key, value])
                    ok = reply.data == [[key, value]]
                elif kind == 1:
                    reply = pool.call("echo", value, local.choice((0, 0, 0.001, 0.01)),
                                      mode=Mode.ANY)
                    ok = reply.data == [value]
                elif kind == 2:
                    # A timeout shorter than the server's work: abandoned, then dropped.
                    reply = pool.call("echo", value, 0.02, mode=Mode.ANY,
                                      timeout=local.choice((0.005, 0.01, 1.0)))
                    ok = reply.data == [value]
                else:
                    pool.replace("stress", [key, value])
                    reply = pool.select("stress", key)
                    ok = reply.data == [[key, value]]
            except NetworkTimeoutError:
                stats["timeout"] += 1
                continue
            except gevent.Timeout:
                stats["interrupted"] += 1
                continue
            except (KeyboardInterrupt, Chaos):
                stats["chaos"] += 1
                continue
            if ok:
                stats["ok"] += 1
            else:
                stats["crossed"] += 1

    def worker(wid: int) -> None:
        try:
            if wid % 7 == 0:
                # Some callers run under an enclosing gevent.Timeout.
                while ops[0] < target:
                    with gevent.Timeout(rng.choice((0.002, 0.01, 0.05))):
                        work(wid)
            else:
                work(wid)
        except gevent.Timeout:
            stats["interrupted"] += 1
            worker(wid)

    next_id = iter(range(1, 10**9))

    def spawn(slot: int) -> None:
        # Each worker gets a fresh id, so its keys and values are unique.
        workers[slot] = gevent.spawn(worker, next(next_id))

    for slot in range(1000):
        spawn(slot)

    def chaos() -> None:
        while ops[0] < target:
            gevent.sleep(rng.uniform(0, 0.001))
            slot = rng.randrange(1000)
            glet = workers[slot]
            if glet.dead:
                continue
            how = rng.randrange(3)
            if how == 0:
                glet.kill(block=False)  # GreenletExit: the worker is gone; replace it
                stats["killed"] += 1
                spawn(slot)
            elif how == 1:
                glet.kill(KeyboardInterrupt, block=False)
            else:
                glet.kill(Chaos("chaos"), block=False)

    chaos_glet = gevent.spawn(chaos)
    try:
        with gevent.Timeout(90):
            chaos_glet.get()
            gevent.joinall(list(workers.values()))
        assert stats["crossed"] == 0, stats
        assert stats["ok"] > 5000, stats
        assert stats["killed"] > 10 and stats["timeout"] > 10 and stats["chaos"] > 10, stats
        # Abandoned requests' late replies drain; nothing is left pending.
        wait_until(lambda: all(c.load == 0 for c in pool.units[0].connections), 5)
        # No connection was dropped because of a cancellation.
        assert closes == []
        assert [c._transport.connected_at for c in pool.units[0].connections] == opened
        assert all(c.connected for c in pool.units[0].connections)
        assert pool.eval("return 'alive'", mode=Mode.ANY).data == ["alive"]
    finally:
        gevent.killall(list(workers.values()))
        pool.close()


@pytest.fixture(scope="module")
def shared(server: TarantoolServer) -> Iterator[Connection]:
    conn = Connection("127.0.0.1", server.port)
    try:
        yield conn
    finally:
        conn.close()


requests = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.0, 0.002, 0.01, 0.03]),  # server-side delay
        st.sampled_from(["none", "none", "timeout", "kill", "gevent.Timeout", "interrupt"]),
        st.floats(min_value=0.0, max_value=0.02),  # when the cancellation strikes
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=requests, seed=st.integers(0, 2**32 - 1))
def test_any_cancellation_pattern_leaves_every_caller_its_own_reply(
    shared: Connection, plan: list[tuple[float, str, float]], seed: int
) -> None:
    before = shared._transport.connected_at
    results: dict[int, Any] = {}

    def one(i: int, delay: float, cancel: str) -> None:
        value = f"{seed}:{i}"
        try:
            if cancel == "timeout":
                reply = shared.call("echo", value, delay, timeout=0.005)
            elif cancel == "gevent.Timeout":
                with gevent.Timeout(0.005):
                    reply = shared.call("echo", value, delay)
            else:
                reply = shared.call("echo", value, delay)
        except (NetworkTimeoutError, gevent.Timeout):
            results[i] = "cancelled"
            return
        except KeyboardInterrupt:
            results[i] = "interrupted"
            return
        results[i] = "ok" if reply.data == [value] else f"crossed: {reply.data}"

    glets = []
    for i, (delay, cancel, when) in enumerate(plan):
        glet = gevent.spawn(one, i, delay, cancel)
        glets.append(glet)
        if cancel == "kill":
            gevent.spawn_later(when, glet.kill, block=False)
        elif cancel == "interrupt":
            gevent.spawn_later(when, glet.kill, KeyboardInterrupt, block=False)
    gevent.joinall(glets, timeout=10)
    assert not [r for r in results.values() if r.startswith("crossed")], results
    for i, (_delay, cancel, _when) in enumerate(plan):
        if cancel == "none":
            assert results.get(i) == "ok", (i, results)
    wait_until(lambda: shared.load == 0, 2)
    assert shared.connected and shared._transport.connected_at == before
