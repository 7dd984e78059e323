"""Reply conversions for replies the test server (Redis 7.0) cannot produce.

ZRANK/ZREVRANK WITHSCORE needs Redis 7.2 and HSCAN NOVALUES Redis 7.4; the
conversions are fed the RESP2 and RESP3 shapes those servers send (as
documented for them) and must give redis-py's values.
"""

from __future__ import annotations

from typing import Any

import pytest

from greenpool.redis.commands import _replies


@pytest.mark.parametrize(
    ("reply", "decode", "cast", "expected"),
    [
        ([2, b"1.5"], False, float, [2, 1.5]),  # RESP2: the score as text
        ([2, 1.5], False, float, [2, 1.5]),  # RESP3: a double
        ([0, "3"], True, int, [0, 3]),
        ([0, 3.0], True, int, [0, 3]),
        ([1, 0.5], False, repr, [1, repr(b"0.5")]),
        ([1, 0.5], True, repr, [1, repr("0.5")]),
        (None, False, float, None),
    ],
)
def test_zrank_withscore_reply(reply: Any, decode: bool, cast: Any, expected: Any) -> None:
    assert _replies.ScorePairs(cast, decode).rank(reply) == expected


@pytest.mark.parametrize("fields", [[b"a", b"b"], ["a"], []])
def test_hscan_novalues_reply(fields: list[Any]) -> None:
    assert _replies.scan_reply([b"0", fields]) == (0, fields)
    assert _replies.scan_reply(["17", fields]) == (17, fields)


def test_numsub_accepts_a_resp3_map() -> None:
    # Redis 7.0 answers PUBSUB NUMSUB with a flat array on RESP3 too; newer
    # servers may send a map.
    assert _replies.numsub_pairs({b"a": 1, b"b": 0}) == [(b"a", 1), (b"b", 0)]
    assert _replies.numsub_pairs([b"a", 1, b"b", 0]) == [(b"a", 1), (b"b", 0)]
