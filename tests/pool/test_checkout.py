"""The checkout pool against a real redis-server."""

from __future__ import annotations

import logging
import os
import socket as stdsocket
from typing import Any

import gevent
import gevent.event
import gevent.monkey
import pytest
from gevent import GreenletExit
from helpers import LineRedis, client_count, wait_until

import greenpool
from greenpool import (
    AllServersUnavailable,
    ConfigurationError,
    InvalidRequestError,
    MaximumRetryException,
    NoConnectionAvailable,
    Pool,
    PoolClosed,
    TooManyRequests,
)


@pytest.fixture
def make_pool(redis_server: Any) -> Any:
    pools: list[Pool[Any]] = []

    def make(**kwargs: Any) -> Pool[LineRedis]:
        kwargs.setdefault("prefill", False)
        kwargs.setdefault("use_local", False)
        pool: Pool[LineRedis] = Pool(lambda: LineRedis(redis_server.address), **kwargs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def closed_port() -> int:
    with stdsocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("pool_size", -1),
        ("pool_size", "5"),
        ("pool_size", 2.5),
        ("pool_size", True),
        ("max_overflow", -2),
        ("pool_timeout", -5),
        ("pool_timeout", "30"),
        ("pool_timeout", float("nan")),
        ("recycle", 0),
        ("max_lifetime", 0),
        ("max_lifetime", -1.0),
        ("max_idle", "x"),
        ("max_retries", -3),
        ("max_waiting", -1),
        ("check", 42),
        ("reset", "no"),
        ("name", 7),
        ("leak_timeout", 0),
        ("use_local", "yes"),
        ("prefill", 1),
        ("retry_exceptions", [ValueError, "x"]),
        ("servers", []),
        ("servers", ["localhost"]),
        ("servers", ["host:99999"]),
        ("servers", ["[::1:80"]),
        ("servers", [42]),
        ("listeners", [object()]),
        ("listeners", [{"no_such_hook": print}]),
    ],
)
def test_bad_arguments_raise_configuration_error_naming_them(argument: str, value: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        Pool(lambda *a: None, **{"prefill": False, argument: value})
    assert argument in str(info.value)
    assert info.value.argument == argument


def test_size_zero_with_no_overflow_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="pool_size"):
        Pool(lambda: None, pool_size=0, max_overflow=0)


def test_connect_must_be_callable() -> None:
    with pytest.raises(ConfigurationError, match="connect"):
        Pool("redis://x", prefill=False)  # type: ignore[arg-type]


def test_bad_checkout_timeout_raises(make_pool: Any) -> None:
    pool = make_pool()
    with pytest.raises(ConfigurationError, match="timeout"):
        pool.get(timeout="soon")
    with pytest.raises(ConfigurationError, match="timeout"):
        pool.connection(timeout=-3)


# ---------------------------------------------------------------------- checkout basics


# Tests that count a server's clients use a server of their own: on the shared
# one, other tests' connections may still be closing.


def test_get_put_and_execute(make_pool: Any) -> None:
    pool = make_pool(pool_size=2)
    conn = pool.get()
    assert conn.call("SET", "gp:k", "v") == "OK"
    pool.put(conn)
    assert pool.execute(lambda c, key: c.call("GET", key), "gp:k") == b"v"
    assert pool.checkedout() == 0


def test_full_pool_with_zero_timeout_fails_at_once_with_a_useful_message(make_pool: Any) -> None:
    pool = make_pool(pool_size=1, max_overflow=1, name="tiny")
    a = pool.get()
    b = pool.get()
    assert pool.overflow() == 1
    gevent.sleep(0.05)
    with pytest.raises(NoConnectionAvailable) as info:
        pool.get(timeout=0)
    text = str(info.value)
    assert "'tiny'" in text
    assert "pool_size=1" in text and "max_overflow=1" in text
    assert "in use=2" in text and "waiting=0" in text
    assert "waiting 0.000s" in text
    # The longest holder first: this greenlet, for how long, and where.
    holder = text.split("longest holders: ")[1]
    held = float(holder.split(" for ")[1].split("s,")[0])
    assert held >= 0.05
    assert "checked out in test_full_pool_with_zero_timeout" in holder
    assert isinstance(info.value, TimeoutError)
    assert greenpool.PoolTimeout is NoConnectionAvailable
    pool.put(a)
    pool.put(b)


