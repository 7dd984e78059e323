"""Reply shapes per client mode, differentially against redis-py.

redis-py 8.1 picks its reply shapes per client from the ``protocol`` it was
given (none, 2 or 3) and ``legacy_responses``.  Each case below runs the
same commands through redis-py and through greenpool, on the same fresh
data on one real redis-server, for each of the six combinations (and with
and without ``decode_responses``), and the two results must be equal, types
included (``1 == 1.0 == True`` in Python, so types are compared too).

The corpus holds every command greenpool implements whose shape differs
between redis-py's callback tables, and a sample of the others.  Values
that differ between two runs whatever the client (times, ids) are masked
by the case's own ``mask``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, NamedTuple

import pytest
import redis

from greenpool.redis import Redis
from greenpool.redis.cluster import RedisCluster
from greenpool.testing import RedisClusterServer, RedisServer

MODES = [
    (None, True), (2, True), (3, True),
    (None, False), (2, False), (3, False),
]


class Case(NamedTuple):
    name: str
    setup: tuple[tuple[Any, ...], ...]
    call: Callable[[Any], Any]
    mask: Callable[[Any], Any] | None = None
    piped: bool = True
    """The call is one method's call: it can be buffered in a pipeline too."""
    direct: bool = True
    """False: only in a transaction (where a blocking command does not wait)."""


def _z(*pairs: Any) -> tuple[Any, ...]:
    return ("ZADD", "z", *pairs)


