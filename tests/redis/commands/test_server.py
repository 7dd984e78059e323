"""The server group (INFO, DBSIZE, TIME, CONFIG ...) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from commands_executor import (
    Canned,
    Keys,
    SocketRedis,
    assert_same,
    redis_py_shaped,
    sort,
    t,
)
from redis._parsers.helpers import parse_info as redis_py_parse_info
from redis.commands.core import HotkeysMetricsTypes
from wire import assert_sends_same, sent

from greenpool.errors import ConfigurationError
from greenpool.errors import ConnectionError as GreenpoolConnectionError
from greenpool.redis.commands import Commands, DataError, parse_info
from greenpool.redis.exceptions import RedisError

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def test_info_is_a_dict_with_str_keys_and_typed_values(r: SocketRedis, k: Keys) -> None:
    r.set(k("a"), 1)
    info = r.info()
    assert all(type(key) is str for key in info)
    assert type(info["redis_version"]) is str
    assert type(info["connected_clients"]) is int
    assert type(info["mem_fragmentation_ratio"]) is float
    assert info["db0"]["keys"] >= 1
    assert set(info["db0"]) >= {"keys", "expires", "avg_ttl"}
    keyspace = r.info("keyspace")
    assert set(keyspace) == {"db0"} or all(name.startswith("db") for name in keyspace)
    assert "redis_version" not in keyspace
    both = r.info("server", "clients")
    assert "redis_version" in both and "connected_clients" in both
    everything = r.info("everything")
    assert any(key.startswith("cmdstat_") for key in everything)
    assert type(everything["cmdstat_set"]) is dict
    assert type(everything["cmdstat_set"]["calls"]) is int

def test_dbsize_and_time(r: SocketRedis, k: Keys) -> None:
    r.set(k("a"), 1)
    assert type(r.dbsize()) is int and r.dbsize() >= 1
    seconds, micros = r.time()
    assert type(seconds) is int and type(micros) is int
    assert abs(seconds - time.time()) < 5
    assert 0 <= micros < 1_000_000

def test_config_get(r: SocketRedis) -> None:
    assert r.config_get("maxmemory") == {"maxmemory": "0"}
    several = r.config_get("maxmemory*", "appendonly")
    assert several["appendonly"] == "no"
    assert "maxmemory-policy" in several
    assert all(type(key) is str and type(value) is str for key, value in several.items())
    assert r.config_get("no-such-parameter-*") == {}


# ============================================================================
# The same calls through redis-py


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


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_server_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(server_scenario)


# ============================================================================
# The rest of the server group: what is sent, bad arguments, reply shapes


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("bgrewriteaof", (), {}),
        ("bgsave", (), {}),
        ("bgsave", (), {"schedule": False}),
        ("command", (), {}),
        ("command_count", (), {}),
        ("command_list", (), {}),
        ("command_list", (), {"module": "m"}),
        ("command_list", (), {"category": "string"}),
        ("command_list", (), {"pattern": "z*"}),
        ("command_list", (), {"module": "m", "category": "c", "pattern": "p"}),
        ("command_getkeys", ("MSET", "a", 1, "b", 2), {}),
        ("command_getkeysandflags", ("LMOVE", "a", "b", "LEFT", "RIGHT"), {}),
        ("config_resetstat", (), {}),
        ("config_rewrite", (), {}),
        ("debug_object", ("k",), {}),
        ("latency_history", ("command",), {}),
        ("latency_latest", (), {}),
        ("latency_reset", (), {}),
        ("latency_reset", ("command", "fork"), {}),
        ("lolwut", (), {}),
        ("lolwut", (5, 1.5, "2"), {}),
        ("memory_malloc_stats", (), {}),
        ("memory_purge", (), {}),
        ("memory_stats", (), {}),
        ("memory_usage", ("k",), {}),
        ("memory_usage", ("k",), {"samples": 0}),
        ("memory_usage", ("k",), {"samples": 7}),
        ("module_list", (), {}),
        ("module_load", ("/x.so",), {}),
        ("module_load", ("/x.so", "a", 1), {}),
        ("module_loadex", ("/x.so",), {}),
        ("module_loadex", ("/x.so",), {"options": ["n", "v"], "args": ["a", "b"]}),
        ("module_loadex", ("/x.so",), {"args": []}),
        ("module_unload", ("m",), {}),
        ("psync", ("?", -1), {}),
        ("replicaof", ("NO", "ONE"), {}),
        ("replicaof", ("127.0.0.1", 6379), {}),
        ("role", (), {}),
        ("save", (), {}),
        ("slaveof", (), {}),
        ("slaveof", ("127.0.0.1", 6379), {}),
        ("slowlog_get", (), {}),
        ("slowlog_get", (5,), {}),
        ("slowlog_get", (-1,), {}),
        ("slowlog_len", (), {}),
        ("slowlog_reset", (), {}),
        ("swapdb", (0, 1), {}),
        ("sync", (), {}),
        ("hotkeys_stop", (), {}),
        ("hotkeys_reset", (), {}),
        ("hotkeys_get", (), {}),
        ("hotkeys_start", ([HotkeysMetricsTypes.CPU],), {}),
        ("hotkeys_start", ([HotkeysMetricsTypes.CPU, HotkeysMetricsTypes.NET],),
         {"count": 10, "duration": 30, "sample_ratio": 4, "slots": [0, 16383]}),
        ("hotkeys_start", ([HotkeysMetricsTypes.NET],), {"slots": []}),
    ],
)
def test_server_methods_send_what_redis_py_sends(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert_sends_same(method, *args, **kwargs)


def test_hotkeys_metrics_may_be_named() -> None:
    by_member, by_name = Canned(b"OK"), Canned(b"OK")
    by_member.hotkeys_start([HotkeysMetricsTypes.CPU, HotkeysMetricsTypes.NET], count=3)
    by_name.hotkeys_start(["CPU", "NET"], count=3)
    assert by_member.sent == by_name.sent


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"save": True}, {"nosave": True, "now": True, "force": True}, {"abort": True}],
)
def test_shutdown_sends_what_redis_py_sends_and_takes_a_closed_connection_as_success(
    kwargs: dict[str, Any],
) -> None:
    ours: list[tuple[Any, ...]] = []
    theirs: list[tuple[Any, ...]] = []

    class Closing(Commands):
        protocol = 2
        decode_responses = False

        def execute_command(self, *args: Any, **options: Any) -> Any:  # type: ignore[override]
            ours.append(args)
            raise GreenpoolConnectionError("the server closed the connection")

    def closing(*args: Any, **options: Any) -> Any:
        theirs.append(args)
        raise redis.ConnectionError("closed")

    reference = redis.Redis()
    reference.execute_command = closing  # type: ignore[method-assign]
    assert Closing().shutdown(**kwargs) is None
    assert reference.shutdown(**kwargs) is None
    assert [list(a) for a in ours] == [list(a) for a in theirs]


def test_shutdown_that_gets_a_reply_did_not_shut_down() -> None:
    class Answering(Commands):
        protocol = 2
        decode_responses = False

        def execute_command(self, *args: Any, **options: Any) -> Any:  # type: ignore[override]
            return b"OK"

    with pytest.raises(RedisError, match="SHUTDOWN"):
        Answering().shutdown()
    # ABORT answers OK when it cancelled a shutdown: that is its success.
    assert Answering().shutdown(abort=True) is None


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("command_info", ()), ("command_docs", ("get",)), ("debug_segfault", ()),
        ("failover", ()), ("latency_doctor", ()), ("latency_graph", ()),
        ("latency_histogram", ("get",)), ("memory_doctor", ()), ("memory_help", ()),
    ],
)
def test_methods_redis_py_leaves_unimplemented_raise_the_same(
    r: SocketRedis, method: str, args: tuple[Any, ...]
) -> None:
    with pytest.raises(NotImplementedError):
        getattr(redis.Redis(), method)(*args)
    before = len(r.sent)
    with pytest.raises(NotImplementedError, match="execute_command"):
        getattr(r, method)(*args)
    assert len(r.sent) == before


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("shutdown", (), {"save": True, "nosave": True}),
        ("swapdb", ("0x", 1), {}),
        ("swapdb", (0, -1), {}),
        ("memory_usage", ("k",), {"samples": -1}),
        ("memory_usage", ("k",), {"samples": "5x"}),
        ("slowlog_get", ("10x",), {}),
        ("hotkeys_start", ([],), {}),
        ("hotkeys_start", ("CPU",), {}),
        ("hotkeys_start", ([None],), {}),
        ("hotkeys_start", (["CPU"],), {"count": 0}),
        ("hotkeys_start", (["CPU"],), {"sample_ratio": 0}),
        ("hotkeys_start", (["CPU"],), {"duration": "10x"}),
        ("hotkeys_start", (["CPU"],), {"slots": ["a"]}),
    ],
)
def test_bad_server_arguments_raise_data_error_and_send_nothing(
    r: SocketRedis, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    before = len(r.sent)
    with pytest.raises(DataError):
        getattr(r, method)(*args, **kwargs)
    assert len(r.sent) == before


def test_sync_and_psync_are_refused_on_a_shared_connection(r: SocketRedis) -> None:
    before = len(r.sent)
    with pytest.raises(ConfigurationError, match="replication stream"):
        r.sync()
    with pytest.raises(ConfigurationError, match="replication stream"):
        r.psync("?", -1)
    assert len(r.sent) == before


def test_command_table_and_keys(r: SocketRedis, k: Keys) -> None:
    table = r.command()
    assert len(table) == r.command_count()
    get = table["get"]
    assert get["name"] == "get" and get["arity"] == 2 and "readonly" in get["flags"]
    assert (get["first_key_pos"], get["last_key_pos"], get["step_count"]) == (1, 1, 1)
    assert "@string" in get["acl_categories"]
    assert r.command_getkeys("MSET", k("a"), 1, k("b"), 2) == [k("a"), k("b")]
    names = r.command_list(category="hyperloglog")
    assert sorted(names) == t(r, ["pfadd", "pfcount", "pfdebug", "pfmerge", "pfselftest"])
    assert t(r, "zadd") in r.command_list(pattern="z*")
    assert r.command_list(module="no-such-module") == []
    [[key, flags]] = r.command_getkeysandflags("GET", k("a"))
    assert key == t(r, k("a")) and t(r, "RO") in flags


def test_memory_usage_and_stats(r: SocketRedis, k: Keys) -> None:
    assert r.memory_usage(k("missing")) is None
    r.rpush(k("list"), *range(100))
    assert type(r.memory_usage(k("list"))) is int
    assert r.memory_usage(k("list"), samples=0) >= r.memory_usage(k("list"), samples=1) > 0
    stats = r.memory_stats()
    assert all(type(name) is str for name in stats)
    assert type(stats["peak.allocated"]) is int
    db0 = stats["db.0"]
    assert type(db0) is dict and type(db0["overhead.hashtable.main"]) is int
    assert type(r.memory_malloc_stats()) is (str if r.decode_responses else bytes)
    assert r.memory_purge() is True


# Canned replies of Redis 8 commands (HOTKEYS) and of modules (none on the
# test server), shaped by greenpool and by redis-py's callbacks alike.
HOTKEYS_GET = {
    2: [[b"tracking-active", 0, b"sample-ratio", 1, b"by-cpu-time", [b"k1", 12, b"k2", 3]]],
    3: [{b"tracking-active": 0, b"sample-ratio": 1, b"by-cpu-time": [b"k1", 12, b"k2", 3]}],
}
MODULE_LIST = {
    2: [[b"name", b"search", b"ver", 20803, b"path", b"/m.so", b"args", []]],
    3: [{b"name": b"search", b"ver": 20803, b"path": b"/m.so", b"args": []}],
}


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize(
    ("method", "command", "canned"),
    [("hotkeys_get", "HOTKEYS GET", HOTKEYS_GET), ("module_list", "MODULE LIST", MODULE_LIST)],
)
def test_canned_replies_are_shaped_as_redis_py_shapes_them(
    method: str, command: str, canned: dict[int, Any], protocol: int
) -> None:
    reply = canned[protocol]
    ours = sent(method, reply=reply)
    assert ours[0] == ours[1]
    mine = getattr(Canned(reply), method)()
    assert_same(mine, redis_py_shaped(command, reply, protocol))
    assert_same(mine, redis_py_shaped(command, canned[2], 2))


def server_admin_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["command_count type"] = type(c.command_count())
    table = c.command()
    for entry in table.values():  # the server lists subcommands in no fixed order
        entry["subcommands"] = sort(entry["subcommands"])
    out["command"] = table
    out["command_list"] = sorted(c.command_list())
    out["command_list category"] = sorted(c.command_list(category="hyperloglog"))
    out["command_list pattern"] = sorted(c.command_list(pattern="zr*"))
    out["command_getkeys"] = c.command_getkeys("MSET", k("a"), 1, k("b"), 2)
    out["command_getkeysandflags"] = c.command_getkeysandflags(
        "LMOVE", k("a"), k("b"), "LEFT", "RIGHT"
    )
    out["memory_usage missing"] = c.memory_usage(k("none"))
    c.set(k("a"), "x" * 100)
    out["memory_usage type"] = type(c.memory_usage(k("a"), samples=0))
    stats = c.memory_stats()
    out["memory_stats types"] = {
        name: {n: type(v) for n, v in value.items()} if type(value) is dict else type(value)
        for name, value in stats.items()
        if not name.startswith("db.") or name == "db.0"
    }
    out["memory_malloc_stats type"] = type(c.memory_malloc_stats())
    out["memory_purge"] = c.memory_purge()
    out["role"] = c.role()[:2]
    out["lolwut"] = c.lolwut()
    out["lolwut version type"] = type(c.lolwut(5, 1, 1))
    out["latency_history"] = c.latency_history("no-such-event")
    out["latency_latest type"] = type(c.latency_latest())
    out["slowlog_len type"] = type(c.slowlog_len())
    entries = c.slowlog_get(1)
    out["slowlog_get"] = [
        {name: type(value) for name, value in entry.items()} for entry in entries
    ]
    out["module_list"] = c.module_list()
    return out


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_server_admin_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(server_admin_scenario)