def test_checkout_waits_for_the_pool_timeout(make_pool: Any) -> None:
    pool = make_pool(pool_size=1, pool_timeout=0.2)
    held = pool.get()
    started = gevent.get_hub().loop.now()
    with pytest.raises(NoConnectionAvailable, match=r"after waiting 0\.2"):
        pool.get()
    assert gevent.get_hub().loop.now() - started >= 0.19
    assert pool.waiting() == 0
    assert pool.stats()["requests_timeouts"] == 1
    pool.put(held)
    assert pool.checkedin() == 1  # nothing stranded by the timed-out waiter


@pytest.mark.parametrize("forever", [None, -1])
def test_none_or_minus_one_waits_forever(make_pool: Any, forever: Any) -> None:
    pool = make_pool(pool_size=1, pool_timeout=forever)
    held = pool.get()
    waiter = gevent.spawn(pool.get)
    gevent.sleep(0.3)
    assert not waiter.ready()
    pool.put(held)
    assert waiter.get(timeout=2) is held


def test_an_enclosing_gevent_timeout_is_honoured(make_pool: Any) -> None:
    pool = make_pool(pool_size=1)
    held = pool.get()
    with pytest.raises(gevent.Timeout), gevent.Timeout(0.1):
        pool.get(timeout=-1)
    assert pool.waiting() == 0
    pool.put(held)
    assert pool.checkedin() == 1
    assert pool.get(timeout=0) is held


def test_a_wait_begun_right_after_a_blocked_hub_gets_its_whole_timeout(make_pool: Any) -> None:
    # The hub's loop time was stale after a 0.3 s block: a 0.2 s wait begun
    # then, on the pool's shared timer (already armed for an earlier waiter),
    # timed out at once though the connection came back 0.05 s later.
    pool = make_pool(pool_size=1, pool_timeout=0.2)
    held = pool.get()
    blocking_sleep = gevent.monkey.get_original("time", "sleep")

    def block_then_wait() -> Any:
        blocking_sleep(0.3)
        return pool.get()

    earlier = gevent.spawn(pool.get)  # begun before the block: rightly out of time after it
    waiter = gevent.spawn(block_then_wait)
    gevent.sleep(0.05)
    with pytest.raises(NoConnectionAvailable):
        earlier.get(timeout=0.1)
    assert not waiter.dead
    pool.put(held)
    assert waiter.get(timeout=2) is held
    pool.put(held)


def test_waiters_are_served_first_in_first_out(make_pool: Any) -> None:
    pool = make_pool(pool_size=1)
    held = pool.get()
    served: list[int] = []

    def waiter(i: int) -> None:
        conn = pool.get()
        served.append(i)
        gevent.sleep(0.001)
        pool.put(conn)

    greenlets = []
    for i in range(20):
        greenlets.append(gevent.spawn(waiter, i))
        gevent.sleep(0)  # each one queues before the next starts
    assert pool.waiting() == 20
    pool.put(held)
    gevent.joinall(greenlets, timeout=5, raise_error=True)
    assert served == list(range(20))


def test_a_releasing_greenlet_cannot_barge_past_waiters(make_pool: Any) -> None:
    pool = make_pool(pool_size=1)
    conn = pool.get()
    got: list[str] = []

    def waiter() -> None:
        c = pool.get()
        got.append("waiter")
        pool.put(c)

    w = gevent.spawn(waiter)
    gevent.sleep(0)
    pool.put(conn)
    # The same greenlet asks again at once, without yielding: the waiter comes first.
    again = pool.get()
    got.append("releaser")
    pool.put(again)
    w.join(timeout=2)
    assert got == ["waiter", "releaser"]


def test_a_waiter_killed_after_the_handoff_passes_the_connection_on(make_pool: Any) -> None:
    pool = make_pool(pool_size=1)
    held = pool.get()
    first = gevent.spawn(pool.get)
    second = gevent.spawn(pool.get)
    gevent.sleep(0.01)
    assert pool.waiting() == 2
    first.kill(GreenletExit, block=False)  # the kill is delivered on the next loop turn...
    pool.put(held)  # ...after `held` was handed to `first`, which never gets to take it
    assert second.get(timeout=2) is held
    assert first.dead and isinstance(first.value, GreenletExit)
    assert pool.checkedout() == 1


