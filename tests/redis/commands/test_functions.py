"""The functions group (FUNCTION ..., FCALL) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenarios at the end are compared with redis-py.
Libraries are server-wide: each test names its own and deletes it, and the
tests that flush, restore or kill use a server of their own (``r_own``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from commands_executor import SPIN_LUA, Keys, SocketRedis, assert_refused, busy_server, t
from wire import assert_sends_same, case, results_by

from greenpool.errors import ReplyError
from greenpool.redis import Redis
from greenpool.testing import RedisServer

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def library(name: str) -> str:
    """A library with a read-only ``<name>_get`` and a writing ``<name>_set``."""
    return (
        f"#!lua name={name}\n"
        f"redis.register_function{{function_name='{name}_get', "
        "callback=function(keys, args) return redis.call('GET', keys[1]) end, "
        "flags={'no-writes'}, description='reads'}\n"
        f"redis.register_function('{name}_set', function(keys, args) "
        "return redis.call('SET', keys[1], args[1]) end)"
    )


@pytest.fixture
def lib(r: SocketRedis) -> Iterator[str]:
    name = f"gp_{uuid.uuid4().hex[:12]}"
    yield name
    try:
        r.raw("FUNCTION", "DELETE", name)
    except ReplyError:
        pass  # not loaded, or deleted by the test


def test_load_call_list_delete(r: SocketRedis, k: Keys, lib: str) -> None:
    assert r.function_load(library(lib)) == t(r, lib)
    with pytest.raises(ReplyError):
        r.function_load(library(lib))
    assert r.function_load(library(lib), replace=True) == t(r, lib)
    assert r.fcall(f"{lib}_set", 1, k("a"), "v") == t(r, "OK")
    assert r.fcall_ro(f"{lib}_get", 1, k("a")) == t(r, "v")
    with pytest.raises(ReplyError):
        r.fcall_ro(f"{lib}_set", 1, k("a"), "w")  # not flagged no-writes
    (listed,) = r.function_list(library=lib)
    info = dict(zip(listed[::2], listed[1::2], strict=True))
    assert info[t(r, "library_name")] == t(r, lib)
    functions = [dict(zip(f[::2], f[1::2], strict=True)) for f in info[t(r, "functions")]]
    assert sorted(f[t(r, "name")] for f in functions) == t(r, [f"{lib}_get", f"{lib}_set"])
    assert t(r, "library_code") not in info
    (with_code,) = r.function_list(lib, withcode=True)
    assert with_code[-1] == t(r, library(lib))
    assert r.function_list(library="gp_none_such_*") == []
    stats = r.function_stats()
    assert stats[:2] == [t(r, "running_script"), None] and stats[2] == t(r, "engines")
    assert r.function_delete(lib) is True
    with pytest.raises(ReplyError):
        r.function_delete(lib)


def test_dump_flush_restore(r_own: SocketRedis) -> None:
    r_own.function_load(library("gp_kept"))
    payload = r_own.function_dump()
    assert type(payload) is bytes  # binary, also when the client decodes
    assert r_own.function_flush() is True
    assert r_own.function_list() == []
    assert r_own.function_restore(payload) is True
    with pytest.raises(ReplyError):
        r_own.function_restore(payload)  # APPEND: the library exists
    assert r_own.function_restore(payload, "REPLACE") is True
    assert r_own.function_flush("ASYNC") is True
    assert r_own.function_restore(payload, policy=None) is True
    assert r_own.function_restore(payload, "flush") is True
    assert len(r_own.function_list()) == 1
    assert r_own.function_dump() == payload


def test_function_kill_stops_a_busy_function(r_own: SocketRedis) -> None:
    spin = (
        "#!lua name=gp_spin\n"
        "redis.register_function{function_name='spin', flags={'no-writes'}, "
        f"callback=function() {SPIN_LUA} end}}"
    )
    r_own.function_load(spin)
    with pytest.raises(ReplyError) as caught:
        r_own.function_kill()
    assert caught.value.kind == "NOTBUSY"
    with busy_server(r_own, lambda other: other.fcall_ro("spin", 0)) as errors:
        assert r_own.function_kill() == t(r_own, "OK")
    assert "killed" in str(errors[0]).lower()


def test_function_dump_stays_bytes_on_the_client(redis_server: RedisServer) -> None:
    client = Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
    try:
        payload = client.function_dump()
        assert type(payload) is bytes
        with client.pipeline() as pipe:
            pipe.function_dump().function_stats()
            dumped, stats = pipe.execute()
        assert dumped == payload and stats[0] == "running_script"
    finally:
        client.close()


FUNCTION_WIRE = [
    case("function_load", "#!lua name=x\n"),
    case("function_load", "#!lua name=x\n", replace=True),
    case("function_delete", "x"),
    case("function_flush"),
    case("function_flush", "ASYNC"),
    case("function_list"),
    case("function_list", "lib*", withcode=True),
    case("fcall", "f", 0),
    case("fcall", "f", 2, "k1", "k2", "a1"),
    case("fcall_ro", "f", 1, "k1"),
    case("function_dump"),
    case("function_restore", b"\xf5\xc3payload"),
    case("function_restore", b"\xf5\xc3payload", "REPLACE"),
    case("function_kill"),
    case("function_stats"),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), FUNCTION_WIRE)
def test_sends_what_redis_py_sends(method: str, args: Any, kwargs: Any) -> None:
    assert_sends_same(method, *args, **kwargs)


FUNCTION_BAD: list[tuple[str, Callable[[SocketRedis], Any], str, Any]] = [
    ("function_flush mode", lambda r: r.function_flush("NOW"), "mode", "NOW"),
    ("function_restore policy", lambda r: r.function_restore(b"", "MERGE"), "policy", "MERGE"),
    ("fcall numkeys", lambda r: r.fcall("f", -1), "numkeys", -1),
    ("fcall_ro numkeys", lambda r: r.fcall_ro("f", "1x", "k"), "numkeys", "1x"),
]


@pytest.mark.parametrize(
    ("call", "argument", "value"),
    [b[1:] for b in FUNCTION_BAD],
    ids=[b[0] for b in FUNCTION_BAD],
)
def test_bad_argument(r: SocketRedis, call: Any, argument: str, value: Any) -> None:
    assert_refused(r, call, argument, value)


def test_function_stats_while_running_as_redis_py_on_resp2() -> None:
    # A running function can't be observed from the single-threaded test
    # executor; the RESP3 map is flattened to what RESP2 sends for it.
    resp2 = [
        b"running_script",
        [b"name", b"spin", b"command", [b"fcall", b"spin", b"0"], b"duration_ms", 12],
        b"engines",
        [b"LUA", [b"libraries_count", 1, b"functions_count", 1]],
    ]
    resp3 = {
        b"running_script": {
            b"name": b"spin",
            b"command": [b"fcall", b"spin", b"0"],
            b"duration_ms": 12,
        },
        b"engines": {b"LUA": {b"libraries_count": 1, b"functions_count": 1}},
    }
    ours2, theirs2 = results_by(lambda c: c.function_stats(), resp2, 2)
    ours3, _ = results_by(lambda c: c.function_stats(), resp3, 3)
    assert ours2 == theirs2 == ours3 == resp2


# ============================================================================
# The same calls through redis-py


def functions_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    name = "gp_scenario_" + k("x").rsplit(":", 2)[1]
    code = library(name)
    out["function_load"] = c.function_load(code)
    out["function_load replace"] = c.function_load(code, replace=True)
    out["fcall"] = c.fcall(f"{name}_set", 1, k("a"), "v")
    out["fcall_ro"] = c.fcall_ro(f"{name}_get", 1, k("a"))
    out["fcall_ro missing"] = c.fcall_ro(f"{name}_get", 1, k("b"))
    out["function_list"] = c.function_list(library=name)
    out["function_list withcode"] = c.function_list(name, withcode=True)
    out["function_list none"] = c.function_list("gp_none_such")
    out["function_delete"] = c.function_delete(name)
    return out


def functions_server_scenario(c: Any, k: Keys) -> Results:
    """FUNCTION STATS (RESP2's flat shape on both protocols), DUMP, FLUSH, RESTORE."""
    out: Results = {}
    c.function_flush()
    out["stats empty"] = c.function_stats()
    out["function_load"] = c.function_load(library("gp_dumped"))
    out["stats"] = c.function_stats()
    payload = c.function_dump()
    out["function_dump"] = type(payload)
    out["function_flush"] = c.function_flush("SYNC")
    out["function_restore"] = c.function_restore(payload)
    out["function_restore replace"] = c.function_restore(payload, "REPLACE")
    out["function_list"] = c.function_list()
    out["function_flush async"] = c.function_flush("ASYNC")
    return out


def test_functions_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(functions_scenario)


def test_function_stats_dump_restore_match_redis_py_on_resp2(
    crosscheck_resp2: Crosscheck,
) -> None:
    crosscheck_resp2(functions_server_scenario)
