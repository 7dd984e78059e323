"""greenpool.integrations.shutdown, and the gunicorn module's settings and hooks, in-process.

``close_all()`` closes every greenpool pool of the process, so the tests
that call it run in a forked child (``in_child``): the test process keeps
its own.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest
from helpers import LineRedis, client_count, in_child, wait_until

from greenpool import Pool
from greenpool.integrations import gunicorn, shutdown
from greenpool.redis import Redis


class _Closable:
    def __init__(self, log: list[str], name: str, fail: bool = False) -> None:
        self.log, self.name, self.fail = log, name, fail

    def close(self) -> None:
        self.log.append(self.name)
        if self.fail:
            raise RuntimeError("close failed")


def test_register_wants_a_close_method() -> None:
    with pytest.raises(TypeError, match="no close"):
        shutdown.register(object())


@pytest.fixture
def empty_registry() -> Any:
    """The registry emptied for the test (modules imported by other tests register clients)."""
    kept = shutdown.registered_objects()
    for obj in kept:
        shutdown.unregister(obj)
    yield
    for obj in kept:
        shutdown.register(obj)


def test_close_all_closes_registered_objects_newest_first_despite_errors(
    caplog: Any, empty_registry: None
) -> None:
    order: list[str] = []
    a = shutdown.register(_Closable(order, "a"))
    shutdown.register(_Closable(order, "b", fail=True))
    shutdown.register(_Closable(order, "c"))
    shutdown.register(a)  # again: still once
    with caplog.at_level(logging.ERROR, logger="greenpool.shutdown"):
        assert shutdown.close_all(everything=False) == 2
    assert order == ["c", "b", "a"]
    assert "closing _Closable failed" in caplog.text
    assert shutdown.registered_objects() == []
    shutdown.register(_Closable(order, "d"))
    shutdown.unregister(shutdown.registered_objects()[0])
    assert shutdown.close_all(everything=False) == 0


def test_close_all_closes_every_greenpool_pool_and_client_unregistered(
    fresh_redis: Any,
) -> None:
    address = fresh_redis.address
    before = client_count(address)

    def check() -> bool:
        r = Redis(port=fresh_redis.port)
        pool: Pool[LineRedis] = Pool(lambda: LineRedis(address), pool_size=2)
        r.ping()
        with pool.connection():
            wait_until(lambda: pool.checkedin() == 1)
        wait_until(lambda: client_count(address) == before + 4)
        closed = shutdown.close_all()
        wait_until(lambda: client_count(address) == before)
        return closed >= 2 and pool.closed and r.shared_pool.closed

    in_child(check)


def test_close_all_leaves_alone_what_only_forgets_its_state_at_fork(fresh_redis: Any) -> None:
    """A Lock (a token to forget in a child) has nothing to close: close_all()
    neither calls a missing close() on it nor logs an error for it."""
    r = Redis(port=fresh_redis.port)
    lock = r.lock("shutdown-lock")
    errors: list[logging.LogRecord] = []

    def check() -> bool:
        handler = logging.Handler(logging.ERROR)
        handler.emit = errors.append  # type: ignore[method-assign]
        logging.getLogger("greenpool").addHandler(handler)
        shutdown.close_all()
        return errors == [] and r.shared_pool.closed

    in_child(check)
    assert lock.acquire(blocking=False)  # the parent's client and lock are untouched
    lock.release()
    r.close()


def test_the_gunicorn_module_sets_only_its_hooks_and_the_worker_class() -> None:
    from gunicorn.config import Config

    cfg = Config()
    names = [n for n in vars(gunicorn) if n in cfg.settings]
    assert sorted(names) == ["post_fork", "when_ready", "worker_class", "worker_exit"]


def test_worker_exit_does_nothing_in_the_master(fresh_redis: Any) -> None:
    class Log:
        def info(self, *args: Any) -> None:
            raise AssertionError("worker_exit acted in the master")

    class Server:
        log = Log()

    class Worker:
        pid = os.getpid() + 1  # a worker that is not this process

    pool: Pool[LineRedis] = Pool(lambda: LineRedis(fresh_redis.address), pool_size=1)
    gunicorn.worker_exit(Server(), Worker())
    assert not pool.closed
    pool.close()


@pytest.mark.parametrize(
    ("pool", "level", "text"),
    [
        ("threads", logging.ERROR, "'threads' pool is not supported"),
        ("eventlet", logging.ERROR, "'eventlet' pool is not supported"),
        ("gevent", logging.WARNING, "not monkey-patched"),  # this process is not patched
    ],
)
def test_celery_worker_init_flags_unsupported_and_unpatched_pools(
    caplog: Any, pool: str, level: int, text: str
) -> None:
    from celery.concurrency import get_implementation

    from greenpool.integrations import celery as greenpool_celery

    class Worker:
        pool_cls = get_implementation(pool) if pool != "eventlet" else pool

    with caplog.at_level(logging.DEBUG, logger="greenpool.celery"):
        greenpool_celery._on_worker_init(sender=Worker())
    assert [r.levelno for r in caplog.records] == [level]
    assert text in caplog.text


def test_celery_worker_init_is_quiet_for_prefork_and_solo(caplog: Any) -> None:
    from celery.concurrency import get_implementation

    from greenpool.integrations import celery as greenpool_celery

    for pool in ("prefork", "solo"):
        class Worker:
            pool_cls = get_implementation(pool)

        greenpool_celery._on_worker_init(sender=Worker())
    assert caplog.records == []
