"""A caller's own ``gevent.Timeout`` reaches that caller, unchanged, at every entry point.

The promise of docs/reliability.md, "Timeouts and cancellation": whatever
blocking call a greenlet makes, a ``gevent.Timeout`` it started (raising
itself, raising an exception of its own, or silent with ``False``) ends the
call with exactly that timeout; greenpool never turns it into one of its
errors, never lets it escape a ``with gevent.Timeout(x, False)`` block as
something else, and never gives it to another caller.  The callers whose
timeout did not fire get their own results.

Each property test starts many callers at once on a client or pool made
for the example (so first connects, waits in line and hand-overs are all
exercised), each under a timeout drawn at random.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gevent
import pytest
from helpers import LineRedis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenpool import Pool
from greenpool.pool import ConnectionManager, DefaultAddressProvider
from greenpool.redis import Redis
from greenpool.testing import RedisServer, TarantoolServer

pytestmark = pytest.mark.chaos

EXAMPLES = settings(
    max_examples=6, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class OwnTimeout(Exception):
    """What a caller's own ``gevent.Timeout(t, OwnTimeout(i))`` raises."""


@dataclass
class Outcomes:
    """What the callers saw."""

    done: int = 0
    timed_out: int = 0
    wrong_result: list[Any] = field(default_factory=list)
    wrong_exception: list[BaseException] = field(default_factory=list)
    hung: int = 0


def storm(call: Callable[[int], Any], expect: Callable[[int, Any], bool], rng: random.Random,
          callers: int = 200) -> Outcomes:
    """Run ``callers`` greenlets, each ``call(i)`` under a random timeout of its own."""
    seen = Outcomes()

    def check(i: int, result: Any) -> None:
        if expect(i, result):
            seen.done += 1
        else:
            seen.wrong_result.append((i, result))

    def caller(i: int, kind: str, seconds: float) -> None:
        if kind == "none":
            try:
                check(i, call(i))
            except BaseException as exc:
                seen.wrong_exception.append(exc)
        elif kind == "raise":
            timer = gevent.Timeout(seconds)
            timer.start()
            try:
                check(i, call(i))
            except gevent.Timeout as exc:
                if exc is timer:
                    seen.timed_out += 1
                else:
                    seen.wrong_exception.append(exc)
            except BaseException as exc:
                seen.wrong_exception.append(exc)
            finally:
                timer.close()
        elif kind == "own":
            mine = OwnTimeout(i)
            try:
                with gevent.Timeout(seconds, mine):
                    check(i, call(i))
            except OwnTimeout as exc:
                if exc is mine:
                    seen.timed_out += 1
                else:
                    seen.wrong_exception.append(exc)
            except BaseException as exc:
                seen.wrong_exception.append(exc)
        else:  # "silent": with gevent.Timeout(t, False)
            finished = False
            try:
                with gevent.Timeout(seconds, False):
                    result = call(i)
                    finished = True
                if finished:
                    check(i, result)
                else:
                    seen.timed_out += 1
            except BaseException as exc:
                seen.wrong_exception.append(exc)

    glets = []
    for i in range(callers):
        kind = rng.choice(["none", "raise", "own", "silent"])
        seconds = rng.choice([0, 0.0002, 0.001, 0.003, 0.01, 0.05])
        glets.append(gevent.spawn(caller, i, kind, seconds))
        if rng.random() < 0.1:
            gevent.sleep(0)
    gevent.joinall(glets, timeout=30)
    seen.hung = sum(1 for g in glets if not g.dead)
    gevent.killall(glets)
    return seen


def assert_clean(seen: Outcomes) -> None:
    assert seen.hung == 0, "callers hung"
    assert seen.wrong_exception == []
    assert seen.wrong_result == []
    assert seen.done > 0


# --------------------------------------------------------------------------- servers

@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tarantool() -> Iterator[TarantoolServer]:
    server = TarantoolServer(lua="function echo(v) return v end")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _echoes(i: int, result: Any) -> bool:
    return bool(result == str(i).encode() or result == str(i))


# --------------------------------------------------------------------------- Redis


@given(rng=st.randoms(use_true_random=False))
@EXAMPLES
def test_redis_shared_commands_on_a_fresh_client(redis: RedisServer, rng: random.Random) -> None:
    r = Redis(port=redis.port)  # not connected: the first callers wait for the connect
    try:
        assert_clean(storm(lambda i: r.echo(str(i)), _echoes, rng))
    finally:
        r.close()


@given(rng=st.randoms(use_true_random=False))
@EXAMPLES
def test_redis_pipelines_and_blocking_commands(redis: RedisServer, rng: random.Random) -> None:
    r = Redis(port=redis.port, max_connections=8, pool_timeout=5)
    key = f"list-{rng.random()}"
    r.rpush(key, *range(1000))

    def call(i: int) -> Any:
        if i % 2:
            with r.pipeline() as pipe:
                return pipe.echo(str(i)).echo(str(i)).execute()
        return r.blpop([key], timeout=1)

    def expect(i: int, result: Any) -> bool:
        if i % 2:
            return bool(result == [str(i).encode()] * 2)
        return bool(result is not None and result[0] == key.encode() and result[1].isdigit())

    try:
        assert_clean(storm(call, expect, rng, callers=100))
    finally:
        r.delete(key)
        r.close()


