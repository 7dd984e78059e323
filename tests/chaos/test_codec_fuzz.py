"""Fuzzing both codecs with what a hostile server could send.

Streams are built from valid replies and from hostile pieces (huge and
negative lengths, aggregates claiming a million elements, nesting runs,
lines without end, random bytes), mutated (bytes overwritten, inserted,
deleted, stretches duplicated), and fed split at random points.  Whatever
the stream, a parser may only return replies or raise ProtocolError, must
finish quickly, and may allocate only a few MB on top of what the stream
itself holds (tracemalloc's peak, which counts what msgpack and hiredis
build as Python objects).

tests/protocol/ checks the replies themselves, and that hiredis and the
Python parser agree; this checks the limits.
"""

from __future__ import annotations

import itertools
import struct
import time
import tracemalloc
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenpool.errors import ProtocolError
from greenpool.protocol import NEED_DATA, RespParser
from greenpool.protocol.iproto import GREETING_SIZE, IprotoCodec, IprotoParser

pytestmark = pytest.mark.chaos

#: Allowed allocation peak on top of 4 bytes per byte of the stream: the
#: RESP claim budget (8 MiB), uncounted small claims (0.8 MB), the rest.
MEMORY = 12 * 1024 * 1024
#: Allowed time for one stream (they are at most a few hundred kB).
SECONDS = 2.0
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def mutate(wire: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(wire)
    for kind, position, payload in edits:
        at = position % (len(out) + 1)
        if kind == 0 and out:  # overwrite
            out[min(at, len(out) - 1) : min(at, len(out) - 1) + len(payload)] = payload
        elif kind == 1:  # insert
            out[at:at] = payload
        elif kind == 2:  # delete
            del out[at : at + 1 + len(payload)]
        else:  # duplicate a stretch
            out[at:at] = out[at : at + 1 + 7 * len(payload)]
    return bytes(out)


def split(wire: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(wire) + 1) for c in cuts} | {0, len(wire)})
    return [wire[a:b] for a, b in itertools.pairwise(points) if b > a]


edits = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 10**7), st.binary(min_size=1, max_size=6)),
    max_size=4,
)
cuts = st.lists(st.integers(0, 10**7), max_size=12)


def run(parser: Any, chunks: list[bytes], size: int) -> None:
    """Feed and take everything; only ProtocolError may escape; time and memory bounded."""
    tracemalloc.start()  # only here: tracing slows hypothesis' own work threefold
    try:
        start = time.perf_counter()
        try:
            for chunk in chunks:
                parser.feed(chunk)
                while parser.gets() is not NEED_DATA:
                    pass
        except ProtocolError:
            assert parser.failed
            with pytest.raises(ProtocolError):
                parser.gets()
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seconds < SECONDS
    assert peak < MEMORY + 4 * size, (peak, size)


# --------------------------------------------------------------------------- RESP

LENGTHS = st.one_of(
    st.integers(-3, 12),
    st.integers(95, 130),
    st.integers(999_990, 1_000_010),
    st.sampled_from([2**20, 2**31, 2**32 - 1, 2**32, 10**12, 10**30]),
)
resp_valid = st.sampled_from([
    b"+OK\r\n", b"-ERR no\r\n", b":42\r\n", b"$3\r\nabc\r\n", b"$-1\r\n", b"*-1\r\n",
    b"*2\r\n$1\r\na\r\n:1\r\n", b"%1\r\n+k\r\n:1\r\n", b"~1\r\n_\r\n", b">2\r\n+m\r\n:1\r\n",
    b"|1\r\n+a\r\n:1\r\n+v\r\n", b",1.5\r\n", b"(123\r\n", b"#t\r\n", b"=7\r\ntxt:abc\r\n",
    b"!3\r\nERR\r\n",
])
resp_hostile = st.one_of(
    st.builds(lambda kind, n: bytes([kind]) + b"%d\r\n" % n, st.sampled_from(list(b"*%~>|$=!")),
              LENGTHS),
    st.builds(lambda header, n: header * n,
              st.sampled_from([b"*1\r\n", b"*999999\r\n", b"%1\r\n+k\r\n", b"|1\r\n", b"*200\r\n"]),
              st.integers(1, 1500)),
    st.builds(lambda kind, n: bytes([kind]) + b"x" * n, st.sampled_from(list(b"+-:,(#_")),
              st.integers(0, 70_000)),
    st.binary(max_size=300),
)
resp_streams = st.lists(st.one_of(resp_valid, resp_hostile), min_size=1, max_size=12).map(
    b"".join
)


@FUZZ
@given(wire=resp_streams, edits=edits, cuts=cuts, protocol=st.sampled_from([2, 3]),
       hiredis=st.booleans())
def test_resp_parser_survives_anything(
    wire: bytes, edits: list[tuple[int, int, bytes]], cuts: list[int], protocol: int,
    hiredis: bool,
) -> None:
    wire = mutate(wire, edits)
    parser = RespParser(protocol, use_hiredis=hiredis)
    run(parser, split(wire, cuts), len(wire))


