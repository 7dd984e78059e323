"""The server group (INFO, DBSIZE, TIME, CONFIG ...) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from commands_executor import Keys, SocketRedis, assert_same
from redis._parsers.helpers import parse_info as redis_py_parse_info

from greenpool.redis.commands import parse_info

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