def test_a_waiter_timing_out_after_the_handoff_passes_the_connection_on(make_pool: Any) -> None:
    pool = make_pool(pool_size=1)
    held = pool.get()
    first = gevent.spawn(pool.get)
    gevent.sleep(0.01)
    first.kill(gevent.Timeout(0.01), block=False)  # as if an enclosing Timeout fired
    pool.put(held)
    first.join(timeout=2)
    assert first.dead and isinstance(first.exception, gevent.Timeout)
    assert pool.checkedin() == 1
    assert pool.get(timeout=0) is held


def test_max_waiting_sheds_load(make_pool: Any) -> None:
    pool = make_pool(pool_size=1, max_waiting=2)
    held = pool.get()
    waiters = [gevent.spawn(pool.get) for _ in range(2)]
    gevent.sleep(0.01)
    with pytest.raises(TooManyRequests, match="max_waiting=2"):
        pool.get()
    pool.put(held)
    for w in waiters:
        w.join(timeout=2)
        if w.value is not None:
            pool.put(w.value)


def test_overflow_connections_are_closed_on_return(fresh_redis: Any) -> None:
    redis_server = fresh_redis
    before = client_count(redis_server.address)
    pool: Pool[LineRedis] = Pool(
        lambda: LineRedis(redis_server.address), pool_size=2, max_overflow=2, prefill=False,
        use_local=False,
    )
    conns = [pool.get() for _ in range(4)]
    assert client_count(redis_server.address) == before + 4
    with pytest.raises(NoConnectionAvailable):
        pool.get(timeout=0)
    for conn in conns:
        pool.put(conn)
    assert pool.checkedin() == 2
    assert sum(c.closed for c in conns) == 2
    assert client_count(redis_server.address) == before + 2
    pool.close()


def test_unlimited_overflow(make_pool: Any) -> None:
    pool = make_pool(pool_size=1, max_overflow=-1)
    conns = [pool.get(timeout=0) for _ in range(30)]
    assert pool.overflow() == 29
    for c in conns:
        pool.put(c)
    assert pool.checkedin() == 1


# ---------------------------------------------------------------------- greenlet-local reuse


def test_nested_checkouts_in_one_greenlet_share_a_connection(make_pool: Any) -> None:
    pool = make_pool(pool_size=2, use_local=True)
    with pool.connection() as outer:
        with pool.connection() as inner:
            assert inner is outer
            assert pool.checkedout() == 1
        assert pool.checkedout() == 1
        again = pool.get()
        assert again is outer
        pool.put(again)
        assert pool.checkedout() == 1
    assert pool.checkedout() == 0
    assert pool.checkedin() == 1


def test_without_use_local_nested_checkouts_get_their_own(make_pool: Any) -> None:
    pool = make_pool(pool_size=2)
    with pool.connection() as outer, pool.connection() as inner:
        assert inner is not outer
        assert pool.checkedout() == 2


def test_other_greenlets_get_other_connections(make_pool: Any) -> None:
    pool = make_pool(pool_size=2, use_local=True)
    with pool.connection() as mine:
        theirs = gevent.spawn(lambda: pool.execute(lambda c: c)).get(timeout=2)
        assert theirs is not mine


# ---------------------------------------------------------------------- kill safety


def test_a_greenlet_killed_in_a_blocking_call_closes_the_connection(
    make_pool: Any, redis_server: Any
) -> None:
    pool = make_pool(pool_size=1)
    seen: list[LineRedis] = []

    def blocked() -> None:
        with pool.connection() as conn:
            seen.append(conn)
            conn.call("BLPOP", "gp:nothing-here", 0)

    g = gevent.spawn(blocked)
    wait_until(lambda: seen)
    gevent.sleep(0.05)
    g.kill(block=True, timeout=2)
    assert seen[0].closed
    assert pool.checkedout() == 0
    # The permit came back: the one-connection pool serves again, with a new connection.
    with pool.connection(timeout=0) as conn:
        assert conn is not seen[0]
        assert conn.ping()
    assert pool.stats()["connections_lost"] == 1


