"""key_slot against the live cluster's own CLUSTER KEYSLOT, for edge cases and random keys."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenpool.protocol.resp import encode_commands
from greenpool.redis.cluster import SLOTS, key_slot
from greenpool.testing import RedisClusterServer, RespClient

EDGE_KEYS: list[Any] = [
    "",
    "foo",
    "{",
    "}",
    "{}",
    "}{",
    "{}{a}",  # empty first tag: the whole key
    "{a}{b}",  # first tag only
    "a{b}c",
    "a{{b}}",  # tag is "{b"
    "{a",  # no closing brace
    "a}",
    "}{a}",  # a } before the { does not count
    "{user1000}.following",
    "{user1000}.followers",
    "123456789",  # the CRC16/XMODEM check value 0x31C3
    "ü{ñ}",
    "\U0001f600",
    b"",
    b"\x00",
    b"\xff{\x00}\xff",
    b"{\xff\xfe}",
    bytearray(b"{tag}x"),
    memoryview(b"{tag}y"),
    memoryview(b"ab{cd}ef")[1:7],
    0,
    -1,
    7,
    2**70,
    -(2**70),
    1.5,
    -0.0,
    0.1,
    1e300,
    math.inf,
    -math.inf,
    math.nan,
]


def server_slots(cluster: RedisClusterServer, keys: Sequence[Any]) -> list[int]:
    """CLUSTER KEYSLOT of each key, sent with greenpool's own command encoder."""
    node = cluster.nodes[0]
    with RespClient(node.connect_raw()) as conn:
        conn.sock.sendall(encode_commands(("CLUSTER", "KEYSLOT", key) for key in keys))
        return [conn.read_reply() for _ in keys]


def test_edge_cases_match_the_server(redis_cluster: RedisClusterServer) -> None:
    assert [key_slot(k) for k in EDGE_KEYS] == server_slots(redis_cluster, EDGE_KEYS)


def test_known_values() -> None:
    assert key_slot("foo") == 12182  # from the CLUSTER KEYSLOT documentation
    assert key_slot("123456789") == 0x31C3  # the CRC-16/XMODEM check value, < 16384
    assert key_slot("{user1000}.following") == key_slot("user1000")
    assert key_slot("{}{a}") != key_slot("a")
    assert key_slot(7) == key_slot("7") == key_slot(b"7")
    assert key_slot(1.5) == key_slot("1.5")
    assert key_slot(bytearray(b"x")) == key_slot(memoryview(b"x")) == key_slot(b"x")


@pytest.mark.parametrize("bad", [None, True, False, object(), ["a"], ("a",), {"a": 1}])
def test_other_types_are_refused(bad: Any) -> None:
    with pytest.raises(TypeError):
        key_slot(bad)


def test_lone_surrogates_are_refused_like_the_encoder_does() -> None:
    with pytest.raises(UnicodeEncodeError):
        key_slot("\udcff")


_BRACES = st.sampled_from([b"{", b"}", b"{}", b"}{"])
_binary_keys = st.lists(st.one_of(st.binary(max_size=8), _BRACES), max_size=6).map(b"".join)
_text_keys = st.lists(
    st.one_of(
        st.text(st.characters(exclude_categories=["Cs"]), max_size=6), _BRACES.map(bytes.decode)
    ),
    max_size=6,
).map("".join)
_keys = st.one_of(
    _binary_keys,
    _text_keys,
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=60, deadline=None)
@given(keys=st.lists(_keys, min_size=1, max_size=50))
def test_random_keys_match_the_server(redis_cluster: RedisClusterServer, keys: list[Any]) -> None:
    mine = [key_slot(k) for k in keys]
    assert all(0 <= slot < SLOTS for slot in mine)
    assert mine == server_slots(redis_cluster, keys)
