"""The string group (strings and counters) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario at the end is compared with redis-py.
"""

from __future__ import annotations

import datetime
import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from canned import (
    assert_refused_alike,
    assert_refused_before_sending,
    assert_same_results,
    ours,
    results,
)
from commands_executor import Keys, SocketRedis, assert_same, t
from wire import assert_sends_same, sent

from greenpool.errors import ReplyError
from greenpool.redis.commands import DataPersistOptions

# redis-py marks its methods for Redis 8 commands experimental, with a warning.
pytestmark = pytest.mark.filterwarnings("ignore:Call to .*experimental:UserWarning")

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


def test_substr(r: SocketRedis, k: Keys) -> None:
    r.set(k("s"), "hello world")
    assert r.substr(k("s"), 6) == t(r, "world")
    assert r.substr(k("s"), 0, 4) == t(r, "hello")
    assert r.substr(k("s"), -3, -2) == t(r, "rl")
    assert r.substr(k("missing"), 0) == t(r, "")


def test_lcs(r: SocketRedis, k: Keys) -> None:
    r.mset({k("a"): "ohmytext", k("b"): "mynewtext"})
    assert r.lcs(k("a"), k("b")) == t(r, "mytext")
    assert r.lcs(k("a"), k("b"), len=True) == 6
    matches = [[[4, 7], [5, 8]], [[2, 3], [0, 1]]]
    assert r.lcs(k("a"), k("b"), idx=True) == [t(r, "matches"), matches, t(r, "len"), 6]
    assert r.lcs(k("a"), k("b"), idx=True, minmatchlen=4, withmatchlen=True) == [
        t(r, "matches"), [[[4, 7], [5, 8], 4]], t(r, "len"), 6
    ]
    assert r.lcs(k("a"), k("missing")) == t(r, "")


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
    out["set ex nx"] = c.set(k("o"), 1, ex=100, nx=True)
    out["set px xx get"] = c.set(k("o"), 2, px=90_000, xx=True, get=True)
    out["set exat get missing"] = c.set(k("q"), 3, exat=int(time.time()) + 100, get=True)
    out["set nx get"] = c.set(k("q"), 4, nx=True, get=True)
    out["substr"] = c.substr(k("j"), 6)
    out["substr range"] = c.substr(k("j"), 0, 4)
    c.mset({k("l1"): "ohmytext", k("l2"): "mynewtext"})
    out["lcs"] = c.lcs(k("l1"), k("l2"))
    out["lcs len"] = c.lcs(k("l1"), k("l2"), len=True)
    out["lcs idx"] = c.lcs(k("l1"), k("l2"), idx=True)
    out["lcs idx minmatchlen withmatchlen"] = c.lcs(
        k("l1"), k("l2"), idx=True, minmatchlen=2, withmatchlen=True
    )
    out["lcs missing"] = c.lcs(k("l1"), k("zz"))
    return out


# redis-py deprecates a few commands it still has (setex, getset...).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_strings_match_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(strings_scenario)


# ============================================================================
# What is sent, for every option (Redis 8 commands included), against redis-py

_CONDITIONS: list[dict[str, Any]] = [
    {}, {"nx": True}, {"xx": True}, {"ifeq": "old"}, {"ifne": b"old"}, {"ifdeq": "a1b2"},
    {"ifdne": "a1b2"},
]
_EXPIRIES: list[dict[str, Any]] = [
    {}, {"ex": 10}, {"ex": datetime.timedelta(minutes=1)}, {"ex": "7"}, {"px": 1500},
    {"px": datetime.timedelta(seconds=2)}, {"exat": 2_000_000_000},
    {"exat": datetime.datetime(2040, 1, 1)}, {"pxat": 2_000_000_000_000}, {"keepttl": True},
]


@pytest.mark.parametrize(
    "options",
    [
        {**condition, **expiry, **get}
        for condition, expiry, get in itertools.product(
            _CONDITIONS, _EXPIRIES, [{}, {"get": True}]
        )
    ],
    ids=repr,
)
def test_set_sends_every_option_combination_as_redis_py(options: dict[str, Any]) -> None:
    assert_sends_same("set", "k", "v", **options)