def test_a_timeout_inside_the_block_closes_the_connection(make_pool: Any) -> None:
    pool = make_pool(pool_size=1)
    with pytest.raises(gevent.Timeout), gevent.Timeout(0.05), pool.connection() as conn:
        conn.call("BLPOP", "gp:nothing-here", 0)
    assert conn.closed
    assert pool.checkedout() == 0 and pool.checkedin() == 0
    assert pool.get(timeout=0).ping()


def test_keyboard_interrupt_inside_the_block_closes_the_connection(make_pool: Any) -> None:
    pool = make_pool(pool_size=1)
    with pytest.raises(KeyboardInterrupt), pool.connection() as conn:
        raise KeyboardInterrupt
    assert conn.closed
    assert pool.checkedout() == 0


def test_an_ordinary_exception_returns_the_connection_after_reset(make_pool: Any) -> None:
    resets: list[LineRedis] = []
    pool = make_pool(pool_size=1, reset=resets.append)
    with pytest.raises(ValueError), pool.connection() as conn:
        raise ValueError("application error")
    assert not conn.closed
    assert resets == [conn]
    assert pool.checkedin() == 1


def test_a_connection_error_inside_the_block_closes_the_connection(make_pool: Any) -> None:
    pool = make_pool(pool_size=1)
    with pytest.raises(ConnectionResetError), pool.connection() as conn:
        raise ConnectionResetError
    assert conn.closed
    assert pool.stats()["returns_bad"] == 1


def test_a_kill_during_reset_closes_and_releases(make_pool: Any) -> None:
    def slow_reset(conn: LineRedis) -> None:
        gevent.sleep(10)

    pool = make_pool(pool_size=1, reset=slow_reset)

    def use() -> None:
        with pool.connection() as conn:
            conn.ping()

    g = gevent.spawn(use)
    gevent.sleep(0.05)
    g.kill(timeout=2)
    assert pool.checkedout() == 0 and pool.checkedin() == 0
    assert pool.stats()["connections"] == 0
    assert pool.get(timeout=0).ping()


def test_a_kill_while_connecting_releases_the_slot(redis_server: Any) -> None:
    def slow_connect() -> LineRedis:
        gevent.sleep(10)
        raise AssertionError("not reached")

    pool: Pool[LineRedis] = Pool(slow_connect, pool_size=1, prefill=False)
    g = gevent.spawn(pool.get)
    gevent.sleep(0.05)
    assert pool.stats()["connections"] == 1  # the slot is reserved while connecting
    g.kill(timeout=2)
    assert pool.stats()["connections"] == 0
    pool.close()


def test_a_dead_holder_is_reclaimed_and_logged_with_its_stack(
    make_pool: Any, caplog: pytest.LogCaptureFixture
) -> None:
    pool = make_pool(pool_size=1, housekeeping_interval=0.05)
    taken: list[LineRedis] = []

    def forgetful_function_name() -> None:
        taken.append(pool.get())  # never put back

    gevent.spawn(forgetful_function_name).join()
    with caplog.at_level(logging.WARNING, logger="greenpool.pool"):
        conn = pool.get(timeout=2)
    assert conn is not taken[0]
    assert taken[0].closed
    assert "died without returning it" in caplog.text
    assert "forgetful_function_name" in caplog.text
    pool.put(conn)


def test_a_live_holder_past_leak_timeout_is_reported_not_robbed(
    make_pool: Any, caplog: pytest.LogCaptureFixture
) -> None:
    pool = make_pool(pool_size=1, leak_timeout=0.05, housekeeping_interval=0.02)

    def slow_holder_function() -> None:
        with pool.connection() as conn:
            gevent.sleep(0.3)
            assert conn.ping()

    with caplog.at_level(logging.WARNING, logger="greenpool.pool"):
        g = gevent.spawn(slow_holder_function)
        g.join(timeout=3)
    assert g.successful()
    assert "leak_timeout" in caplog.text and "slow_holder_function" in caplog.text
    assert caplog.text.count("has been checked out") == 1
    assert pool.stats()["connections_lost"] == 0


