"""The mixin never touches a reply: conversions travel as ``_parse``, so pipelines work.

A pipeline's ``execute_command`` buffers the command and returns a
placeholder; the reply, and its conversion, come later.  ``DeferredRedis``
does exactly that, with placeholders that fail the test if anything looks at
them.  Every command method run that way must return the placeholder
untouched, and the replies converted later must equal what the same calls
give when run one at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest
from commands_executor import (
    CONFIG_IDS,
    CONFIGS,
    Keys,
    SocketRedis,
    assert_same,
    key_namer,
    open_client,
)

from greenpool.testing import RedisServer


class Pending:
    """A reply that has not arrived; using it in any way fails the test."""

    __slots__ = ("args", "options", "value")

    def __init__(self, args: tuple[Any, ...], options: dict[str, Any]) -> None:
        self.args = args
        self.options = options
        self.value: Any = None

    def _touched(self, *_: Any) -> NoReturn:
        raise AssertionError(f"the reply of {self.args!r} was used before it arrived")

    __bool__ = __eq__ = __ne__ = __lt__ = __iter__ = __len__ = __getitem__ = _touched
    __int__ = __float__ = __index__ = __contains__ = __hash__ = _touched  # type: ignore[assignment]


class DeferredRedis(SocketRedis):
    """Buffers commands like a pipeline; :meth:`run` sends them and converts the replies."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.buffer: list[Pending] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        pending = Pending(args, options)
        self.buffer.append(pending)
        return pending

    def run(self) -> None:
        for pending in self.buffer:
            pending.value = SocketRedis.execute_command(self, *pending.args, **pending.options)
        self.buffer = []


@pytest.fixture(params=CONFIGS, ids=CONFIG_IDS)
def pair(
    request: pytest.FixtureRequest, redis_server: RedisServer
) -> Iterator[tuple[SocketRedis, DeferredRedis]]:
    for immediate in open_client(redis_server, request.param):
        deferred = DeferredRedis(redis_server.host, redis_server.port, *request.param)
        try:
            yield immediate, deferred
        finally:
            deferred.close()


@pytest.fixture
def k(pair: tuple[SocketRedis, DeferredRedis], request: pytest.FixtureRequest) -> Iterator[Keys]:
    yield from key_namer(pair[0], request)


Call = Callable[[Any, Keys], Any]

SEVEN = hashlib.sha1(b"return 7").hexdigest()

