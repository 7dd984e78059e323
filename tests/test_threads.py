"""A connection or pool used from another OS thread: WrongThreadError, and nothing done.

This test process is not monkey-patched, so ``threading.Thread`` is a real
OS thread with a gevent hub of its own.  Before the check, such a call
queued its request on the other thread's connection and then failed with
greenlet's "Cannot switch to a different thread"; a checkout pool changed
its books from two threads without a lock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest
from helpers import wait_child

from greenpool import Pool, WrongThreadError
from greenpool.postgres import PostgresPool
from greenpool.redis import Redis
from greenpool.tarantool import ConnectionPool, Mode
from greenpool.testing import PostgresServer, RedisServer, TarantoolServer


def in_thread(call: Callable[[], Any]) -> Any:
    """Run ``call()`` in a new OS thread; return what it returned or raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the call hung in the other thread"
    return outcome[0]


def assert_wrong_thread(outcome: Any, what: str) -> None:
    assert isinstance(outcome, WrongThreadError), outcome
    assert isinstance(outcome, RuntimeError)
    assert what in str(outcome) and "nothing was done" in str(outcome)


def test_redis_calls_from_another_thread_raise_and_send_nothing(
    redis_server: RedisServer,
) -> None:
    r = Redis(port=redis_server.port)
    try:
        r.delete("threads:a", "threads:b")
        assert r.set("threads:a", 1)
        pipe = r.pipeline()  # the exclusive connections' pool: this thread's too
        assert pipe.get("threads:a").execute() == [b"1"]
        assert_wrong_thread(in_thread(lambda: r.set("threads:b", 2)), "connection redis")
        assert_wrong_thread(in_thread(lambda: r.get("threads:a")), "connection redis")
        assert_wrong_thread(in_thread(lambda: r.mget(["threads:a"] * 3)), "connection redis")
        outcome = in_thread(lambda: r.pipeline().set("threads:b", 3).execute())
        assert_wrong_thread(outcome, "pool")
        # Nothing reached the server, nothing is left queued, and the
        # client goes on in its own thread.
        assert r.get("threads:b") is None
        assert r.set("threads:a", 4) and r.get("threads:a") == b"4"
        assert r.pipeline().incr("threads:a").execute() == [5]
        assert all(c.pending == 0 for c in r._node._shared.connections)
    finally:
        r.close()


def test_a_pubsub_read_from_another_thread_raises_instead_of_hanging(
    redis_server: RedisServer,
) -> None:
    r = Redis(port=redis_server.port)
    p = r.pubsub()
    try:
        p.subscribe("threads:ch")
        assert p.get_message(timeout=1)["type"] == "subscribe"
        # listen() used to wait in the other thread for ever: the messages
        # are queued in this thread's hub.
        assert_wrong_thread(in_thread(lambda: next(p.listen())), "redis pubsub")
        assert_wrong_thread(in_thread(lambda: p.get_message(timeout=0.2)), "redis pubsub")
        assert_wrong_thread(in_thread(lambda: p.subscribe("threads:other")), "connection")
        assert r.publish("threads:ch", "hi") == 1
        message = p.get_message(timeout=1)
        assert message is not None and message["data"] == b"hi"
        assert p.get_message(timeout=0.1) is None  # no confirmation of threads:other
    finally:
        p.close()
        r.close()


def test_a_redis_client_first_used_in_another_thread_is_that_threads(
    redis_server: RedisServer,
) -> None:
    r = Redis(port=redis_server.port)
    try:
        assert in_thread(lambda: r.set("threads:c", 1)) is True
        assert in_thread(lambda: r.set("threads:c", 2)) is not True  # a third thread
        assert_wrong_thread(in_thread(lambda: r.get("threads:c")), "connection redis")
    finally:
        r.close()


