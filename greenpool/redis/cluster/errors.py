"""Redis Cluster's errors, named and nested as redis-py names and nests them.

Two families:

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

from ...errors import ConfigurationError, GreenpoolError, ReplyError
from ..exceptions import ResponseError, error_from_reply

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


class RedisClusterException(GreenpoolError):
    """A command the cluster client can't route (found before anything was sent)."""


class ClusterConfigurationError(RedisClusterException, ConfigurationError):
    """A bad argument to :class:`~greenpool.redis.RedisCluster` (no seed, ``db`` != 0 ...).

    Both redis-py's :class:`RedisClusterException` and greenpool's
    :class:`~greenpool.ConfigurationError` (naming the argument and value).
    """


class SlotNotCoveredError(RedisClusterException):
    """No node serves the slot (the cluster does not cover every slot)."""


class CrossSlotTransactionError(RedisClusterException):
    """A cluster transaction's keys are on more than one slot."""


class ClusterError(GreenpoolError):
    """The cluster kept redirecting a command (``TTL exhausted``)."""


class AskError(ResponseError):
    """``-ASK slot host:port``: this one command must go to that node, after ASKING.

    :attr:`slot_id`, :attr:`host`, :attr:`port` and :attr:`node_addr`
    (``(host, port)``) are read from the reply.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        parts = message.split()
        # "ASK 3999 127.0.0.1:6381" (the kind word is part of the message).
        slot, address = (parts[1], parts[2]) if len(parts) >= 3 else ("0", ":0")
        host, _, port = address.rpartition(":")
        self.slot_id = int(slot)
        self.host = host
        self.port = int(port or 0)
        self.node_addr = (self.host, self.port)


class MovedError(AskError):
    """``-MOVED slot host:port``: the slot now lives on that node."""


class TryAgainError(ResponseError):
    """``-TRYAGAIN``: a multi-key command during a migration; it may work shortly."""


class ClusterCrossSlotError(ResponseError):
    """``-CROSSSLOT``: the server saw keys on several slots in one command."""


class ClusterDownError(ClusterError, ResponseError):
    """``-CLUSTERDOWN``: the cluster can't serve the slot now."""

    def __init__(self, message: str) -> None:
        ResponseError.__init__(self, message)


class MasterDownError(ClusterDownError):
    """``-MASTERDOWN``: the replica lost its primary."""


_BY_KIND: dict[str, type[ResponseError]] = {
    "ASK": AskError,
    "MOVED": MovedError,
    "TRYAGAIN": TryAgainError,
    "CROSSSLOT": ClusterCrossSlotError,
    "CLUSTERDOWN": ClusterDownError,
    "MASTERDOWN": MasterDownError,
}


def cluster_error(reply: Any) -> Exception:
    """The exception for a failed reply, with the cluster's error kinds added."""
    if isinstance(reply, ReplyError):
        cls = _BY_KIND.get(reply.kind)
        if cls is not None:
            return cls(reply.message)
    return error_from_reply(reply)
