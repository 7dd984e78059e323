"""The generic group (keys and expiry) against a real redis-server.

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


def test_delete_exists_unlink_touch(r: SocketRedis, k: Keys) -> None:
    r.mset({k("a"): 1, k("b"): 2, k("c"): 3})
    assert r.exists(k("a")) == 1
    assert r.exists(k("a"), k("a"), k("b"), k("missing")) == 3
    assert r.touch(k("a"), k("missing")) == 1
    assert r.delete(k("a"), k("missing")) == 1
    assert r.delete(k("a")) == 0
    assert r.unlink(k("b"), k("c")) == 2
    assert r.exists(k("a"), k("b"), k("c")) == 0

def test_expire_family(r: SocketRedis, k: Keys) -> None:
    r.set(k("a"), 1)
    assert r.ttl(k("a")) == -1
    assert r.pttl(k("a")) == -1
    assert r.ttl(k("missing")) == -2
    assert r.pttl(k("missing")) == -2
    assert r.expire(k("missing"), 10) is False
    assert r.expire(k("a"), 100) is True
    assert 90 <= r.ttl(k("a")) <= 100
    assert r.expire(k("a"), 50, nx=True) is False
    assert r.expire(k("a"), 50, gt=True) is False
    assert r.expire(k("a"), 200, gt=True) is True
    assert r.expire(k("a"), 300, lt=True) is False
    assert r.expire(k("a"), datetime.timedelta(seconds=150), lt=True) is True
    assert 140 <= r.ttl(k("a")) <= 150
    assert r.expire(k("a"), 120, xx=True) is True
    assert r.persist(k("a")) is True
    assert r.persist(k("a")) is False
    assert r.expire(k("a"), 120, xx=True) is False
    assert r.pexpire(k("a"), 80_000) is True
    assert 70_000 <= r.pttl(k("a")) <= 80_000
    assert r.pexpire(k("a"), datetime.timedelta(seconds=60), lt=True) is True
    assert r.pexpire(k("a"), 90_000, nx=True) is False
    assert r.expireat(k("a"), int(time.time()) + 500) is True
    assert 490 <= r.ttl(k("a")) <= 500
    later = datetime.datetime.now() + datetime.timedelta(seconds=400)
    assert r.expireat(k("a"), later, gt=True) is False
    assert r.expireat(k("a"), later, lt=True) is True
    assert r.pexpireat(k("a"), int(time.time() * 1000) + 300_000) is True
    assert 290 <= r.ttl(k("a")) <= 300
    assert r.pexpireat(k("a"), later, xx=True) is True
    assert 390 <= r.ttl(k("a")) <= 400
    assert r.expire(k("a"), -1) is True
    assert r.exists(k("a")) == 0

def test_rename_type_keys_copy(r: SocketRedis, k: Keys) -> None:
    r.set(k("a"), 1)
    r.rpush(k("l"), 1)
    assert r.rename(k("a"), k("b")) is True
    assert r.renamenx(k("b"), k("l")) is False
    assert r.renamenx(k("b"), k("c")) is True
    assert r.type(k("c")) == t(r, "string")
    assert r.type(k("l")) == t(r, "list")
    assert r.type(k("missing")) == t(r, "none")
    assert sorted(r.keys(k("*"))) == t(r, sorted([k("c"), k("l")]))
    assert r.keys(k("nothing*")) == []
    assert r.copy(k("c"), k("d")) is True
    assert r.copy(k("c"), k("l")) is False
    assert r.copy(k("c"), k("l"), replace=True) is True
    assert r.type(k("l")) == t(r, "string")
    assert r.copy(k("missing"), k("e")) is False

def test_copy_to_another_db(r: SocketRedis, k: Keys) -> None:
    r.set(k("a"), "x")
    try:
        assert r.copy(k("a"), k("a"), destination_db=7) is True
        assert r.copy(k("a"), k("a"), destination_db="7") is False
        assert r.copy(k("a"), k("a"), destination_db=7, replace=True) is True
    finally:
        r.raw("SELECT", 7)
        r.raw("DEL", k("a"))
        r.raw("SELECT", 0)

def test_dump_restore_stays_binary(r: SocketRedis, k: Keys) -> None:
    r.rpush(k("l"), "a", "b")
    r.hset(k("h"), mapping={"f": "\u00e9"})
    dumped = r.dump(k("l"))
    assert type(dumped) is bytes
    assert r.dump(k("missing")) is None
    assert r.restore(k("copy"), 0, dumped) == t(r, "OK")
    assert r.lrange(k("copy"), 0, -1) == t(r, ["a", "b"])
    with pytest.raises(ReplyError) as caught:
        r.restore(k("copy"), 0, dumped)
    assert caught.value.kind == "BUSYKEY"
    assert r.restore(k("copy"), 100_000, r.dump(k("h")), replace=True) == t(r, "OK")
    assert r.hgetall(k("copy")) == t(r, {"f": "\u00e9"})
    assert 90 <= r.ttl(k("copy")) <= 100
    stamp = int(time.time() * 1000) + 200_000
    r.restore(k("abs"), stamp, dumped, absttl=True, idletime=10)
    assert 190 <= r.ttl(k("abs")) <= 200

def test_scan_and_scan_iter(r: SocketRedis, k: Keys) -> None:
    names = {k(f"s{i}") for i in range(30)}
    r.mset(dict.fromkeys(names, 1))
    r.rpush(k("list"), 1)
    cursor, found = r.scan(0, match=k("s*"), count=5)
    assert type(cursor) is int
    assert all(type(name) is (str if r.decode_responses else bytes) for name in found)
    seen = set(found)
    while cursor:
        cursor, found = r.scan(cursor, match=k("s*"), count=5)
        seen.update(found)
    assert seen == t(r, names)
    assert set(r.scan_iter(match=k("*"), count=7)) == t(r, names | {k("list")})
    assert list(r.scan_iter(match=k("*"), _type="list")) == t(r, [k("list")])
    assert list(r.scan_iter(match=k("nothing*"))) == []


# ============================================================================
# The same calls through redis-py


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


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_keys_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(keys_scenario)
