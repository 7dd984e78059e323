"""Redis Cluster's errors, named and nested as redis-py names and nests them.

The classes live in :mod:`greenpool.redis.exceptions` with every other
redis-py exception; this module names the cluster's and adds
:class:`ClusterConfigurationError`.  Two families:

* what the **server** says about the cluster (error replies, all
  :class:`~greenpool.redis.ResponseError`): :class:`AskError` and its
  subclass :class:`MovedError` (a slot lives elsewhere), :class:`TryAgainError`
  (a multi-key command during a slot migration), :class:`ClusterDownError`
  (and :class:`MasterDownError`), :class:`ClusterCrossSlotError`
  (``-CROSSSLOT``).  The cluster client handles redirects itself: a caller
  sees one only when the redirects go on too long;
* mistakes the **client** finds before sending
  (:class:`RedisClusterException` and its subclasses): keys of a command
  on several slots, a cross-slot transaction (:class:`CrossSlotTransactionError`),
  a slot nobody serves (:class:`SlotNotCoveredError`).

:class:`ClusterError` is raised when a command was redirected more times than
Redis Cluster ever needs (``TTL exhausted``).
"""

from __future__ import annotations

from typing import Any

from ...errors import ConfigurationError
from ..exceptions import (
    AskError,
    ClusterCrossSlotError,
    ClusterDownError,
    ClusterError,
    CrossSlotTransactionError,
    MasterDownError,
    MovedError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
    error_from_reply,
)

__all__ = [
    "AskError",
    "ClusterConfigurationError",
    "ClusterCrossSlotError",
    "ClusterDownError",
    "ClusterError",
    "CrossSlotTransactionError",
    "MasterDownError",
    "MovedError",
    "RedisClusterException",
    "SlotNotCoveredError",
    "TryAgainError",
    "cluster_error",
]


class ClusterConfigurationError(RedisClusterException, ConfigurationError):
    """A bad argument to :class:`~greenpool.redis.RedisCluster` (no seed, ``db`` != 0 ...).

    Both redis-py's :class:`RedisClusterException` and greenpool's
    :class:`~greenpool.ConfigurationError` (naming the argument and value).
    """


def cluster_error(reply: Any) -> Exception:
    """The exception for a failed reply (ASK, MOVED, TRYAGAIN ... have their classes)."""
    return error_from_reply(reply)
