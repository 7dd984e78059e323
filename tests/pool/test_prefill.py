"""``prefill`` opens nothing until first use, in the process that uses the pool.

A pool made at import in a gunicorn ``--preload`` master, or before
Celery's prefork pool forks, must not hold connections in the parent: the
first checkout in a process starts the fill there.  ``fill()`` is the
explicit warm-up.  Counted on the server (``CLIENT LIST``), not only in the
pool's books.
"""

from __future__ import annotations

import socket as stdsocket
import sqlite3
from typing import Any

import gevent
import pytest
from helpers import LineRedis, client_count, in_child, wait_until

from greenpool import Pool
from greenpool.dbapi import DBAPIPool


def _closed_port() -> int:
    with stdsocket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_prefilled_pool_opens_nothing_until_its_first_checkout(fresh_redis: Any) -> None:
    address = fresh_redis.address
    before = client_count(address)
    pool = Pool(lambda: LineRedis(address), pool_size=3)
    try:
        gevent.sleep(0.05)
        assert client_count(address) == before
        assert pool.stats()["connections"] == 0
        with pool.connection() as conn:  # the caller gets its connection at once...
            assert conn.ping()
            # ...and the other two open in the background.
            wait_until(lambda: pool.checkedin() == 2)
            assert client_count(address) == before + 3
        assert pool.checkedin() == 3
        assert pool.stats()["connections_num"] == 3
    finally:
        pool.close()
    assert client_count(address) == before


def test_prefill_errors_show_at_the_first_checkout_not_at_construction() -> None:
    port = _closed_port()
    pool: Pool[Any] = Pool(lambda: stdsocket.create_connection(("127.0.0.1", port)),
                           pool_size=3)
    try:
        assert pool.stats()["connections_errors"] == 0
        with pytest.raises(ConnectionRefusedError):
            pool.get()
        assert pool.stats()["connections"] == 0  # the slot was given back
    finally:
        pool.close()


def test_a_failed_first_connect_leaves_the_fill_for_the_next_one(fresh_redis: Any) -> None:
    address = fresh_redis.address
    fail = [True]

    def connect() -> LineRedis:
        if fail[0]:
            raise ConnectionRefusedError("not yet")
        return LineRedis(address)

    pool = Pool(connect, pool_size=3)
    try:
        with pytest.raises(ConnectionRefusedError):
            pool.get()
        fail[0] = False
        with pool.connection():
            wait_until(lambda: pool.checkedin() == 2)
    finally:
        pool.close()


def test_fill_opens_pool_size_now_and_raises_connect_errors(fresh_redis: Any) -> None:
    address = fresh_redis.address
    before = client_count(address)
    pool = Pool(lambda: LineRedis(address), pool_size=3, prefill=False)
    try:
        pool.fill()
        assert pool.checkedin() == 3
        assert client_count(address) == before + 3
    finally:
        pool.close()
    port = _closed_port()
    failing: Pool[Any] = Pool(lambda: stdsocket.create_connection(("127.0.0.1", port)))
    with pytest.raises(ConnectionRefusedError):
        failing.fill()
    assert not failing.closed and failing.stats()["connections"] == 0
    failing.close()


def test_prefill_false_opens_only_what_callers_use(fresh_redis: Any) -> None:
    address = fresh_redis.address
    pool = Pool(lambda: LineRedis(address), pool_size=3, prefill=False)
    try:
        with pool.connection():
            gevent.sleep(0.05)
            assert pool.stats()["connections"] == 1
    finally:
        pool.close()


def test_a_pool_made_before_fork_opens_nothing_in_the_parent_and_fills_in_the_child(
    fresh_redis: Any,
) -> None:
    address = fresh_redis.address
    before = client_count(address)
    pool = Pool(lambda: LineRedis(address), pool_size=3)

    def check() -> bool:
        with pool.connection() as conn:
            conn.ping()
            wait_until(lambda: pool.checkedin() == 2)
        return client_count(address) == before + 3

    in_child(check)
    assert pool.stats()["connections"] == 0
    wait_until(lambda: client_count(address) == before)  # the child's closed at its exit
    pool.close()


def test_a_pool_used_before_fork_fills_its_own_in_the_child(fresh_redis: Any) -> None:
    address = fresh_redis.address
    before = client_count(address)
    pool = Pool(lambda: LineRedis(address), pool_size=3)
    with pool.connection():
        wait_until(lambda: pool.checkedin() == 2)

    def check() -> bool:
        assert pool.stats()["connections"] == 0  # the parent's three were severed
        with pool.connection():
            wait_until(lambda: pool.checkedin() == 2)
        return client_count(address) == before + 6  # the parent's three, the child's three

    in_child(check)
    assert pool.checkedin() == 3
    with pool.connection() as conn:
        assert conn.ping()
    pool.close()


def test_a_dbapi_pool_fills_on_first_use() -> None:
    pool = DBAPIPool(lambda: sqlite3.connect(":memory:", check_same_thread=False), pool_size=3)
    try:
        assert pool.stats()["connections"] == 0
        with pool.cursor() as cur:
            cur.execute("SELECT 1")
        wait_until(lambda: pool.checkedin() == 3)
    finally:
        pool.close()
