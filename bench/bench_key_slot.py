"""greenpool's key_slot against redis-py's, and against a pure-Python CRC16 table.

Every Redis Cluster call hashes its key first, so this is on the hot path.
For each kind of key (short str, str with a hash tag, bytes, a 200-byte
str, int) it times one call, median of ``--repeat`` runs of ``timeit``:

* greenpool: ``greenpool.redis.cluster.key_slot(key)`` (any key type);
* redis-py (bytes in): ``redis.crc.key_slot(encoded)``, given the key
  already encoded, as redis-py's own hot path calls it;
* redis-py (as ``RedisCluster.keyslot``): its encoder, then ``key_slot``;
* a 256-entry table: CRC16 in a Python loop over the bytes, the precomputed
  table the textbook suggests, to show why the C ``binascii.crc_hqx`` wins.

    .venv/bin/python bench/bench_key_slot.py [--repeat 5] [--number 200000]
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Callable
from typing import Any

import _common
import redis.crc
from redis._parsers.encoders import Encoder

from greenpool.redis.cluster import key_slot

_TABLE = [0] * 256
for _i in range(256):
    _crc = _i << 8
    for _ in range(8):
        _crc = ((_crc << 1) ^ 0x1021 if _crc & 0x8000 else _crc << 1) & 0xFFFF
    _TABLE[_i] = _crc


def table_key_slot(key: bytes) -> int:
    """CRC16/XMODEM with a precomputed table, in Python, with hash tags."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    crc = 0
    for byte in key:
        crc = ((crc << 8) & 0xFF00) ^ _TABLE[(crc >> 8) ^ byte]
    return crc & 0x3FFF


KEYS: dict[str, Any] = {
    "str 12 B": "user:1000:42",
    "str with {tag}": "{user1000}.following",
    "bytes 12 B": b"user:1000:42",
    "str 200 B": "k" * 200,
    "int": 1234567,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--number", type=int, default=200_000)
    args = parser.parse_args()
    encoder = Encoder("utf-8", "strict", False)

    def redis_py_keyslot(key: Any) -> int:  # what RedisCluster.keyslot does
        return redis.crc.key_slot(encoder.encode(key))

    rows = []
    for label, key in KEYS.items():
        encoded = encoder.encode(key)
        assert key_slot(key) == redis.crc.key_slot(encoded) == table_key_slot(encoded)
        contenders: dict[str, Callable[[], int]] = {
            "greenpool": lambda key=key: key_slot(key),
            "redis-py (bytes in)": lambda encoded=encoded: redis.crc.key_slot(encoded),
            "redis-py keyslot()": lambda key=key: redis_py_keyslot(key),
            "Python table": lambda encoded=encoded: table_key_slot(encoded),
        }
        runs: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.repeat):  # interleaved: drift hits every contender alike
            for name, call in contenders.items():
                seconds = timeit.timeit(call, number=args.number)
                runs[name].append(seconds / args.number * 1e9)
        base = statistics.median(runs["greenpool"])
        for name, values in runs.items():
            ns = statistics.median(values)
            rows.append({"key": label, "contender": name, "ns/call": ns, "x greenpool": ns / base})
    _common.print_table(
        f"key_slot, median of {args.repeat} runs of {args.number:,} calls "
        "(lambda call overhead included for all)",
        rows,
        ["key", "contender", "ns/call", "x greenpool"],
    )


if __name__ == "__main__":
    main()
