"""Which of Redis Cluster's 16384 hash slots a key belongs to.

A key's slot is CRC16 of its bytes, modulo 16384, with the CRC Redis
Cluster specifies: CRC-16/XMODEM (polynomial 0x1021, initial value 0, no
reflection), which is what the standard library's :func:`binascii.crc_hqx`
computes in C when started from 0.

Hash tags: when the key holds a ``{`` followed later by a ``}`` with at
least one byte between them, only the bytes between the first ``{`` and
the first ``}`` after it are hashed, so ``{user1000}.following`` and
``{user1000}.followers`` share a slot.  An empty tag (``{}``) or a ``{``
with no ``}`` after it means the whole key is hashed.

A key is hashed as the bytes the client sends for it
(:func:`greenpool.protocol.resp.encode_arg`): ``str`` as UTF-8, ``int`` in
decimal, ``float`` with ``repr``, so ``key_slot(7) == key_slot("7")``.

This runs before every cluster command, so it is kept to a few C calls:
``bytes.find`` twice and ``crc_hqx``.  Measured against redis-py's
``key_slot`` in ``bench/bench_key_slot.py``.
"""

from __future__ import annotations

from binascii import crc_hqx
from typing import Final

from ...protocol.resp import CommandArg, encode_arg

__all__ = ["SLOTS", "key_slot"]

SLOTS: Final = 16384
"""The number of hash slots in a Redis Cluster."""

_MASK: Final = SLOTS - 1


def key_slot(key: CommandArg) -> int:
    """Return the hash slot (0 to 16383) Redis Cluster assigns to ``key``.

    ``key`` is bytes, str, int or float (or bytearray, memoryview), hashed
    as the client would send it; the hash tag rules are Redis's own.
    Raises TypeError for any other type (``None`` and ``bool`` included)
    and UnicodeEncodeError for a ``str`` that is not valid UTF-8, as the
    command encoder does.  Pure: no I/O, no state.
    """
    if type(key) is str:  # the common cases first, without a call
        data = key.encode()
    elif type(key) is bytes:
        data = key
    else:
        data = encode_arg(key)
    start = data.find(b"{")
    if start >= 0:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            data = data[start + 1 : end]
    return crc_hqx(data, 0) & _MASK