def test_set_sends_the_condition_before_the_expiry() -> None:
    # redis-py's order (an older greenpool sent "EX 10 NX").
    assert sent("set", "k", "v", ex=10, nx=True)[0] == [
        [b"SET", b"k", b"v", b"NX", b"EX", b"10"]
    ]


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("substr", ("k", 1), {}),
        ("substr", ("k", 1, 5), {}),
        ("lcs", ("a", "b"), {}),
        ("lcs", ("a", "b"), {"len": True}),
        ("lcs", ("a", "b"), {"idx": True, "minmatchlen": 3, "withmatchlen": True}),
        ("lcs", ("a", "b"), {"idx": True, "minmatchlen": 0}),
        ("delex", ("k",), {}),
        ("delex", ("k",), {"ifeq": "v"}),
        ("delex", ("k",), {"ifne": b"v"}),
        ("delex", ("k",), {"ifdeq": "00ff"}),
        ("delex", ("k",), {"ifdne": "00ff"}),
        ("digest", ("k",), {}),
        ("increx", ("k",), {}),
        ("increx", ("k",), {"byint": 3, "persist": True}),
        ("increx", ("k",), {"byfloat": 1.5, "lbound": 0, "ubound": 10, "saturate": True,
                            "ex": 5, "enx": True}),
        ("increx", ("k",), {"byint": -2, "lbound": -5, "px": 900}),
        ("increx", ("k",), {"exat": 2_000_000_000, "enx": True}),
        ("increx", ("k",), {"pxat": datetime.datetime(2040, 1, 1)}),
        ("msetex", ({"a": 1, "b": "2"},), {}),
        ("msetex", ({"a": 1},), {"data_persist_option": DataPersistOptions.NX, "ex": 5}),
        ("msetex", ({"a": 1},), {"data_persist_option": DataPersistOptions.XX, "keepttl": True}),
        ("msetex", ({"a": 1},), {"px": datetime.timedelta(seconds=3)}),
        ("msetex", ({"a": 1},), {"exat": 2_000_000_000}),
        ("msetex", ({"a": 1},), {"pxat": 2_000_000_000_000}),
        ("stralgo", ("LCS", "ab", "bc"), {}),
        ("stralgo", ("LCS", "a", "b"), {"specific_argument": "keys", "len": True}),
        ("stralgo", ("LCS", "a", "b"), {"idx": True, "minmatchlen": 2, "withmatchlen": True}),
    ],
)
def test_sends_what_redis_py_sends(method: str, args: tuple[Any, ...],
                                   kwargs: dict[str, Any]) -> None:
    assert_sends_same(method, *args, **kwargs)


def test_msetex_takes_redis_py_enum_and_strings() -> None:
    from redis.commands.core import DataPersistOptions as TheirOptions

    wire = [[b"MSETEX", b"1", b"a", b"1", b"XX"]]
    assert sent("msetex", {"a": 1}, TheirOptions.XX) == (wire, wire)
    assert sent("msetex", {"a": 1}, DataPersistOptions.XX)[0] == wire
    # A string too (redis-py takes only its enum).
    assert ours("msetex", {"a": 1}, "xx")[1] == [("MSETEX", 1, "a", 1, "XX")]


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("msetex", ({"a": 1},), {"data_persist_option": "FNX"}),
        ("msetex", ({"a": 1},), {"data_persist_option": 1}),
        ("lcs", ("a", "b"), {"minmatchlen": "3x"}),
        ("substr", ("k", "1x"), {}),
        ("substr", ("k", 1, None), {}),
    ],
)
def test_stricter_checks_raise_data_error_and_send_nothing(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert_refused_before_sending(method, *args, **kwargs)


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("set", ("k", "v"), {"nx": True, "ifeq": "a"}),
        ("set", ("k", "v"), {"ifeq": "a", "ifne": "b"}),
        ("set", ("k", "v"), {"ifdeq": "a", "ifdne": "b"}),
        ("set", ("k", "v"), {"xx": True, "ifdne": "b"}),
        ("set", ("k", "v"), {"ex": 1, "pxat": 10**13}),
        ("set", ("k", "v"), {"px": 1, "keepttl": True}),
        ("delex", ("k",), {"ifeq": "a", "ifdeq": "b"}),
        ("increx", ("k",), {"byint": 1, "byfloat": 1.5}),
        ("increx", ("k",), {"ex": 1, "persist": True}),
        ("increx", ("k",), {"enx": True}),
        ("increx", ("k",), {"persist": True, "enx": True}),
        ("msetex", ({"a": 1},), {"ex": 1, "keepttl": True}),
        ("msetex", ({"a": 1},), {"ex": 1, "px": 5}),
        ("msetex", ({},), {}),
        ("stralgo", ("LCS", "a", "b"), {"len": True, "idx": True}),
        ("stralgo", ("DIFF", "a", "b"), {}),
        ("stralgo", ("LCS", "a", "b"), {"specific_argument": "values"}),
    ],
)
def test_bad_arguments_are_refused_as_redis_py_refuses_them(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert_refused_alike(method, *args, **kwargs)


# Replies the test server can't give (DIGEST, DELEX, INCREX, MSETEX: Redis 8.4+;
# STRALGO: Redis 6), shaped against redis-py's callbacks.

_MATCHES = [[[4, 7], [5, 8]], [[2, 3], [0, 1]]]
_MATCHES_LEN = [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]]


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize(
    ("method", "args", "kwargs", "reply"),
    [
        ("digest", ("k",), {}, b"78af5f94892f3950"),
        ("digest", ("k",), {}, None),
        ("delex", ("k",), {"ifeq": "v"}, 1),
        ("msetex", ({"a": 1},), {"ex": 5}, 0),
        ("increx", ("k",), {"byint": 2}, [12, 2]),
        ("increx", ("k",), {"byfloat": 0.5}, [b"1.5", b"0.5"]),
        ("increx", ("k",), {"byfloat": 0.5}, [1.5, 0.5]),
        ("set", ("k", "v"), {"ifeq": "a"}, None),
        ("set", ("k", "v"), {"ifeq": "a"}, b"OK"),
        ("set", ("k", "v"), {"ifne": "a", "get": True}, b"old"),
        ("lcs", ("a", "b"), {"idx": True}, [b"matches", _MATCHES, b"len", 6]),
    ],
)
def test_newer_replies_are_shaped_as_redis_py_shapes_them(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], reply: Any, protocol: int
) -> None:
    assert_same_results(method, *args, reply=reply, protocol=protocol, **kwargs)


