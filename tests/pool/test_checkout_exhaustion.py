"""What a PoolTimeout says: the pool, true counts at the moment of the timeout, the holders.

Waiters on the pool's own timeout share one timer, which takes every
expired waiter out of the queue before any of them runs: the message must
still count them (it said ``waiting=0`` with 48 callers waiting).  And it
names the longest holders, with where each checked its connection out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import gevent
import gevent.event
import pytest
from helpers import LineRedis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenpool import NoConnectionAvailable, Pool

SPAWN_ARGUMENT = "hunter2-not-in-any-message"


@pytest.fixture
def pools(redis_server: Any) -> Iterator[Any]:
    made: list[Pool[Any]] = []

    def make(**kwargs: Any) -> Pool[LineRedis]:
        pool: Pool[LineRedis] = Pool(lambda: LineRedis(redis_server.address), prefill=False,
                                     use_local=False, **kwargs)
        made.append(pool)
        return pool

    yield make
    for pool in made:
        pool.close()


def hold(pool: Pool[Any], release: gevent.event.Event, argument: str) -> None:
    with pool.connection():
        release.wait()


def timeouts(pool: Pool[Any], count: int, timeout: float | None = None) -> list[str]:
    """``count`` greenlets, spawned together, each waiting for a connection; their messages."""
    texts: list[str] = []

    def wait() -> None:
        try:
            pool.get(timeout=timeout)
        except NoConnectionAvailable as exc:
            texts.append(str(exc))

    gevent.joinall([gevent.spawn(wait) for _ in range(count)], timeout=10, raise_error=True)
    assert len(texts) == count
    return texts


def test_48_waiters_timing_out_together_each_say_48_and_name_the_holders(pools: Any) -> None:
    pool = pools(pool_size=50, pool_timeout=0.2, name="busy")
    release = gevent.event.Event()
    holders = [gevent.spawn(hold, pool, release, SPAWN_ARGUMENT) for _ in range(50)]
    while pool.checkedout() < 50:
        gevent.sleep(0.01)
    try:
        texts = timeouts(pool, 48)
    finally:
        release.set()
        gevent.joinall(holders)
    for text in texts:
        assert text.startswith("pool 'busy': no connection available after waiting 0.2")
        assert "(pool_size=50, max_overflow=0, in use=50, idle=0, waiting=48)" in text
        longest = text.split("; longest holders: ")[1].split("; ")
        assert len(longest) == 4 and longest[3] == "and 47 more"
        named = {f"{g.name} 0x{id(g):x}" for g in holders}
        held = []
        for entry in longest[:3]:
            who, _, rest = entry.partition(" for ")
            assert who in named
            held.append(float(rest.split("s, ")[0]))
            assert f"s, checked out in hold() at {__file__}:" in rest
        assert held == sorted(held, reverse=True) and held[2] >= 0.2
        assert SPAWN_ARGUMENT not in text  # a greenlet's repr shows its arguments; not here
    assert pool.waiting() == 0 and pool.stats()["requests_timeouts"] == 48


def test_waiters_with_their_own_timeouts_count_those_still_waiting(pools: Any) -> None:
    pool = pools(pool_size=1, pool_timeout=5)
    conn = pool.get()
    texts = timeouts(pool, 3, timeout=0.05)  # a timer each: they leave one by one
    counts = sorted(int(t.split("waiting=")[1].split(")")[0]) for t in texts)
    assert counts == [1, 2, 3]
    pool.put(conn)


def test_timeout_zero_counts_the_queue_and_names_the_holder(pools: Any) -> None:
    pool = pools(pool_size=1, pool_timeout=5)
    conn = pool.get()
    pool.put(conn)
    with pool.connection():
        text = timeouts(pool, 1, timeout=0)[0]
    assert "in use=1, idle=0, waiting=0)" in text  # timeout=0: nobody queued
    assert "longest holders: Greenlet-" not in text  # this greenlet is the main one
    assert "checked out in test_timeout_zero_counts_the_queue" in text


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(waiters=st.integers(min_value=1, max_value=40), size=st.integers(min_value=1, max_value=5))
def test_a_batch_timing_out_together_counts_itself_whole(
    redis_server: Any, waiters: int, size: int
) -> None:
    pool: Pool[LineRedis] = Pool(lambda: LineRedis(redis_server.address), pool_size=size,
                                 pool_timeout=0.01, prefill=False, use_local=False)
    try:
        held = [pool.get() for _ in range(size)]
        # Waits begun in one run of the hub share a clock reading while it is
        # under 5 ms old; a loaded machine can stretch the spawns past that and
        # split the batch (tests/test_deadlines.py tests that limit itself).
        with mock.patch("greenpool._deadlines._SAME_MOMENT", 1.0):
            texts = timeouts(pool, waiters)
        for text in texts:
            assert f"in use={size}, idle=0, waiting={waiters})" in text
        for conn in held:
            pool.put(conn)
    finally:
        pool.close()
