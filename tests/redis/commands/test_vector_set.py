"""The vector set group (Redis 8's V* commands, through ``r.vset()``), which the
test server (7.0) does not run.

So: ``vset()``'s object has redis-py's ``VectorSet`` methods and signatures;
what each sends, against redis-py's; its replies shaped from canned RESP2
and RESP3 replies, against redis-py's callbacks (on RESP2 for the few that
redis-py leaves in RESP3's form); bad arguments refused before sending.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest
import redis
from commands_executor import SocketRedis, assert_refused
from redis.commands.vectorset.commands import QuantizationOptions as TheirQuantization
from test_signatures import render
from wire import result_of, results_by, sent_by

from greenpool.redis import Redis
from greenpool.redis.commands import QuantizationOptions, VectorSet
from greenpool.testing import RedisServer

FP32 = struct.pack("<3f", 0.5, 1.0, -2.0)


def test_vset_has_redis_py_s_methods_and_signatures() -> None:
    theirs = type(redis.Redis().vset())
    names = {name for name in dir(theirs) if not name.startswith("_")}
    assert names == {name for name in dir(VectorSet) if not name.startswith("_")}
    for name in names:
        assert render(getattr(VectorSet, name)) == render(getattr(theirs, name)), name
    assert [q.value for q in QuantizationOptions] == [q.value for q in TheirQuantization]


Call = Callable[[Any], Any]

VSET_WIRE: list[Call] = [
    lambda v: v.vadd("v", [0.5, 1, -2.25], "e1"),
    lambda v: v.vadd("v", FP32, b"e2"),
    lambda v: v.vadd(
        "v",
        [1.0, 2.0],
        "e3",
        reduce_dim=1,
        cas=True,
        quantization=TheirQuantization.BIN,
        ef=200,
        attributes={"year": 1999, "tags": ["a", "b"]},
        numlinks=16,
    ),
    lambda v: v.vadd("v", [1.0], "e4", quantization=TheirQuantization.NOQUANT,
                     attributes='{"x": 1}'),
    lambda v: v.vsim("v", [0.1, 0.2]),
    lambda v: v.vsim("v", FP32, with_scores=True, count=5),
    lambda v: v.vsim("v", "e1", with_attribs=True, epsilon=0.2, ef=50),
    lambda v: v.vsim(
        "v",
        "e1",
        with_scores=True,
        with_attribs=True,
        count=3,
        ef=10,
        filter=".year > 1950",
        filter_ef=500,
        truth=True,
        no_thread=True,
        epsilon=0.5,
    ),
    lambda v: v.vdim("v"),
    lambda v: v.vcard("v"),
    lambda v: v.vrem("v", "e1"),
    lambda v: v.vemb("v", "e1"),
    lambda v: v.vemb("v", "e1", raw=True),
    lambda v: v.vlinks("v", "e1"),
    lambda v: v.vlinks("v", "e1", with_scores=True),
    lambda v: v.vinfo("v"),
    lambda v: v.vsetattr("v", "e1", {"a": [1, 2]}),
    lambda v: v.vsetattr("v", "e1", '{"a": 1}'),
    lambda v: v.vsetattr("v", "e1"),
    lambda v: v.vgetattr("v", "e1"),
    lambda v: v.vrandmember("v"),
    lambda v: v.vrandmember("v", -5),
    lambda v: v.vrange("v", "-", "+"),
    lambda v: v.vrange("v", "[a", "(z", count=10),
]


@pytest.mark.parametrize("call", VSET_WIRE)
def test_sends_what_redis_py_sends(call: Call) -> None:
    mine, reference = sent_by(lambda client: call(client.vset()))
    assert mine == reference


def test_quantization_takes_greenpool_s_enum_and_words() -> None:
    for quantization in (QuantizationOptions.Q8, "Q8"):

        def add(client: Any, quantization: Any = quantization) -> Any:
            if isinstance(client, redis.Redis):
                quantization = TheirQuantization.Q8
            return client.vset().vadd("v", [1.0], "e", quantization=quantization)

        mine, reference = sent_by(add)
        assert mine == reference


def test_vset_goes_through_a_pipeline(redis_server: RedisServer) -> None:
    client = Redis(host=redis_server.host, port=redis_server.port)
    try:
        with client.pipeline(transaction=False) as pipe:
            vset = pipe.vset()
            assert vset.client is pipe
            vset.vcard("gp-cmd-vset:none")
            vset.vdim("gp-cmd-vset:none")
            assert len(pipe) == 2
            # The test server has no vector sets: each command's error, in its place.
            results = pipe.execute(raise_on_error=False)
        assert [type(result).__name__ for result in results] == ["ResponseError"] * 2
    finally:
        client.close()


# (call, RESP2 reply, RESP3 reply): shaped alike by greenpool and redis-py.
VSET_CANNED: list[tuple[Call, Any, Any]] = [
    (lambda v: v.vdim("v"), 3, 3),
    (lambda v: v.vcard("v"), 0, 0),
    (lambda v: v.vsim("v", [0.1]), [b"e1", b"e2"], [b"e1", b"e2"]),
    (lambda v: v.vsim("v", "e1"), [], []),
    (
        lambda v: v.vsim("v", "e1", with_scores=True),
        [b"e1", b"1", b"e2", b"0.8499999940395355"],
        {b"e1": 1.0, b"e2": 0.8499999940395355},
    ),
    (
        lambda v: v.vsim("v", "e1", with_attribs=True),
        [b"e1", b'{"year": 1999}', b"e2", None, b"e3", b"{}"],
        {b"e1": b'{"year": 1999}', b"e2": None, b"e3": b"{}"},
    ),
    (
        lambda v: v.vsim("v", "e1", with_scores=True, with_attribs=True),
        [b"e1", b"1", b'{"a": [1]}', b"e2", b"0.5", None],
        {b"e1": [1.0, b'{"a": [1]}'], b"e2": [0.5, None]},
    ),
    (lambda v: v.vemb("v", "missing"), None, None),
    (
        lambda v: v.vemb("v", "e1", raw=True),
        [b"int8", b"\x7f\x00\x81", b"2.5", b"0.0078740157480315"],
        [b"int8", b"\x7f\x00\x81", 2.5, 0.0078740157480315],
    ),
    (
        lambda v: v.vemb("v", "e1", raw=True),
        [b"f32", FP32, b"1"],
        [b"f32", FP32, 1.0],
    ),
    (lambda v: v.vlinks("v", "missing"), None, None),
    (lambda v: v.vlinks("v", "e1"), [[b"e2"], [b"e2", b"e3"]], [[b"e2"], [b"e2", b"e3"]]),
    (
        lambda v: v.vlinks("v", "e1", with_scores=True),
        [[b"e2", b"0.5"], [b"e2", b"0.5", b"e3", b"0.25"]],
        [{b"e2": 0.5}, {b"e2": 0.5, b"e3": 0.25}],
    ),
    (lambda v: v.vinfo("missing"), None, None),
    (
        lambda v: v.vinfo("v"),
        [b"quant-type", b"int8", b"vector-dim", 3, b"size", 2],
        {b"quant-type": b"int8", b"vector-dim": 3, b"size": 2},
    ),
    (lambda v: v.vgetattr("v", "e1"), b'{"year": 1999}', b'{"year": 1999}'),
    (lambda v: v.vgetattr("v", "e1"), b"{}", b"{}"),
    (lambda v: v.vgetattr("v", "e1"), None, None),
    (lambda v: v.vrandmember("v"), b"e1", b"e1"),
    (lambda v: v.vrandmember("v"), None, None),
    (lambda v: v.vrandmember("v", 2), [b"e1", b"e2"], [b"e1", b"e2"]),
    (lambda v: v.vrange("v", "-", "+", 1), [b"e1"], [b"e1"]),
]


@pytest.mark.parametrize(("call", "resp2", "resp3"), VSET_CANNED)
def test_replies_shaped_as_redis_py_does(call: Call, resp2: Any, resp3: Any) -> None:
    for protocol, reply in ((2, resp2), (3, resp3)):
        ours, theirs = results_by(lambda client: call(client.vset()), reply, protocol)
        assert ours == theirs
        assert type(ours) is type(theirs)


# Replies redis-py leaves in RESP3's form on RESP3 (a boolean for 1/0, doubles
# where RESP2's text reads as an int): greenpool gives RESP2's on both.
VSET_RESP2_SHAPED: list[tuple[Call, Any, Any]] = [
    (lambda v: v.vadd("v", [1.0], "e1"), 1, True),
    (lambda v: v.vadd("v", [1.0], "e1"), 0, False),
    (lambda v: v.vrem("v", "e1"), 1, True),
    (lambda v: v.vsetattr("v", "e1", {"a": 1}), 0, False),
    (
        lambda v: v.vemb("v", "e1"),
        [b"0.5", b"1", b"-2", b"0"],
        [0.5, 1.0, -2.0, -0.0],
    ),
]


@pytest.mark.parametrize(("call", "resp2", "resp3"), VSET_RESP2_SHAPED)
def test_replies_resp2_shaped_on_both_protocols(call: Call, resp2: Any, resp3: Any) -> None:
    ours2, theirs2 = results_by(lambda client: call(client.vset()), resp2, 2)
    ours3, theirs3 = results_by(lambda client: call(client.vset()), resp3, 3)
    assert ours2 == theirs2 == ours3
    assert [type(x) for x in _flat(ours3)] == [type(x) for x in _flat(theirs2)]
    assert [type(x) for x in _flat(theirs3)] != [type(x) for x in _flat(theirs2)]


def _flat(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def test_raw_embedding_quantization_is_text_when_decoding() -> None:
    # VEMB RAW is read without decoding (the vector is binary); only its
    # quantization name is decoded, as redis-py does.
    reply = [b"bin", b"\x05", 1.0]
    ours, theirs = results_by(lambda c: c.vset().vemb("v", "e", raw=True), reply, 3, True)
    assert ours == theirs == {"quantization": "bin", "raw": b"\x05", "l2": 1.0}


def test_empty_resp3_vsim_with_scores() -> None:
    # A missing set answers an empty array even where a map is due.
    # (redis-py's callback fails on it.)
    assert result_of(lambda c: c.vset().vsim("v", "e", with_scores=True), [], 3) == {}


VSET_BAD: list[tuple[str, Callable[[SocketRedis], Any], str, Any]] = [
    ("vadd no vector", lambda r: r.vset().vadd("v", [], "e"), "vector", []),
    ("vadd no element", lambda r: r.vset().vadd("v", [1.0], ""), "vector", [1.0]),
    ("vadd quantization", lambda r: r.vset().vadd("v", [1.0], "e", quantization="Q4"),
     "quantization", "Q4"),
    ("vadd numlinks", lambda r: r.vset().vadd("v", [1.0], "e", numlinks="8x"), "numlinks", "8x"),
    ("vsim no input", lambda r: r.vset().vsim("v", []), "input", []),
    ("vsim count", lambda r: r.vset().vsim("v", "e", count=-1), "count", -1),
    ("vrandmember count", lambda r: r.vset().vrandmember("v", 1.5), "count", 1.5),
    ("vrange count", lambda r: r.vset().vrange("v", "-", "+", "5x"), "count", "5x"),
]


@pytest.mark.parametrize(
    ("call", "argument", "value"), [b[1:] for b in VSET_BAD], ids=[b[0] for b in VSET_BAD]
)
def test_bad_argument(r: SocketRedis, call: Any, argument: str, value: Any) -> None:
    assert_refused(r, call, argument, value)