CALLS: list[Call] = [
    lambda c, k: c.ping(),
    lambda c, k: c.echo("x"),
    lambda c, k: c.info("server"),
    lambda c, k: c.dbsize(),
    lambda c, k: c.time(),
    lambda c, k: c.client_getname(),
    lambda c, k: c.client_id(),
    lambda c, k: c.config_get("maxmemory"),
    lambda c, k: c.set(k("s"), "v"),
    lambda c, k: c.set(k("s"), "w", nx=True),
    lambda c, k: c.set(k("s"), "w", get=True, ex=100),
    lambda c, k: c.get(k("s")),
    lambda c, k: c.getset(k("s"), "x"),
    lambda c, k: c.getex(k("s"), persist=True),
    lambda c, k: c.mset({k("a"): 1, k("b"): 2}),
    lambda c, k: c.msetnx({k("a"): 1}),
    lambda c, k: c.mget([k("a"), k("b")]),
    lambda c, k: c.setnx(k("a"), 1),
    lambda c, k: c.setex(k("e"), 100, 1),
    lambda c, k: c.psetex(k("e"), 100_000, 1),
    lambda c, k: c.append(k("s"), "y"),
    lambda c, k: c.strlen(k("s")),
    lambda c, k: c.getrange(k("s"), 0, 0),
    lambda c, k: c.setrange(k("s"), 0, "X"),
    lambda c, k: c.incr(k("n")),
    lambda c, k: c.decrby(k("n"), 5),
    lambda c, k: c.incrbyfloat(k("f"), 0.5),
    lambda c, k: c.getdel(k("s")),
    lambda c, k: c.exists(k("a"), k("b")),
    lambda c, k: c.touch(k("a")),
    lambda c, k: c.expire(k("a"), 100),
    lambda c, k: c.pexpire(k("a"), 200_000, gt=True),
    lambda c, k: c.expireat(k("a"), 4_000_000_000),
    lambda c, k: c.pexpireat(k("a"), 4_000_000_000_000),
    lambda c, k: c.ttl(k("b")),
    lambda c, k: c.pttl(k("b")),
    lambda c, k: c.persist(k("a")),
    lambda c, k: c.rename(k("a"), k("a2")),
    lambda c, k: c.renamenx(k("a2"), k("b")),
    lambda c, k: c.type(k("a2")),
    lambda c, k: c.keys(k("nothing*")),
    lambda c, k: c.copy(k("a2"), k("a3")),
    lambda c, k: c.dump(k("a2")),
    lambda c, k: c.scan(0, match=k("nothing*")),
    lambda c, k: c.delete(k("a3")),
    lambda c, k: c.unlink(k("a2")),
    lambda c, k: c.hset(k("h"), mapping={"f": 1, "g": 2}),
    lambda c, k: c.hsetnx(k("h"), "f", 3),
    lambda c, k: c.hget(k("h"), "f"),
    lambda c, k: c.hmget(k("h"), "f", "g"),
    lambda c, k: c.hgetall(k("h")),
    lambda c, k: c.hexists(k("h"), "f"),
    lambda c, k: c.hincrby(k("h"), "f"),
    lambda c, k: c.hincrbyfloat(k("h"), "g", 0.5),
    lambda c, k: c.hkeys(k("h")),
    lambda c, k: c.hvals(k("h")),
    lambda c, k: c.hlen(k("h")),
    lambda c, k: c.hstrlen(k("h"), "f"),
    lambda c, k: c.hrandfield(k("h"), -2, withvalues=True),
    lambda c, k: c.hscan(k("h"), match="nothing*"),
    lambda c, k: c.hdel(k("h"), "g"),
    lambda c, k: c.rpush(k("l"), "a", "b", "c", "d", "e"),
    lambda c, k: c.lpush(k("l"), "z"),
    lambda c, k: c.lpushx(k("l"), "y"),
    lambda c, k: c.rpushx(k("l"), "f"),
    lambda c, k: c.lrange(k("l"), 0, -1),
    lambda c, k: c.llen(k("l")),
    lambda c, k: c.lindex(k("l"), 0),
    lambda c, k: c.lset(k("l"), 0, "Y"),
    lambda c, k: c.lrem(k("l"), 1, "Y"),
    lambda c, k: c.ltrim(k("l"), 0, 10),
    lambda c, k: c.linsert(k("l"), "AFTER", "a", "a2"),
    lambda c, k: c.lpos(k("l"), "a2"),
    lambda c, k: c.lpop(k("l")),
    lambda c, k: c.rpop(k("l"), 2),
    lambda c, k: c.lmove(k("l"), k("m")),
    lambda c, k: c.rpoplpush(k("l"), k("m")),
    lambda c, k: c.blpop(k("l"), timeout=1),
    lambda c, k: c.brpop(k("m"), timeout=1),
    lambda c, k: c.brpoplpush(k("l"), k("m"), 1),
    lambda c, k: c.blmove(k("m"), k("l"), 1),
    lambda c, k: c.sadd(k("s1"), "a", "b", "c"),
    lambda c, k: c.sadd(k("s2"), "b", "c", "d"),
    lambda c, k: c.srem(k("s1"), "c"),
    lambda c, k: c.smembers(k("s1")),
    lambda c, k: c.sismember(k("s1"), "a"),
    lambda c, k: c.smismember(k("s1"), ["a", "z"]),
    lambda c, k: c.scard(k("s1")),
    lambda c, k: c.srandmember(k("s1"), -3),
    lambda c, k: c.smove(k("s2"), k("s1"), "d"),
    lambda c, k: c.sinter(k("s1"), k("s2")),
    lambda c, k: c.sunion(k("s1"), k("s2")),
    lambda c, k: c.sdiff(k("s1"), k("s2")),
    lambda c, k: c.sinterstore(k("s3"), k("s1"), k("s2")),
    lambda c, k: c.sunionstore(k("s3"), k("s1"), k("s2")),
    lambda c, k: c.sdiffstore(k("s3"), k("s1"), k("s2")),
    lambda c, k: c.sscan(k("s1"), match="nothing*"),
    lambda c, k: c.spop(k("s2"), 0),
    lambda c, k: c.zadd(k("z"), {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}),
    lambda c, k: c.zadd(k("z"), {"a": 0.5}, incr=True),
    lambda c, k: c.zrem(k("z"), "f"),
    lambda c, k: c.zscore(k("z"), "a"),
    lambda c, k: c.zincrby(k("z"), 1, "b"),
    lambda c, k: c.zcard(k("z")),
    lambda c, k: c.zcount(k("z"), 0, 3),
    lambda c, k: c.zrank(k("z"), "c"),
    lambda c, k: c.zrevrank(k("z"), "c"),
    lambda c, k: c.zrange(k("z"), 0, -1, withscores=True),
    lambda c, k: c.zrange(k("z"), 0, 1, desc=True, withscores=True, score_cast_func=int),
    lambda c, k: c.zrange(k("z"), 1, 5, byscore=True, offset=0, num=2),
    lambda c, k: c.zrevrange(k("z"), 0, 1, withscores=True),
    lambda c, k: c.zrangebyscore(k("z"), 0, 10, withscores=True),
    lambda c, k: c.zrevrangebyscore(k("z"), 10, 0, 0, 2),
    lambda c, k: c.zmscore(k("z"), ["a", "zz"]),
    lambda c, k: c.zscan(k("z"), score_cast_func=int),
    lambda c, k: c.zpopmin(k("z")),
    lambda c, k: c.zpopmax(k("z"), 2),
    lambda c, k: c.bzpopmin(k("z"), 1),
    lambda c, k: c.bzpopmax(k("z"), 1),
    lambda c, k: c.zremrangebyrank(k("z"), 0, 0),
    lambda c, k: c.zremrangebyscore(k("z"), 0, 100),
    lambda c, k: c.eval("return {1, 'a'}", 0),
    lambda c, k: c.script_load("return 7"),
    lambda c, k: c.evalsha(SEVEN, 0),
    lambda c, k: c.script_exists("0" * 40),
    lambda c, k: c.xadd(k("x"), {"a": 1}, id="1-0"),
    lambda c, k: c.xadd(k("x"), {"b": 2}, id="2-0", maxlen=10),
    lambda c, k: c.xlen(k("x")),
    lambda c, k: c.xrange(k("x")),
    lambda c, k: c.xrevrange(k("x"), count=1),
    lambda c, k: c.xread({k("x"): "0"}),
    lambda c, k: c.xread({k("x"): "0"}, block=100),
    lambda c, k: c.xdel(k("x"), "1-0"),
    lambda c, k: c.xtrim(k("x"), maxlen=0, approximate=False),
    lambda c, k: c.publish(k("chan"), "m"),
    lambda c, k: c.pubsub_channels(k("nothing*")),
    lambda c, k: c.pubsub_numsub(k("chan")),
    # server and acl groups
    lambda c, k: c.command_count(),
    lambda c, k: c.command_list(category="hyperloglog"),
    lambda c, k: c.command_getkeys("MSET", k("a"), 1, k("b"), 2),
    lambda c, k: c.command_getkeysandflags("GET", k("a")),
    lambda c, k: c.set(k("mem"), "x" * 100),
    lambda c, k: c.memory_usage(k("mem"), samples=0),
    lambda c, k: c.memory_usage(k("nothing")),
    lambda c, k: c.lolwut(),
    lambda c, k: c.acl_whoami(),
    lambda c, k: c.acl_cat("hyperloglog"),
    lambda c, k: c.acl_getuser("default"),
    lambda c, k: c.acl_dryrun("default", "get", k("a")),
]