@given(rng=st.randoms(use_true_random=False))
@EXAMPLES
def test_redis_pubsub(redis: RedisServer, rng: random.Random) -> None:
    r = Redis(port=redis.port)

    def call(i: int) -> Any:
        with r.pubsub() as ps:
            ps.subscribe(f"ch{i}")
            return ps.get_message(timeout=2)

    def expect(i: int, message: Any) -> bool:
        return bool(message and message["type"] == "subscribe"
                    and message["channel"] == f"ch{i}".encode())

    try:
        assert_clean(storm(call, expect, rng, callers=60))
    finally:
        r.close()


# --------------------------------------------------------------------------- Tarantool


@given(rng=st.randoms(use_true_random=False))
@EXAMPLES
def test_tarantool_connection_and_lazy_pool(tarantool: TarantoolServer,
                                            rng: random.Random) -> None:
    from greenpool.tarantool import Connection, ConnectionPool, Mode

    conn = Connection("127.0.0.1", tarantool.port, connect_now=False)
    pool = ConnectionPool([{"host": "127.0.0.1", "port": tarantool.port}], connect_now=False)

    def call(i: int) -> Any:
        if i % 2:
            return conn.call("echo", str(i)).data[0]
        return pool.call("echo", str(i), mode=Mode.ANY).data[0]

    try:
        assert_clean(storm(call, _echoes, rng))
    finally:
        conn.close()
        pool.close()


def test_a_lazy_tarantool_pool_whose_first_caller_is_interrupted_serves_the_others(
    tarantool: TarantoolServer,
) -> None:
    from greenpool.tarantool import ConnectionPool, Mode

    for _ in range(5):
        pool = ConnectionPool([{"host": "127.0.0.1", "port": tarantool.port}],
                              connect_now=False)
        first = gevent.spawn(pool.call, "echo", "first", mode=Mode.ANY)
        gevent.sleep(0)  # the first caller starts connecting the pool
        others = [gevent.spawn(pool.call, "echo", str(i), mode=Mode.ANY) for i in range(20)]
        gevent.sleep(0)
        first.kill()
        gevent.joinall(others, timeout=10)
        assert [g.get().data for g in others] == [[str(i)] for i in range(20)]
        pool.close()


# --------------------------------------------------------------------------- checkout pools


@given(rng=st.randoms(use_true_random=False))
@EXAMPLES
def test_checkout_pool_waiting_in_line(redis: RedisServer, rng: random.Random) -> None:
    # An application's exception raised by its timer mid-call returns the
    # connection to the pool (it is an Exception): ``reset`` must refuse it.
    pool: Pool[LineRedis] = Pool(lambda: LineRedis(redis.address), pool_size=3,
                                 max_overflow=2, pool_timeout=10, reset=LineRedis.assert_clean)

    def call(i: int) -> Any:
        with pool.connection() as conn:
            return conn.call("ECHO", str(i))

    try:
        assert_clean(storm(call, _echoes, rng))
        stats = pool.stats()
        assert stats["connections"] <= 5
    finally:
        pool.close()


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
@given(rng=st.randoms(use_true_random=False))
@EXAMPLES
def test_postgres_pool(postgres_server: Any, driver: str, rng: random.Random) -> None:
    from greenpool.postgres import PostgresPool

    pool = PostgresPool(postgres_server.dsn, pool_size=4, max_overflow=0, pool_timeout=10,
                        prefill=False, driver=driver)

    def call(i: int) -> Any:
        with pool.cursor() as cur:
            cur.execute("SELECT %s", (str(i),))
            return cur.fetchone()[0]

    try:
        assert_clean(storm(call, _echoes, rng, callers=100))
    finally:
        pool.close()


# --------------------------------------------------------------------------- ConnectionManager


def _manager(*addresses: str, stall: str | None = None) -> ConnectionManager:
    """A manager of plain RESP connections; connecting to ``stall`` takes 5 s."""
    from greenpool.redis._codec import RespCodec
    from greenpool.transport import Connection

    def new_connection(address: Any) -> Connection:
        if str(address) == stall:
            gevent.sleep(5)
        return Connection(address, codec=RespCodec, connect_timeout=5)

    return ConnectionManager(
        new_connection, address_provider=DefaultAddressProvider(list(addresses))
    )


def test_connect_to_any_tries_the_next_address_when_one_is_too_slow(
    redis: RedisServer, tcp_proxy: Any
) -> None:
    slow = tcp_proxy(redis).address
    manager = _manager(slow, redis.address, stall=slow)
    conn = manager.connect_to_any(timeout=0.3)
    assert str(conn.address) == redis.address
    manager.shutdown()


@given(rng=st.randoms(use_true_random=False))
@EXAMPLES
def test_connection_manager(redis: RedisServer, rng: random.Random) -> None:
    from greenpool.protocol.resp import encode_command

    manager = _manager(redis.address)

    def call(i: int) -> Any:
        conn = manager.connect_to_any(timeout=5)
        return conn.request(encode_command("ECHO", str(i)))

    try:
        assert_clean(storm(call, _echoes, rng))
    finally:
        manager.shutdown()
