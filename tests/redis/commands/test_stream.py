"""The stream group (streams) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from commands_executor import Keys, SocketRedis, t

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def test_xadd_xrange(r: SocketRedis, k: Keys) -> None:
    first = r.xadd(k("s"), {"f": "v", "n": 1})
    assert type(first) is (str if r.decode_responses else bytes)
    assert r.xadd(k("s"), {"g": "w"}, id="9999999999999-0") == t(r, "9999999999999-0")
    assert r.xlen(k("s")) == 2
    entries = r.xrange(k("s"))
    assert entries == [
        (first, t(r, {"f": "v", "n": "1"})),
        (t(r, "9999999999999-0"), t(r, {"g": "w"})),
    ]
    assert type(entries[0]) is tuple
    assert r.xrange(k("s"), count=1) == entries[:1]
    assert r.xrange(k("s"), min="9999999999999", max="+") == entries[1:]
    assert r.xrevrange(k("s")) == entries[::-1]
    assert r.xrevrange(k("s"), max="+", min="-", count=1) == entries[1:]
    assert r.xrange(k("missing")) == []
    assert r.xadd(k("missing"), {"a": 1}, nomkstream=True) is None
    assert r.xlen(k("missing")) == 0
    assert r.xdel(k("s"), first, "1-1") == 1
    assert r.xlen(k("s")) == 1

def test_xadd_and_xtrim_trimming(r: SocketRedis, k: Keys) -> None:
    for i in range(1, 11):
        r.xadd(k("s"), {"i": i}, id=f"{i}-0")
    assert r.xadd(k("s"), {"i": 11}, id="11-0", maxlen=5, approximate=False) == t(r, "11-0")
    assert r.xlen(k("s")) == 5
    r.xadd(k("s"), {"i": 12}, id="12-0", minid="9", approximate=False)
    assert [entry_id for entry_id, _ in r.xrange(k("s"))] == t(r, ["9-0", "10-0", "11-0", "12-0"])
    r.xadd(k("s"), {"i": 13}, id="13-0", maxlen=1, limit=10)
    length = r.xlen(k("s"))
    assert 1 <= length <= 5
    assert r.xtrim(k("s"), maxlen=2, approximate=False) == length - 2
    assert r.xlen(k("s")) == 2
    assert r.xtrim(k("s"), minid="13", approximate=False) == 1
    # Approximate trimming removes whole nodes only, here maybe the last entry.
    left = 1 - r.xtrim(k("s"), maxlen=0, limit=100)
    assert r.xtrim(k("s"), maxlen=0, approximate=False) == left
    assert r.xlen(k("s")) == 0

def test_xread(r: SocketRedis, k: Keys) -> None:
    assert r.xread({k("s"): "0"}) == []
    r.xadd(k("s"), {"a": 1}, id="1-0")
    r.xadd(k("s"), {"b": 2}, id="2-0")
    r.xadd(k("t"), {"c": 3}, id="3-0")
    result = r.xread({k("s"): "0", k("t"): "0"})
    assert result == [
        [t(r, k("s")), [(t(r, "1-0"), t(r, {"a": "1"})), (t(r, "2-0"), t(r, {"b": "2"}))]],
        [t(r, k("t")), [(t(r, "3-0"), t(r, {"c": "3"}))]],
    ]
    assert r.xread({k("s"): "1-0"}, count=5) == [[t(r, k("s")), [(t(r, "2-0"), t(r, {"b": "2"}))]]]
    assert r.xread({k("s"): "0"}, count=1)[0][1] == [(t(r, "1-0"), t(r, {"a": "1"}))]
    assert r.xread({k("s"): "2-0"}) == []
    assert not r.blocking

def test_xread_block(r: SocketRedis, k: Keys) -> None:
    r.xadd(k("s"), {"a": 1}, id="1-0")
    assert r.xread({k("s"): "0"}, block=1000) == [[t(r, k("s")), [(t(r, "1-0"), t(r, {"a": "1"}))]]]
    start = time.monotonic()
    assert r.xread({k("s"): "$"}, block=50) == []
    assert time.monotonic() - start >= 0.04
    assert r.xread({k("s"): "0"}, block=0, count=1) != []
    assert [timeout for _, timeout in r.blocking] == [1.0, 0.05, None]
    assert r.blocking[0][0] == ("XREAD", "BLOCK", 1000, "STREAMS", k("s"), "0")


# ============================================================================
# The same calls through redis-py


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


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_streams_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(streams_scenario)
