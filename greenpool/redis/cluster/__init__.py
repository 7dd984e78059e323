"""greenpool.redis.cluster: Redis Cluster support.

:class:`RedisCluster` (redis-py's cluster client over green nodes,
``client.py``), its pipelines (``pipeline.py``), pub/sub (``pubsub.py``), the slot map and its
refreshes (``topology.py``), command routing from the command table
(``routing.py``), the cluster's errors (``errors.py``) and
:func:`key_slot`, the hash slot of a key (``slots.py``).
"""

from __future__ import annotations

from .client import LoadBalancingStrategy, RedisCluster
from .errors import (
    AskError,
    ClusterConfigurationError,
    ClusterCrossSlotError,
    ClusterDownError,
    ClusterError,
    CrossSlotTransactionError,
    MasterDownError,
    MovedError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
)
from .pipeline import ClusterPipeline
from .pubsub import ClusterPubSub
from .slots import SLOTS, key_slot
from .topology import ClusterNode

__all__ = [
    "SLOTS",
    "AskError",
    "ClusterConfigurationError",
    "ClusterCrossSlotError",
    "ClusterDownError",
    "ClusterError",
    "ClusterNode",
    "ClusterPipeline",
    "ClusterPubSub",
    "CrossSlotTransactionError",
    "LoadBalancingStrategy",
    "MasterDownError",
    "MovedError",
    "RedisCluster",
    "RedisClusterException",
    "SlotNotCoveredError",
    "TryAgainError",
    "key_slot",
]