@pytest.mark.parametrize("handed", ["connection", "permit"])
def test_the_held_clock_starts_when_a_waiter_gets_its_connection(
    make_pool: Any, caplog: pytest.LogCaptureFixture, handed: str
) -> None:
    # leak_timeout=0.3: the holder keeps the only connection 0.2 s, the
    # waiter waits about that long and then holds it 0.2 s.  Neither has
    # held a connection past 0.3 s, so nothing may be reported, whether the
    # waiter is handed the connection itself or, after the holder is
    # killed (its connection closed), a slot to connect in.
    pool = make_pool(pool_size=1, leak_timeout=0.3, housekeeping_interval=0.02)
    taken = gevent.event.Event()

    def holder_function() -> None:
        with pool.connection():
            taken.set()
            gevent.sleep(0.2 if handed == "connection" else 10)

    def waiter_function() -> None:
        with pool.connection():
            gevent.sleep(0.2)

    with caplog.at_level(logging.WARNING, logger="greenpool.pool"):
        g = gevent.spawn(holder_function)
        assert taken.wait(2)
        w = gevent.spawn(waiter_function)
        if handed == "permit":
            gevent.sleep(0.2)
            g.kill()
        g.join(2)
        w.join(2)
    assert w.successful()
    assert pool.stats()["requests_queued"] == 1
    assert "has been checked out" not in caplog.text


# ---------------------------------------------------------------------- ageing


def test_recycle_replaces_a_connection_after_that_many_uses(make_pool: Any) -> None:
    events: list[dict[str, Any]] = []
    pool = make_pool(pool_size=1, recycle=3, listeners=[{"connection_recycled": events.append}])
    first = pool.get()
    pool.put(first)
    pool.put(pool.get())
    pool.put(pool.get())  # third use: replaced
    wait_until(lambda: events)
    assert first.closed
    assert events[0]["old_conn"] is first
    fresh = pool.get(timeout=1)
    assert fresh is events[0]["new_conn"] and fresh is not first and fresh.ping()
    pool.put(fresh)


def test_max_lifetime_is_checked_at_checkout(make_pool: Any) -> None:
    pool = make_pool(pool_size=1, max_lifetime=0.1, housekeeping_interval=60)
    first = pool.get()
    pool.put(first)
    gevent.sleep(0.15)
    second = pool.get()
    assert second is not first and first.closed and second.ping()
    pool.put(second)


def test_max_lifetime_is_checked_by_housekeeping(make_pool: Any) -> None:
    pool = make_pool(pool_size=2, max_lifetime=0.1, housekeeping_interval=0.02)
    pool.fill()
    old = [e.conn for e in pool._idle]
    wait_until(lambda: all(c.closed for c in old))
    wait_until(lambda: pool.checkedin() == 2)  # successors were opened in the background
    assert not any(e.conn in old for e in pool._idle)


def test_max_idle_closes_idle_connections(make_pool: Any) -> None:
    pool = make_pool(pool_size=2, max_idle=0.1, housekeeping_interval=0.02)
    pool.fill()
    assert pool.checkedin() == 2
    wait_until(lambda: pool.checkedin() == 0)
    assert pool.stats()["connections"] == 0


def test_check_rejects_bad_connections(make_pool: Any) -> None:
    verdicts = iter([False, True])
    pool = make_pool(pool_size=2, check=lambda conn: next(verdicts))
    pool.fill()
    first, second = (e.conn for e in reversed(pool._idle))
    got = pool.get()
    assert got is second and first.closed  # the first failed the check and was closed
    pool.put(got)


def test_check_that_raises_counts_as_failed(make_pool: Any) -> None:
    def check(conn: LineRedis) -> bool:
        raise OSError("dead")

    pool = make_pool(pool_size=1, check=check)
    pool.fill()
    idle = pool._idle[0].conn
    got = pool.get()  # the idle one fails; a new one is made (check is for idle ones)
    assert got is not idle and idle.closed
    pool.put(got)


def test_reset_failure_closes_the_connection(make_pool: Any) -> None:
    def reset(conn: LineRedis) -> None:
        raise RuntimeError("cannot reset")

    pool = make_pool(pool_size=1, reset=reset)
    conn = pool.get()
    pool.put(conn)
    assert conn.closed and pool.checkedin() == 0
    assert pool.stats()["returns_bad"] == 1


