"""Property-based test: random checkouts, returns, kills and timeouts keep the books right.

Many greenlets check connections (to a real redis-server) out of one pool,
use them, hold them for a while and give them back, while the test kills
some of them and throws ``gevent.Timeout`` into others at random moments.
After every step:

* connections in existence <= pool_size + max_overflow;
* idle connections <= pool_size;
* no connection is held by two greenlets at once;
* the pool's count of checked-out connections equals the holders seen.

When every greenlet has ended, every slot is back: nothing is checked out,
nobody waits, and every connection that exists is idle and open.
"""

from __future__ import annotations

import random
from typing import Any

import gevent
import pytest
from helpers import LineRedis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from greenpool import NoConnectionAvailable, Pool

pytestmark = pytest.mark.timeout(300)


class PoolMachine(RuleBasedStateMachine):
    address: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.pool: Pool[LineRedis] | None = None
        self.greenlets: list[gevent.Greenlet] = []
        self.held: dict[int, gevent.Greenlet] = {}
        self.violations: list[str] = []
        self.made: list[LineRedis] = []

    @initialize(
        pool_size=st.integers(1, 4),
        max_overflow=st.integers(0, 3),
        use_local=st.booleans(),
    )
    def make_pool(self, pool_size: int, max_overflow: int, use_local: bool) -> None:
        def connect() -> LineRedis:
            gevent.sleep(random.choice([0, 0, 0.001]))  # connecting is a yield point too
            conn = LineRedis(self.address)
            self.made.append(conn)
            return conn

        self.pool = Pool(
            connect, pool_size=pool_size, max_overflow=max_overflow, use_local=use_local,
            prefill=False, pool_timeout=0.05,
        )

    def _work(self, hold: float, timeout: float | None, nested: bool) -> None:
        assert self.pool is not None
        try:
            with self.pool.connection(timeout=timeout) as conn:
                me = gevent.getcurrent()
                other = self.held.get(id(conn))
                if other is not None and other is not me:
                    self.violations.append(f"{conn!r} held by {other!r} and {me!r}")
                outer = other is me
                self.held[id(conn)] = me
                try:
                    if not conn.ping():
                        self.violations.append(f"{conn!r} answered wrongly")
                    if nested:
                        self._nested(conn, timeout)
                    gevent.sleep(hold)
                finally:
                    if not outer:
                        self.held.pop(id(conn), None)
        except NoConnectionAvailable:
            pass

    def _nested(self, conn: LineRedis, timeout: float | None) -> None:
        assert self.pool is not None
        me = gevent.getcurrent()
        # Holding one connection while waiting forever for another can deadlock
        # (every holder waiting for a second one): nested waits are bounded.
        bounded = 0.05 if timeout == -1 else timeout
        with self.pool.connection(timeout=bounded) as inner:
            if inner is conn:
                if not self.pool._use_local:
                    self.violations.append("without use_local, a nested checkout shared")
                return
            if self.pool._use_local:
                self.violations.append("with use_local, a nested checkout got another")
            other = self.held.get(id(inner))
            if other is not None:
                self.violations.append(f"{inner!r} held by {other!r} and {me!r}")
            self.held[id(inner)] = me
            try:
                inner.ping()
            finally:
                self.held.pop(id(inner), None)

    @rule(
        count=st.integers(1, 6),
        hold=st.sampled_from([0, 0, 0.001, 0.005, 0.02]),
        timeout=st.sampled_from([None, 0, 0.001, 0.01, -1]),
        nested=st.booleans(),
    )
    def checkout(self, count: int, hold: float, timeout: float | None, nested: bool) -> None:
        for _ in range(count):
            self.greenlets.append(gevent.spawn(self._work, hold, timeout, nested))

    # Which greenlets are still alive depends on timing, so the victim is drawn
    # as a plain number (the same draws on every run) and mapped onto them.
    @rule(pick=st.integers(0, 10_000), block=st.booleans())
    def kill_one(self, pick: int, block: bool) -> None:
        live = [g for g in self.greenlets if not g.dead]
        if live:
            live[pick % len(live)].kill(block=block)

    @rule(pick=st.integers(0, 10_000))
    def timeout_one(self, pick: int) -> None:
        live = [g for g in self.greenlets if not g.dead]
        if live:
            live[pick % len(live)].kill(gevent.Timeout(), block=False)

    @rule(delay=st.sampled_from([0, 0, 0.001, 0.003]))
    def let_time_pass(self, delay: float) -> None:
        gevent.sleep(delay)

    @invariant()
    def books_balance(self) -> None:
        pool = self.pool
        if pool is None:
            return
        assert not self.violations, self.violations
        assert pool._total <= pool._max
        assert len(pool._idle) <= pool.size()
        assert pool.checkedout() == len(self.held), (pool.checkedout(), self.held)
        assert all(not e.closed for e in pool._idle)

    def teardown(self) -> None:
        pool = self.pool
        if pool is None:
            return
        try:
            gevent.joinall(self.greenlets, timeout=10)
            assert all(g.dead for g in self.greenlets), "a greenlet hung"
            assert not self.violations, self.violations
            assert pool.checkedout() == 0
            assert pool.waiting() == 0
            assert pool._total == pool.checkedin(), pool.stats()
            alive = [c for c in self.made if not c.closed]
            assert {id(c) for c in alive} == {id(e.conn) for e in pool._idle}
            # Every slot can be used again.
            leased = [pool.get(timeout=0) for _ in range(min(pool._max, 8))]
            for conn in leased:
                pool.put(conn)
        finally:
            pool.close()
            for conn in self.made:
                conn.close()


@pytest.fixture
def machine(redis_server: Any) -> type[PoolMachine]:
    PoolMachine.address = redis_server.address
    return PoolMachine


def test_random_checkouts_kills_and_timeouts_keep_the_invariants(
    machine: type[PoolMachine],
) -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
