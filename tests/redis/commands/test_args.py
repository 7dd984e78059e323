"""Bad arguments raise DataError naming the argument and value, before anything is sent."""

from __future__ import annotations

import datetime
import math
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from commands_executor import SocketRedis, assert_refused, open_client, open_redis_py

from greenpool.errors import GreenpoolError
from greenpool.redis.commands import DataError
from greenpool.redis.exceptions import RefusedArgumentError, ResponseError
from greenpool.testing import RedisServer


@pytest.fixture(scope="module")
def r(redis_server: RedisServer) -> Iterator[SocketRedis]:
    yield from open_client(redis_server, (2, False))


Call = Callable[[SocketRedis], Any]

K = "gp-cmd-args:never-written"

BAD: list[tuple[str, Call, str, Any]] = [
    # (id, call, argument named, value named)
    ("set ex negative", lambda r: r.set(K, 1, ex=-1), "ex", -1),
    ("set ex zero", lambda r: r.set(K, 1, ex=0), "ex", 0),
    ("set ex text", lambda r: r.set(K, 1, ex="soon"), "ex", "soon"),
    ("set ex float", lambda r: r.set(K, 1, ex=1.5), "ex", 1.5),
    ("set ex superscript digit", lambda r: r.set(K, 1, ex="\u00b2"), "ex", "\u00b2"),
    ("set ex bool", lambda r: r.set(K, 1, ex=True), "ex", True),
    ("set ex tiny timedelta", lambda r: r.set(K, 1, ex=datetime.timedelta(0)), "ex", None),
    ("set px negative", lambda r: r.set(K, 1, px=-5), "px", -5),
    ("set ex and px", lambda r: r.set(K, 1, ex=1, px=1000), "ex", 1),
    ("set ex and keepttl", lambda r: r.set(K, 1, ex=1, keepttl=True), "ex", 1),
    ("set nx and xx", lambda r: r.set(K, 1, nx=True, xx=True), "nx", True),
    ("set exat zero", lambda r: r.set(K, 1, exat=0), "exat", 0),
    ("set exat text", lambda r: r.set(K, 1, exat="tomorrow"), "exat", "tomorrow"),
    ("set pxat negative", lambda r: r.set(K, 1, pxat=-1), "pxat", -1),
    ("set exat and pxat", lambda r: r.set(K, 1, exat=10**10, pxat=10**13), "exat", 10**10),
    ("getex ex and persist", lambda r: r.getex(K, ex=5, persist=True), "ex", 5),
    ("getex px zero", lambda r: r.getex(K, px=0), "px", 0),
    ("setex zero", lambda r: r.setex(K, 0, "v"), "time", 0),
    ("psetex negative", lambda r: r.psetex(K, -1, "v"), "time_ms", -1),
    ("expire text", lambda r: r.expire(K, "10s"), "time", "10s"),
    ("expire nx xx", lambda r: r.expire(K, 10, nx=True, xx=True), "nx", True),
    ("expire nx gt", lambda r: r.expire(K, 10, nx=True, gt=True), "nx", True),
    ("pexpire gt lt", lambda r: r.pexpire(K, 10, gt=True, lt=True), "gt", True),
    ("expireat zero", lambda r: r.expireat(K, 0), "when", 0),
    ("pexpireat text", lambda r: r.pexpireat(K, "now"), "when", "now"),
    ("incrby float", lambda r: r.incrby(K, 1.5), "amount", 1.5),
    ("incr bool", lambda r: r.incr(K, True), "amount", True),
    ("decrby text", lambda r: r.decrby(K, "2x"), "amount", "2x"),
    ("incrbyfloat text", lambda r: r.incrbyfloat(K, "1.5x"), "amount", "1.5x"),
    ("hincrby float", lambda r: r.hincrby(K, "f", 0.5), "amount", 0.5),
    ("hincrbyfloat none", lambda r: r.hincrbyfloat(K, "f", None), "amount", None),
    ("getrange text", lambda r: r.getrange(K, "0x", 5), "start", "0x"),
    ("setrange negative", lambda r: r.setrange(K, -1, "x"), "offset", -1),
    ("mset empty", lambda r: r.mset({}), "mapping", {}),
    ("msetnx list", lambda r: r.msetnx([("a", 1)]), "mapping", [("a", 1)]),
    ("mget not iterable", lambda r: r.mget(None), "keys", None),
    ("restore negative ttl", lambda r: r.restore(K, -1, b""), "ttl", -1),
    ("scan count zero", lambda r: r.scan(0, count=0), "count", 0),
    ("scan cursor negative", lambda r: r.scan(-1), "cursor", -1),
    ("hset nothing", lambda r: r.hset(K), "key", None),
    ("hset odd items", lambda r: r.hset(K, items=["a"]), "items", ["a"]),
    ("hset key without value", lambda r: r.hset(K, "f"), "value", None),
    ("hset mapping list", lambda r: r.hset(K, mapping=[("a", 1)]), "mapping", [("a", 1)]),
    ("hrandfield withvalues", lambda r: r.hrandfield(K, withvalues=True), "withvalues", True),
    ("hscan count text", lambda r: r.hscan(K, count="5x"), "count", "5x"),
    ("lpop negative", lambda r: r.lpop(K, -1), "count", -1),
    ("rpop text", lambda r: r.rpop(K, "2x"), "count", "2x"),
    ("lpos rank zero", lambda r: r.lpos(K, "x", rank=0), "rank", 0),
    ("lpos count negative", lambda r: r.lpos(K, "x", count=-1), "count", -1),
    ("lpos maxlen text", lambda r: r.lpos(K, "x", maxlen="9x"), "maxlen", "9x"),
    ("lmove src", lambda r: r.lmove(K, K, "UP"), "src", "UP"),
    ("lmove dest", lambda r: r.lmove(K, K, "LEFT", None), "dest", None),
    ("linsert where", lambda r: r.linsert(K, "middle", "a", "b"), "where", "middle"),
    ("lrange text", lambda r: r.lrange(K, 0, "-1x"), "end", "-1x"),
    ("blpop negative", lambda r: r.blpop(K, timeout=-1), "timeout", -1),
    ("brpop text", lambda r: r.brpop(K, timeout="1x"), "timeout", "1x"),
    ("bzpopmin nan", lambda r: r.bzpopmin(K, timeout=math.nan), "timeout", None),
    ("bzpopmax inf", lambda r: r.bzpopmax(K, timeout=math.inf), "timeout", math.inf),
    ("blmove dest", lambda r: r.blmove(K, K, 1, "LEFT", "DOWN"), "dest", "DOWN"),
    ("brpoplpush bool", lambda r: r.brpoplpush(K, K, timeout=True), "timeout", True),
    ("spop negative", lambda r: r.spop(K, -2), "count", -2),
    ("srandmember float", lambda r: r.srandmember(K, 2.0), "number", 2.0),
    ("sinter not iterable", lambda r: r.sinter(None), "keys", None),
    ("zadd empty", lambda r: r.zadd(K, {}), "mapping", {}),
    ("zadd nx xx", lambda r: r.zadd(K, {"a": 1}, nx=True, xx=True), "nx", True),
    ("zadd gt lt", lambda r: r.zadd(K, {"a": 1}, gt=True, lt=True), "gt", True),
    ("zadd nx lt", lambda r: r.zadd(K, {"a": 1}, nx=True, lt=True), "nx", True),
    ("zadd incr two", lambda r: r.zadd(K, {"a": 1, "b": 2}, incr=True), "incr", True),
    ("zadd score none", lambda r: r.zadd(K, {"a": None}), "mapping", {"a": None}),
    ("zadd score bool", lambda r: r.zadd(K, {"a": True}), "mapping", {"a": True}),
    ("zincrby none", lambda r: r.zincrby(K, None, "a"), "amount", None),
    ("zcount none", lambda r: r.zcount(K, None, 1), "min", None),
    (
        "zrange byscore bylex",
        lambda r: r.zrange(K, 0, 1, byscore=True, bylex=True),
        "byscore",
        True,
    ),
    (
        "zrange bylex withscores",
        lambda r: r.zrange(K, "-", "+", bylex=True, withscores=True),
        "withscores",
        True,
    ),
    ("zrange offset alone", lambda r: r.zrange(K, 0, 1, byscore=True, offset=1), "offset", 1),
    ("zrange offset by rank", lambda r: r.zrange(K, 0, 1, offset=0, num=1), "offset", 0),
    ("zrange rank text", lambda r: r.zrange(K, "(1", 5), "start", "(1"),
    ("zrevrange float", lambda r: r.zrevrange(K, 0, 1.5), "end", 1.5),
    ("zrangebyscore start alone", lambda r: r.zrangebyscore(K, 0, 1, start=1), "start", 1),
    ("zrevrangebyscore num text", lambda r: r.zrevrangebyscore(K, 1, 0, 0, "2x"), "num", "2x"),
    ("zremrangebyrank text", lambda r: r.zremrangebyrank(K, "0x", 1), "min", "0x"),
    ("zmscore empty", lambda r: r.zmscore(K, []), "members", []),
    ("zmscore string", lambda r: r.zmscore(K, "abc"), "members", "abc"),
    ("zpopmin negative", lambda r: r.zpopmin(K, -1), "count", -1),
    ("zscan count zero", lambda r: r.zscan(K, count=0), "count", 0),
    ("eval numkeys negative", lambda r: r.eval("return 1", -1), "numkeys", -1),
    ("evalsha numkeys text", lambda r: r.evalsha("0" * 40, "1x", K), "numkeys", "1x"),
    ("script_flush mode", lambda r: r.script_flush("LATER"), "sync_type", "LATER"),
    ("xadd no fields", lambda r: r.xadd(K, {}), "fields", {}),
    ("xadd maxlen and minid", lambda r: r.xadd(K, {"a": 1}, maxlen=5, minid="1"), "maxlen", 5),
    ("xadd maxlen negative", lambda r: r.xadd(K, {"a": 1}, maxlen=-1), "maxlen", -1),
    ("xadd limit alone", lambda r: r.xadd(K, {"a": 1}, limit=10), "limit", 10),
    (
        "xadd limit exact",
        lambda r: r.xadd(K, {"a": 1}, maxlen=5, approximate=False, limit=10),
        "limit",
        10,
    ),
    ("xtrim neither", lambda r: r.xtrim(K), "maxlen", None),
    ("xtrim both", lambda r: r.xtrim(K, maxlen=1, minid="0"), "maxlen", 1),
    ("xrange count zero", lambda r: r.xrange(K, count=0), "count", 0),
    ("xrevrange count text", lambda r: r.xrevrange(K, count="1x"), "count", "1x"),
    ("xread empty", lambda r: r.xread({}), "streams", {}),
    ("xread count zero", lambda r: r.xread({K: "0"}, count=0), "count", 0),
    ("xread block negative", lambda r: r.xread({K: "0"}, block=-1), "block", -1),
    ("xread block float", lambda r: r.xread({K: "0"}, block=0.5), "block", 0.5),
]


