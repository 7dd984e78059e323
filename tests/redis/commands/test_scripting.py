"""The scripting group (EVAL, SCRIPT, Script objects) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from commands_executor import SPIN_LUA, Keys, SocketRedis, busy_server, t
from wire import assert_sends_same, case

from greenpool.errors import ReplyError
from greenpool.redis.commands import Script
from greenpool.testing import RedisServer

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def test_eval_and_evalsha(r: SocketRedis, k: Keys) -> None:
    assert r.eval("return 1", 0) == 1
    assert r.eval("return {KEYS[1], ARGV[1], 3}", 1, k("a"), "x") == [*t(r, [k("a"), "x"]), 3]
    assert r.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, k("a"), "v") == t(r, "OK")
    assert r.eval("return nil", 0) is None
    sha = r.script_load("return ARGV[1] .. ARGV[2]")
    assert type(sha) is str and len(sha) == 40
    assert r.evalsha(sha, 0, "a", "b") == t(r, "ab")
    assert r.script_exists(sha, "0" * 40) == [True, False]
    with pytest.raises(ReplyError) as caught:
        r.evalsha("0" * 40, 0)
    assert caught.value.kind == "NOSCRIPT"
    with pytest.raises(ReplyError):
        r.eval("return redis.call('NOSUCHCOMMAND')", 0)

def test_register_script_falls_back_to_eval_once(r: SocketRedis, k: Keys) -> None:
    # A source of its own, so the shared server cannot have it cached yet.
    source = f"-- {k('script')}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])"
    script = r.register_script(source)
    assert isinstance(script, Script)
    assert script.sha == r.script_load(source)
    fresh = r.register_script(source + " ")
    sent = len(r.sent)
    assert fresh(keys=[k("n")], args=[5]) == 5
    assert [args[0] for args in r.sent[sent:]] == ["EVALSHA", "EVAL"]
    sent = len(r.sent)
    assert fresh([k("n")], [2]) == 7
    assert [args[0] for args in r.sent[sent:]] == ["EVALSHA"]
    assert script(keys=[k("n")], args=[1]) == 8
    assert r.register_script("return 'x'")() == t(r, "x")
    bsource = b"return #ARGV"
    assert r.register_script(bsource)(args=["a", "b"]) == 2

def test_script_runs_through_another_client(
    r: SocketRedis, k: Keys, redis_server: RedisServer
) -> None:
    other = SocketRedis(redis_server.host, redis_server.port)
    try:
        script = r.register_script(f"-- {k('other')}\nreturn 5")
        assert script(client=other) == 5
        assert [args[0] for args in other.sent] == ["EVALSHA", "EVAL"]
        assert not [args for args in r.sent if args[0] in ("EVAL", "EVALSHA")]
    finally:
        other.close()

def test_script_errors_other_than_noscript_propagate(r: SocketRedis) -> None:
    script = r.register_script("return redis.error_reply('MYERR broken')")
    with pytest.raises(ReplyError) as caught:
        script()
    assert caught.value.kind == "MYERR"


def test_read_only_scripts(r: SocketRedis, k: Keys) -> None:
    r.set(k("a"), "v")
    assert r.eval_ro("return redis.call('GET', KEYS[1])", 1, k("a")) == t(r, "v")
    with pytest.raises(ReplyError):
        r.eval_ro("return redis.call('SET', KEYS[1], 'w')", 1, k("a"))
    sha = r.script_load("return {KEYS[1], ARGV[1]}")
    assert r.evalsha_ro(sha, 1, k("a"), "x") == t(r, [k("a"), "x"])
    with pytest.raises(ReplyError) as caught:
        r.evalsha_ro("0" * 40, 0)
    assert caught.value.kind == "NOSCRIPT"

def test_script_kill(r_own: SocketRedis) -> None:
    with pytest.raises(ReplyError) as caught:
        r_own.script_kill()
    assert caught.value.kind == "NOTBUSY"
    with busy_server(r_own, lambda other: other.eval_ro(SPIN_LUA, 0)) as errors:
        assert r_own.script_kill() is True
    assert "killed" in str(errors[0]).lower()

def test_script_debug_is_not_supported(r: SocketRedis) -> None:
    # As in redis-py: the connection would become a Lua debugger session.
    sent = len(r.sent)
    with pytest.raises(NotImplementedError, match="SCRIPT DEBUG"):
        r.script_debug("YES")
    assert len(r.sent) == sent


SCRIPTING_WIRE = [
    case("eval", "return 1", 0),
    case("eval_ro", "return KEYS[1]", 1, "k", "a"),
    case("evalsha", "a" * 40, 2, "k1", "k2"),
    case("evalsha_ro", "a" * 40, 0, "x"),
    case("script_load", "return 1"),
    case("script_exists", "a" * 40, "b" * 40),
    case("script_flush"),
    case("script_flush", "ASYNC"),
    case("script_kill"),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), SCRIPTING_WIRE)
def test_sends_what_redis_py_sends(method: str, args: Any, kwargs: Any) -> None:
    assert_sends_same(method, *args, **kwargs)


# ============================================================================
# The same calls through redis-py


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
    out["eval_ro"] = c.eval_ro("return {ARGV[1], redis.call('EXISTS', KEYS[1])}", 1, k("n"), 7)
    out["evalsha_ro"] = c.evalsha_ro(c.script_load("return #KEYS"), 2, k("a"), k("b"))
    return out


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_scripting_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(scripting_scenario)