# ---------------------------------------------------------------------- servers and retries


def test_servers_are_used_round_robin(redis_server: Any, fresh_redis: Any) -> None:
    seen: list[str] = []

    def connect(address: greenpool.Address) -> LineRedis:
        seen.append(str(address))
        return LineRedis(address)

    servers = [redis_server.address, ("127.0.0.1", fresh_redis.port)]
    pool: Pool[LineRedis] = Pool(connect, servers=servers, pool_size=4)
    pool.fill()
    try:
        assert sorted(seen) == sorted([redis_server.address, fresh_redis.address] * 2)
        assert seen[0] != seen[1] and seen[:2] == seen[2:]
        assert sorted(map(str, pool.servers)) == sorted([redis_server.address, fresh_redis.address])
    finally:
        pool.close()


def test_a_dead_server_is_skipped(redis_server: Any) -> None:
    failures: list[dict[str, Any]] = []
    dead = f"127.0.0.1:{closed_port()}"
    pool: Pool[LineRedis] = Pool(
        LineRedis, servers=[dead, redis_server.address], pool_size=4,
        listeners=[{"connection_failed": failures.append}],
    )
    pool.fill()
    try:
        assert pool.checkedin() == 4
        assert all(str(e.conn.address) == redis_server.address for e in pool._idle)
        assert failures and all(f["server"] == dead for f in failures)
        assert isinstance(failures[0]["error"], ConnectionRefusedError)
    finally:
        pool.close()


def test_all_servers_down_names_each_server_and_error() -> None:
    dead = [f"127.0.0.1:{closed_port()}", f"[::1]:{closed_port()}"]
    pool: Pool[LineRedis] = Pool(LineRedis, servers=dead, prefill=False)
    with pytest.raises(AllServersUnavailable) as info:
        pool.get()
    assert set(info.value.errors) == set(dead)
    for name in dead:
        assert name in str(info.value)
    assert pool.stats()["connections"] == 0
    assert pool.stats()["connections_errors"] == 2
    pool.close()


def test_set_server_list_accepts_a_callable_and_drops_idle_connections_to_removed_servers(
    redis_server: Any, fresh_redis: Any
) -> None:
    events: list[dict[str, Any]] = []
    pool: Pool[LineRedis] = Pool(
        LineRedis, servers=lambda: [redis_server.address], pool_size=2,
        listeners=[{"server_list_obtained": events.append}],
    )
    try:
        old = [e.conn for e in pool._idle]
        pool.set_server_list(lambda: [fresh_redis.address])
        assert all(c.closed for c in old) and pool.checkedin() == 0
        with pool.connection() as conn:
            assert str(conn.address) == fresh_redis.address
        assert [e["server_list"] for e in events] == [
            [redis_server.address], [fresh_redis.address]
        ]
    finally:
        pool.close()


def test_execute_retries_on_a_fresh_connection_to_the_next_server(
    redis_server: Any, fresh_redis: Any, tcp_proxy: Any
) -> None:
    proxy = tcp_proxy(fresh_redis.address)
    pool: Pool[LineRedis] = Pool(
        LineRedis, servers=[proxy.address, redis_server.address], pool_size=2, use_local=False,
    )
    pool.fill()
    try:
        via_proxy = next(e.conn for e in pool._idle if str(e.conn.address) == proxy.address)
        direct = next(e.conn for e in pool._idle if str(e.conn.address) != proxy.address)
        pool.put(pool.get())
        # Arrange the idle stack so the connection through the proxy is used next.
        pool._idle.sort(key=lambda e: e.conn is via_proxy)
        proxy.stop()  # breaks the connection through the proxy, and refuses new ones
        used: list[str] = []

        def op(conn: LineRedis) -> Any:
            used.append(str(conn.address))
            return conn.call("PING")

        assert pool.execute(op) == "PONG"
        assert used[0] == proxy.address and used[-1] == redis_server.address
        assert via_proxy.closed and not direct.closed
        assert pool.stats()["connections_lost"] >= 1
    finally:
        pool.close()