def test_a_checkout_pool_belongs_to_the_thread_of_its_first_checkout() -> None:
    made: list[object] = []

    def connect() -> object:
        made.append(object())
        return made[-1]

    pool: Pool[object] = Pool(connect, pool_size=1, max_overflow=0, name="threads")
    try:
        with pool.connection() as conn:
            assert conn is made[0]
        outcome = in_thread(pool.get)
        assert_wrong_thread(outcome, "pool 'threads'")
        # Not waiting (timeout=0) and with every connection idle or not:
        # the thread is checked first, never a NoConnectionAvailable.
        assert_wrong_thread(in_thread(lambda: pool.get(timeout=0)), "pool 'threads'")
        with pool.connection():  # at the limit: a wait would time out at once
            assert_wrong_thread(in_thread(lambda: pool.get(timeout=0)), "pool 'threads'")
            assert pool.stats()["requests_timeouts"] == 0
        stats = pool.stats()
        assert stats["pool_in_use"] == 0 and stats["pool_available"] == 1
        assert stats["requests_errors"] == 3 and len(made) == 1
        with pool.connection() as conn:  # unchanged for its own thread
            assert conn is made[0]
    finally:
        pool.close()


def test_a_pool_forked_in_another_thread_belongs_to_the_child(
    redis_server: RedisServer,
) -> None:
    # The child's only thread is the one that forked: the pool, first used
    # in this thread, is the child's to use there.
    pool: Pool[object] = Pool(object, pool_size=1, name="forked")
    pool.put(pool.get())

    def fork_and_use() -> int:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                pool.put(pool.get())
                code = 0
            finally:
                os._exit(code)
        return wait_child(pid, timeout=10)

    try:
        assert in_thread(fork_and_use) == 0
    finally:
        pool.close()


def test_a_postgres_pool_used_from_another_thread_raises(
    postgres_server: PostgresServer,
) -> None:
    pool = PostgresPool(postgres_server.dsn, pool_size=1, name="pg-threads")
    try:
        with pool.connection() as conn:
            conn.cursor().execute("SELECT 1")

        def query() -> Any:
            with pool.connection() as conn:
                cur = conn.cursor()
                cur.execute("SELECT 2")
                return cur.fetchone()

        assert_wrong_thread(in_thread(query), "pool 'pg-threads")
        assert query() == (2,)
        assert pool.stats()["pool_in_use"] == 0
    finally:
        pool.close()


def test_a_tarantool_pool_used_from_another_thread_raises(
    tarantool_server: TarantoolServer,
) -> None:
    pool = ConnectionPool([{"host": tarantool_server.host, "port": tarantool_server.port}])
    try:
        assert pool.eval("return 1", mode=Mode.ANY).data == [1]
        outcome = in_thread(lambda: pool.eval("return 2", mode=Mode.ANY))
        assert_wrong_thread(outcome, "connection")
        assert pool.eval("return 3", mode=Mode.ANY).data == [3]
    finally:
        pool.close()


@pytest.mark.parametrize("calls", [1, 50])
def test_nothing_is_left_pending_after_refused_calls(redis_server: RedisServer, calls: int) -> None:
    r = Redis(port=redis_server.port)
    try:
        r.ping()

        def many() -> Any:
            errors = 0
            for _ in range(calls):
                try:
                    r.incr("threads:n")
                except WrongThreadError:
                    errors += 1
            return errors

        r.delete("threads:n")
        assert in_thread(many) == calls
        assert r.get("threads:n") is None
        assert r.incr("threads:n") == 1
    finally:
        r.close()


def test_shared_connections_down_are_not_reconnected_from_another_thread(
    fresh_redis: RedisServer,
) -> None:
    r = Redis(port=fresh_redis.port)
    try:
        assert r.set("threads:d", 1)
        for conn in r._node._shared.connections:  # every shared connection down
            conn.close("down on purpose")
        # Another thread must not connect them in its hub (they would be its).
        assert_wrong_thread(in_thread(lambda: r.get("threads:d")), "pool redis-shared")
        assert r.get("threads:d") == b"1"  # this thread connects them again
    finally:
        r.close()


def test_a_fill_binds_the_pool_to_its_thread() -> None:
    pool: Pool[object] = Pool(object, pool_size=2, name="filled")
    try:
        pool.fill()
        assert_wrong_thread(in_thread(pool.get), "pool 'filled'")
        assert_wrong_thread(in_thread(pool.fill), "pool 'filled'")
        pool.put(pool.get())
    finally:
        pool.close()
