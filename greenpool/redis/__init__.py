"""Layer 4: the Redis driver.

:class:`Redis` sends ordinary commands over a few shared, auto-pipelined
green connections, and leases dedicated ones for blocking commands,
pipelines and transactions; :meth:`Redis.pubsub` and :meth:`Redis.monitor`
get connections of their own.  :class:`Sentinel` makes clients of a
primary (or its replicas) that follow failovers.  Method names, arguments
and return types follow redis-py, so moving over is mostly a change of
import.
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
    PrimaryDemotedError,
    PubSubError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TimeoutError,
    WatchError,
)
from .lock import Lock
from .node import Locator, Node
from .pipeline import Pipeline
from .pubsub import Monitor, PubSub, PubSubConnection, PubSubWorker, Subscription
from .sentinel import MasterNotFoundError, Sentinel, SlaveNotFoundError
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
    "Locator",
    "Lock",
    "LockError",
    "LockNotOwnedError",
    "MasterNotFoundError",
    "Monitor",
    "NoScriptError",
    "Node",
    "Pipeline",
    "PrimaryDemotedError",
    "PubSub",
    "PubSubConnection",
    "PubSubError",
    "PubSubWorker",
    "ReadOnlyError",
    "Redis",
    "RedisCluster",
    "RedisError",
    "RedisSettings",
    "ResponseError",
    "Script",
    "Sentinel",
    "SlaveNotFoundError",
    "Subscription",
    "TimeoutError",
    "WatchError",
    "parse_url",
]