def test_execute_gives_up_after_max_retries(make_pool: Any) -> None:
    pool = make_pool(pool_size=1, max_retries=2)
    calls: list[LineRedis] = []

    def always_fails(conn: LineRedis) -> None:
        calls.append(conn)
        raise ConnectionResetError("boom")

    with pytest.raises(MaximumRetryException) as info:
        pool.execute(always_fails)
    assert len(calls) == 3
    assert len(set(map(id, calls))) == 3  # each attempt on a fresh connection
    assert isinstance(info.value.__cause__, ConnectionResetError)
    assert pool.checkedout() == 0


def test_max_retries_zero_never_retries(make_pool: Any) -> None:
    pool = make_pool(pool_size=1, max_retries=0)
    calls: list[int] = []

    def fails(conn: LineRedis) -> None:
        calls.append(1)
        raise ConnectionResetError

    with pytest.raises(MaximumRetryException):
        pool.execute(fails)
    assert calls == [1]


def test_unlimited_retries_are_bounded_by_retry_timeout(make_pool: Any) -> None:
    pool = make_pool(pool_size=1, max_retries=-1, retry_timeout=0.3)
    calls: list[int] = []

    def fails(conn: LineRedis) -> None:
        calls.append(1)
        raise EOFError

    with pytest.raises(MaximumRetryException, match="retry_timeout"):
        pool.execute(fails)
    assert len(calls) > 3


def test_other_exceptions_are_not_retried(make_pool: Any) -> None:
    pool = make_pool(pool_size=1)
    calls: list[int] = []

    def bad(conn: LineRedis) -> None:
        calls.append(1)
        raise KeyError("app bug")

    with pytest.raises(KeyError):
        pool.execute(bad)
    assert calls == [1]
    assert pool.checkedin() == 1


# ---------------------------------------------------------------------- stats, listeners


def test_stats_count_what_happened(make_pool: Any) -> None:
    pool = make_pool(pool_size=1)
    held = pool.get()
    with pytest.raises(NoConnectionAvailable):
        pool.get(timeout=0.05)
    waiter = gevent.spawn(pool.get)
    gevent.sleep(0.05)
    pool.put(held)
    pool.put(waiter.get(timeout=1))
    stats = pool.stats()
    assert stats["requests_num"] == 3  # the timed-out request counts (psycopg_pool's)
    assert stats["requests_queued"] == 2
    assert stats["requests_timeouts"] == 1
    assert stats["requests_errors"] == 1
    assert stats["requests_wait_ms"] >= 90
    assert stats["usage_ms"] >= 90
    assert stats["connections_num"] == 1
    assert stats["connections"] == 1 and stats["pool_available"] == 1
    assert stats["pool_in_use"] == 0 and stats["requests_waiting"] == 0


def test_every_listener_hook_fires(redis_server: Any) -> None:
    events: list[tuple[str, dict[str, Any]]] = []

    class Recorder:
        def __getattr__(self, name: str) -> Any:
            if name in greenpool.pool.HOOKS:
                return lambda event: events.append((name, event))
            raise AttributeError(name)

    dead = f"127.0.0.1:{closed_port()}"
    pool: Pool[LineRedis] = Pool(
        LineRedis, servers=[dead, redis_server.address], pool_size=1, recycle=2,
        listeners=[Recorder()], name="heard", use_local=False,
    )
    a = pool.get()
    with pytest.raises(NoConnectionAvailable):
        pool.get(timeout=0)
    pool.put(a)
    pool.put(pool.get())
    wait_until(lambda: any(n == "connection_recycled" for n, _ in events))
    pool.close()
    names = {name for name, _ in events}
    assert names == set(greenpool.pool.HOOKS)
    for _, event in events:
        assert event["pool_id"] == "heard" and event["pool_name"] == "heard"
        assert event["level"] in ("debug", "info", "warn", "error")
    created = next(e for n, e in events if n == "connection_created")
    assert created["server"] == redis_server.address


