"""The string group (strings and counters) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

import pytest
from commands_executor import Keys, SocketRedis, t

from greenpool.errors import ReplyError

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def test_get_set_basic(r: SocketRedis, k: Keys) -> None:
    assert r.get(k("s")) is None
    assert r.set(k("s"), "value") is True
    assert r.get(k("s")) == t(r, "value")
    assert r.set(k("s"), 12) is True
    assert r.get(k("s")) == t(r, "12")
    assert r.set(k("s"), 1.5) is True
    assert r.get(k("s")) == t(r, "1.5")
    assert r.set(k("s"), b"raw") is True
    assert r.get(k("s")) == t(r, "raw")

def test_set_conditions_and_get(r: SocketRedis, k: Keys) -> None:
    assert r.set(k("s"), "a", nx=True) is True
    assert r.set(k("s"), "b", nx=True) is None
    assert r.set(k("missing"), "b", xx=True) is None
    assert r.get(k("missing")) is None
    assert r.set(k("s"), "c", xx=True) is True
    assert r.set(k("s"), "d", get=True) == t(r, "c")
    assert r.set(k("new"), "e", get=True) is None
    assert r.get(k("new")) == t(r, "e")
    assert r.set(k("s"), "f", nx=True, get=True) == t(r, "d")
    assert r.get(k("s")) == t(r, "d")

def test_set_expiry_options(r: SocketRedis, k: Keys) -> None:
    assert r.set(k("ex"), 1, ex=100) is True
    assert 90 <= r.ttl(k("ex")) <= 100
    assert r.set(k("ex"), 1, ex=datetime.timedelta(minutes=2)) is True
    assert 110 <= r.ttl(k("ex")) <= 120
    assert r.set(k("px"), 1, px=50_000) is True
    assert 40_000 <= r.pttl(k("px")) <= 50_000
    assert r.set(k("px"), 1, px=datetime.timedelta(seconds=30)) is True
    assert 20_000 <= r.pttl(k("px")) <= 30_000
    later = datetime.datetime.now() + datetime.timedelta(seconds=300)
    assert r.set(k("exat"), 1, exat=later) is True
    assert 290 <= r.ttl(k("exat")) <= 300
    assert r.set(k("exat"), 1, exat=int(time.time()) + 200) is True
    assert 190 <= r.ttl(k("exat")) <= 200
    assert r.set(k("pxat"), 1, pxat=int(time.time() * 1000) + 100_000) is True
    assert 90 <= r.ttl(k("pxat")) <= 100
    assert r.set(k("pxat"), 1, pxat=later) is True
    assert 290 <= r.ttl(k("pxat")) <= 300
    assert r.set(k("ex"), 2, keepttl=True) is True
    assert 100 <= r.ttl(k("ex")) <= 120
    assert r.set(k("ex"), 3) is True
    assert r.ttl(k("ex")) == -1

def test_getset_getdel_getex(r: SocketRedis, k: Keys) -> None:
    assert r.getset(k("s"), "a") is None
    assert r.getset(k("s"), "b") == t(r, "a")
    assert r.getex(k("s")) == t(r, "b")
    assert r.getex(k("s"), ex=100) == t(r, "b")
    assert 90 <= r.ttl(k("s")) <= 100
    assert r.getex(k("s"), px=datetime.timedelta(seconds=50)) == t(r, "b")
    assert 40 <= r.ttl(k("s")) <= 50
    assert r.getex(k("s"), exat=int(time.time()) + 200) == t(r, "b")
    assert 190 <= r.ttl(k("s")) <= 200
    assert r.getex(k("s"), pxat=datetime.datetime.now() + datetime.timedelta(seconds=30))
    assert 20 <= r.ttl(k("s")) <= 30
    assert r.getex(k("s"), persist=True) == t(r, "b")
    assert r.ttl(k("s")) == -1
    assert r.getex(k("missing"), ex=10) is None
    assert r.getdel(k("s")) == t(r, "b")
    assert r.getdel(k("s")) is None
    assert r.exists(k("s")) == 0

def test_mget_mset_msetnx(r: SocketRedis, k: Keys) -> None:
    assert r.mset({k("a"): 1, k("b"): "two"}) is True
    assert r.mget([k("a"), k("b"), k("c")]) == t(r, ["1", "two", None])
    assert r.mget(k("a"), k("b")) == t(r, ["1", "two"])
    assert r.mget(k("a")) == t(r, ["1"])
    assert r.mget((key for key in [k("b")]), k("a")) == t(r, ["two", "1"])
    sent = len(r.sent)
    assert r.mget([]) == []
    assert len(r.sent) == sent, "an empty MGET must not be sent"
    assert r.msetnx({k("c"): 3, k("a"): 9}) is False
    assert r.get(k("c")) is None
    assert r.msetnx({k("c"): 3, k("d"): 4}) is True
    assert r.mget([k("c"), k("d")]) == t(r, ["3", "4"])

def test_setnx_setex_psetex(r: SocketRedis, k: Keys) -> None:
    assert r.setnx(k("a"), 1) is True
    assert r.setnx(k("a"), 2) is False
    assert r.get(k("a")) == t(r, "1")
    assert r.setex(k("b"), 100, "v") is True
    assert 90 <= r.ttl(k("b")) <= 100
    assert r.setex(k("b"), datetime.timedelta(seconds=60), "w") is True
    assert 50 <= r.ttl(k("b")) <= 60
    assert r.psetex(k("c"), 70_000, "x") is True
    assert 60_000 <= r.pttl(k("c")) <= 70_000
    assert r.psetex(k("c"), datetime.timedelta(milliseconds=40_000), "y") is True
    assert 30_000 <= r.pttl(k("c")) <= 40_000
    assert r.get(k("c")) == t(r, "y")

def test_append_strlen_ranges(r: SocketRedis, k: Keys) -> None:
    assert r.append(k("s"), "hello") == 5
    assert r.append(k("s"), " world") == 11
    assert r.strlen(k("s")) == 11
    assert r.strlen(k("missing")) == 0
    assert r.getrange(k("s"), 0, 4) == t(r, "hello")
    assert r.getrange(k("s"), -5, -1) == t(r, "world")
    assert r.getrange(k("missing"), 0, 10) == t(r, "")
    assert r.setrange(k("s"), 6, "WORLD") == 11
    assert r.get(k("s")) == t(r, "hello WORLD")
    assert r.setrange(k("pad"), 3, "x") == 4
    assert r.get(k("pad")) == t(r, "\0\0\0x")

def test_counters(r: SocketRedis, k: Keys) -> None:
    assert r.incr(k("n")) == 1
    assert r.incr(k("n"), 5) == 6
    assert r.incrby(k("n"), 10) == 16
    assert r.incrby(k("n")) == 17
    assert r.decr(k("n")) == 16
    assert r.decr(k("n"), 6) == 10
    assert r.decrby(k("n"), 3) == 7
    assert r.decrby(k("n")) == 6
    value = r.incrbyfloat(k("f"), 0.5)
    assert type(value) is float and value == 0.5
    assert r.incrbyfloat(k("f")) == 1.5
    assert r.incrbyfloat(k("f"), -2) == -0.5
    assert r.incrbyfloat(k("n"), 0.25) == 6.25
    r.set(k("text"), "abc")
    with pytest.raises(ReplyError) as caught:
        r.incr(k("text"))
    assert caught.value.kind == "ERR"


# ============================================================================
# The same calls through redis-py


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


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_strings_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(strings_scenario)
