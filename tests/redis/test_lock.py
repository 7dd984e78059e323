"""``Redis.lock()``: redis-py's Lock semantics, green, against a real server.

Contention among greenlets, timeouts, extend/reacquire, ownership per
greenlet, and the errors redis-py raises; redis-py's own Lock and ours
exclude each other on the same key (both hold it with ``SET NX PX``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import gevent
import pytest
import redis
import redis.lock

from greenpool.redis import Redis
from greenpool.redis.exceptions import LockError, LockNotOwnedError
from greenpool.redis.lock import Lock
from greenpool.testing import RedisServer


@pytest.fixture(params=[(2, False), (3, True)], ids=["resp2-bytes", "resp3-str"])
def r(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[Redis]:
    protocol, decode = request.param
    client = Redis(host=redis_server.host, port=redis_server.port, protocol=protocol,
                   decode_responses=decode)
    yield client
    client.close()


@pytest.fixture
def name(r: Redis) -> Iterator[str]:
    key = f"gp-lock:{uuid.uuid4().hex[:10]}"
    yield key
    r.delete(key)


def now() -> float:
    return float(gevent.get_hub().loop.now())


def test_acquire_release_locked_owned(r: Redis, name: str) -> None:
    lock = r.lock(name, timeout=5)
    assert isinstance(lock, Lock)
    assert not lock.locked() and not lock.owned()
    assert lock.acquire() is True
    assert lock.locked() and lock.owned()
    assert 0 < r.pttl(name) <= 5000
    assert r.lock(name).acquire(blocking=False) is False  # another token
    lock.release()
    assert not lock.locked()
    with pytest.raises(LockError, match="not owned") as caught:
        lock.release()
    assert caught.value.lock_name == name
    assert r.lock(name).acquire(token="mine") is True
    assert r.get(name) in (b"mine", "mine")


def test_contention_among_greenlets_is_mutually_exclusive(r: Redis, name: str) -> None:
    counter = f"{name}:n"
    inside = []

    def work() -> None:
        with r.lock(name, timeout=5, sleep=0.005):
            inside.append(1)
            assert len(inside) == 1  # nobody else in here
            value = int(r.get(counter) or 0)
            gevent.sleep(0.002)  # others try meanwhile
            r.set(counter, value + 1)
            inside.pop()

    gevent.joinall([gevent.spawn(work) for _ in range(15)], raise_error=True)
    assert int(r.get(counter)) == 15
    r.delete(counter)


def test_blocking_timeout_and_non_blocking(r: Redis, name: str) -> None:
    holder = r.lock(name, timeout=5)
    assert holder.acquire()
    start = now()
    assert r.lock(name, blocking_timeout=0.2, sleep=0.05).acquire() is False
    # Gives up once the next attempt would come after the deadline, as redis-py's does.
    assert 0.15 <= now() - start < 2
    assert r.lock(name, blocking=False).acquire() is False
    start = now()
    assert r.lock(name).acquire(blocking=False) is False
    assert now() - start < 0.1
    with pytest.raises(LockError, match="Unable to acquire"), r.lock(name, blocking_timeout=0.05):
        pass
    # A waiter gets it once it is released.
    waiter = gevent.spawn(r.lock(name, sleep=0.01, blocking_timeout=5).acquire)
    gevent.sleep(0.05)
    assert not waiter.ready()
    holder.release()
    assert waiter.get(timeout=5) is True


def test_an_expired_lock_taken_by_another_is_not_released_or_extended(
    r: Redis, name: str
) -> None:
    lock = r.lock(name, timeout=0.05, sleep=0.01)
    assert lock.acquire()
    gevent.sleep(0.1)
    other = r.lock(name, timeout=5)
    assert other.acquire(blocking=False)
    with pytest.raises(LockNotOwnedError):
        lock.extend(1)
    with pytest.raises(LockNotOwnedError):
        lock.reacquire()
    with pytest.raises(LockNotOwnedError):
        lock.release()
    assert other.owned()  # untouched
    other.release()


def test_extend_and_reacquire(r: Redis, name: str) -> None:
    lock = r.lock(name, timeout=1)
    with pytest.raises(LockError, match="unlocked"):
        lock.extend(1)
    with pytest.raises(LockError, match="unlocked"):
        lock.reacquire()
    assert lock.acquire()
    assert lock.extend(10) is True
    assert 10000 < r.pttl(name) <= 11000
    assert lock.extend(3, replace_ttl=True) is True
    assert 2000 < r.pttl(name) <= 3000
    assert lock.reacquire() is True
    assert 0 < r.pttl(name) <= 1000 < r.pttl(name) + 1000
    lock.release()
    forever = r.lock(name)
    assert forever.acquire()
    with pytest.raises(LockError, match="no timeout"):
        forever.extend(1)
    with pytest.raises(LockError, match="no timeout"):
        forever.reacquire()
    forever.release()


def test_token_is_per_greenlet_unless_thread_local_is_off(r: Redis, name: str) -> None:
    shared = r.lock(name, timeout=5)
    assert shared.acquire()
    other_greenlet = gevent.spawn(shared.release)
    other_greenlet.join()
    assert isinstance(other_greenlet.exception, LockError)
    assert shared.owned()
    shared.release()

    plain = r.lock(name, timeout=5, thread_local=False)
    assert plain.acquire()
    gevent.spawn(plain.release).get()
    assert not plain.locked()


def test_release_errors_in_with_blocks(r: Redis, name: str) -> None:
    with pytest.raises(LockNotOwnedError), r.lock(name, timeout=5):
        r.delete(name)
    with r.lock(name, timeout=5, raise_on_release_error=False):
        r.delete(name)  # only logged
    with pytest.raises(LockError, match="sleep"):
        r.lock(name, timeout=0.1, sleep=1)


def test_an_interrupted_release_keeps_the_token_so_release_can_be_called_again(
    r: Redis, name: str, redis_server: RedisServer
) -> None:
    # With no lock timeout, a release lost to the caller's Timeout would
    # leave the key held for ever by a token nobody has any more.
    lock = r.lock(name)
    assert lock.acquire(blocking=False)
    admin = Redis(host=redis_server.host, port=redis_server.port)
    admin.execute_command("CLIENT", "PAUSE", 300, "ALL")
    admin.close()
    with pytest.raises(gevent.Timeout), gevent.Timeout(0.1):
        lock.release()
    gevent.sleep(0.3)  # the pause ends; the abandoned release may have run or not
    if lock.locked():
        assert lock.owned()
        lock.release()
    else:
        with pytest.raises(LockNotOwnedError):
            lock.release()  # it ran: the token is dropped now
    assert not lock.locked() and not lock.owned()
    with pytest.raises(LockError):
        lock.release()


def test_lock_class_is_used(r: Redis, name: str) -> None:
    class Mine(Lock):
        pass

    assert type(r.lock(name, lock_class=Mine)) is Mine


def test_excludes_and_is_excluded_by_redis_pys_lock(
    r: Redis, name: str, redis_server: RedisServer
) -> None:
    theirs = redis.Redis(host=redis_server.host, port=redis_server.port)
    try:
        mine = r.lock(name, timeout=5)
        assert mine.acquire()
        assert theirs.lock(name).acquire(blocking=False) is False
        mine.release()
        reference = theirs.lock(name, timeout=5)
        assert reference.acquire()
        assert r.lock(name).acquire(blocking=False) is False
        assert r.lock(name).locked()
        reference.release()
    finally:
        theirs.close()


def test_lock_has_redis_pys_signatures() -> None:
    from test_signatures import render

    theirs = redis.lock.Lock
    public = [n for n in dir(theirs) if not n.startswith("_") and callable(getattr(theirs, n))]
    for method in [*public, "__init__", "__enter__", "__exit__"]:
        if method.lower().startswith("lua_") or method == "register_scripts":
            continue  # redis-py's script registry: greenpool's scripts are its own
        assert render(getattr(Lock, method)) == render(getattr(theirs, method)), method


def test_a_waiter_killed_or_timed_out_takes_nothing(r: Redis, name: str) -> None:
    holder = r.lock(name, timeout=5)
    assert holder.acquire()
    waiter = r.lock(name, timeout=5, sleep=0.01)
    glet = gevent.spawn(waiter.acquire)
    gevent.sleep(0.05)
    glet.kill()
    with pytest.raises(gevent.Timeout), gevent.Timeout(0.05):
        waiter.acquire()
    holder.release()
    assert not r.lock(name).locked()
    assert not waiter.owned()
