"""The array group (Redis 8.8's AR* commands), which the test server (7.0) does not run.

So: what each method sends, against redis-py's; its reply shaped from
canned RESP2 and RESP3 replies, against redis-py's callbacks; bad arguments
refused before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from commands_executor import SocketRedis, assert_refused
from redis.commands.core import (
    ArrayAggregateOperations as TheirOperations,
)
from redis.commands.core import (
    ArrayPredicateCombinator as TheirCombinator,
)
from redis.commands.core import (
    ArrayPredicateType as TheirPredicate,
)
from wire import assert_sends_same, case, results_by, sent_by

from greenpool.redis.commands import (
    ArrayAggregateOperations,
    ArrayPredicateCombinator,
    ArrayPredicateType,
)

ARRAY_WIRE = [
    case("arset", "a", 0, "x"),
    case("arset", "a", 7, "x", b"y", 3),
    case("armset", "a", {0: "x", 9: "y", 4: 1.5}),
    case("arget", "a", 3),
    case("armget", "a", 0, 5, 2),
    case("argetrange", "a", 0, 9),
    case("argetrange", "a", 9, 0),
    case("arscan", "a", 0, 100),
    case("arscan", "a", 100, 0, limit=5),
    case("argrep", "a", 0, 10, [(TheirPredicate.EXACT, "x")]),
    case(
        "argrep",
        "a",
        0,
        -1,
        [(TheirPredicate.GLOB, "x*"), (TheirPredicate.RE, "^y"), (TheirPredicate.MATCH, "z")],
        combinator=TheirCombinator.AND,
        limit=3,
        withvalues=True,
        nocase=True,
    ),
    case("argrep", "a", 5, 0, [(TheirPredicate.EXACT, 1)], TheirCombinator.OR),
    case("ardel", "a", 1),
    case("ardel", "a", 1, 2, 3),
    case("ardelrange", "a", (0, 5)),
    case("ardelrange", "a", (0, 5), (10, 8)),
    case("arcount", "a"),
    case("arlen", "a"),
    case("arinfo", "a"),
    case("arinfo", "a", full=True),
    case("arnext", "a"),
    case("arseek", "a", 42),
    case("arinsert", "a", "x"),
    case("arinsert", "a", "x", "y", 3),
    case("arring", "a", 10, "x"),
    case("arring", "a", 3, "x", "y", "z", "w"),
    case("arlastitems", "a", 5),
    case("arlastitems", "a", 5, rev=True),
    case("arop", "a", 0, 10, TheirOperations.SUM),
    case("arop", "a", 10, 0, TheirOperations.USED),
    case("arop", "a", 0, 10, TheirOperations.MATCH, "x"),
    case("arop", "a", 0, 10, TheirOperations.XOR),
]


@pytest.mark.parametrize(("method", "args", "kwargs"), ARRAY_WIRE)
def test_sends_what_redis_py_sends(method: str, args: Any, kwargs: Any) -> None:
    assert_sends_same(method, *args, **kwargs)


def test_options_take_greenpool_enums_and_words_too() -> None:
    def grep(client: Any) -> Any:
        if isinstance(client, redis.Redis):
            predicates = [(TheirPredicate.GLOB, "x*"), (TheirPredicate.EXACT, "y")]
            return client.argrep("a", 0, 5, predicates, TheirCombinator.AND)
        predicates = [(ArrayPredicateType.GLOB, "x*"), ("EXACT", "y")]
        return client.argrep("a", 0, 5, predicates, ArrayPredicateCombinator.AND)

    mine, reference = sent_by(grep)
    assert mine == reference
    def aggregate(client: Any) -> Any:
        ours = not isinstance(client, redis.Redis)
        return client.arop("a", 0, 1, ArrayAggregateOperations.MAX if ours else TheirOperations.MAX)

    mine, reference = sent_by(aggregate)
    assert mine == reference == [[b"AROP", b"a", b"0", b"1", b"MAX"]]
    assert [op.value for op in ArrayAggregateOperations] == [op.value for op in TheirOperations]
    assert [op.value for op in ArrayPredicateType] == [op.value for op in TheirPredicate]
    assert [op.value for op in ArrayPredicateCombinator] == [op.value for op in TheirCombinator]


# (call, RESP2 reply, RESP3 reply): shaped alike by greenpool and redis-py.
ARRAY_CANNED: list[tuple[Callable[[Any], Any], Any, Any]] = [
    (lambda c: c.arset("a", 0, "x", "y"), 2, 2),
    (lambda c: c.armset("a", {0: "x"}), 1, 1),
    (lambda c: c.arget("a", 0), b"x", b"x"),
    (lambda c: c.arget("a", 1), None, None),
    (lambda c: c.armget("a", 0, 1), [b"x", None], [b"x", None]),
    (lambda c: c.argetrange("a", 2, 0), [None, b"y", b"x"], [None, b"y", b"x"]),
    (lambda c: c.arscan("a", 0, 9), [[0, b"x"], [4, b"y"]], [[0, b"x"], [4, b"y"]]),
    (lambda c: c.arscan("a", 0, 9, limit=1), [], []),
    (lambda c: c.argrep("a", 0, 9, [(TheirPredicate.EXACT, "x")]), [0, 7], [0, 7]),
    (
        lambda c: c.argrep("a", 0, 9, [(TheirPredicate.GLOB, "*")], withvalues=True),
        [[0, b"x"]],
        [[0, b"x"]],
    ),
    (lambda c: c.ardel("a", 1, 2), 1, 1),
    (lambda c: c.ardelrange("a", (0, 5)), 3, 3),
    (lambda c: c.arcount("a"), 5, 5),
    (lambda c: c.arlen("a"), 10, 10),
    (
        lambda c: c.arinfo("a"),
        [b"count", 5, b"len", 10, b"next-insert-index", 3],
        {b"count": 5, b"len": 10, b"next-insert-index": 3},
    ),
    (
        lambda c: c.arinfo("a", full=True),
        [b"count", 5, b"dense-slices", 1, b"avg-dense-fill", b"0.5"],
        {b"count": 5, b"dense-slices": 1, b"avg-dense-fill": 0.5},
    ),
    (lambda c: c.arnext("a"), 3, 3),
    (lambda c: c.arnext("a"), None, None),
    (lambda c: c.arseek("a", 5), 1, 1),
    (lambda c: c.arinsert("a", "x", "y"), 4, 4),
    (lambda c: c.arring("a", 3, "x"), 2, 2),
    (lambda c: c.arlastitems("a", 2, rev=True), [b"y", b"x"], [b"y", b"x"]),
    (lambda c: c.arop("a", 0, 9, TheirOperations.SUM), b"12.5", b"12.5"),
    (lambda c: c.arop("a", 0, 9, TheirOperations.USED), 4, 4),
    (lambda c: c.arop("a", 0, 9, TheirOperations.MIN), None, None),
]


@pytest.mark.parametrize(("call", "resp2", "resp3"), ARRAY_CANNED)
def test_replies_shaped_as_redis_py_does(call: Any, resp2: Any, resp3: Any) -> None:
    for protocol, reply in ((2, resp2), (3, resp3)):
        ours, theirs = results_by(call, reply, protocol)
        assert ours == theirs
        assert type(ours) is type(theirs)


def test_arinfo_keys_are_text_when_decoding() -> None:
    ours, theirs = results_by(lambda c: c.arinfo("a"), {"count": 5}, 3, decode=True)
    assert ours == theirs == {"count": 5}


K = "gp-cmd-array:never-written"

ARRAY_BAD: list[tuple[str, Callable[[SocketRedis], Any], str, Any]] = [
    ("arset no value", lambda r: r.arset(K, 0), "values", ()),
    ("arset index text", lambda r: r.arset(K, "0x", "x"), "index", "0x"),
    ("armset empty", lambda r: r.armset(K, {}), "mapping", {}),
    ("armset index text", lambda r: r.armset(K, {"a": "x"}), "mapping", "a"),
    ("armget none", lambda r: r.armget(K), "indices", ()),
    ("armget float", lambda r: r.armget(K, 1.5), "indices", 1.5),
    ("argetrange end", lambda r: r.argetrange(K, 0, None), "end", None),
    ("arscan limit", lambda r: r.arscan(K, 0, 1, limit=-1), "limit", -1),
    ("argrep no predicate", lambda r: r.argrep(K, 0, 1, []), "predicates", []),
    ("argrep bad type", lambda r: r.argrep(K, 0, 1, [("LIKE", "x")]), "predicates", "LIKE"),
    ("argrep not a pair", lambda r: r.argrep(K, 0, 1, ["x"]), "predicates", "x"),
    ("argrep combinator", lambda r: r.argrep(K, 0, 1, [("RE", "x")], "XOR"), "combinator",
     "XOR"),
    ("ardel none", lambda r: r.ardel(K), "indices", ()),
    ("ardelrange none", lambda r: r.ardelrange(K), "ranges", ()),
    ("ardelrange not a pair", lambda r: r.ardelrange(K, (1, 2, 3)), "ranges", (1, 2, 3)),
    ("arseek text", lambda r: r.arseek(K, "1x"), "index", "1x"),
    ("arinsert none", lambda r: r.arinsert(K), "values", ()),
    ("arring size", lambda r: r.arring(K, 0, "x"), "size", 0),
    ("arlastitems count", lambda r: r.arlastitems(K, -1), "count", -1),
    ("arop operation", lambda r: r.arop(K, 0, 1, "AVG"), "operation", "AVG"),
]


@pytest.mark.parametrize(
    ("call", "argument", "value"), [b[1:] for b in ARRAY_BAD], ids=[b[0] for b in ARRAY_BAD]
)
def test_bad_argument(r: SocketRedis, call: Any, argument: str, value: Any) -> None:
    assert_refused(r, call, argument, value)
