"""The mixin's return values against redis-py's, call for call, on the same server.

Each scenario is one function run twice on the same key names: through the
mixin (``SocketRedis``) and through redis-py configured alike (RESP2, or
redis-py 8's default RESP3 connection; bytes or decoded), the keys being
deleted before and after each run.  The results must be equal *and* of the
same types, all the way down.  Random or time-dependent results are
normalised inside the scenario (sorted, or reduced to a type or a range).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from commands_executor import (
    CONFIG_IDS,
    CONFIGS,
    Keys,
    SocketRedis,
    assert_same,
    key_namer,
    open_client,
    open_redis_py,
)
from redis._parsers.helpers import parse_info as redis_py_parse_info

from greenpool.redis.commands import parse_info
from greenpool.testing import RedisServer

Results = dict[str, Any]
Scenario = Callable[[Any, Keys], Results]


@pytest.fixture(params=CONFIGS, ids=CONFIG_IDS)
def config(request: pytest.FixtureRequest) -> tuple[int, bool]:
    param: tuple[int, bool] = request.param
    return param


@pytest.fixture
def ours(config: tuple[int, bool], redis_server: RedisServer) -> Iterator[SocketRedis]:
    yield from open_client(redis_server, config)


@pytest.fixture
def theirs(config: tuple[int, bool], redis_server: RedisServer) -> Iterator[redis.Redis]:
    yield from open_redis_py(redis_server, config)


@pytest.fixture
def k(ours: SocketRedis, request: pytest.FixtureRequest) -> Iterator[Keys]:
    yield from key_namer(ours, request)


def crosscheck(ours: SocketRedis, theirs: redis.Redis, k: Keys, scenario: Scenario) -> None:
    k.cleanup()
    mine = scenario(ours, k)
    k.cleanup()
    reference = scenario(theirs, k)
    k.cleanup()
    assert list(mine) == list(reference)
    for label in mine:
        assert_same(mine[label], reference[label], label)


def halve(score: Any) -> float:
    """A score_cast_func that works whatever type it is given."""
    return float(score) / 2


def sort(items: Any) -> list[Any]:
    """A list of replies in a fixed order (for random commands)."""
    return sorted(items, key=repr)


# ============================================================================
# Scenarios
# ============================================================================


def server_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["ping"] = c.ping()
    out["echo"] = c.echo("héllo")
    out["echo int"] = c.echo(7)
    out["config_get"] = c.config_get("maxmemory*")
    out["config_get several"] = c.config_get("maxmemory", "appendonly")
    out["config_get none"] = c.config_get("no-such-*")
    out["client_getname"] = c.client_getname()
    out["client_setname"] = c.client_setname("gp-cross")
    out["client_getname named"] = c.client_getname()
    out["client_id type"] = type(c.client_id())
    seconds, micros = c.time()
    out["time types"] = (type(seconds), type(micros))
    info = c.info("server")
    out["info keys"] = sorted(info)
    out["info types"] = {key: type(value) for key, value in info.items()}
    out["info version"] = info["redis_version"]
    everything = c.info("everything")
    out["info cmdstat_ping keys"] = sorted(everything["cmdstat_ping"])
    c.set(k("a"), 1)
    out["info keyspace db0 keys"] = sorted(c.info("keyspace")["db0"])
    return out


def strings_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["get missing"] = c.get(k("s"))
    out["set"] = c.set(k("s"), "v")
    out["set nx"] = c.set(k("s"), "w", nx=True)
    out["set xx missing"] = c.set(k("t"), "w", xx=True)
    out["set xx"] = c.set(k("s"), "w", xx=True)
    out["set get"] = c.set(k("s"), "x", get=True)
    out["set get missing"] = c.set(k("u"), "x", get=True)
    out["set ex"] = c.set(k("e"), 1, ex=100)
    out["set px timedelta"] = c.set(k("p"), 1, px=datetime.timedelta(seconds=50))
    out["set keepttl"] = c.set(k("e"), 2, keepttl=True)
    out["ttl kept"] = 0 < c.ttl(k("e")) <= 100
    out["get"] = c.get(k("s"))
    out["getset"] = c.getset(k("s"), "y")
    out["getex"] = c.getex(k("s"), ex=60)
    out["getex persist"] = c.getex(k("s"), persist=True)
    out["getdel"] = c.getdel(k("s"))
    out["getdel missing"] = c.getdel(k("s"))
    out["mset"] = c.mset({k("a"): 1, k("b"): "two", k("c"): 3.5})
    out["mget"] = c.mget([k("a"), k("b"), k("c"), k("zz")])
    out["mget args"] = c.mget(k("a"), k("b"))
    out["mget empty"] = c.mget([])
    out["msetnx no"] = c.msetnx({k("a"): 5, k("d"): 6})
    out["msetnx yes"] = c.msetnx({k("d"): 6, k("f"): 7})
    out["setnx yes"] = c.setnx(k("g"), 1)
    out["setnx no"] = c.setnx(k("g"), 2)
    out["setex"] = c.setex(k("h"), 100, "v")
    out["setex timedelta"] = c.setex(k("h"), datetime.timedelta(seconds=30), "v")
    out["psetex"] = c.psetex(k("i"), 100_000, "v")
    out["append"] = c.append(k("j"), "hello")
    out["append more"] = c.append(k("j"), " world")
    out["strlen"] = c.strlen(k("j"))
    out["getrange"] = c.getrange(k("j"), 0, 4)
    out["getrange missing"] = c.getrange(k("zz"), 0, 4)
    out["setrange"] = c.setrange(k("j"), 6, "W")
    out["incr"] = c.incr(k("n"))
    out["incr by"] = c.incr(k("n"), 4)
    out["incrby"] = c.incrby(k("n"), 10)
    out["decr"] = c.decr(k("n"))
    out["decrby"] = c.decrby(k("n"), 3)
    out["incrbyfloat"] = c.incrbyfloat(k("f"), 1.5)
    out["incrbyfloat default"] = c.incrbyfloat(k("f"))
    out["incrbyfloat int key"] = c.incrbyfloat(k("n"), 0.25)
    return out


def keys_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    c.mset({k("a"): 1, k("b"): 2, k("c"): 3})
    c.rpush(k("l"), "x")
    out["exists"] = c.exists(k("a"), k("a"), k("zz"))
    out["touch"] = c.touch(k("a"), k("zz"))
    out["delete"] = c.delete(k("c"), k("zz"))
    out["unlink"] = c.unlink(k("c"))
    out["ttl none"] = c.ttl(k("a"))
    out["pttl missing"] = c.pttl(k("zz"))
    out["expire missing"] = c.expire(k("zz"), 10)
    out["expire"] = c.expire(k("a"), 100)
    out["expire nx"] = c.expire(k("a"), 50, nx=True)
    out["expire gt"] = c.expire(k("a"), 200, gt=True)
    out["expire lt timedelta"] = c.expire(k("a"), datetime.timedelta(seconds=150), lt=True)
    out["expire xx"] = c.expire(k("b"), 10, xx=True)
    out["pexpire"] = c.pexpire(k("b"), 100_000)
    out["pexpire gt"] = c.pexpire(k("b"), 1000, gt=True)
    later = datetime.datetime.now() + datetime.timedelta(seconds=500)
    out["expireat"] = c.expireat(k("a"), later)
    out["expireat int"] = c.expireat(k("a"), int(later.timestamp()) - 10, lt=True)
    out["pexpireat"] = c.pexpireat(k("b"), later)
    out["ttl range"] = 400 < c.ttl(k("a")) <= 500
    out["persist"] = c.persist(k("a"))
    out["persist again"] = c.persist(k("a"))
    out["rename"] = c.rename(k("a"), k("a2"))
    out["renamenx no"] = c.renamenx(k("a2"), k("l"))
    out["renamenx yes"] = c.renamenx(k("a2"), k("a3"))
    out["type string"] = c.type(k("a3"))
    out["type list"] = c.type(k("l"))
    out["type none"] = c.type(k("zz"))
    out["keys"] = sorted(c.keys(k("*")))
    out["copy"] = c.copy(k("a3"), k("a4"))
    out["copy exists"] = c.copy(k("a3"), k("l"))
    out["copy replace"] = c.copy(k("a3"), k("l"), replace=True)
    dumped = c.dump(k("a3"))
    out["dump type"] = type(dumped)
    out["dump missing"] = c.dump(k("zz"))
    out["restore"] = c.restore(k("r"), 0, dumped)
    out["restore replace"] = c.restore(k("r"), 0, dumped, replace=True)
    out["restored"] = c.get(k("r"))
    cursor, found = c.scan(0, match=k("*"), count=1000)
    out["scan"] = (type(cursor), sorted(found))
    out["scan type"] = c.scan(0, match=k("*"), count=1000, _type="list")
    out["scan_iter"] = sorted(c.scan_iter(match=k("*")))
    return out


def hashes_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["hgetall missing"] = c.hgetall(k("h"))
    out["hset"] = c.hset(k("h"), "a", 1)
    out["hset mapping"] = c.hset(k("h"), mapping={"b": "x", "c": 2.5})
    out["hset items"] = c.hset(k("h"), items=["d", 4, "a", 9])
    out["hset all"] = c.hset(k("h"), "e", 5, mapping={"f": 6}, items=["g", 7])
    out["hsetnx yes"] = c.hsetnx(k("h"), "z", 1)
    out["hsetnx no"] = c.hsetnx(k("h"), "z", 2)
    out["hget"] = c.hget(k("h"), "b")
    out["hget missing"] = c.hget(k("h"), "nope")
    out["hmget"] = c.hmget(k("h"), ["a", "nope", "c"])
    out["hmget args"] = c.hmget(k("h"), "a", "b")
    out["hgetall"] = c.hgetall(k("h"))
    out["hexists"] = c.hexists(k("h"), "a")
    out["hexists no"] = c.hexists(k("h"), "nope")
    out["hincrby"] = c.hincrby(k("h"), "a")
    out["hincrby amount"] = c.hincrby(k("h"), "a", -20)
    out["hincrbyfloat"] = c.hincrbyfloat(k("h"), "c", 0.25)
    out["hincrbyfloat default"] = c.hincrbyfloat(k("h"), "new")
    out["hkeys"] = c.hkeys(k("h"))
    out["hvals"] = c.hvals(k("h"))
    out["hlen"] = c.hlen(k("h"))
    out["hstrlen"] = c.hstrlen(k("h"), "b")
    out["hdel"] = c.hdel(k("h"), "a", "nope")
    out["hrandfield missing"] = c.hrandfield(k("zz"))
    out["hrandfield missing count"] = c.hrandfield(k("zz"), 3)
    c.hset(k("small"), mapping={"x": "1", "y": "2"})
    field = c.hrandfield(k("small"))
    out["hrandfield one type"] = type(field)
    out["hrandfield all"] = sort(c.hrandfield(k("small"), 2))
    flat = c.hrandfield(k("small"), 2, withvalues=True)
    out["hrandfield withvalues"] = (
        type(flat),
        len(flat),
        sort(zip(flat[::2], flat[1::2], strict=True)),
    )
    cursor, data = c.hscan(k("h"), 0, count=1000)
    out["hscan"] = (cursor, data)
    out["hscan match"] = c.hscan(k("h"), match="[ab]*")
    out["hscan missing"] = c.hscan(k("zz"))
    out["hscan_iter"] = sort(c.hscan_iter(k("h"), count=2))
    return out


def lists_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["lpushx missing"] = c.lpushx(k("l"), "a")
    out["rpush"] = c.rpush(k("l"), "a", "b", "a", "c", "a")
    out["lpush"] = c.lpush(k("l"), "z", 1)
    out["rpushx"] = c.rpushx(k("l"), "end")
    out["lpushx"] = c.lpushx(k("l"), "start")
    out["lrange"] = c.lrange(k("l"), 0, -1)
    out["llen"] = c.llen(k("l"))
    out["lindex"] = c.lindex(k("l"), 2)
    out["lindex missing"] = c.lindex(k("l"), 99)
    out["lset"] = c.lset(k("l"), 0, "START")
    out["lrem"] = c.lrem(k("l"), 2, "a")
    out["linsert"] = c.linsert(k("l"), "BEFORE", "c", "b2")
    out["linsert missing ref"] = c.linsert(k("l"), "AFTER", "nope", "x")
    out["lpos"] = c.lpos(k("l"), "a")
    out["lpos missing"] = c.lpos(k("l"), "nope")
    out["lpos rank count"] = c.lpos(k("l"), "b", rank=1, count=0, maxlen=100)
    out["lpos count none"] = c.lpos(k("l"), "nope", count=2)
    out["ltrim"] = c.ltrim(k("l"), 1, -2)
    out["lrange trimmed"] = c.lrange(k("l"), 0, -1)
    out["lpop"] = c.lpop(k("l"))
    out["rpop"] = c.rpop(k("l"))
    out["lpop count"] = c.lpop(k("l"), 2)
    out["rpop count"] = c.rpop(k("l"), 1)
    out["lmove"] = c.lmove(k("l"), k("m"))
    out["lmove sides"] = c.lmove(k("l"), k("m"), "RIGHT", "LEFT")
    out["rpoplpush"] = c.rpoplpush(k("m"), k("n"))
    out["rpoplpush missing"] = c.rpoplpush(k("zz"), k("n"))
    out["lpop missing"] = c.lpop(k("zz"))
    out["lpop missing count"] = c.lpop(k("zz"), 2)
    out["lrange missing"] = c.lrange(k("zz"), 0, -1)
    c.rpush(k("b"), "1", "2", "3", "4")
    out["blpop"] = c.blpop([k("zz"), k("b")], timeout=1)
    out["brpop"] = c.brpop(k("b"), timeout=1)
    out["brpoplpush"] = c.brpoplpush(k("b"), k("n"), timeout=1)
    out["blmove"] = c.blmove(k("b"), k("n"), 1, "LEFT", "RIGHT")
    out["blpop timeout"] = c.blpop(k("zz"), timeout=0.01)
    out["brpoplpush timeout"] = c.brpoplpush(k("zz"), k("n"), timeout=0.01)
    out["final"] = c.lrange(k("n"), 0, -1)
    return out


def sets_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["smembers missing"] = c.smembers(k("s"))
    out["sadd"] = c.sadd(k("s"), "a", "b", "c", 1)
    out["sadd again"] = c.sadd(k("s"), "a", "d")
    out["srem"] = c.srem(k("s"), "d", "nope")
    out["smembers"] = c.smembers(k("s"))
    out["sismember"] = bool(c.sismember(k("s"), "a"))
    out["smismember"] = [bool(x) for x in c.smismember(k("s"), ["a", "nope", 1])]
    out["scard"] = c.scard(k("s"))
    out["spop missing"] = c.spop(k("zz"))
    out["spop missing count"] = c.spop(k("zz"), 2)
    out["srandmember missing"] = c.srandmember(k("zz"))
    out["srandmember missing count"] = c.srandmember(k("zz"), 2)
    out["srandmember all"] = sort(c.srandmember(k("s"), 10))
    out["srandmember one type"] = type(c.srandmember(k("s")))
    c.sadd(k("p"), "x", "y", "z")
    popped = c.spop(k("p"), 3)
    out["spop count"] = (type(popped), sort(popped))
    c.sadd(k("p"), "x")
    out["spop"] = c.spop(k("p"))
    out["smove"] = c.smove(k("s"), k("t"), "a")
    out["smove missing"] = c.smove(k("s"), k("t"), "a")
    c.sadd(k("u"), "b", "q")
    out["sinter"] = c.sinter([k("s"), k("u")])
    out["sunion"] = c.sunion(k("s"), k("u"), k("t"))
    out["sdiff"] = c.sdiff(k("s"), k("u"))
    out["sinter empty"] = c.sinter(k("s"), k("zz"))
    out["sinterstore"] = c.sinterstore(k("i"), [k("s"), k("u")])
    out["sunionstore"] = c.sunionstore(k("v"), k("s"), k("u"))
    out["sdiffstore"] = c.sdiffstore(k("w"), [k("s"), k("u")])
    cursor, members = c.sscan(k("s"), 0, count=1000)
    out["sscan"] = (cursor, sort(members))
    out["sscan match"] = c.sscan(k("s"), match="c*")
    out["sscan missing"] = c.sscan(k("zz"))
    out["sscan_iter"] = sort(c.sscan_iter(k("v"), count=1))
    return out


def sorted_sets_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    z = k("z")
    out["zadd"] = c.zadd(z, {"a": 1, "b": 2.5, "c": 0.1, "d": 4, "e": "5"})
    out["zadd ch"] = c.zadd(z, {"a": 1.5, "new": 9}, ch=True)
    out["zadd nx"] = c.zadd(z, {"a": 0, "f": 6}, nx=True)
    out["zadd xx"] = c.zadd(z, {"a": 1, "g": 7}, xx=True)
    out["zadd gt"] = c.zadd(z, {"a": 0.5, "b": 3}, gt=True, ch=True)
    out["zadd lt"] = c.zadd(z, {"a": 0.5}, lt=True, ch=True)
    out["zadd incr"] = c.zadd(z, {"a": 2}, incr=True)
    out["zadd incr blocked"] = c.zadd(z, {"zz": 2}, incr=True, xx=True)
    out["zadd inf"] = c.zadd(z, {"inf": "+inf", "ninf": "-inf"})
    out["zscore"] = c.zscore(z, "c")
    out["zscore inf"] = c.zscore(z, "inf")
    out["zscore missing"] = c.zscore(z, "nope")
    out["zincrby"] = c.zincrby(z, 1.25, "a")
    out["zcard"] = c.zcard(z)
    out["zcount"] = c.zcount(z, 1, 5)
    out["zcount open"] = c.zcount(z, "(1", "+inf")
    out["zrank"] = c.zrank(z, "a")
    out["zrevrank"] = c.zrevrank(z, "a")
    out["zrank missing"] = c.zrank(z, "nope")
    out["zrem"] = c.zrem(z, "new", "nope")
    out["zmscore"] = c.zmscore(z, ["a", "nope", "c"])
    out["zrange"] = c.zrange(z, 0, -1)
    out["zrange withscores"] = c.zrange(z, 0, -1, withscores=True)
    out["zrange desc"] = c.zrange(z, 0, 2, desc=True, withscores=True)
    out["zrange int cast"] = c.zrange(z, 1, 4, withscores=True, score_cast_func=int)
    out["zrange fn cast"] = c.zrange(z, 1, 4, withscores=True, score_cast_func=halve)
    out["zrange byscore"] = c.zrange(z, 1, 5, byscore=True)
    out["zrange byscore rev limit"] = c.zrange(
        z, "+inf", "-inf", desc=True, byscore=True, offset=1, num=2, withscores=True
    )
    out["zrange missing"] = c.zrange(k("zz"), 0, -1, withscores=True)
    out["zrevrange"] = c.zrevrange(z, 0, 2)
    out["zrevrange withscores"] = c.zrevrange(z, 0, 2, withscores=True)
    out["zrangebyscore"] = c.zrangebyscore(z, 1, 5)
    out["zrangebyscore limit"] = c.zrangebyscore(z, "-inf", "+inf", 1, 3, withscores=True)
    out["zrangebyscore cast"] = c.zrangebyscore(z, 0, 5, withscores=True, score_cast_func=int)
    out["zrevrangebyscore"] = c.zrevrangebyscore(z, 5, "(1")
    out["zrevrangebyscore limit"] = c.zrevrangebyscore(z, "+inf", 0, 0, 2, withscores=True)
    c.zadd(k("lex"), {"apple": 0, "banana": 0, "cherry": 0})
    out["zrange bylex"] = c.zrange(k("lex"), "[b", "+", bylex=True)
    out["zrange bylex rev"] = c.zrange(k("lex"), "+", "-", bylex=True, desc=True, offset=0, num=2)
    out["zpopmin"] = c.zpopmin(z)
    out["zpopmax"] = c.zpopmax(z)
    out["zpopmin count"] = c.zpopmin(z, 2)
    out["zpopmax count"] = c.zpopmax(z, 1)
    out["zpopmin missing"] = c.zpopmin(k("zz"))
    out["zremrangebyrank"] = c.zremrangebyrank(z, 0, 0)
    out["zremrangebyscore"] = c.zremrangebyscore(z, "(4", 6)
    cursor, pairs = c.zscan(z, 0, count=1000)
    out["zscan"] = (cursor, sort(pairs))
    out["zscan cast"] = sort(c.zscan(z, score_cast_func=int)[1])
    out["zscan missing"] = c.zscan(k("zz"))
    out["zscan_iter"] = sort(c.zscan_iter(z, count=1))
    c.zadd(k("b"), {"m": 1, "n": 2})
    out["bzpopmin"] = c.bzpopmin([k("zz"), k("b")], timeout=1)
    out["bzpopmax"] = c.bzpopmax(k("b"), timeout=1)
    out["bzpopmin timeout"] = c.bzpopmin(k("b"), timeout=0.01)
    out["left"] = c.zrange(z, 0, -1, withscores=True)
    return out


def scripting_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["eval int"] = c.eval("return 42", 0)
    out["eval str"] = c.eval("return ARGV[1]", 0, "hi")
    out["eval table"] = c.eval("return {KEYS[1], ARGV[1], 3, {4}}", 1, k("a"), "x")
    out["eval nil"] = c.eval("return nil", 0)
    out["eval true"] = c.eval("return true", 0)
    out["eval false"] = c.eval("return false", 0)
    out["eval status"] = c.eval("return redis.call('SET', KEYS[1], 'v')", 1, k("a"))
    source = f"-- {k('script')}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])"
    sha = c.script_load(source)
    out["script_load"] = sha
    out["script_exists"] = c.script_exists(sha, "0" * 40)
    out["evalsha"] = c.evalsha(sha, 1, k("n"), 5)
    script = c.register_script(source)
    out["script sha"] = script.sha
    out["script call"] = script(keys=[k("n")], args=[2])
    fresh = c.register_script(f"-- {k('fresh')} {type(c).__name__}\nreturn #KEYS + #ARGV")
    out["fresh script"] = fresh(keys=[k("x")], args=[1, 2])
    out["fresh script again"] = fresh([k("x")])
    return out


def streams_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    s = k("s")
    out["xadd"] = c.xadd(s, {"f": "v", "n": 1}, id="1-0")
    out["xadd 2"] = c.xadd(s, {"g": "w"}, id="2-0")
    for i in range(3, 9):
        c.xadd(s, {"i": i}, id=f"{i}-0")
    out["xadd maxlen"] = c.xadd(s, {"i": 9}, id="9-0", maxlen=6, approximate=False)
    out["xadd nomkstream"] = c.xadd(k("zz"), {"a": 1}, nomkstream=True)
    out["xlen"] = c.xlen(s)
    out["xrange"] = c.xrange(s)
    out["xrange count"] = c.xrange(s, min="5", max="+", count=2)
    out["xrevrange"] = c.xrevrange(s, count=3)
    out["xrange missing"] = c.xrange(k("zz"))
    out["xdel"] = c.xdel(s, "4-0", "100-0")
    out["xtrim"] = c.xtrim(s, maxlen=3, approximate=False)
    out["xtrim minid"] = c.xtrim(s, minid="9", approximate=False)
    c.xadd(k("t"), {"c": 3}, id="3-0")
    out["xread"] = c.xread({s: "0", k("t"): "0"})
    out["xread count"] = c.xread({k("t"): "0"}, count=1)
    out["xread none"] = c.xread({k("t"): "3-0"})
    out["xread block"] = c.xread({k("t"): "0"}, block=500)
    out["xread block timeout"] = c.xread({k("t"): "$"}, block=10)
    return out


def pubsub_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["publish"] = c.publish(k("chan"), "hello")
    out["pubsub_channels"] = c.pubsub_channels(k("*"))
    out["pubsub_numsub"] = c.pubsub_numsub(k("chan"), k("other"))
    out["pubsub_numsub none"] = c.pubsub_numsub()
    return out


SCENARIOS: dict[str, Scenario] = {
    "server": server_scenario,
    "strings": strings_scenario,
    "keys": keys_scenario,
    "hashes": hashes_scenario,
    "lists": lists_scenario,
    "sets": sets_scenario,
    "sorted_sets": sorted_sets_scenario,
    "scripting": scripting_scenario,
    "streams": streams_scenario,
    "pubsub": pubsub_scenario,
}


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_results_as_redis_py(
    name: str, ours: SocketRedis, theirs: redis.Redis, k: Keys
) -> None:
    crosscheck(ours, theirs, k, SCENARIOS[name])


def test_sismember_and_smismember_are_bools_equal_to_redis_py_ints(
    ours: SocketRedis, theirs: redis.Redis, k: Keys
) -> None:
    # The one deliberate difference: bool where redis-py gives 0/1.
    ours.sadd(k("s"), "a")
    assert ours.sismember(k("s"), "a") is True
    assert theirs.sismember(k("s"), "a") == 1
    assert ours.smismember(k("s"), ["a", "b"]) == theirs.smismember(k("s"), ["a", "b"])


def test_score_cast_func_gets_resp2_text(
    ours: SocketRedis, theirs: redis.Redis, k: Keys, config: tuple[int, bool]
) -> None:
    # A cast function sees the score as RESP2 sends it: str when decoding.
    # redis-py agrees except on RESP3 with decoding, where it gives bytes.
    ours.zadd(k("z"), {"a": 0.5})
    mine = ours.zrange(k("z"), 0, -1, withscores=True, score_cast_func=repr)
    reference = theirs.zrange(k("z"), 0, -1, withscores=True, score_cast_func=repr)
    assert mine == [(text_of(ours, "a"), repr(text_of(ours, "0.5")))]
    if config == (3, True):
        assert reference == [("a", repr(b"0.5"))]
    else:
        assert reference == mine


def text_of(client: SocketRedis, value: str) -> Any:
    return value if client.decode_responses else value.encode()


INFO_TEXT = (
    "# Server\r\n"
    "redis_version:7.0.15\r\n"
    "redis_git_sha1:00000000\r\n"
    "uptime_in_seconds:12\r\n"
    "mem_fragmentation_ratio:1.25\r\n"
    "executable:/usr/bin/redis-server\r\n"
    "config_file:\r\n"
    "io_threads_active:0\r\n"
    "\r\n"
    "# Keyspace\r\n"
    "db0:keys=1,expires=0,avg_ttl=0\r\n"
    "db12:keys=30,expires=2,avg_ttl=1.5\r\n"
    "# Commandstats\r\n"
    "cmdstat_host:calls=1,usec=2,usec_per_call=2.00\r\n"
    "cmdstat_set:calls=3,usec=9,usec_per_call=3.00,rejected_calls=0,failed_calls=0\r\n"
    "# Modules\r\n"
    "module:name=search,ver=20000,api=1,filters=0,usedby=[],using=[],options=[]\r\n"
    "module:name=json,ver=1\r\n"
    "listed:a,b,3\r\n"
    "flags:x=1,y\r\n"
    "weird:a=b=c\r\n"
    "just some raw line\r\n"
)


@pytest.mark.parametrize("form", ["bytes", "str"])
def test_parse_info_matches_redis_py(form: str) -> None:
    text: bytes | str = INFO_TEXT.encode() if form == "bytes" else INFO_TEXT
    assert_same(parse_info(text), redis_py_parse_info(text))
