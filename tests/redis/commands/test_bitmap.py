"""The bitmap group (bits and bit fields) against a real redis-server.

Runs under the four client configurations through the reference executor
(see ``conftest.py``); the scenario is compared with redis-py, and what each
method sends with what redis-py sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from canned import assert_refused_alike, assert_refused_before_sending, ours
from commands_executor import Keys, SocketRedis
from wire import assert_sends_same, sent

from greenpool.redis.commands import BitFieldOperation, DataError

Results = dict[str, Any]
Crosscheck = Callable[[Callable[[Any, Keys], Results]], None]


def test_getbit_setbit(r: SocketRedis, k: Keys) -> None:
    assert r.getbit(k("b"), 7) == 0
    assert r.setbit(k("b"), 7, 1) == 0
    assert r.setbit(k("b"), 7, True) == 1
    assert r.getbit(k("b"), 7) == 1
    assert r.get(k("b")) in (b"\x01", "\x01")
    assert r.setbit(k("b"), 7, 0) == 1
    assert r.getbit(k("b"), 100) == 0


def test_bitcount_bitpos(r: SocketRedis, k: Keys) -> None:
    r.set(k("b"), b"\x00\xff\xf0")
    assert r.bitcount(k("b")) == 12
    assert r.bitcount(k("b"), 1, 1) == 8
    assert r.bitcount(k("b"), 0, 11, "BIT") == 4
    assert r.bitcount(k("b"), 16, 19, mode="bit") == 4
    assert r.bitcount(k("missing")) == 0
    assert r.bitpos(k("b"), 1) == 8
    assert r.bitpos(k("b"), 0, 1) == 20
    assert r.bitpos(k("b"), 1, 2, 2) == 16
    assert r.bitpos(k("b"), 1, 0, 7, "BIT") == -1
    assert r.bitpos(k("missing"), 1) == -1


def test_bitop(r: SocketRedis, k: Keys) -> None:
    r.set(k("a"), b"\x0f")
    r.set(k("b"), b"\xf1")
    assert r.bitop("AND", k("d"), k("a"), k("b")) == 1
    assert r.getbit(k("d"), 7) == 1
    assert r.bitcount(k("d")) == 1
    assert r.bitop("OR", k("d"), k("a"), k("b")) == 1
    assert r.bitcount(k("d")) == 8
    assert r.bitop("NOT", k("d"), k("a")) == 1
    assert r.bitcount(k("d")) == 4


def test_bitfield_builder(r: SocketRedis, k: Keys) -> None:
    op = r.bitfield(k("f"))
    assert isinstance(op, BitFieldOperation)
    assert op.set("u8", 0, 200).get("u8", 0).incrby("u8", 0, 100).execute() == [0, 200, 44]
    assert op.operations == []  # reset by execute
    assert r.bitfield(k("f")).incrby("u8", 0, 250, overflow="SAT").execute() == [255]
    assert r.bitfield(k("f")).incrby("u8", 0, 1, "FAIL").get("u8", 0).execute() == [None, 255]
    sat = r.bitfield(k("g"), default_overflow="SAT")
    assert sat.incrby("i4", "#1", 100).execute() == [7]
    assert sat.incrby("i4", "#1", -100).execute() == [-8]
    assert r.bitfield_ro(k("g"), "i4", "#1") == [-8]
    assert r.bitfield_ro(k("f"), "u8", 0, [("u4", 0), ("u4", 4)]) == [255, 15, 15]
    assert r.bitfield(k("empty")).execute() == []


# ============================================================================
# The same calls through redis-py


def bitmap_scenario(c: Any, k: Keys) -> Results:
    out: Results = {}
    out["setbit"] = c.setbit(k("b"), 3, 1)
    out["setbit again"] = c.setbit(k("b"), 3, 1)
    out["setbit 2"] = c.setbit(k("b"), 17, 5)
    out["getbit"] = c.getbit(k("b"), 3)
    out["getbit far"] = c.getbit(k("b"), 1000)
    out["bitcount"] = c.bitcount(k("b"))
    out["bitcount range"] = c.bitcount(k("b"), 0, 0)
    out["bitcount bit"] = c.bitcount(k("b"), 0, 10, "BIT")
    out["bitpos"] = c.bitpos(k("b"), 1)
    out["bitpos start"] = c.bitpos(k("b"), 1, 1)
    out["bitpos range"] = c.bitpos(k("b"), 0, 0, 2)
    out["bitpos bit"] = c.bitpos(k("b"), 1, 4, 30, "BIT")
    c.set(k("x"), "abc")
    out["bitop and"] = c.bitop("AND", k("d"), k("b"), k("x"))
    out["bitop xor"] = c.bitop("XOR", k("d"), k("b"), k("x"))
    out["bitop result"] = c.get(k("d"))
    op = c.bitfield(k("f"))
    out["bitfield"] = op.set("i8", 0, -3).get("u8", 0).incrby("i8", 0, 200).execute()
    out["bitfield sat"] = c.bitfield(k("f"), "SAT").incrby("i8", 0, 1000).execute()
    out["bitfield fail"] = (
        c.bitfield(k("f")).incrby("u2", "#3", 7, overflow="FAIL").get("u2", "#3").execute()
    )
    out["bitfield_ro"] = c.bitfield_ro(k("f"), "i8", 0, [("u4", 4), ("u16", 0)])
    return out


def test_bitmap_matches_redis_py(crosscheck: Crosscheck) -> None:
    crosscheck(bitmap_scenario)


# ============================================================================
# What is sent, against redis-py


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("getbit", ("k", 3), {}),
        ("setbit", ("k", 3, 1), {}),
        ("setbit", ("k", 3, 0), {}),
        ("setbit", ("k", 3, True), {}),
        ("bitcount", ("k",), {}),
        ("bitcount", ("k", 0, -1), {}),
        ("bitcount", ("k", 0, 5, "BIT"), {}),
        ("bitcount", ("k",), {"start": 1, "end": 2, "mode": "BYTE"}),
        ("bitpos", ("k", 1), {}),
        ("bitpos", ("k", 0, 2), {}),
        ("bitpos", ("k", 0, 2, 9), {}),
        ("bitpos", ("k", 1, 2, 9, "BIT"), {}),
        ("bitop", ("AND", "d", "a", "b"), {}),
        ("bitop", ("NOT", "d", "a"), {}),
        ("bitfield_ro", ("k", "u8", 0), {}),
        ("bitfield_ro", ("k", "u8", 0, [("i4", "#1"), ("u2", 9)]), {}),
    ],
)
def test_sends_what_redis_py_sends(method: str, args: tuple[Any, ...],
                                   kwargs: dict[str, Any]) -> None:
    assert_sends_same(method, *args, **kwargs)


def _bitfield_wire(build: Callable[[Any], Any], default_overflow: str | None) -> Any:
    import redis

    from greenpool.redis.commands import Commands

    class Recorder(Commands):
        protocol = 2
        decode_responses = False

        def __init__(self) -> None:
            self.sent: list[tuple[Any, ...]] = []

        def execute_command(self, *args: Any, **options: Any) -> Any:  # type: ignore[override]
            self.sent.append(args)
            return []

    mine = Recorder()
    build(mine.bitfield("k", default_overflow)).execute()
    theirs_sent: list[tuple[Any, ...]] = []
    theirs = redis.Redis()
    theirs.execute_command = lambda *a, **o: theirs_sent.append(a)  # type: ignore[method-assign]
    build(theirs.bitfield("k", default_overflow)).execute()
    return mine.sent, theirs_sent


@pytest.mark.parametrize("default_overflow", [None, "WRAP", "SAT", "fail"])
@pytest.mark.parametrize(
    "build",
    [
        lambda op: op,
        lambda op: op.get("u8", 0),
        lambda op: op.set("i5", "#2", -3).get("u8", 100),
        lambda op: op.incrby("u8", 0, 5),
        lambda op: op.incrby("u8", 0, 5, "SAT").incrby("u8", 8, 1, "sat").incrby("i8", 0, 1),
        lambda op: op.overflow("FAIL").incrby("u8", 0, 5).overflow("WRAP").incrby("u8", 0, 5),
        lambda op: op.incrby("u8", 0, 1, overflow="WRAP").set("u1", 3, 1),
    ],
)
def test_bitfield_sends_what_redis_py_sends(build: Callable[[Any], Any],
                                            default_overflow: str | None) -> None:
    mine, theirs = _bitfield_wire(build, default_overflow)
    assert [list(c) for c in mine] == [list(c) for c in theirs]


def test_bitfield_reset_and_command() -> None:
    mine, _ = ours("bitfield", "k", "SAT")
    mine.get("u8", 0)
    assert mine.command == ["BITFIELD", "k", "OVERFLOW", "SAT", "GET", "u8", 0]
    mine.reset()
    assert mine.command == ["BITFIELD", "k", "OVERFLOW", "SAT"]


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("bitcount", ("k", 1), {}),
        ("bitcount", ("k",), {"end": 3}),
        ("bitpos", ("k", 2), {}),
        ("bitpos", ("k", 1), {"end": 3}),
    ],
)
def test_bad_arguments_are_refused_as_redis_py_refuses_them(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert_refused_alike(method, *args, **kwargs)


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("getbit", ("k", -1), {}),
        ("setbit", ("k", "3x", 1), {}),
        ("bitcount", ("k", 0, 1, "BITS"), {}),
        ("bitcount", ("k", "0x", 1), {}),
        ("bitpos", ("k", True), {}),
        ("bitpos", ("k", 1, 0, 1, "bytes"), {}),
    ],
)
def test_stricter_checks_raise_data_error_and_send_nothing(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert_refused_before_sending(method, *args, **kwargs)


def test_bitfield_bad_overflow_raises_data_error_and_sends_nothing() -> None:
    op, sent_by_it = ours("bitfield", "k")
    with pytest.raises(DataError):
        op.overflow("CLAMP")
    with pytest.raises(DataError):
        op.incrby("u8", 0, 1.5)
    with pytest.raises(DataError):
        ours("bitfield", "k", "CLAMP")
    assert sent_by_it == [] and op.operations == []
    assert sent("bitfield", "k") == ([], [])