def test_replies_are_converted_only_through_parse(
    pair: tuple[SocketRedis, DeferredRedis], k: Keys
) -> None:
    immediate, deferred = pair
    # "return 7" must be cached for the EVALSHA above to succeed in both runs.
    immediate.script_load("return 7")
    expected = [call(immediate, k) for call in CALLS]
    k.cleanup()
    returned = [call(deferred, k) for call in CALLS]
    for index, result in enumerate(returned):
        assert type(result) is Pending, f"call {index} did not return the placeholder"
    pending = list(deferred.buffer)
    assert all(a is b for a, b in zip(returned, pending, strict=True))
    deferred.run()
    for index, (result, reference) in enumerate(zip(returned, expected, strict=True)):
        value = result.value
        if index in RANDOM:
            assert type(value) is type(reference), f"call {index}"
            continue
        if index in TIMES:
            value, reference = type(value), type(reference)
        assert_same(value, reference, f"call {index} {result.args[0]}")


RANDOM = {
    CALLS.index(call)
    for call in CALLS
    if any(name in call.__code__.co_names for name in ("hrandfield", "srandmember", "client_id"))
}
TIMES = {
    CALLS.index(call)
    for call in CALLS
    if any(name in call.__code__.co_names for name in ("time", "info", "dbsize"))
}
