"""greenpool.redis.cluster: Redis Cluster support.

For now the pure part: :func:`key_slot`, the hash slot of a key
(``slots.py``).
"""

from __future__ import annotations

from .slots import SLOTS, key_slot

__all__ = ["SLOTS", "key_slot"]