def test_a_raising_listener_is_logged_and_ignored(
    make_pool: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("listener bug")

    pool = make_pool(pool_size=1, listeners=[{"connection_checked_out": broken}])
    with caplog.at_level(logging.ERROR, logger="greenpool.pool"), pool.connection() as conn:
        assert conn.ping()
    assert "listener bug" in caplog.text
    assert pool.checkedin() == 1


def test_add_listener_later(make_pool: Any) -> None:
    seen: list[Any] = []
    pool = make_pool(pool_size=1)
    pool.add_listener({"connection_checked_in": seen.append})
    pool.put(pool.get())
    assert len(seen) == 1


# ---------------------------------------------------------------------- lifecycle, errors


def test_fill_dispose_and_close(make_pool: Any, fresh_redis: Any) -> None:
    redis_server = fresh_redis
    before = client_count(redis_server.address)
    pool: Pool[LineRedis] = Pool(
        lambda: LineRedis(redis_server.address), pool_size=3, prefill=False, use_local=True
    )
    pool.fill()
    assert pool.checkedin() == 3
    held = pool.get()
    pool.dispose()
    assert pool.checkedin() == 0 and pool.checkedout() == 1
    assert client_count(redis_server.address) == before + 1
    assert pool.get(timeout=1) is held  # use_local: same greenlet, same connection
    pool.put(held)
    pool.put(held)
    pool.close()
    waiter_pool = make_pool(pool_size=1)
    taken = waiter_pool.get()
    waiter = gevent.spawn(waiter_pool.get)
    gevent.sleep(0.01)
    waiter_pool.close()
    with pytest.raises(PoolClosed):
        waiter.get(timeout=1)
    with pytest.raises(PoolClosed):
        gevent.spawn(waiter_pool.get).get(timeout=1)
    waiter_pool.put(taken)
    assert taken.closed


def test_pool_as_context_manager(redis_server: Any) -> None:
    with Pool(lambda: LineRedis(redis_server.address), pool_size=1) as pool:
        conn = pool.get()
        pool.put(conn)
    assert pool.closed and conn.closed


def test_returning_twice_or_a_stranger_is_an_error(make_pool: Any, redis_server: Any) -> None:
    pool = make_pool(pool_size=1)
    conn = pool.get()
    pool.put(conn)
    with pytest.raises(InvalidRequestError, match="twice"):
        pool.put(conn)
    stranger = LineRedis(redis_server.address)
    with pytest.raises(InvalidRequestError, match="not checked out from this pool"):
        pool.put(stranger)
    stranger.close()


def test_repr_shows_state(make_pool: Any) -> None:
    pool = make_pool(pool_size=2, name="shown")
    with pool.connection():
        assert repr(pool).startswith("<Pool 'shown' open size=2 in_use=1")


# ---------------------------------------------------------------------- fork


def test_a_forked_child_forgets_inherited_connections_without_touching_them(
    redis_server: Any,
) -> None:
    pool: Pool[LineRedis] = Pool(lambda: LineRedis(redis_server.address), pool_size=2)
    inherited = [e.conn for e in pool._idle]
    for conn in inherited:
        conn.call("CLIENT", "SETNAME", f"parent{conn.id}")
    pid = gevent.fork()  # what os.fork is in a monkey-patched (gunicorn, Celery) process
    if pid == 0:  # child
        code = 1
        try:
            assert pool.checkedin() == 0 and pool.stats()["connections"] == 0
            with pool.connection() as conn:
                assert conn not in inherited and conn.ping()
                names = conn.call("CLIENT", "LIST").decode()
                assert all(f"name=parent{c.id}" in names for c in inherited)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's connections still work: the child wrote nothing on them.
    for conn in inherited:
        assert conn.call("CLIENT", "GETNAME") == f"parent{conn.id}".encode()
    pool.close()


def test_a_connection_held_across_fork_can_be_returned_in_the_child(redis_server: Any) -> None:
    # A connection checked out across fork() can be given back in the child harmlessly.
    pool: Pool[LineRedis] = Pool(lambda: LineRedis(redis_server.address), pool_size=1)
    with pool.connection() as conn:
        pid = gevent.fork()  # what os.fork is in a monkey-patched (gunicorn, Celery) process
        if pid == 0:
            try:
                pool.put(conn)  # forgotten: ignored, not an error
                os._exit(0 if pool.checkedin() == 0 else 1)
            except BaseException:
                os._exit(2)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert conn.ping()
    pool.close()
