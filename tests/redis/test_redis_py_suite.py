"""What redis-py's own test suite found: each case cross-checked against redis-py.

These are the incompatibilities found by running redis-py's tests against
``greenpool.redis.Redis`` (docs/redis.md, "redis-py's own tests"); each test
runs the same steps through redis-py and through greenpool on one live server
and compares what they give (or raise).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import gevent
import pytest
import redis

from greenpool import ConfigurationError, ConnectionError
from greenpool.redis import Redis, WatchError
from greenpool.testing import RedisServer
from tests.helpers import poll_twice_without_yielding


@pytest.fixture
def ours(redis_server: RedisServer) -> Iterator[Redis]:
    client = Redis(host=redis_server.host, port=redis_server.port)
    yield client
    client.delete("t:rps:a", "t:rps:b", "t:rps:src", "t:rps:dst")
    client.close()


@pytest.fixture
def theirs(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(host=redis_server.host, port=redis_server.port, protocol=2)
    yield client
    client.close()


def _outcome(step: Callable[[], Any]) -> Any:
    """What a step gives, or the name of the error class it raises."""
    try:
        return step()
    except Exception as exc:  # the class's name: redis-py's and ours are distinct classes
        return ("raised", type(exc).__name__)


# ---------------------------------------------------------------------- pipelines


def _empty_watched_transaction(client: Any) -> Any:
    client.set("t:rps:a", 1)
    with client.pipeline() as pipe:
        pipe.watch("t:rps:a")
        client.set("t:rps:a", 2)  # another client's write: EXEC must fail
        pipe.multi()
        return _outcome(pipe.execute)


def test_an_empty_transaction_still_checks_the_watched_keys(ours: Redis,
                                                            theirs: redis.Redis) -> None:
    mine = _empty_watched_transaction(ours)
    assert mine == _empty_watched_transaction(theirs) == ("raised", "WatchError")
    with ours.pipeline() as pipe:  # unchanged keys: the empty transaction runs, gives []
        pipe.watch("t:rps:a")
        pipe.multi()
        assert pipe.execute() == []
        assert pipe.watching is False


def _discarded(client: Any, transaction: bool) -> Any:
    with client.pipeline(transaction=transaction) as pipe:
        pipe.set("t:rps:a", "x")
        pipe.discard()
        failed = _outcome(pipe.execute)
    with client.pipeline(transaction=transaction) as pipe:  # the pipeline works afterwards
        return failed, pipe.set("t:rps:b", "y").get("t:rps:b").execute(), client.get("t:rps:a")


@pytest.mark.parametrize("transaction", [True, False])
def test_discard_runs_nothing_and_execute_raises(ours: Redis, theirs: redis.Redis,
                                                 transaction: bool) -> None:
    theirs.delete("t:rps:a")
    reference = _discarded(theirs, transaction)
    theirs.delete("t:rps:a", "t:rps:b")
    assert _discarded(ours, transaction) == reference
    assert reference[0] == ("raised", "ResponseError")
    if transaction:
        assert reference[2] is None  # in a transaction nothing buffered ran


def test_close_resets_and_closing_works(ours: Redis) -> None:
    pipe = ours.pipeline()
    pipe.watch("t:rps:a")
    pipe.set("t:rps:a", 1)
    pipe.close()
    assert pipe.watching is False and len(pipe) == 0
    assert ours.dedicated_pool.checkedout() == 0
    with contextlib.closing(ours.pipeline()) as pipe:
        assert pipe.ping().execute() == [True]


def _unwatch_seen(client: Any, watched: Redis) -> bool:
    """Whether UNWATCH reached the server after a successful watched transaction."""
    with watched.monitor() as m:
        with client.pipeline() as pipe:
            pipe.watch("t:rps:a")
            pipe.multi()
            pipe.set("t:rps:b", 1)
            assert pipe.execute() == [True]
        watched.get("t:rps:marker")  # the end of the commands to look at
        while True:
            command = m.next_command(timeout=2)["command"]
            if "t:rps:marker" in command:
                return False
            if command.startswith("UNWATCH"):
                return True


def test_exec_forgets_the_watched_keys_without_an_unwatch(ours: Redis,
                                                          theirs: redis.Redis) -> None:
    assert _unwatch_seen(ours, ours) is _unwatch_seen(theirs, ours) is False
    with ours.pipeline() as pipe:  # a reset while watching still sends UNWATCH
        pipe.watch("t:rps:a")
        assert pipe.watching is True
    with pytest.raises(WatchError), ours.pipeline() as pipe:  # a change is still seen
        pipe.watch("t:rps:a")
        ours.set("t:rps:a", "changed")
        pipe.multi()
        pipe.get("t:rps:a")
        pipe.execute()


# ---------------------------------------------------------------------- MONITOR


def _monitored(monitoring: Any, client: Redis, *args: Any) -> dict[str, Any]:
    with monitoring.monitor() as m:  # MONITOR has started once the context is entered
        client.execute_command(*args)
        for _ in range(50):
            seen = m.next_command()
            if "t:rps:" in seen["command"]:
                return dict(seen)
    raise AssertionError("the command was not seen")


@pytest.mark.parametrize("args", [
    ("SET", "t:rps:a", "plain"),
    ("SET", "t:rps:a", 'with "quotes" and \\ a backslash'),
    ("SET", "t:rps:a b", "spaces in a key"),
    ("SET", "t:rps:a", b"\xff\x00binary"),
    ("SET", "t:rps:a", ""),
])
def test_monitor_gives_the_command_as_redis_py_does(ours: Redis, theirs: redis.Redis,
                                                    args: tuple[Any, ...]) -> None:
    mine = _monitored(ours, ours, *args)
    reference = _monitored(theirs, ours, *args)
    assert mine["command"] == reference["command"]
    assert (mine["db"], mine["client_address"]) == (reference["db"], reference["client_address"])
    ours.delete("t:rps:a b")


# ---------------------------------------------------------------------- commands


@pytest.mark.parametrize("wrap", [bytes, memoryview], ids=["bytes", "memoryview"])
def test_lmove_takes_directions_as_bytes(ours: Redis, theirs: redis.Redis,
                                         wrap: Callable[[bytes], Any]) -> None:
    results = []
    for client in (theirs, ours):
        client.delete("t:rps:src", "t:rps:dst")
        client.rpush("t:rps:src", "a", "b", "c")
        results.append((
            client.lmove("t:rps:src", "t:rps:dst", wrap(b"LEFT"), wrap(b"RIGHT")),
            client.blmove("t:rps:src", "t:rps:dst", 1, wrap(b"right"), wrap(b"left")),
            client.lrange("t:rps:dst", 0, -1),
        ))
    assert results[0] == results[1] == (b"a", b"c", [b"c", b"a"])


@pytest.mark.parametrize("call", [
    lambda c: c.hmset("t:rps:a", {"f": "v"}),
    lambda c: c.setex("t:rps:b", 10, "v"),
], ids=["hmset", "setex"])
def test_deprecated_methods_warn_as_redis_py_does(ours: Redis, theirs: redis.Redis,
                                                  call: Callable[[Any], Any]) -> None:
    kinds = []
    for client in (theirs, ours):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert call(client) is True
        kinds.append([w.category for w in caught])
    assert kinds[0] == kinds[1] == [DeprecationWarning]


# ---------------------------------------------------------------------- connecting


@pytest.mark.parametrize("protocol", [2, 3])
def test_a_nopass_acl_user_connects_with_a_username_alone(ours: Redis, theirs: redis.Redis,
                                                          redis_server: RedisServer,
                                                          protocol: int) -> None:
    ours.acl_setuser("t-rps-nopass", enabled=True, reset=True, nopass=True,
                     commands=["+get", "+acl|whoami"], keys=["t:rps:*"])
    try:
        whoami = []
        for cls in (redis.Redis, Redis):
            client = cls(host=redis_server.host, port=redis_server.port,
                         username="t-rps-nopass", protocol=protocol)
            whoami.append((client.acl_whoami(), _outcome(partial(client.set, "t:rps:a", 1))))
            client.close()
        # (redis-py pinned to RESP3 gives bytes here; greenpool gives RESP2's str)
        assert whoami[1][0] == "t-rps-nopass"
        assert whoami[0][0] in ("t-rps-nopass", b"t-rps-nopass")
        assert whoami[0][1] == whoami[1][1] == ("raised", "NoPermissionError")
    finally:
        ours.acl_deluser("t-rps-nopass")


def test_a_username_alone_is_refused_by_a_user_with_a_password(ours: Redis,
                                                               redis_server: RedisServer) -> None:
    ours.acl_setuser("t-rps-pw", enabled=True, reset=True, passwords=["+secret"],
                     commands=["+@all"], keys=["*"])
    try:
        client = Redis(host=redis_server.host, port=redis_server.port, username="t-rps-pw")
        with pytest.raises(ConnectionError) as caught:  # AuthenticationError is one too
            client.get("t:rps:a")
        assert "WRONGPASS" in str(caught.value) and "secret" not in str(caught.value)
        client.close()
    finally:
        ours.acl_deluser("t-rps-pw")


# ---------------------------------------------------------------------- pub/sub


def _polled(client: Any, publisher: Redis) -> list[Any]:
    """redis-py's documented loop: get_message() and time.sleep (not gevent's)."""
    p = client.pubsub()
    p.subscribe("t:rps:chan")
    seen = poll_twice_without_yielding(p.get_message,
                                       lambda: publisher.publish("t:rps:chan", "hello"))
    p.close()
    return seen


def test_polling_get_message_without_yielding_sees_the_messages(ours: Redis,
                                                                theirs: redis.Redis) -> None:
    mine = _polled(ours, ours)
    assert mine == _polled(theirs, ours)
    assert [m["type"] for m in mine] == ["subscribe", "message"]


def _confirmations(client: Any) -> list[Any]:
    p = client.pubsub()
    p.psubscribe("t:rps:p*")
    p.subscribe("t:rps:chan")
    p.punsubscribe("t:rps:p*")
    p.unsubscribe("t:rps:chan")
    seen = [p.get_message(timeout=2) for _ in range(4)]
    p.close()
    return seen


def test_subscribe_confirmations_have_redis_py_shape(ours: Redis, theirs: redis.Redis) -> None:
    mine = _confirmations(ours)
    assert mine == _confirmations(theirs)
    assert mine[0] == {"type": "psubscribe", "pattern": None, "channel": b"t:rps:p*", "data": 1}


@pytest.mark.parametrize("kwargs", [{}, {"daemon": True}, {"sleep_time": 0.0, "daemon": False}])
def test_run_in_thread_takes_redis_py_arguments(ours: Redis, kwargs: dict[str, Any]) -> None:
    got: list[Any] = []
    p = ours.pubsub()
    p.subscribe(**{"t:rps:chan": got.append})
    worker = p.run_in_thread(**kwargs)
    try:
        deadline = time.monotonic() + 2
        while not got and time.monotonic() < deadline:
            ours.publish("t:rps:chan", "x")
            gevent.sleep(0.01)
        assert got and got[0]["data"] == b"x"
    finally:
        worker.stop()
    worker.join(timeout=2)
    assert worker.dead


# ---------------------------------------------------------------------- scripts


@pytest.mark.parametrize("decode", [False, True])
def test_script_get_encoder_is_the_clients(redis_server: RedisServer, decode: bool) -> None:
    ours = Redis(host=redis_server.host, port=redis_server.port, decode_responses=decode)
    theirs = redis.Redis(host=redis_server.host, port=redis_server.port,
                         decode_responses=decode)
    try:
        mine = ours.register_script("return 1").get_encoder()
        reference = theirs.register_script("return 1").get_encoder()
        for value in ("é", b"\xc3\xa9", 5, 1.5):
            assert mine.encode(value) == reference.encode(value)
            assert mine.decode(mine.encode(value)) == reference.decode(reference.encode(value))
    finally:
        ours.close()
        theirs.close()


# ---------------------------------------------------------------------- constructor


def test_redis_py_options_asking_for_what_greenpool_does_are_accepted(
        redis_server: RedisServer) -> None:
    accepted = {"socket_keepalive": True, "retry_on_timeout": False, "retry_on_error": [],
                "legacy_responses": True}
    for name, value in accepted.items():
        with warnings.catch_warnings():  # redis-py deprecates retry_on_timeout
            warnings.simplefilter("ignore", DeprecationWarning)
            redis.Redis(host=redis_server.host, port=redis_server.port, **{name: value}).close()
        client = Redis(host=redis_server.host, port=redis_server.port, **{name: value})
        assert client.ping() is True
        client.close()
    Redis(retry_on_error=None).close()
    for name, value in {"socket_keepalive": False, "retry_on_timeout": True,
                        "retry_on_error": [TimeoutError], "legacy_responses": False}.items():
        with pytest.raises(ConfigurationError) as caught:
            Redis(**{name: value})
        assert caught.value.argument == name