@pytest.mark.parametrize(
    ("call", "argument", "value"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_argument_raises_data_error_and_sends_nothing(
    r: SocketRedis, call: Call, argument: str, value: Any
) -> None:
    assert_refused(r, call, argument, value)


def test_data_error_is_a_value_error_and_a_greenpool_error() -> None:
    error = DataError("ex", -1, "must be a positive duration")
    assert isinstance(error, ValueError)
    assert isinstance(error, GreenpoolError)
    assert str(error) == "ex=-1: must be a positive duration"
    assert (error.argument, error.value) == ("ex", -1)


def test_good_edge_arguments_are_accepted(r: SocketRedis) -> None:
    # Values next to the refused ones go through (and the server agrees).
    key = "gp-cmd-args:edge"
    try:
        assert r.set(key, 1, ex="5") is True  # redis-py accepts digit strings for ex
        assert r.set(key, 1, ex=datetime.timedelta(seconds=1.9)) is True
        assert r.expire(key, 0) is True  # 0 and negative TTLs delete the key
        assert r.lpos(key, "x", count=0) == []
        assert r.lpop(key, 0) is None
        assert r.zrange(key, "(1", "+inf", byscore=True) == []
        assert r.zcount(key, "-inf", b"+inf") == 0
        assert r.xtrim(key, minid=0, approximate=False) == 0
    finally:
        r.delete(key)


# Bad values redis-py sends as they are, so that the server refuses them and
# redis-py raises ResponseError: greenpool still refuses them before sending,
# with an error that is a ResponseError too (redis-py's own tests expect one).
SERVER_REFUSES: list[tuple[str, Call, str, Any]] = [
    ("bitcount mode", lambda r: r.bitcount(K + ":s", 0, 1, mode="but"), "mode", "but"),
    ("bitpos mode", lambda r: r.bitpos(K + ":s", 1, 0, 1, mode=b"bite"), "mode", b"bite"),
    ("lmove direction", lambda r: r.lmove(K + ":l", K + ":m", "UP"), "src", "UP"),
    ("blmove direction", lambda r: r.blmove(K + ":l", K + ":m", 1, "LEFT", "down"),
     "dest", "down"),
    ("lmpop direction", lambda r: r.lmpop("1", K + ":l", direction="up"), "direction", "up"),
    ("xadd limit exact", lambda r: r.xadd(K + ":x", {"f": 1}, maxlen=3, approximate=False,
                                          limit=2), "limit", 2),
    ("xadd limit alone", lambda r: r.xadd(K + ":x", {"f": 1}, limit=2), "limit", 2),
    ("xtrim limit exact", lambda r: r.xtrim(K + ":x", 3, approximate=False, limit=2),
     "limit", 2),
    ("xpending idle float", lambda r: r.xpending_range(K + ":x", "g", "-", "+", 5, idle=1.5),
     "idle", 1.5),
    ("expire float", lambda r: r.expire(K + ":s", 1.5), "time", 1.5),
    ("lrange text", lambda r: r.lrange(K + ":l", 0, "two"), "end", "two"),
    ("lpop count negative", lambda r: r.lpop(K + ":l", -1), "count", -1),
    ("set ex zero", lambda r: r.set(K + ":s", 1, ex=0), "ex", 0),
    ("expire nx xx", lambda r: r.expire(K + ":s", 10, nx=True, xx=True), "nx", True),
    ("blpop timeout negative", lambda r: r.blpop([K + ":l"], -1), "timeout", -1),
    ("incrbyfloat text", lambda r: r.incrbyfloat(K + ":n", "1.5x"), "amount", "1.5x"),
    ("function flush mode", lambda r: r.function_flush("LATER"), "mode", "LATER"),
]


@pytest.fixture
def refusing_keys(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """redis-py on the shared server, with the keys SERVER_REFUSES' calls use
    (so that its server refuses the argument, not a missing key)."""
    theirs = next(open_redis_py(redis_server, (2, False)))
    keys = [K + ":s", K + ":l", K + ":m", K + ":x", K + ":n"]
    theirs.delete(*keys)
    theirs.set(K + ":s", "foo")
    theirs.rpush(K + ":l", 1, 2)
    theirs.xadd(K + ":x", {"f": 1})
    theirs.xgroup_create(K + ":x", "g", 0)
    try:
        yield theirs
    finally:
        theirs.delete(*keys)
        theirs.close()


@pytest.mark.parametrize(
    ("call", "argument", "value"), [c[1:] for c in SERVER_REFUSES],
    ids=[c[0] for c in SERVER_REFUSES],
)
def test_argument_the_server_refuses_is_also_a_response_error(
    r: SocketRedis, refusing_keys: redis.Redis, call: Call, argument: str, value: Any
) -> None:
    with pytest.raises(redis.exceptions.ResponseError):
        call(refusing_keys)  # redis-py sends it; the server refuses it
    assert_refused(r, call, argument, value)  # greenpool refuses it, sending nothing
    with pytest.raises(ResponseError) as caught:
        call(r)
    assert type(caught.value) is RefusedArgumentError
    assert isinstance(caught.value, DataError)


def test_a_value_redis_py_cannot_send_stays_a_plain_data_error(r: SocketRedis) -> None:
    # redis-py's encoder refuses a list or a bool with DataError before sending
    for call in (lambda r: r.lpop(K, [1]), lambda r: r.lmove(K, K, True)):
        with pytest.raises(DataError) as caught:
            call(r)
        assert not isinstance(caught.value, ResponseError)


def test_refused_argument_error_is_both_and_pickles() -> None:
    error = RefusedArgumentError("mode", "bite", "must be one of BYTE, BIT")
    assert isinstance(error, DataError) and isinstance(error, ResponseError)
    assert isinstance(error, ValueError)
    assert str(error) == "mode='bite': must be one of BYTE, BIT"
    assert (error.argument, error.value, error.kind, error.status_code) == (
        "mode", "bite", "ERR", None)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is RefusedArgumentError
    assert (str(again), again.argument, again.value) == (str(error), "mode", "bite")
