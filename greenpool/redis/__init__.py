"""Layer 4: the Redis driver.

:class:`Redis` sends ordinary commands over a few shared, auto-pipelined
green connections, and leases dedicated ones for blocking commands,
pipelines and transactions; :meth:`Redis.pubsub` and :meth:`Redis.monitor`
get connections of their own.  Method names, arguments and return types
follow redis-py, so moving over is mostly a change of import.
"""

from __future__ import annotations

from .client import Redis
from .cluster import ClusterNode, ClusterPipeline, RedisCluster
from .commands import Commands, CommandsMixin, Script
from .exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ConnectionError,
    DataError,
    LockError,
    LockNotOwnedError,
    NoScriptError,
    PubSubError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TimeoutError,
    WatchError,
)
from .lock import Lock
from .node import Node
from .pipeline import Pipeline
from .pubsub import Monitor, PubSub, PubSubWorker
from .settings import RedisSettings, parse_url

__all__ = [
    "AuthenticationError",
    "BusyLoadingError",
    "ClusterNode",
    "ClusterPipeline",
    "Commands",
    "CommandsMixin",
    "ConnectionError",
    "DataError",
    "Lock",
    "LockError",
    "LockNotOwnedError",
    "Monitor",
    "NoScriptError",
    "Node",
    "Pipeline",
    "PubSub",
    "PubSubError",
    "PubSubWorker",
    "ReadOnlyError",
    "Redis",
    "RedisCluster",
    "RedisError",
    "RedisSettings",
    "ResponseError",
    "Script",
    "TimeoutError",
    "WatchError",
    "parse_url",
]
