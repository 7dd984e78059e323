"""The codecs alone: CPU time per reply of RespParser and IprotoParser on typical streams.

No server and no greenlet: each workload is a byte stream of typical replies
(Redis ``+OK``, ``GET``, ``MGET`` of 10, ``LRANGE`` of 100 and 1,000, a
RESP3 ``HGETALL``; Tarantool replies to a one-tuple SELECT, fed one per
``feed`` as the server sends them or 64 at a time, and SELECTs of 100 and
1,000 tuples), fed in the chunks a socket would give, every reply taken out
with ``read_all()``.  Each figure is the median of ``--repeat`` runs, in
nanoseconds of CPU (``time.process_time``) per reply.

``--tree DIR`` imports greenpool from another checkout (for example an
older commit unpacked with ``git archive``), so two versions can be run one
after the other on the same machine:

    .venv/bin/python bench/cpu_parsers.py [--repeat 7] [--tree /tmp/old]
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNK = 65536  # what the transport asks recv() for


def resp_workloads() -> dict[str, tuple[int, bytes, int]]:
    """name -> (protocol, stream, replies in it)."""

    def bulk(payload: bytes) -> bytes:
        return b"$%d\r\n%s\r\n" % (len(payload), payload)

    def array(items: list[bytes]) -> bytes:
        return b"*%d\r\n" % len(items) + b"".join(items)

    value = b"v" * 16
    hgetall = b"%50\r\n" + b"".join(bulk(b"field%02d" % i) + bulk(b"%d" % i) for i in range(50))
    return {
        "redis +OK x2000": (2, b"+OK\r\n" * 2000, 2000),
        "redis GET x2000": (2, bulk(value) * 2000, 2000),
        "redis MGET 10 x500": (2, array([bulk(value)] * 10) * 500, 500),
        "redis LRANGE 100 x100": (2, array([bulk(b"item%06d" % i) for i in range(100)]) * 100, 100),
        "redis LRANGE 1000 x20": (
            2, array([bulk(b"item%06d" % i) for i in range(1000)]) * 20, 20
        ),
        "redis RESP3 HGETALL 50 x100": (3, hgetall * 100, 100),
    }


def iproto_packet(sync: int, rows: list[Any]) -> bytes:
    import msgpack

    header = msgpack.packb({0: 0, 1: sync, 5: 80})
    body = msgpack.packb({0x30: rows})
    return b"\xce" + struct.pack(">I", len(header) + len(body)) + header + body


def iproto_workloads() -> dict[str, tuple[list[bytes], int]]:
    """name -> (chunks as the socket gives them, replies in them)."""
    def row(n: int) -> list[Any]:
        return [n, f"name-{n}", n * 3, "x" * 20]

    one = [iproto_packet(1000 + i, [row(i)]) for i in range(2000)]
    joined = b"".join(one)
    many = [joined[i : i + 64 * len(one[0])] for i in range(0, len(joined), 64 * len(one[0]))]
    rows100 = b"".join(
        iproto_packet(i, [row(j) for j in range(100)])
        for i in range(100)
    )
    rows1000 = b"".join(
        iproto_packet(i, [row(j) for j in range(1000)])
        for i in range(20)
    )
    return {
        "tarantool 1-tuple, 1 per feed x2000": (one, 2000),
        "tarantool 1-tuple, 64 per feed x2000": (many, 2000),
        "tarantool 100 tuples x100": (
            [rows100[i : i + CHUNK] for i in range(0, len(rows100), CHUNK)], 100
        ),
        "tarantool 1000 tuples x20": (
            [rows1000[i : i + CHUNK] for i in range(0, len(rows1000), CHUNK)], 20
        ),
    }


def measure(make: Callable[[], Any], chunks: list[bytes], replies: int, loops: int) -> float:
    """CPU nanoseconds per reply over ``loops`` passes of ``chunks``."""
    start = time.process_time()
    for _ in range(loops):
        parser = make()
        feed = parser.feed
        take = getattr(parser, "read_all", None) or parser.drain  # drain: before the rename
        got = 0
        for chunk in chunks:
            feed(chunk)
            got += len(take())
        assert got == replies, (got, replies)
    return (time.process_time() - start) / (loops * replies) * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree))
    from greenpool.protocol import iproto, resp

    print(f"greenpool from {Path(resp.__file__).parents[2]}")
    cases: list[tuple[str, Callable[[], Any], list[bytes], int]] = []
    for name, (protocol, stream, count) in resp_workloads().items():
        chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
        for engine in (True, False):
            label = f"{name} [{'hiredis' if engine else 'python'}]"

            def make(protocol: int = protocol, engine: bool = engine) -> Any:
                return resp.RespParser(protocol, use_hiredis=engine)

            cases.append((label, make, chunks, count))
    for name, (chunks, count) in iproto_workloads().items():
        cases.append((name, iproto.IprotoParser, chunks, count))
    results: dict[str, list[float]] = {label: [] for label, *_ in cases}
    for _ in range(args.repeat):
        for label, make, chunks, count in cases:
            loops = max(1, 20_000 // count)
            results[label].append(measure(make, chunks, count, loops))
    width = max(len(label) for label in results)
    for label, values in results.items():
        print(f"  {label:<{width}}  {statistics.median(values):9.0f} ns/reply"
              f"  (min {min(values):.0f})")


if __name__ == "__main__":
    main()