_ZSET = (_z(1, "a", 2.5, "b", 3, "c"),)
_ZSET2 = (_z(1, "a", 2.5, "b", 3, "c"), ("ZADD", "z2", 2, "b", 4, "c", 5, "d"))
_ONE_Z = (("ZADD", "one", 1.5, "m"),)
_HASH = (("HSET", "h", "f1", "v1", "f2", "v2"),)
_ONE_H = (("HSET", "oneh", "f", "v"),)
_SETS = (("SADD", "s1", "a", "b", "c"), ("SADD", "s2", "b", "c", "d"))
_GEO = (("GEOADD", "g", 13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania"),)
_READ = ("XREADGROUP", "GROUP", "grp", "me", "STREAMS", "st", ">")
_STREAM = (
    ("XADD", "st", "1-0", "f", "v"), ("XADD", "st", "2-0", "f", "w", "g", "x"),
    ("XGROUP", "CREATE", "st", "grp", "0"),
)
_LIB = "#!lua name=difflib\nredis.register_function('difffn', function(keys, args) return 1 end)"


def _idle(value: Any) -> Any:
    """XINFO's idle/inactive counters (milliseconds since ...) vary between runs."""
    if isinstance(value, dict):
        return {k: _idle(v) if str(k) not in _VARYING else 0 for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_idle(v) for v in value]
        # flat RESP2 pairs: mask the value after a varying key
        for i, item in enumerate(items[:-1]):
            if isinstance(item, (str, bytes)) and _text(item) in _VARYING:
                items[i + 1] = 0
        return type(value)(items) if isinstance(value, tuple) else items
    if isinstance(value, int) and not isinstance(value, bool) and value > 10**12:
        return 0  # a time in milliseconds (a pending entry's delivery time)
    return value


_VARYING = {"idle", "inactive", "seen-time", "active-time", "age-seconds", "client-info",
            "timestamp-created", "timestamp-last-updated", "entry-id", "client-id",
            "delivery-time", "time_since_delivered", "times_delivered"}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _keys_only(value: Any) -> Any:
    return sorted(_text(k) for k in value) if isinstance(value, dict) else type(value).__name__


CASES = [
    # sorted sets: the shapes that differ most
    Case("zrange", _ZSET, lambda c: c.zrange("z", 0, -1)),
    Case("zrange_ws", _ZSET, lambda c: c.zrange("z", 0, -1, withscores=True)),
    Case("zrange_ws_int", _ZSET, lambda c: c.zrange("z", 0, -1, withscores=True,
                                                    score_cast_func=int)),
    Case("zrange_ws_str", _ZSET, lambda c: c.zrange("z", 0, -1, withscores=True,
                                                    score_cast_func=repr)),
    Case("zrange_desc_ws", _ZSET, lambda c: c.zrange("z", 0, 1, desc=True, withscores=True)),
    Case("zrange_byscore_ws", _ZSET, lambda c: c.zrange("z", 1, 3, byscore=True,
                                                        withscores=True)),
    Case("zrangebyscore_ws", _ZSET, lambda c: c.zrangebyscore("z", 1, 3, withscores=True)),
    Case("zrevrange_ws", _ZSET, lambda c: c.zrevrange("z", 0, -1, withscores=True)),
    Case("zrevrangebyscore_ws", _ZSET, lambda c: c.zrevrangebyscore("z", 3, 1,
                                                                     withscores=True)),
    Case("zrange_empty_ws", (), lambda c: c.zrange("nothing", 0, -1, withscores=True)),
    Case("zinter_ws", _ZSET2, lambda c: c.zinter(["z", "z2"], withscores=True)),
    Case("zinter", _ZSET2, lambda c: c.zinter(["z", "z2"])),
    Case("zunion_ws", _ZSET2, lambda c: c.zunion(["z", "z2"], withscores=True)),
    Case("zunion", _ZSET2, lambda c: c.zunion(["z", "z2"])),
    Case("zdiff_ws", _ZSET2, lambda c: c.zdiff(["z", "z2"], withscores=True)),
    Case("zdiff", _ZSET2, lambda c: c.zdiff(["z", "z2"])),
    Case("zpopmin", _ZSET, lambda c: c.zpopmin("z")),
    Case("zpopmin_count", _ZSET, lambda c: c.zpopmin("z", 2)),
    Case("zpopmax", _ZSET, lambda c: c.zpopmax("z", 2)),
    Case("zpopmin_empty", (), lambda c: c.zpopmin("nothing")),
    Case("bzpopmin", _ZSET, lambda c: c.bzpopmin(["z"], timeout=1)),
    Case("bzpopmax", _ZSET, lambda c: c.bzpopmax(["z"], timeout=1)),
    Case("bzpopmin_none", (), lambda c: c.bzpopmin(["nothing"], timeout=0.01), direct=False),
    Case("zmpop", _ZSET, lambda c: c.zmpop(1, ["z"], min=True, count=2)),
    Case("zmpop_none", (), lambda c: c.zmpop(1, ["nothing"], min=True)),
    Case("bzmpop", _ZSET, lambda c: c.bzmpop(1, 1, ["z"], max=True, count=2)),
    Case("zrank", _ZSET, lambda c: c.zrank("z", "b")),
    Case("zrank_ws", _ZSET, lambda c: c.zrank("z", "b", withscore=True)),
    Case("zrevrank_ws", _ZSET, lambda c: c.zrevrank("z", "b", withscore=True)),
    Case("zrank_ws_missing", _ZSET, lambda c: c.zrank("z", "x", withscore=True)),
    Case("zscore", _ZSET, lambda c: c.zscore("z", "b")),
    Case("zscore_missing", _ZSET, lambda c: c.zscore("z", "x")),
    Case("zincrby", _ZSET, lambda c: c.zincrby("z", 1.5, "a")),
    Case("zmscore", _ZSET, lambda c: c.zmscore("z", ["a", "x", "b"])),
    Case("zadd", (), lambda c: c.zadd("z", {"a": 1, "b": 2})),
    Case("zadd_incr", _ZSET, lambda c: c.zadd("z", {"a": 2}, incr=True)),
    Case("zrandmember_ws", _ONE_Z, lambda c: c.zrandmember("one", 1, withscores=True)),
    Case("zrandmember", _ONE_Z, lambda c: c.zrandmember("one")),
    Case("zscan", _ZSET, lambda c: c.zscan("z")),
    Case("zscan_int", _ZSET, lambda c: c.zscan("z", score_cast_func=int)),
    Case("zcard", _ZSET, lambda c: c.zcard("z")),
    Case("zrangestore", _ZSET, lambda c: c.zrangestore("dst", "z", 0, -1)),
    # sets
    Case("smembers", _SETS, lambda c: c.smembers("s1")),
    Case("smembers_empty", (), lambda c: c.smembers("nothing")),
    Case("sdiff", _SETS, lambda c: c.sdiff(["s1", "s2"])),
    Case("sinter", _SETS, lambda c: c.sinter(["s1", "s2"])),
    Case("sunion", _SETS, lambda c: c.sunion(["s1", "s2"])),
    # bool where redis-py gives 0/1: a documented difference (equal values)
    Case("smismember", _SETS, lambda c: [int(x) for x in c.smismember("s1", ["a", "x"])],
         piped=False),
    Case("sismember", _SETS, lambda c: int(c.sismember("s1", "a")), piped=False),
    Case("sscan", (("SADD", "one_s", "m"),), lambda c: c.sscan("one_s")),
    # hashes
    Case("hgetall", _HASH, lambda c: c.hgetall("h")),
    Case("hgetall_empty", (), lambda c: c.hgetall("nothing")),
    Case("hrandfield_wv", _ONE_H, lambda c: c.hrandfield("oneh", 1, withvalues=True)),
    Case("hrandfield_count", _ONE_H, lambda c: c.hrandfield("oneh", 1)),
    Case("hrandfield", _ONE_H, lambda c: c.hrandfield("oneh")),
    Case("hscan", _ONE_H, lambda c: c.hscan("oneh")),
    Case("hscan_novalues", _ONE_H, lambda c: c.hscan("oneh", no_values=True)),
    Case("hincrbyfloat", _HASH, lambda c: c.hincrbyfloat("h", "n", 1.5)),
    Case("hexists", _HASH, lambda c: c.hexists("h", "f1")),
    Case("hmget", _HASH, lambda c: c.hmget("h", ["f1", "x"])),
    # lists
    Case("blpop", (("RPUSH", "l", "a", "b"),), lambda c: c.blpop(["l"], timeout=1)),
    Case("brpop", (("RPUSH", "l", "a", "b"),), lambda c: c.brpop(["l"], timeout=1)),
    Case("blpop_none", (), lambda c: c.blpop(["nothing"], timeout=0.01), direct=False),
    Case("lmpop", (("RPUSH", "l", "a", "b"),), lambda c: c.lmpop(1, "l", direction="LEFT")),
    Case("lrange", (("RPUSH", "l", "a", "b"),), lambda c: c.lrange("l", 0, -1)),
    Case("lpos", (("RPUSH", "l", "a", "b"),), lambda c: c.lpos("l", "b")),
    # strings and keys
    Case("get", (("SET", "k", "v"),), lambda c: c.get("k")),
    Case("set", (), lambda c: c.set("k", "v")),
    Case("set_get", (("SET", "k", "v"),), lambda c: c.set("k", "w", get=True)),
    Case("incrbyfloat", (), lambda c: c.incrbyfloat("n", 2.5)),
    Case("mget", (("SET", "k", "v"),), lambda c: c.mget(["k", "x"])),
    Case("expire", (("SET", "k", "v"),), lambda c: c.expire("k", 100)),
    Case("ttl", (("SET", "k", "v", "EX", 100),), lambda c: c.ttl("k")),
    Case("lcs", (("SET", "a", "ohmytext"), ("SET", "b", "mynewtext")),
     lambda c: c.lcs("a", "b")),
    Case("lcs_len", (("SET", "a", "ohmytext"), ("SET", "b", "mynewtext")),
     lambda c: c.lcs("a", "b", len=True)),
    Case("lcs_idx", (("SET", "a", "ohmytext"), ("SET", "b", "mynewtext")),
     lambda c: c.lcs("a", "b", idx=True, minmatchlen=4, withmatchlen=True)),
    Case("lcs_idx_plain", (("SET", "a", "ohmytext"), ("SET", "b", "mynewtext")),
     lambda c: c.lcs("a", "b", idx=True)),
    Case("scan", (("SET", "k", "v"),), lambda c: c.scan(0)),
    Case("type", (("SET", "k", "v"),), lambda c: c.type("k")),
    Case("sort", (("RPUSH", "l", "2", "1"),), lambda c: c.sort("l")),
    Case("sort_groups", (("RPUSH", "l", "2", "1"), ("SET", "w_1", "x"), ("SET", "w_2", "y")),
     lambda c: c.sort("l", get=["#", "w_*"], groups=True)),
    Case("object_encoding", (("SET", "k", "v"),), lambda c: c.object("encoding", "k")),
    # geo
    Case("geopos", _GEO, lambda c: c.geopos("g", "Palermo", "nowhere")),
    Case("geohash", _GEO, lambda c: c.geohash("g", "Palermo", "nowhere")),
    Case("geodist", _GEO, lambda c: c.geodist("g", "Palermo", "Catania")),
    Case("geosearch", _GEO, lambda c: c.geosearch("g", longitude=15, latitude=37, radius=200,
                                                  sort="ASC")),
    Case("geosearch_with", _GEO, lambda c: c.geosearch(
        "g", longitude=15, latitude=37, radius=200, sort="ASC", withdist=True,
        withcoord=True, withhash=True)),
    Case("geosearch_dist", _GEO, lambda c: c.geosearch(
        "g", longitude=15, latitude=37, radius=200, sort="ASC", withdist=True)),
    Case("georadius_with", _GEO, lambda c: c.georadius(
        "g", 15, 37, 200, unit="km", withdist=True, withcoord=True, sort="ASC")),
    Case("georadiusbymember_with", _GEO, lambda c: c.georadiusbymember(
        "g", "Palermo", 200, unit="km", withdist=True, sort="ASC")),
    # streams
    Case("xrange", _STREAM, lambda c: c.xrange("st")),
    Case("xrevrange", _STREAM, lambda c: c.xrevrange("st")),
    Case("xread", _STREAM, lambda c: c.xread({"st": "0"})),
    Case("xread_none", _STREAM, lambda c: c.xread({"st": "$"})),
    Case("xreadgroup", _STREAM, lambda c: c.xreadgroup("grp", "me", {"st": ">"})),
    Case("xreadgroup_none", _STREAM, lambda c: c.xreadgroup("grp", "me", {"st": "$"},
                                                            block=10)),
    Case("xinfo_groups", _STREAM, lambda c: c.xinfo_groups("st"), _idle),
    Case("xinfo_consumers", (*_STREAM, _READ), lambda c: c.xinfo_consumers("st", "grp"),
         _idle),
    Case("xinfo_stream", _STREAM, lambda c: c.xinfo_stream("st"), _idle),
    Case("xinfo_stream_full", (*_STREAM, _READ), lambda c: c.xinfo_stream("st", full=True),
         _idle),
    Case("xpending", _STREAM, lambda c: c.xpending("st", "grp")),
    Case("xautoclaim", (*_STREAM, _READ), lambda c: c.xautoclaim("st", "grp", "me", 0)),
    Case("xclaim", (*_STREAM, _READ), lambda c: c.xclaim("st", "grp", "me", 0, ["1-0"])),
    # server, acl, functions, scripting
    Case("config_get", (), lambda c: c.config_get("maxmemory-polic*")),
    Case("config_set", (), lambda c: c.config_set("maxmemory-policy", "noeviction")),
    Case("acl_cat", (), lambda c: c.acl_cat()[:3], piped=False),
    Case("acl_cat_cat", (), lambda c: c.acl_cat("keyspace")[:3], piped=False),
    Case("acl_list", (), lambda c: c.acl_list()),
    Case("acl_users", (), lambda c: c.acl_users()),
    Case("acl_whoami", (), lambda c: c.acl_whoami()),
    Case("acl_getuser", (), lambda c: c.acl_getuser("default")),
    Case("acl_getuser_sel", (("ACL", "SETUSER", "seluser", "on", "~k*", "+get",
                              "(~x* +set)"),), lambda c: c.acl_getuser("seluser")),
    Case("acl_log", (("ACL", "LOG", "RESET"),), lambda c: c.acl_log()),
    Case("acl_genpass_len", (), lambda c: type(c.acl_genpass()).__name__, piped=False),
    Case("acl_help", (), lambda c: c.acl_help()[:2], piped=False),
    Case("client_getname", (), lambda c: c.client_getname()),
    Case("client_trackinginfo", (), lambda c: c.client_trackinginfo()),
    Case("command_getkeys", (), lambda c: c.command_getkeys("MSET", "a", "1", "b", "2")),
    Case("command_getkeysandflags", (),
     lambda c: c.command_getkeysandflags("LMOVE", "a", "b", "LEFT", "RIGHT")),
    Case("command_info_keys", (), lambda c: sorted(c.command())[:3], piped=False),
    Case("command_get", (), lambda c: c.command()["get"], piped=False),
    Case("command_list", (), lambda c: sorted(c.command_list())[:3], piped=False),
    Case("command_count", (), lambda c: type(c.command_count()).__name__, piped=False),
    Case("memory_stats", (), lambda c: c.memory_stats(), _keys_only),
    Case("memory_usage", (("SET", "k", "v"),), lambda c: type(c.memory_usage("k")).__name__,
         piped=False),
    Case("module_list", (), lambda c: c.module_list()),
    Case("function_load", (), lambda c: c.function_load(_LIB)),
    Case("function_list", (("FUNCTION", "LOAD", _LIB),), lambda c: c.function_list()),
    Case("function_list_code", (("FUNCTION", "LOAD", _LIB),),
     lambda c: c.function_list(withcode=True)),
    Case("function_stats", (), lambda c: c.function_stats()),
    Case("fcall", (("FUNCTION", "LOAD", _LIB),), lambda c: c.fcall("difffn", 0)),
    Case("eval_map", (), lambda c: c.eval("return {1, 'a', {2}}", 0)),
    Case("eval_double", (), lambda c: c.eval("return redis.setresp(3) and 1.5", 0)),
    Case("eval_resp3_map", (), lambda c: c.eval(
        "redis.setresp(3); return redis.call('HGETALL', KEYS[1])", 1, "h")),
    Case("script_exists", (), lambda c: c.script_exists("0" * 40)),
    Case("slowlog_len", (), lambda c: type(c.slowlog_len()).__name__, piped=False),
    Case("ping", (), lambda c: c.ping()),
    Case("echo", (), lambda c: c.echo("hi")),
    Case("dbsize", (("SET", "k", "v"),), lambda c: c.dbsize()),
    Case("time", (), lambda c: [type(x).__name__ for x in c.time()], piped=False),
    Case("lastsave", (), lambda c: type(c.lastsave()).__name__, piped=False),
    Case("info_keys", (), lambda c: c.info("server")["redis_mode"], piped=False),
    Case("info_keyspace", (("SET", "k", "v"),), lambda c: c.info("keyspace")),
    Case("pubsub_numsub", (), lambda c: c.pubsub_numsub("ch")),
    Case("pubsub_channels", (), lambda c: c.pubsub_channels()),
    Case("pubsub_numpat", (), lambda c: c.pubsub_numpat()),
    Case("pfadd", (), lambda c: c.pfadd("hll", "a")),
    Case("bitfield", (), lambda c: c.bitfield("bf").incrby("u8", 0, 1).execute(), piped=False),
    Case("client_no_evict", (), lambda c: c.client_no_evict("on"), piped=False),
    Case("latency_latest", (), lambda c: c.latency_latest()),
    Case("lolwut", (), lambda c: type(c.lolwut()).__name__, piped=False),
    Case("debug_object", (("SET", "k", "v"),),
         lambda c: type(c.debug_object("k")).__name__, piped=False),
    Case("object_freq_err", (("SET", "k", "v"),), lambda c: c.object("refcount", "k")),
]


# With no protocol given redis-py 8 speaks RESP3 and converts to RESP2's shapes,
# greenpool speaks RESP2 (its default path does no conversion at all).  Where
# redis-py leaves part of a RESP3 reply as sent, or re-encodes RESP3's double
# scores as bytes when decoding, the two differ (docs/redis.md lists these);
# greenpool's result there is redis-py's protocol=2 one.
KNOWN = {"command_get", "function_stats", "eval_resp3_map", "xinfo_stream_full"}
KNOWN_DECODED = {"zrange_ws_str", "zdiff_ws", "zmpop", "bzmpop", "zrandmember_ws"}


def _known(protocol: int | None, legacy: bool, decode: bool) -> set[str]:
    if protocol is not None or not legacy:
        return set()
    return KNOWN | KNOWN_DECODED if decode else KNOWN


def _canon(value: Any) -> Any:
    """A hashable, type-tagged form: equal only for equal values of equal types."""
    kind = type(value).__name__
    if isinstance(value, dict):
        return kind, frozenset((_canon(k), _canon(v)) for k, v in value.items())
    if isinstance(value, (set, frozenset)):
        return kind, frozenset(_canon(v) for v in value)
    if isinstance(value, (list, tuple)):
        return kind, tuple(_canon(v) for v in value)
    if isinstance(value, float) and value != value:
        return kind, "nan"
    return kind, value


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer(extra_args=("--enable-debug-command", "yes")) as srv:
        yield srv


def _kwargs(protocol: int | None, legacy: bool, decode: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"legacy_responses": legacy, "decode_responses": decode}
    if protocol is not None:
        kwargs["protocol"] = protocol
    return kwargs


def _reset(admin: Any, case: Case) -> None:
    admin.flushall()
    if case.name.startswith(("function", "fcall")):
        admin.execute_command("FUNCTION", "FLUSH")
    if case.name.startswith("acl"):
        admin.execute_command("ACL", "DELUSER", "seluser")
    for command in case.setup:
        admin.execute_command(*command)


def _outcome(call: Callable[[], Any], case: Case) -> Any:
    try:
        value = call()
    except Exception as exc:  # compared by message: the classes are each library's own
        # (a pipeline's error: the server's message, which redis-py strips of "ERR ")
        return "error", str(exc).rpartition("caused error: ")[2].removeprefix("ERR ")
    return _canon(case.mask(value) if case.mask else value)


def _piped(client: Any, case: Case, transaction: bool) -> Callable[[], Any]:
    def call() -> Any:
        with client.pipeline(transaction=transaction) as pipe:
            case.call(pipe)
            return pipe.execute()[0]

    return call


def _compare(theirs: Any, ours: Any, admin: Any, cases: list[Case], known: set[str],
             reference: Any, how: str) -> list[str]:
    differences = []
    for case in cases:
        if how != "transaction" and not case.direct:
            continue
        if how == "direct":
            runs = [partial(case.call, theirs), partial(case.call, ours)]
            if case.name in known:
                runs[0] = partial(case.call, reference)
        else:
            transaction = how == "transaction"
            runs = [_piped(reference if case.name in known else theirs, case, transaction),
                    _piped(ours, case, transaction)]
        results = []
        for run in runs:
            _reset(admin, case)
            results.append(_outcome(run, case))
        if results[0] != results[1]:
            differences.append(f"{how} {case.name}: redis-py {results[0]!r}\n"
                               f"   greenpool {results[1]!r}")
    return differences


_IDS = [f"p{p}-{'legacy' if lg else 'unified'}" for p, lg in MODES]


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
@pytest.mark.parametrize(("protocol", "legacy"), MODES, ids=_IDS)
def test_replies_match_redis_py(server: RedisServer, protocol: int | None, legacy: bool,
                                decode: bool) -> None:
    address = {"host": server.host, "port": server.port}
    kwargs = _kwargs(protocol, legacy, decode)
    with redis.Redis(**address, protocol=2) as admin, redis.Redis(**address, **kwargs) as theirs, \
            redis.Redis(**address, **{**kwargs, "protocol": 2}) as reference, \
            Redis(**address, **kwargs) as ours:
        known = _known(protocol, legacy, decode)
        differences = _compare(theirs, ours, admin, CASES, known, reference, "direct")
        piped = [case for case in CASES if case.piped]
        # Pipelines with the bytes clients, transactions with the decoding ones.
        how = "transaction" if decode else "pipeline"
        differences += _compare(theirs, ours, admin, piped, known, reference, how)
    assert not differences, "\n".join(differences)


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
@pytest.mark.parametrize(("protocol", "legacy"), MODES, ids=_IDS)
def test_reset_reply_matches_redis_py(server: RedisServer, protocol: int | None, legacy: bool,
                                      decode: bool) -> None:
    # reset() runs on a connection of its own (not through execute_command), and
    # RESET puts a connection back on RESP2: fresh clients, used for nothing else.
    address = {"host": server.host, "port": server.port}
    kwargs = _kwargs(protocol, legacy, decode)
    with redis.Redis(**address, **kwargs) as theirs, Redis(**address, **kwargs) as ours:
        expected = theirs.reset()
        assert _canon(ours.reset()) == _canon(expected)
        assert ours.ping() is True  # the shared connection was not the one reset
        for client in (ours, theirs):  # a callback gets the reply as it came
            client.set_response_callback("RESET", lambda reply, **options: ("reset", reply))
        assert _canon(ours.reset()) == _canon(theirs.reset())
        assert ours.reset()[0] == "reset"


URL_CASES = [c for c in CASES if c.name in (
    "zrange_ws", "zpopmin", "hrandfield_wv", "xread", "geopos", "blpop", "lcs_idx")]


@pytest.mark.parametrize(("protocol", "legacy"), MODES, ids=_IDS)
def test_url_options_choose_the_shapes(server: RedisServer, protocol: int | None,
                                       legacy: bool) -> None:
    query = f"legacy_responses={'true' if legacy else 'false'}"
    if protocol is not None:
        query += f"&protocol={protocol}"
    url = f"redis://{server.host}:{server.port}/0?{query}"
    with redis.Redis(host=server.host, port=server.port, protocol=2) as admin, \
            redis.Redis.from_url(url) as theirs, Redis.from_url(url) as ours:
        differences = _compare(theirs, ours, admin, URL_CASES, set(), theirs, "direct")
    assert not differences, "\n".join(differences)


CLUSTER_CASES = [c for c in CASES if c.name in (
    "zrange_ws", "zrange_ws_int", "zpopmin", "zrank", "hrandfield_wv", "hgetall", "geopos",
    "geohash", "blpop", "zmpop", "lcs_idx", "zscan", "smembers")]


@pytest.mark.parametrize(("protocol", "legacy"), [(3, True), (2, False), (None, False)],
                         ids=["p3-legacy", "p2-unified", "pNone-unified"])
def test_cluster_replies_match_redis_py(redis_cluster: RedisClusterServer,
                                        protocol: int | None, legacy: bool) -> None:
    nodes = redis_cluster.startup_nodes
    kwargs = _kwargs(protocol, legacy, False)
    theirs = redis.RedisCluster(host=nodes[0][0], port=nodes[0][1], **kwargs)
    admin = redis.RedisCluster(host=nodes[0][0], port=nodes[0][1], protocol=2)
    ours = RedisCluster(startup_nodes=nodes, **kwargs)
    try:
        cases = [c._replace(setup=tuple(_hashtagged(cmd) for cmd in c.setup),
                            call=_on_tagged(c.call)) for c in CLUSTER_CASES]
        differences = []
        for case in cases:
            results = []
            for client in (theirs, ours):
                for node in admin.get_primaries():
                    admin.flushall(target_nodes=node)
                for command in case.setup:
                    admin.execute_command(*command)
                results.append(_outcome(partial(case.call, client), case))
            if results[0] != results[1]:
                differences.append(f"{case.name}: {results[0]!r} != {results[1]!r}")
    finally:
        theirs.close()
        admin.close()
        ours.close()
    assert not differences, "\n".join(differences)


class _Tagged:
    """A client whose key arguments all land on one slot (``{t}`` + key)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        return lambda *args, **kwargs: method(*_tag_args(args), **kwargs)


def _tag_args(args: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for i, arg in enumerate(args):
        if i == 0 and isinstance(arg, str):
            out.append("{t}" + arg)
        elif i == 0 and isinstance(arg, list):
            out.append(["{t}" + key for key in arg])
        elif i == 0 and isinstance(arg, dict):
            out.append({"{t}" + key: value for key, value in arg.items()})
        else:
            out.append(arg)
    return out


def _on_tagged(call: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda client: call(_Tagged(client))


def _hashtagged(command: tuple[Any, ...]) -> tuple[Any, ...]:
    return (command[0], "{t}" + command[1], *command[2:])


def test_a_response_callback_overrides_the_modes_shape(server: RedisServer) -> None:
    address = {"host": server.host, "port": server.port}
    with Redis(**address, protocol=3) as ours, redis.Redis(**address, protocol=3) as theirs:
        for client in (ours, theirs):
            client.set_response_callback("ZRANGE", lambda reply, **options: ("mine", reply))
            client.set_response_callback("HRANDFIELD", lambda reply, **options: "fields")
        ours.zadd("cb", {"a": 1})
        assert ours.zrange("cb", 0, -1, withscores=True) == ("mine", [[b"a", 1.0]])
        assert theirs.zrange("cb", 0, -1, withscores=True) == ("mine", [[b"a", 1.0]])
        with ours.pipeline() as pipe:
            assert pipe.hrandfield("nothing").zpopmin("cb").execute() == ["fields", [b"a", 1.0]]
