"""The sorted set group (sorted sets) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from commands_executor import Keys, SocketRedis, server_version, sort, t

from greenpool.errors import ReplyError

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def test_zadd_options(r: SocketRedis, k: Keys) -> None:
    assert r.zadd(k("z"), {"a": 1, "b": 2.5, "c": "3"}) == 3
    assert r.zadd(k("z"), {"a": 10, "d": 4}) == 1
    assert r.zadd(k("z"), {"a": 11, "e": 5}, ch=True) == 2
    assert r.zadd(k("z"), {"a": 0, "f": 6}, nx=True) == 1
    assert r.zscore(k("z"), "a") == 11.0
    assert r.zadd(k("z"), {"a": 1, "g": 7}, xx=True) == 0
    assert r.zscore(k("z"), "a") == 1.0
    assert r.zscore(k("z"), "g") is None
    assert r.zadd(k("z"), {"a": 0.5, "b": 9}, gt=True, ch=True) == 1
    assert r.zadd(k("z"), {"a": 0.5, "b": 99}, lt=True, ch=True) == 1
    assert r.zscore(k("z"), "a") == 0.5
    assert r.zscore(k("z"), "b") == 9.0
    result = r.zadd(k("z"), {"a": 2}, incr=True)
    assert type(result) is float and result == 2.5
    assert r.zadd(k("z"), {"new": 2}, incr=True, xx=True) is None
    assert r.zadd(k("z"), {"a": 1}, incr=True, nx=True) is None
    assert r.zadd(k("z"), {"a": -100}, incr=True, gt=True) is None
    assert r.zadd(k("z"), {"inf": "+inf", "ninf": float("-inf")}) == 2
    assert r.zscore(k("z"), "inf") == float("inf")
    assert r.zscore(k("z"), "ninf") == float("-inf")

def test_zset_scores_and_counts(r: SocketRedis, k: Keys) -> None:
    r.zadd(k("z"), {"a": 1, "b": 2, "c": 3, "d": 0.1})
    score = r.zscore(k("z"), "d")
    assert type(score) is float and score == 0.1
    assert r.zscore(k("missing"), "a") is None
    value = r.zincrby(k("z"), 2.5, "a")
    assert type(value) is float and value == 3.5
    assert r.zincrby(k("z"), 1, "new") == 1.0
    assert r.zcard(k("z")) == 5
    assert r.zcard(k("missing")) == 0
    assert r.zcount(k("z"), 1, 3) == 3
    assert r.zcount(k("z"), "-inf", "+inf") == 5
    assert r.zcount(k("z"), "(1", "(3.5") == 2
    assert r.zmscore(k("z"), ["a", "zz", "d"]) == [3.5, None, 0.1]
    assert r.zmscore(k("missing"), ["a"]) == [None]
    assert r.zrem(k("z"), "a", "zz") == 1
    assert r.zrank(k("z"), "d") == 0
    assert r.zrank(k("z"), "c") == 3
    assert r.zrevrank(k("z"), "c") == 0
    assert r.zrank(k("z"), "zz") is None
    assert r.zrevrank(k("missing"), "zz") is None

def test_zrank_withscore(r: SocketRedis, k: Keys) -> None:
    r.zadd(k("z"), {"a": 1.5, "b": 2})
    if server_version(r) >= (7, 2):
        assert r.zrank(k("z"), "a", withscore=True) == [0, 1.5]
        assert r.zrevrank(k("z"), "a", withscore=True, score_cast_func=int) == [1, 1]
        assert r.zrank(k("z"), "zz", withscore=True) is None
    else:
        with pytest.raises(ReplyError):
            r.zrank(k("z"), "a", withscore=True)

def test_zrange_by_rank(r: SocketRedis, k: Keys) -> None:
    assert r.zrange(k("missing"), 0, -1) == []
    assert r.zrange(k("missing"), 0, -1, withscores=True) == []
    r.zadd(k("z"), {"a": 1, "b": 2, "c": 3.5, "d": 4})
    assert r.zrange(k("z"), 0, -1) == t(r, ["a", "b", "c", "d"])
    assert r.zrange(k("z"), 1, 2) == t(r, ["b", "c"])
    assert r.zrange(k("z"), 0, 1, desc=True) == t(r, ["d", "c"])
    pairs = r.zrange(k("z"), 0, -1, withscores=True)
    assert pairs == t(r, [("a", 1.0), ("b", 2.0), ("c", 3.5), ("d", 4.0)])
    assert all(type(pair) is tuple and type(pair[1]) is float for pair in pairs)
    assert r.zrange(k("z"), 0, 0, desc=True, withscores=True) == t(r, [("d", 4.0)])
    assert r.zrevrange(k("z"), 0, 1) == t(r, ["d", "c"])
    assert r.zrevrange(k("z"), 0, 1, withscores=True) == t(r, [("d", 4.0), ("c", 3.5)])

def test_score_cast_func_sees_what_resp2_sends(r: SocketRedis, k: Keys) -> None:
    r.zadd(k("z"), {"a": 1, "b": 2.5, "c": 0.1})
    assert r.zrange(k("z"), 0, -1, withscores=True, score_cast_func=int) == t(
        r, [("c", 0), ("a", 1), ("b", 2)]
    )
    seen: list[Any] = []

    def remember(score: Any) -> Any:
        seen.append(score)
        return score

    r.zrange(k("z"), 0, -1, withscores=True, score_cast_func=remember)
    if r.protocol == 2:
        # The text the server sent (Redis 7.0 formats with %.17g, 7.2+ shortest).
        wire = r.raw("ZRANGE", k("z"), 0, -1, "WITHSCORES")[1::2]
        assert seen == wire
    else:
        # RESP3 sends doubles; the function gets them as %.17g text, as Redis 7.0
        # sends on RESP2 (and redis-py gives on RESP3).
        assert seen == t(r, ["0.10000000000000001", "1", "2.5"])
    texts = list(seen)
    seen.clear()
    r.zscan(k("z"), score_cast_func=remember)
    # Scan replies carry scores as text in both protocols.
    assert sorted(seen) == sorted(r.raw("ZSCAN", k("z"), 0)[1][1::2])
    if server_version(r) < (7, 2):
        assert sorted(seen) == sorted(texts)
    assert r.zrevrange(k("z"), 0, 0, withscores=True, score_cast_func=str) == [
        (t(r, "b"), "2.5" if r.decode_responses else "b'2.5'")
    ]

def test_zrange_by_score_and_lex(r: SocketRedis, k: Keys) -> None:
    r.zadd(k("z"), {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert r.zrange(k("z"), 2, 4, byscore=True) == t(r, ["b", "c", "d"])
    assert r.zrange(k("z"), "(2", "+inf", byscore=True) == t(r, ["c", "d", "e"])
    assert r.zrange(k("z"), 4, 2, byscore=True, desc=True) == t(r, ["d", "c", "b"])
    assert r.zrange(k("z"), 0, 10, byscore=True, offset=1, num=2) == t(r, ["b", "c"])
    assert r.zrange(k("z"), 0, 10, byscore=True, offset=1, num=2, withscores=True) == t(
        r, [("b", 2.0), ("c", 3.0)]
    )
    r.zadd(k("lex"), {"apple": 0, "banana": 0, "cherry": 0, "date": 0})
    assert r.zrange(k("lex"), "[b", "(d", bylex=True) == t(r, ["banana", "cherry"])
    assert r.zrange(k("lex"), "+", "-", bylex=True, desc=True, offset=0, num=2) == t(
        r, ["date", "cherry"]
    )
    assert r.zrangebyscore(k("z"), 2, 4) == t(r, ["b", "c", "d"])
    assert r.zrangebyscore(k("z"), "-inf", "(3", withscores=True) == t(r, [("a", 1.0), ("b", 2.0)])
    assert r.zrangebyscore(k("z"), 0, 10, start=3, num=5) == t(r, ["d", "e"])
    assert r.zrevrangebyscore(k("z"), 4, 2) == t(r, ["d", "c", "b"])
    assert r.zrevrangebyscore(k("z"), "+inf", "-inf", 1, 2, withscores=True) == t(
        r, [("d", 4.0), ("c", 3.0)]
    )
    assert r.zrangebyscore(k("z"), 100, 200) == []

def test_zremrange_and_pops(r: SocketRedis, k: Keys) -> None:
    assert r.zpopmin(k("z")) == []
    assert r.zpopmax(k("z"), 3) == []
    r.zadd(k("z"), {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6})
    assert r.zremrangebyrank(k("z"), 0, 0) == 1
    assert r.zremrangebyscore(k("z"), "(5", "+inf") == 1
    popped = r.zpopmin(k("z"))
    assert popped == t(r, [("b", 2.0)])
    assert type(popped[0]) is tuple
    assert r.zpopmax(k("z")) == t(r, [("e", 5.0)])
    assert r.zpopmin(k("z"), 1) == t(r, [("c", 3.0)])
    assert r.zpopmax(k("z"), 5) == t(r, [("d", 4.0)])
    assert r.zcard(k("z")) == 0

def test_zscan(r: SocketRedis, k: Keys) -> None:
    members = {f"m{i}": float(i) / 2 for i in range(40)}
    r.zadd(k("z"), members)
    cursor, pairs = r.zscan(k("z"), count=5)
    assert type(cursor) is int and all(type(pair) is tuple for pair in pairs)
    gathered = dict(pairs)
    while cursor:
        cursor, pairs = r.zscan(k("z"), cursor, count=5)
        gathered.update(pairs)
    assert gathered == {t(r, name): score for name, score in members.items()}
    assert dict(r.zscan_iter(k("z"), match="m1*", score_cast_func=int)) == {
        t(r, name): int(score) for name, score in members.items() if name.startswith("m1")
    }
    assert r.zscan(k("missing")) == (0, [])


# ============================================================================
# The same calls through redis-py


def halve(score: Any) -> float:
    """A score_cast_func that works whatever type it is given."""
    return float(score) / 2

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

def test_score_cast_func_gets_resp2_text(
    r: SocketRedis, theirs: redis.Redis, k: Keys, config: tuple[int, bool]
) -> None:
    # A cast function sees the score as RESP2 sends it: str when decoding.
    # redis-py agrees except on RESP3 with decoding, where it gives bytes.
    r.zadd(k("z"), {"a": 0.5})
    mine = r.zrange(k("z"), 0, -1, withscores=True, score_cast_func=repr)
    reference = theirs.zrange(k("z"), 0, -1, withscores=True, score_cast_func=repr)
    assert mine == [(text_of(r, "a"), repr(text_of(r, "0.5")))]
    if config == (3, True):
        assert reference == [("a", repr(b"0.5"))]
    else:
        assert reference == mine

def text_of(client: SocketRedis, value: str) -> Any:
    return value if client.decode_responses else value.encode()


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_sorted_sets_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(sorted_sets_scenario)