# --------------------------------------------------------------------------- IPROTO

GREETING = (
    b"Tarantool 2.10.0 (Binary) 00000000-0000-0000-0000-000000000000".ljust(63) + b"\n"
    + b"c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ=".ljust(63) + b"\n"
)
assert len(GREETING) == GREETING_SIZE

values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.text(max_size=8),
              st.binary(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=6),
                            st.dictionaries(st.integers(0, 0x60), inner, max_size=3)),
    max_leaves=12,
)


def _prefix(size: int, form: int) -> bytes:
    if form == 0 and size < 0x80:
        return bytes([size])
    if form == 1 and size <= 0xFFFF:
        return b"\xcd" + struct.pack(">H", size)
    if form == 2:
        return b"\xcf" + struct.pack(">Q", size)
    return b"\xce" + struct.pack(">I", size)


def packet(header: bytes, body: bytes, form: int = 3) -> bytes:
    return _prefix(len(header) + len(body), form) + header + body


CLAIMS = st.sampled_from([0, 1, 15, 16, 255, 8191, 65535, 2**20, 2**31, 2**32 - 1])
iproto_hostile_body = st.one_of(
    # nested array or map headers claiming many elements
    st.builds(lambda head, claim, n: b"\x81\x30" + (head + struct.pack(">I", claim)) * n,
              st.sampled_from([b"\xdd", b"\xdf"]), CLAIMS, st.integers(1, 1100)),
    st.builds(lambda claim, n: b"\x81\x30" + (b"\xdc" + struct.pack(">H", claim % 65536)) * n,
              CLAIMS, st.integers(1, 1100)),
    # deep fixarrays
    st.builds(lambda n: b"\x81\x30" + b"\x91" * n + b"\xc0", st.integers(1, 3000)),
    # strings, binaries and extensions claiming more than they hold
    st.builds(lambda head, claim, ext: b"\x81\x30" + head + struct.pack(">I", claim)
              + (ext if head == b"\xc9" else b"") + b"x" * 10,
              st.sampled_from([b"\xdb", b"\xc6", b"\xc9"]), CLAIMS,
              st.sampled_from([b"\x01", b"\x02", b"\x03", b"\x07"])),
    # error extensions with garbage or hostile payloads
    st.builds(lambda payload: b"\x81\x52\xc7" + bytes([len(payload)]) + b"\x03" + payload,
              st.one_of(st.binary(max_size=40),
                        st.just(b"\x81\x00" + b"\xdc\x10\x00" * 60))),
    st.binary(max_size=200),
)
iproto_packets = st.one_of(
    st.builds(lambda h, b, form: packet(msgpack.packb(h), msgpack.packb(b), form),
              st.fixed_dictionaries({0: st.integers(0, 0x80FF), 1: st.integers(0, 2**64 - 1)}),
              st.fixed_dictionaries({}, optional={0x30: st.lists(values, max_size=8),
                                                  0x31: st.text(max_size=10),
                                                  0x52: values}),
              st.integers(0, 3)),
    st.builds(lambda body, form: packet(b"\x82\x00\x00\x01\x05", body, form),
              iproto_hostile_body, st.integers(0, 3)),
    st.builds(lambda size: b"\xce" + struct.pack(">I", size), st.integers(0, 2**32 - 1)),
    st.binary(max_size=64),
)
iproto_streams = st.lists(iproto_packets, min_size=1, max_size=6).map(b"".join)


@FUZZ
@given(wire=iproto_streams, edits=edits, cuts=cuts)
def test_iproto_parser_survives_anything(
    wire: bytes, edits: list[tuple[int, int, bytes]], cuts: list[int]
) -> None:
    wire = mutate(wire, edits)
    run(IprotoParser(max_packet_size=4 * 1024 * 1024), split(wire, cuts), len(wire))


class _CodecAsParser:
    """IprotoCodec (greeting first) driven like a parser: feed, then gets."""

    def __init__(self) -> None:
        self.codec = IprotoCodec(4 * 1024 * 1024)
        self.ready: list[Any] = []
        self.failed = False

    def feed(self, data: bytes) -> None:
        try:
            self.ready += self.codec.feed(data)
        except ProtocolError:
            self.failed = True
            raise

    def gets(self) -> Any:
        if self.failed:
            raise ProtocolError("failed")
        return self.ready.pop() if self.ready else NEED_DATA


@FUZZ
@given(greeting=st.one_of(st.just(GREETING), st.binary(min_size=128, max_size=128)),
       wire=iproto_streams, edits=edits, cuts=cuts)
def test_iproto_codec_survives_anything(
    greeting: bytes, wire: bytes, edits: list[tuple[int, int, bytes]], cuts: list[int]
) -> None:
    wire = mutate(greeting + wire, edits)
    run(_CodecAsParser(), split(wire, cuts), len(wire))
