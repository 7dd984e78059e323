"""greenpool.redis.exceptions against redis-py's redis.exceptions: names, hierarchy, replies.

``except redis.exceptions.X`` must port by changing the module: every class
redis-py defines exists here under its name, every subclass relation
redis-py has holds here too, and an error reply raises the class redis-py
raises for it (checked live: both clients get the same reply from one server).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
import redis
import redis.exceptions as theirs

import greenpool
import greenpool.redis.exceptions as ours
from greenpool.redis import Redis
from greenpool.testing import RedisServer

# Relations greenpool adds to redis-py's, each for a reason (see the module docs).
_EXTRA = {
    ("BusyLoadingError", "ResponseError"),  # it is an error reply
    ("ChildDeadlockedError", "RedisError"),  # every error is a greenpool error
    ("RedisClusterException", "RedisError"),
    ("SlotNotCoveredError", "RedisError"),
    ("CrossSlotTransactionError", "RedisError"),
    ("InvalidPipelineStack", "RedisError"),
    ("IncorrectPolicyType", "RedisError"),
}


def _classes(module: object) -> dict[str, type]:
    return {
        name: value for name, value in vars(module).items()
        if inspect.isclass(value) and issubclass(value, BaseException)
        and not name.startswith("_")
    }


def _theirs() -> dict[str, type]:
    return {n: c for n, c in _classes(theirs).items() if c.__module__ == "redis.exceptions"}


def test_every_redis_py_exception_name_exists() -> None:
    missing = sorted(set(_theirs()) - set(_classes(ours)))
    assert missing == []


def test_subclass_relations_are_redis_pys_plus_the_listed_ones() -> None:
    mine, reference = _classes(ours), _theirs()
    for a in reference:
        for b in reference:
            expected = issubclass(reference[a], reference[b]) or (a, b) in _EXTRA
            assert issubclass(mine[a], mine[b]) is expected, (a, b)


def test_every_class_is_a_greenpool_error() -> None:
    for name in _theirs():
        assert issubclass(getattr(ours, name), greenpool.GreenpoolError), name
    assert ours.ConnectionError is greenpool.ConnectionError
    assert ours.TimeoutError is greenpool.TimeoutError
    assert ours.RedisError is greenpool.GreenpoolError


def test_lock_error_takes_redis_pys_arguments() -> None:
    error = ours.LockNotOwnedError("not yours", lock_name="k")
    assert (str(error), error.lock_name) == ("not yours", "k")
    assert isinstance(error, ValueError)


def test_ask_and_moved_say_where() -> None:
    moved = ours.error_from_reply(greenpool.ReplyError("MOVED 3999 127.0.0.1:6381"))
    assert type(moved) is ours.MovedError
    assert (moved.slot_id, moved.node_addr, moved.host, moved.port) == (
        3999, "127.0.0.1:6381", "127.0.0.1", 6381)
    ask = ours.error_from_reply(greenpool.ReplyError("ASK 12 ::1:7000"))
    assert type(ask) is ours.AskError and (ask.host, ask.port) == ("::1", 7000)


@pytest.mark.parametrize("message, name", [
    ("NOSCRIPT No matching script", "NoScriptError"),
    ("OOM command not allowed", "OutOfMemoryError"),
    ("EXECABORT Transaction discarded", "ExecAbortError"),
    ("LOADING Redis is loading", "BusyLoadingError"),
    ("READONLY You can't write", "ReadOnlyError"),
    ("NOPERM no rights", "NoPermissionError"),
    ("WRONGPASS invalid username-password pair", "AuthenticationError"),
    ("NOAUTH Authentication required.", "AuthenticationError"),
    ("TRYAGAIN Multiple keys", "TryAgainError"),
    ("CLUSTERDOWN The cluster is down", "ClusterDownError"),
    ("CROSSSLOT Keys in request", "ClusterCrossSlotError"),
    ("MASTERDOWN Link with MASTER is down", "MasterDownError"),
    ("ERR max number of clients reached", "ConnectionError"),
    ("ERR invalid password", "AuthenticationError"),
    ("ERR wrong number of arguments for 'auth' command", "AuthenticationWrongNumberOfArgsError"),
    ("ERR Client sent AUTH, but no password is set", "AuthenticationError"),
    ("ERR no such fieldset", "NoSuchFieldsetError"),
    ("ERR unknown command", "ResponseError"),
    ("WRONGTYPE Operation against a key", "ResponseError"),
])
def test_error_replies_map_to_redis_pys_classes(message: str, name: str) -> None:
    parser = redis.connection.DefaultParser  # type: ignore[attr-defined]
    assert type(parser.parse_error(message)).__name__ == name
    error = ours.error_from_reply(greenpool.ReplyError(message))
    assert type(error) is getattr(ours, name)
    assert message in str(error)


@pytest.fixture
def both(redis_server: RedisServer) -> Iterator[tuple[Redis, redis.Redis]]:
    mine = Redis(host=redis_server.host, port=redis_server.port)
    reference = redis.Redis(host=redis_server.host, port=redis_server.port)
    yield mine, reference
    mine.close()
    reference.close()


def test_live_error_replies_raise_the_same_classes(both: tuple[Redis, redis.Redis]) -> None:
    mine, reference = both
    calls = [
        lambda c: c.evalsha("0" * 40, 0),
        lambda c: c.auth("not-the-password"),
        lambda c: c.execute_command("NO-SUCH-COMMAND"),
    ]
    for call in calls:
        with pytest.raises(Exception) as caught_theirs:
            call(reference)
        with pytest.raises(Exception) as caught_mine:
            call(mine)
        assert type(caught_mine.value).__name__ == type(caught_theirs.value).__name__