def test_lcs_idx_map_on_resp3_is_the_flat_list_redis_py_gives() -> None:
    flat = [b"matches", _MATCHES, b"len", 6]
    mine, theirs = results("lcs", "a", "b", idx=True, reply=dict([flat[:2], flat[2:]]),
                           protocol=3)
    assert_same(mine, theirs)
    assert mine == flat


@pytest.mark.parametrize(
    ("kwargs", "resp2"),
    [
        ({}, b"mytext"),
        ({"len": True}, 6),
        ({"idx": True}, [b"matches", _MATCHES, b"len", 6]),
        ({"idx": True, "withmatchlen": True}, [b"matches", _MATCHES_LEN, b"len", 6]),
        ({"idx": True, "minmatchlen": 3}, [b"matches", [], b"len", 6]),
    ],
)
@pytest.mark.parametrize("decode", [False, True])
def test_stralgo_replies_are_shaped_as_redis_py_shapes_resp2(
    kwargs: dict[str, Any], resp2: Any, decode: bool
) -> None:
    # redis-py leaves STRALGO's reply raw on its RESP3 connection (it has no
    # RESP3 callback for it); greenpool gives RESP2's shape on both.
    resp3 = dict([resp2[:2], resp2[2:]]) if isinstance(resp2, list) else resp2
    for reply in (resp2, resp3):
        _, theirs = results("stralgo", "LCS", "a", "b", reply=resp2, protocol=2,
                            decode=decode, **kwargs)
        mine, _ = ours("stralgo", "LCS", "a", "b", reply=reply, protocol=3, decode=decode,
                       **kwargs)
        assert_same(mine, theirs)


@pytest.mark.parametrize("decode", [False, True])
@pytest.mark.parametrize("value", [b"", b"abc", "h\u00e9llo", "x" * 1000])
def test_digest_local_matches_redis_py(value: bytes | str, decode: bool) -> None:
    mine, sent_here = ours("digest_local", value, decode=decode)
    # redis-py's xxhash call refuses a str: compare with its UTF-8 bytes.
    raw = value.encode() if isinstance(value, str) else value
    _, theirs = results("digest_local", raw, reply=None, protocol=2, decode=decode)
    assert_same(mine, theirs)
    assert sent_here == []


def test_digest_local_without_xxhash_raises_not_implemented(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "xxhash", None)  # import xxhash now fails
    with pytest.raises(NotImplementedError, match="xxhash"):
        ours("digest_local", b"v")


def test_redis_py_is_the_reference() -> None:
    # The reference these checks compare with, for the record.
    assert redis.__version__.startswith("8.")
